//! Incremental RocksDB checkpoints through checkpoint storage: only new SST files are uploaded,
//! shared files live while a retained checkpoint lists them, a restore opens them, and a
//! corrupt shared file is caught.

use std::collections::HashSet;

use pyflink_state::checkpoint::{
    CheckpointMetadata, CheckpointStorage, FileFormat, OperatorSnapshot, SharedFiles, SubtaskSnapshot, SHARED_DIR,
};
use pyflink_state::{
    KeyGroupRange, KeyedStateBackend, KeyedStateSnapshot, RocksDbOptions, StateBackendConfig, ValueState,
    ValueStateDescriptor,
};

const MAX_PARALLELISM: usize = 128;

fn incremental() -> StateBackendConfig {
    StateBackendConfig::RocksDb(RocksDbOptions::default().with_incremental_checkpoints(true))
}

fn backend(config: &StateBackendConfig, range: KeyGroupRange) -> (KeyedStateBackend<u32>, ValueState<u64>) {
    let mut backend = KeyedStateBackend::from_config(config, range, MAX_PARALLELISM, "incremental-test").unwrap();
    let state = backend.get_value_state(&ValueStateDescriptor::new("count")).unwrap();
    (backend, state)
}

fn write(backend: &KeyedStateBackend<u32>, state: &ValueState<u64>, keys: std::ops::Range<u32>, value: u64) {
    for key in keys {
        backend.set_current_key(key);
        backend.enter(|| state.update(value));
    }
}

fn read(backend: &KeyedStateBackend<u32>, state: &ValueState<u64>, key: u32) -> Option<u64> {
    backend.set_current_key(key);
    backend.enter(|| state.value())
}

/// Writes `snapshot` as checkpoint `id` of one operator instance and completes it.
fn checkpoint(
    storage: &CheckpointStorage,
    shared: &mut SharedFiles,
    id: u64,
    snapshot: &KeyedStateSnapshot,
) -> CheckpointMetadata {
    let mut files = vec![storage.write_file(id, "0-0-keyed", &snapshot.encode().unwrap()).unwrap()];
    files[0].name = "keyed".into();
    for part in &snapshot.native {
        files.extend(storage.write_native_files(id, "0-0", part, shared).unwrap());
    }
    let subtask = SubtaskSnapshot { subtask: 0, files, key_groups: Some(snapshot.range) };
    let operator =
        OperatorSnapshot { operator_id: "op".into(), parallelism: 1, max_parallelism: 128, subtasks: vec![subtask] };
    let metadata = CheckpointMetadata::new(id, vec![operator]);
    storage.commit_with_in_flight(&metadata, &HashSet::new(), Some(shared)).unwrap();
    metadata
}

/// The keyed snapshot of the newest complete checkpoint, with its RocksDB files attached.
fn restore_latest(storage: &CheckpointStorage) -> KeyedStateSnapshot {
    let metadata = storage.latest_complete().unwrap().expect("a complete checkpoint");
    let subtask = &metadata.operators[0].subtasks[0];
    let bytes = storage.read_file(&metadata, subtask.file("keyed").unwrap()).unwrap();
    let mut snapshot = KeyedStateSnapshot::decode(&bytes).unwrap();
    storage.attach_native_files(subtask, &mut snapshot);
    snapshot
}

fn shared_paths(metadata: &CheckpointMetadata) -> HashSet<String> {
    let files = metadata.operators.iter().flat_map(|o| &o.subtasks).flat_map(|s| &s.files);
    files.filter(|f| f.is_shared()).map(|f| f.path.clone()).collect()
}

fn shared_dir_listing(storage: &CheckpointStorage) -> HashSet<String> {
    let entries = std::fs::read_dir(storage.root().join(SHARED_DIR)).unwrap();
    entries.map(|e| format!("{SHARED_DIR}{}", e.unwrap().file_name().to_str().unwrap())).collect()
}

#[test]
fn only_new_files_are_uploaded_and_unlisted_ones_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let storage = CheckpointStorage::new(dir.path().join("job"), 1).unwrap();
    let mut shared = SharedFiles::default();
    let range = KeyGroupRange::new(0, 127);
    let (backend, state) = backend(&incremental(), range);

    write(&backend, &state, 0..1000, 1);
    let first = checkpoint(&storage, &mut shared, 1, &backend.snapshot().unwrap());
    let first_shared = shared_paths(&first);
    assert!(!first_shared.is_empty(), "the SST files are shared");
    assert!(first.operators[0].subtasks[0].files.iter().any(|f| f.format == FileFormat::Raw && !f.is_shared()));
    let first_sst = first_shared.iter().next().unwrap().clone();
    let uploaded_at = std::fs::metadata(storage.root().join(&first_sst)).unwrap().modified().unwrap();

    write(&backend, &state, 1000..1100, 2);
    let second = checkpoint(&storage, &mut shared, 2, &backend.snapshot().unwrap());
    let second_shared = shared_paths(&second);
    assert!(first_shared.is_subset(&second_shared), "unchanged files are listed again: {second_shared:?}");
    assert!(second_shared.len() > first_shared.len(), "the new writes are a new file");
    let again_at = std::fs::metadata(storage.root().join(&first_sst)).unwrap().modified().unwrap();
    assert_eq!(uploaded_at, again_at, "a shared file is not written twice");
    assert_eq!(shared_dir_listing(&storage), second_shared);

    write(&backend, &state, 0..1100, 3);
    let third = checkpoint(&storage, &mut shared, 3, &backend.snapshot().unwrap());
    assert_eq!(shared_dir_listing(&storage), shared_paths(&third));

    // A restored database is a new one: its first checkpoint uploads its files anew, and with
    // one checkpoint retained the files only older checkpoints listed go.
    let mut again = KeyedStateBackend::from_config(&incremental(), range, MAX_PARALLELISM, "restored").unwrap();
    again.restore(&[restore_latest(&storage)]).unwrap();
    let state = again.get_value_state(&ValueStateDescriptor::<u64>::new("count")).unwrap();
    assert_eq!(read(&again, &state, 5), Some(3));
    assert_eq!(read(&again, &state, 1099), Some(3));
    assert_eq!(read(&again, &state, 1100), None);
    let fourth = checkpoint(&storage, &mut shared, 4, &again.snapshot().unwrap());
    assert!(shared_paths(&fourth).is_disjoint(&shared_paths(&third)));
    assert_eq!(shared_dir_listing(&storage), shared_paths(&fourth), "only the retained checkpoint's files are kept");
}

