//! Heap state does not stall its task at a checkpoint: the task freezes its tables at the
//! barrier and the coordinator thread encodes them, while later writes stay out of the snapshot.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::checkpointing::{committed_records, Committed, PacedSource, TransactionalSink};
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{
    CheckpointingMode, KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext, RestartStrategy, Result,
    StreamExecutionEnvironment, ValueState, ValueStateDescriptor,
};
use serde::{Deserialize, Serialize, Serializer};

/// The names of the threads that encoded a [`Probe`].
static ENCODED_ON: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// A count that records which thread encodes it.
#[derive(Clone, Deserialize)]
struct Probe(u64);

impl Serialize for Probe {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
        ENCODED_ON.lock().unwrap().insert(thread);
        self.0.serialize(serializer)
    }
}

/// Counts records per key in a `Probe`.
#[derive(Clone, Default)]
struct ProbeCount {
    count: Option<ValueState<Probe>>,
}

impl KeyedProcessFunction<u32, (u32, u32, i64), (u32, u64)> for ProbeCount {
    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, u32>) -> Result<()> {
        self.count = Some(context.get_state(&ValueStateDescriptor::new("count"))?);
        Ok(())
    }

    fn process_element(
        &mut self,
        (key, _, _): (u32, u32, i64),
        ctx: &mut KeyedProcessContext<'_, u32, (u32, u64)>,
    ) -> Result<()> {
        let count = self.count.as_ref().expect("opened");
        let next = count.value().map_or(1, |p| p.0 + 1);
        count.update(Probe(next));
        ctx.collect((key, next));
        Ok(())
    }
}

#[test]
fn heap_state_is_encoded_by_the_coordinator_thread() {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(2);
    env.enable_checkpointing(Duration::from_millis(5), CheckpointingMode::ExactlyOnce);
    env.set_restart_strategy(RestartStrategy::no_restart());
    let dir = tempfile::tempdir().unwrap();
    let mut config = env.get_checkpoint_config();
    config.storage_dir = Some(dir.path().to_path_buf());
    env.set_checkpoint_config(config);

    let splits: Vec<Vec<(u32, u32, i64)>> =
        (0..2).map(|split| (0..600).map(|i| (i % 50, split * 1000 + i, i as i64)).collect()).collect();
    let counts: Committed<(u32, u64)> = Arc::new(Mutex::new(BTreeMap::new()));
    env.from_source(PacedSource::new(splits, 4), WatermarkStrategy::no_watermarks(), "events")
        .key_by(|e: &(u32, u32, i64)| e.0)
        .process(ProbeCount::default())
        .sink_to(TransactionalSink::new(Arc::clone(&counts)));
    env.execute("probed").unwrap();

    // Every record counted once: the frozen tables never saw the writes after their barrier.
    let mut per_key: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for (key, count) in committed_records(&counts) {
        per_key.entry(key).or_default().push(count);
    }
    assert_eq!(per_key.len(), 50);
    for (key, mut counts) in per_key {
        counts.sort();
        assert_eq!(counts, (1..=24).collect::<Vec<u64>>(), "key {key}");
    }
    let threads = ENCODED_ON.lock().unwrap().clone();
    assert_eq!(threads, BTreeSet::from(["checkpoint coordinator".to_string()]));
}
