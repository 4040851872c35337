//! Time to restore RocksDB keyed state from a checkpoint: fills a RocksDB backend with
//! `STATE_MB` megabytes of values (1 KiB each, 1024 MB by default), snapshots it into checkpoint
//! storage, then measures reading and verifying the file, decoding it, and loading every entry
//! into a new RocksDB backend.
//!
//! Run: `cargo bench -p pyflink-state --bench restore [-- STATE_MB]`

use std::time::Instant;

use pyflink_state::checkpoint::{read_checked, CheckpointStorage, FileKind};
use pyflink_state::{
    KeyGroupRange, KeyedStateBackend, KeyedStateSnapshot, RocksDbOptions, StateBackendConfig, ValueStateDescriptor,
};

const VALUE_BYTES: usize = 1024;

fn main() {
    let megabytes: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1024);
    let entries = megabytes * 1024 * 1024 / VALUE_BYTES;
    let config = StateBackendConfig::RocksDb(RocksDbOptions::default());
    let range = KeyGroupRange::new(0, 127);
    let descriptor = ValueStateDescriptor::<Vec<u8>>::new("payload");

    let fill = Instant::now();
    let mut source = KeyedStateBackend::<u64>::from_config(&config, range, 128, "restore-bench-source").unwrap();
    let state = source.get_value_state(&descriptor).unwrap();
    source.enter(|| {
        for key in 0..entries as u64 {
            source.set_current_key(key);
            state.update(vec![(key % 251) as u8; VALUE_BYTES]);
        }
    });
    println!("filled {entries} entries ({megabytes} MB of values) in {:.1} s", fill.elapsed().as_secs_f64());

    let dir = tempfile::tempdir().unwrap();
    let storage = CheckpointStorage::new(dir.path(), 1).unwrap();
    let write = Instant::now();
    let handle = storage.write_file(1, "keyed", &source.snapshot().unwrap().encode().unwrap()).unwrap();
    println!("snapshot written ({:.0} MB file) in {:.1} s", handle.length as f64 / 1e6, write.elapsed().as_secs_f64());
    drop(source);

    let restore = Instant::now();
    let bytes = read_checked(&storage.root().join(&handle.path), FileKind::State).unwrap();
    let snapshot = KeyedStateSnapshot::decode(&bytes).unwrap();
    drop(bytes);
    let mut target = KeyedStateBackend::<u64>::from_config(&config, range, 128, "restore-bench-target").unwrap();
    target.restore(&[snapshot]).unwrap();
    let state = target.get_value_state(&descriptor).unwrap();
    let seconds = restore.elapsed().as_secs_f64();
    target.set_current_key(entries as u64 - 1);
    target.enter(|| assert_eq!(state.value().map(|v| v.len()), Some(VALUE_BYTES), "restored"));
    println!("restored {megabytes} MB of RocksDB state in {seconds:.1} s ({:.0} MB/s)", megabytes as f64 / seconds);
}
