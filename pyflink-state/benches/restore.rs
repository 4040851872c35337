//! Checkpointing and restoring RocksDB keyed state: fills a RocksDB backend with `STATE_MB`
//! megabytes of values (1 KiB each, 1024 MB by default), checkpoints it into checkpoint storage,
//! and restores it into a new RocksDB backend of the same key groups. Measured twice:
//!
//! - full checkpoints (`state.backend.incremental: false`): the task's share is a flush and
//!   RocksDB's checkpoint (hard links), then every entry is read from that checkpoint and written
//!   in the backend-independent format, and a restore reads, verifies, decodes and inserts them all;
//! - incremental checkpoints: RocksDB's own checkpoint (the task's share is a flush and hard
//!   links), the SST files uploaded once into `shared/`, three more checkpoints after 1% of the
//!   keys changed each time, and a restore that verifies the files and opens them as the new
//!   database.
//!
//! Run: `cargo bench -p pyflink-state --bench restore [-- STATE_MB]`

use std::collections::HashSet;
use std::time::Instant;

use pyflink_state::checkpoint::{
    CheckpointMetadata, CheckpointStorage, FileHandle, OperatorSnapshot, SharedFiles, SubtaskSnapshot,
};
use pyflink_state::{
    KeyGroupRange, KeyedStateBackend, KeyedStateSnapshot, RocksDbOptions, StateBackendConfig, ValueState,
    ValueStateDescriptor,
};

const VALUE_BYTES: usize = 1024;
const RANGE: KeyGroupRange = KeyGroupRange { start: 0, end: 127 };

fn main() {
    let megabytes: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1024);
    for incremental in [false, true] {
        println!("-- {} checkpoints", if incremental { "incremental" } else { "full" });
        measure(megabytes, incremental);
    }
}

fn descriptor() -> ValueStateDescriptor<Vec<u8>> {
    ValueStateDescriptor::new("payload")
}

fn fill(backend: &KeyedStateBackend<u64>, state: &ValueState<Vec<u8>>, keys: impl Iterator<Item = u64>, salt: u8) {
    backend.enter(|| {
        for key in keys {
            backend.set_current_key(key);
            state.update(vec![(key % 251) as u8 ^ salt; VALUE_BYTES]);
        }
    });
}

/// A snapshot of `backend`, and the seconds the task stalls for it: the freeze at the barrier
/// (a flush and RocksDB's checkpoint); reading and encoding it is the coordinator's share.
fn take_snapshot(backend: &KeyedStateBackend<u64>) -> (KeyedStateSnapshot, f64) {
    let started = Instant::now();
    let frozen = backend.snapshot_deferred().unwrap();
    let stall = started.elapsed().as_secs_f64();
    (frozen.complete().unwrap(), stall)
}

/// Writes `snapshot` as checkpoint `id` and completes it; returns the bytes it wrote: those of
/// the files that `previous` (the checkpoint before) does not list.
fn checkpoint(
    storage: &CheckpointStorage,
    shared: &mut SharedFiles,
    id: u64,
    snapshot: &KeyedStateSnapshot,
    previous: &mut Option<CheckpointMetadata>,
) -> u64 {
    let mut files = vec![storage.write_file(id, "0-0-keyed", &snapshot.encode().unwrap()).unwrap()];
    files[0].name = "keyed".into();
    for part in &snapshot.native {
        files.extend(storage.write_native_files(id, "0-0", part, shared).unwrap());
    }
    let subtask = SubtaskSnapshot { subtask: 0, files, key_groups: Some(snapshot.range) };
    let operator =
        OperatorSnapshot { operator_id: "bench".into(), parallelism: 1, max_parallelism: 128, subtasks: vec![subtask] };
    let metadata = CheckpointMetadata::new(id, vec![operator]);
    storage.commit(&metadata).unwrap();
    let listed_before: HashSet<String> = previous.iter().flat_map(files_of).map(|f| f.path.clone()).collect();
    let written = files_of(&metadata).filter(|f| !listed_before.contains(&f.path)).map(|f| f.length).sum();
    *previous = Some(metadata);
    written
}

fn files_of(metadata: &CheckpointMetadata) -> impl Iterator<Item = &FileHandle> {
    metadata.operators.iter().flat_map(|o| &o.subtasks).flat_map(|s| &s.files)
}

fn measure(megabytes: usize, incremental: bool) {
    let entries = megabytes * 1024 * 1024 / VALUE_BYTES;
    let config = StateBackendConfig::RocksDb(RocksDbOptions::default().with_incremental_checkpoints(incremental));

    let started = Instant::now();
    let mut source = KeyedStateBackend::<u64>::from_config(&config, RANGE, 128, "restore-bench-source").unwrap();
    let state = source.get_value_state(&descriptor()).unwrap();
    fill(&source, &state, 0..entries as u64, 0);
    println!("filled {entries} entries ({megabytes} MB of values) in {:.1} s", started.elapsed().as_secs_f64());

    let dir = tempfile::tempdir().unwrap();
    // Two retained, so that the second checkpoint shares the first one's files.
    let storage = CheckpointStorage::new(dir.path(), 2).unwrap();
    let mut shared = SharedFiles::default();
    let mut previous = None;
    let started = Instant::now();
    let (snapshot, synchronous) = take_snapshot(&source);
    let written = checkpoint(&storage, &mut shared, 1, &snapshot, &mut previous);
    drop(snapshot);
    println!(
        "checkpoint 1: task stalled {synchronous:.2} s, {:.0} MB written in {:.1} s in all",
        written as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    // Later checkpoints after 1% of the keys changed each time; what they upload also depends
    // on the compactions RocksDB ran in between.
    let changed = (entries / 100).max(1) as u64;
    for id in 2..=4u64 {
        fill(&source, &state, (0..changed).map(|k| (k * 97 + id) % entries as u64), id as u8);
        let started = Instant::now();
        let (snapshot, synchronous) = take_snapshot(&source);
        let written = checkpoint(&storage, &mut shared, id, &snapshot, &mut previous);
        drop(snapshot);
        println!(
            "checkpoint {id} after {changed} keys changed: task stalled {synchronous:.2} s, {:.0} MB written in {:.1} s in all",
            written as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
    }
    drop(source);

    let started = Instant::now();
    let metadata = storage.latest_complete().unwrap().expect("checkpoint 4 is complete");
    let verified = started.elapsed().as_secs_f64();
    let subtask = &metadata.operators[0].subtasks[0];
    let bytes = storage.read_file(&metadata, subtask.file("keyed").unwrap()).unwrap();
    let mut snapshot = KeyedStateSnapshot::decode(&bytes).unwrap();
    drop(bytes);
    storage.attach_native_files(subtask, &mut snapshot);
    let mut target = KeyedStateBackend::<u64>::from_config(&config, RANGE, 128, "restore-bench-target").unwrap();
    target.restore(&[snapshot]).unwrap();
    let state = target.get_value_state(&descriptor()).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    target.set_current_key(entries as u64 - 1);
    target.enter(|| assert_eq!(state.value().map(|v| v.len()), Some(VALUE_BYTES), "restored"));
    println!(
        "restored {megabytes} MB of RocksDB state in {seconds:.1} s ({:.0} MB/s; {verified:.1} s of it verifying checksums)",
        megabytes as f64 / seconds
    );
}
