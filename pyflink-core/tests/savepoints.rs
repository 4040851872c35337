//! Savepoints: taken from a running job, and a new job started from one carries on exactly
//! where it was taken.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::checkpointing::{Committed, CountPerKey, Event, PacedSource, TransactionalSink};
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{CheckpointingMode, JobClient, StreamExecutionEnvironment};
use pyflink_state::checkpoint::CheckpointStorage;

/// Starts the counting job over `splits`, slowly, restoring `from`.
fn start(
    splits: Vec<Vec<Event>>,
    committed: &Committed<(u8, u32, u32)>,
    checkpoints: &Path,
    from: Option<PathBuf>,
) -> JobClient {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(2);
    env.enable_checkpointing(Duration::from_secs(3600), CheckpointingMode::ExactlyOnce);
    let mut config = env.get_checkpoint_config();
    config.storage_dir = Some(checkpoints.to_path_buf());
    config.restore_path = from;
    env.set_checkpoint_config(config);
    env.from_source(PacedSource::new(splits, 1), WatermarkStrategy::no_watermarks(), "events")
        .uid("events")
        .key_by(|e: &Event| e.0)
        .process(CountPerKey::new())
        .uid("count")
        .sink_to(TransactionalSink::new(Arc::clone(committed)))
        .uid("sink");
    env.execute_async("savepoint job").unwrap()
}

#[test]
fn a_job_started_from_a_savepoint_continues_exactly_where_it_was_taken() {
    let splits: Vec<Vec<Event>> = (0..4u32)
        .map(|s| (0..400u32).map(|i| ((i % 7) as u8 * 4 + s as u8, s * 1000 + i, i as i64)).collect())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("savepoint-1");

    let first: Committed<(u8, u32, u32)> = Arc::new(Mutex::new(BTreeMap::new()));
    let client = start(splits.clone(), &first, dir.path(), None);
    std::thread::sleep(Duration::from_millis(100));
    let path = client.trigger_savepoint(&target, Duration::from_secs(30)).expect("savepoint completes");
    client.cancel();
    assert!(client.wait().is_err(), "cancelled");
    let (metadata, _) = CheckpointStorage::open_path(&path).unwrap();
    assert!(metadata.savepoint);

    let second: Committed<(u8, u32, u32)> = Arc::new(Mutex::new(BTreeMap::new()));
    start(splits.clone(), &second, dir.path(), Some(path)).wait().expect("the restored job finishes");

    // What the first job committed up to the savepoint, and everything the second committed
    // (it commits the savepoint's own transactions again, idempotently).
    let mut all = BTreeMap::new();
    for (key, records) in first.lock().unwrap().iter().filter(|((_, id), _)| *id <= metadata.checkpoint_id) {
        all.insert(*key, records.clone());
    }
    for (key, records) in second.lock().unwrap().iter() {
        all.entry(*key).or_insert_with(|| records.clone());
    }
    let mut got: Vec<(u8, u32, u32)> = all.into_values().flatten().collect();
    got.sort();
    let mut counts = BTreeMap::new();
    let mut expected: Vec<(u8, u32, u32)> = splits
        .iter()
        .flatten()
        .map(|&(key, id, _)| {
            let count = counts.entry(key).or_insert(0u32);
            *count += 1;
            (key, id, *count)
        })
        .collect();
    expected.sort();
    let after: usize =
        second.lock().unwrap().iter().filter(|((_, id), _)| *id > metadata.checkpoint_id).map(|(_, r)| r.len()).sum();
    assert!(after > 0 && after < expected.len(), "the savepoint was taken mid-job: {after} records after it");
    assert_eq!(got, expected);
}