#[test]
fn shared_files_of_checkpoints_in_progress_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let storage = CheckpointStorage::new(dir.path().join("job"), 1).unwrap();
    let mut shared = SharedFiles::default();
    let (backend, state) = backend(&incremental(), KeyGroupRange::new(0, 127));
    write(&backend, &state, 0..100, 1);
    checkpoint(&storage, &mut shared, 1, &backend.snapshot().unwrap());
    write(&backend, &state, 100..200, 1);
    // Checkpoint 3 uploads its files before checkpoint 2 completes.
    let in_progress = backend.snapshot().unwrap();
    let files = storage.write_native_files(3, "0-0", &in_progress.native[0], &mut shared).unwrap();
    let in_flight: HashSet<String> = files.iter().filter(|f| f.is_shared()).map(|f| f.path.clone()).collect();
    let metadata = CheckpointMetadata::new(2, vec![]);
    storage.commit_with_in_flight(&metadata, &in_flight, Some(&mut shared)).unwrap();
    for path in &in_flight {
        assert!(storage.root().join(path).exists(), "{path} of the checkpoint in progress is kept");
    }
}

#[test]
fn a_corrupt_shared_file_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let storage = CheckpointStorage::new(dir.path().join("job"), 3).unwrap();
    let mut shared = SharedFiles::default();
    let (backend, state) = backend(&incremental(), KeyGroupRange::new(0, 127));
    write(&backend, &state, 0..100, 1);
    let first = checkpoint(&storage, &mut shared, 1, &backend.snapshot().unwrap());
    write(&backend, &state, 100..200, 1);
    checkpoint(&storage, &mut shared, 2, &backend.snapshot().unwrap());
    // Checkpoint 2 lists checkpoint 1's SST files and one of its own: corrupt its own.
    let own = shared_dir_listing(&storage).difference(&shared_paths(&first)).next().unwrap().clone();
    let path = storage.root().join(own);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&path, bytes).unwrap();

    let (latest, skipped) = storage.latest_complete_with_skipped().unwrap();
    assert_eq!(latest.unwrap().checkpoint_id, 1, "the corrupt checkpoint is passed over");
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0].reason.contains("checksum"), "{}", skipped[0].reason);
}

#[test]
fn a_restore_at_another_parallelism_reads_its_key_groups() {
    let (backend, state) = backend(&incremental(), KeyGroupRange::new(0, 127));
    write(&backend, &state, 0..500, 7);
    let snapshot = backend.snapshot().unwrap();
    for config in [incremental(), StateBackendConfig::HashMap] {
        for range in [KeyGroupRange::new(0, 63), KeyGroupRange::new(64, 127)] {
            let mut half = KeyedStateBackend::<u32>::from_config(&config, range, MAX_PARALLELISM, "half").unwrap();
            half.restore(std::slice::from_ref(&snapshot)).unwrap();
            let state = half.get_value_state(&ValueStateDescriptor::<u64>::new("count")).unwrap();
            let assigner = pyflink_state::KeyGroupAssigner::new(MAX_PARALLELISM);
            let mine: Vec<u32> = (0..500).filter(|k| range.contains(assigner.hash_key(k).group)).collect();
            assert!(!mine.is_empty());
            for key in mine {
                assert_eq!(read(&half, &state, key), Some(7), "key {key}");
            }
            // Entries of other key groups are not loaded: the half's own snapshot has only its own.
            let own = half.snapshot().unwrap();
            let mut restored = KeyedStateBackend::<u32>::new(KeyGroupRange::new(0, 127), MAX_PARALLELISM);
            restored.restore(&[own]).unwrap();
            let state = restored.get_value_state(&ValueStateDescriptor::<u64>::new("count")).unwrap();
            let outside = (0..500).find(|k| !range.contains(assigner.hash_key(k).group)).unwrap();
            assert_eq!(read(&restored, &state, outside), None);
        }
    }
}
