//! The decoders of checkpoint bytes against random and mutated input: an error, never a panic.
//! (The same decoders have cargo-fuzz targets in `fuzz/` for longer runs.)

use proptest::prelude::*;
use pyflink_state::checkpoint::{CheckpointMetadata, FileFormat, FileHandle, OperatorSnapshot, SubtaskSnapshot};
use pyflink_state::{KeyGroupRange, KeyedStateSnapshot, StateSection};

fn metadata() -> CheckpointMetadata {
    let file = FileHandle {
        name: "keyed".into(),
        path: "chk-3/0-1-keyed".into(),
        length: 120,
        crc32: 7,
        format: FileFormat::Framed,
    };
    let subtask = SubtaskSnapshot { subtask: 1, files: vec![file], key_groups: Some(KeyGroupRange::new(64, 127)) };
    let operator =
        OperatorSnapshot { operator_id: "count".into(), parallelism: 2, max_parallelism: 128, subtasks: vec![subtask] };
    CheckpointMetadata::new(3, vec![operator])
}

fn snapshot() -> KeyedStateSnapshot {
    let mut section = StateSection::raw("timers");
    section.add(70, &"k", &(5i64, 6u8)).unwrap();
    section.add(71, &"l", &(7i64, 8u8)).unwrap();
    KeyedStateSnapshot::new(128, KeyGroupRange::new(64, 127), vec![section])
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = CheckpointMetadata::decode(&bytes);
        if let Ok(snapshot) = KeyedStateSnapshot::decode(&bytes) {
            for section in &snapshot.sections {
                let _ = section.entries::<String, (i64, u8)>(snapshot.range);
            }
        }
    }

    #[test]
    fn mutated_encodings_never_panic(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        // One value: `CheckpointMetadata::new` stamps the time, so two calls may differ.
        let original = metadata();
        let mut metadata = original.encode().unwrap();
        let mut keyed = snapshot().encode().unwrap();
        for (at, value) in flips {
            let i = at.index(metadata.len());
            metadata[i] = value;
            let j = at.index(keyed.len());
            keyed[j] = value;
        }
        // The checksum catches every change to the metadata.
        prop_assert!(CheckpointMetadata::decode(&metadata).is_err() || CheckpointMetadata::decode(&metadata).unwrap() == original);
        if let Ok(snapshot) = KeyedStateSnapshot::decode(&keyed) {
            for section in &snapshot.sections {
                let _ = section.entries::<String, (i64, u8)>(snapshot.range);
            }
        }
    }
}
