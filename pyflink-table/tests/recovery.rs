//! Table jobs fail and recover like any job: a streaming GROUP BY, a join and a Top-N over a
//! stream that fails once mid-stream restart from their last checkpoint, and the changes their
//! sink committed (a sink that makes rows visible when a checkpoint completes) apply to the
//! same table as the input's final result, on the heap and in RocksDB, at parallelism 1 to 3.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use pyflink_core::sinks::{Sink, SinkWriter, SinkWriterContext};
use pyflink_core::table::{Row, Value};
use pyflink_core::{
    CheckpointingMode, RestartStrategy, RocksDbOptions, StateBackendConfig, StreamExecutionEnvironment,
};
use pyflink_table::environment::TableEnvironment;
use pyflink_table::schema::Schema;
use pyflink_table::types::DataType;

use common::{apply, sorted};

/// Rows committed by a [`CommittingSink`], by (checkpoint, writer), so that they read in the
/// order they were made: a transaction committed again after a restore keeps one copy.
type Committed = Arc<Mutex<BTreeMap<(u64, usize), Vec<Row>>>>;

/// A sink whose writers keep rows per checkpoint and make them visible when it completes.
struct CommittingSink {
    committed: Committed,
}

impl Sink<Row> for CommittingSink {
    type Writer = StagingWriter;

    fn create_writer(&self, context: &SinkWriterContext) -> pyflink_core::Result<StagingWriter> {
        Ok(StagingWriter { subtask: context.subtask_index, staged: Vec::new() })
    }

    fn commit(&self, committables: Vec<Vec<u8>>) -> pyflink_core::Result<()> {
        for bytes in committables {
            let (subtask, checkpoint, rows): (usize, u64, Vec<Row>) =
                pyflink_state::codec::decode(&bytes, "test transaction").expect("own encoding");
            self.committed.lock().unwrap().entry((checkpoint, subtask)).or_insert(rows);
        }
        Ok(())
    }
}

/// The writer of [`CommittingSink`]: rows wait until their checkpoint completes; what comes
/// after the last one is dropped when the writer closes (an aborted transaction).
struct StagingWriter {
    subtask: usize,
    staged: Vec<Row>,
}

impl SinkWriter<Row> for StagingWriter {
    fn write(&mut self, row: Row, _timestamp: Option<i64>) -> pyflink_core::Result<()> {
        self.staged.push(row);
        Ok(())
    }

    fn prepare_commit(&mut self, checkpoint_id: u64) -> pyflink_core::Result<Vec<Vec<u8>>> {
        let transaction = (self.subtask, checkpoint_id, std::mem::take(&mut self.staged));
        Ok(vec![pyflink_state::codec::encode(&transaction).expect("rows encode")])
    }
}

/// The queries, over `t` (k, v); each with the oracle of its final result over the input.
const QUERIES: &[&str] = &[
    "SELECT k, COUNT(*) AS n, SUM(v) AS total FROM t GROUP BY k",
    "SELECT a.k, a.n, b.top FROM (SELECT k, COUNT(*) AS n FROM t GROUP BY k) a \
     JOIN (SELECT k, MAX(v) AS top FROM t GROUP BY k) b ON a.k = b.k",
    "SELECT k, v, rn FROM (SELECT k, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM t) \
     WHERE rn <= 2",
];

/// What each query's final result is over rows `(k, v)`: computed directly.
fn oracle(query: usize, input: &[(i64, i64)]) -> Vec<Vec<Value>> {
    let mut groups: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (k, v) in input {
        groups.entry(*k).or_default().push(*v);
    }
    let long = Value::BigInt;
    let rows = groups.into_iter().flat_map(|(k, mut values)| {
        let n = values.len() as i64;
        match query {
            0 => vec![vec![long(k), long(n), long(values.iter().sum())]],
            1 => vec![vec![long(k), long(n), long(*values.iter().max().unwrap())]],
            _ => {
                values.sort_by(|a, b| b.cmp(a));
                values.iter().take(2).enumerate().map(|(i, v)| vec![long(k), long(*v), long(i as i64 + 1)]).collect()
            }
        }
    });
    sorted(rows.collect())
}

/// Whether the one injected failure of the running case has happened (cases run one at a time).
static FAILED: AtomicBool = AtomicBool::new(false);

/// Runs `QUERIES[query]` over `input`, failing once when the row at `fail_at` passes, and
/// returns the table its committed changes leave.
fn run(query: usize, input: &[(i64, i64)], fail_at: i64, parallelism: usize, rocksdb: bool) -> Vec<Vec<Value>> {
    FAILED.store(false, Ordering::SeqCst);
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    if rocksdb {
        env.set_state_backend(StateBackendConfig::RocksDb(RocksDbOptions::default()));
    }
    env.enable_checkpointing(Duration::from_millis(10), CheckpointingMode::ExactlyOnce);
    env.set_restart_strategy(RestartStrategy::fixed_delay_restart(2, Duration::ZERO));
    let dir = tempfile::tempdir().unwrap();
    let mut config = env.get_checkpoint_config();
    config.storage_dir = Some(dir.path().to_path_buf());
    env.set_checkpoint_config(config);
    let input: Arc<Vec<(i64, i64)>> = Arc::new(input.to_vec());
    let last = input.len() as i64 - 1;
    let rows_of = Arc::clone(&input);
    let rows = env.from_sequence(0, last).unwrap().map(move |index: i64| {
        // Slow enough that checkpoints fall between rows.
        std::thread::sleep(Duration::from_micros(300));
        if index == fail_at && !FAILED.swap(true, Ordering::SeqCst) {
            panic!("injected failure at row {index}");
        }
        let (k, v) = rows_of[index as usize];
        Row::of(vec![Value::BigInt(k), Value::BigInt(v)])
    });
    let t_env = TableEnvironment::from_stream_environment(&env);
    let bigint = || DataType::parse("BIGINT").unwrap();
    let table =
        t_env.from_data_stream(&rows, &[("k", bigint()), ("v", bigint())], &Schema::new_builder().build()).unwrap();
    t_env.create_temporary_view("t", &table).unwrap();
    let committed: Committed = Arc::new(Mutex::new(BTreeMap::new()));
    let changes = t_env.to_changelog_stream(&t_env.sql_query(QUERIES[query]).unwrap()).unwrap();
    changes.sink_to(CommittingSink { committed: Arc::clone(&committed) });
    env.execute("table job with a failure").expect("the job recovers");
    assert!(FAILED.load(Ordering::SeqCst), "the failure was injected");
    let changelog: Vec<Row> = committed.lock().unwrap().values().flatten().cloned().collect();
    apply(changelog)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// A table job failed mid-stream and restored from a checkpoint ends with the result of
    /// its input.
    #[test]
    fn table_jobs_restored_from_a_checkpoint_end_with_the_same_result(
        input in proptest::collection::vec((0i64..5, -20i64..20), 20..120),
        fail_at_share in 0.2f64..0.9,
        query in 0usize..3,
        parallelism in 1usize..4,
        rocksdb in any::<bool>(),
    ) {
        let fail_at = (input.len() as f64 * fail_at_share) as i64;
        prop_assert_eq!(run(query, &input, fail_at, parallelism, rocksdb), oracle(query, &input), "{}", QUERIES[query]);
    }
}
