//! Keyed state throughput and the cost of checkpoints:
//! `datagen -> key_by (100,000 keys) -> ValueState read-modify-write per record -> discard`.
//!
//! Prints, at parallelism 1:
//! - records per second with the heap backend and with RocksDB (skipped if ROCKSDB_RECORDS is 0);
//! - records per second with the heap backend without checkpoints, with checkpointing on but no
//!   periodic checkpoint, and with a checkpoint every second (exactly-once), and their cost.
//!
//! Run: `cargo bench -p pyflink-core --bench state_throughput [-- HEAP_RECORDS ROCKSDB_RECORDS]`

use std::time::{Duration, Instant};

use pyflink_core::sinks::DiscardingSink;
use pyflink_core::sources::DataGenSource;
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{
    CheckpointingMode, KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext, Result, RocksDbOptions,
    StateBackendConfig, StreamExecutionEnvironment, ValueState, ValueStateDescriptor,
};

const KEYS: i64 = 100_000;

/// Adds each record's value to its key's running sum in a `ValueState`.
#[derive(Clone, Default)]
struct RunningSum {
    sum: Option<ValueState<i64>>,
}

impl KeyedProcessFunction<i64, (i64, i64), i64> for RunningSum {
    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, i64>) -> Result<()> {
        self.sum = Some(context.get_state(&ValueStateDescriptor::new("sum"))?);
        Ok(())
    }

    #[inline]
    fn process_element(&mut self, (_, value): (i64, i64), _ctx: &mut KeyedProcessContext<'_, i64, i64>) -> Result<()> {
        let sum = self.sum.as_ref().expect("opened");
        sum.update(sum.value().unwrap_or(0) + value);
        Ok(())
    }
}

/// Records per second of one run.
fn run(records: u64, backend: StateBackendConfig, checkpoint_every: Option<Duration>) -> f64 {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(1);
    env.set_state_backend(backend);
    let dir = tempfile::tempdir().expect("temporary directory");
    if let Some(interval) = checkpoint_every {
        env.enable_checkpointing(interval, CheckpointingMode::ExactlyOnce);
        let mut config = env.get_checkpoint_config();
        config.storage_dir = Some(dir.path().to_path_buf());
        env.set_checkpoint_config(config);
    }
    let source = DataGenSource::new(|ctx| {
        let i = ctx.index() as i64;
        (i % KEYS, i)
    })
    .number_of_rows(records);
    env.from_source(source, WatermarkStrategy::no_watermarks(), "DataGen")
        .key_by(|e: &(i64, i64)| e.0)
        .process(RunningSum::default())
        .sink_to(DiscardingSink);
    let start = Instant::now();
    env.execute("state throughput").expect("job succeeds");
    records as f64 / start.elapsed().as_secs_f64()
}

fn best_of_three(run: impl Fn() -> f64) -> f64 {
    (0..3).map(|_| run()).fold(0.0, f64::max)
}

fn main() {
    let numbers: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let heap_records = numbers.first().copied().unwrap_or(20_000_000);
    let rocksdb_records = numbers.get(1).copied().unwrap_or(2_000_000);
    println!("datagen -> key_by ({KEYS} keys) -> ValueState read-modify-write -> discard, parallelism 1");
    let heap = best_of_three(|| run(heap_records, StateBackendConfig::HashMap, None));
    println!("heap backend:    {:.2} M records/s ({heap_records} records)", heap / 1e6);
    if rocksdb_records > 0 {
        let rocksdb =
            best_of_three(|| run(rocksdb_records, StateBackendConfig::RocksDb(RocksDbOptions::default()), None));
        println!("RocksDB backend: {:.2} M records/s ({rocksdb_records} records)", rocksdb / 1e6);
    }
    // Checkpointing on, but the interval longer than the run: what epochs and alignment cost
    // without any periodic snapshot (the final checkpoint at the end is still taken).
    let aligned_only =
        best_of_three(|| run(heap_records, StateBackendConfig::HashMap, Some(Duration::from_secs(3600))));
    println!(
        "heap, checkpointing on, no periodic checkpoint: {:.2} M records/s, {:.1}% below no checkpoints",
        aligned_only / 1e6,
        (1.0 - aligned_only / heap) * 100.0
    );
    let checkpointed = best_of_three(|| run(heap_records, StateBackendConfig::HashMap, Some(Duration::from_secs(1))));
    println!(
        "heap, checkpoint every 1 s: {:.2} M records/s, {:.1}% below no checkpoints",
        checkpointed / 1e6,
        (1.0 - checkpointed / heap) * 100.0
    );
}
