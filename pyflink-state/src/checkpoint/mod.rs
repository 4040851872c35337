//! Checkpoint storage: where snapshots go and how a consistent checkpoint is recognised.
//!
//! A checkpoint is a directory `chk-<id>` under the job's checkpoint directory. Each operator
//! instance writes its snapshots as checksummed files there; when every instance has written,
//! the coordinator writes `_metadata`, which lists every file with its length and checksum. The
//! metadata is written to a temporary name, synced and renamed, so a checkpoint either has
//! complete metadata or none. On restore, the newest checkpoint whose metadata and files all
//! verify is used; others are skipped with a log line that says why.
//!
//! ```
//! use pyflink_state::checkpoint::{CheckpointMetadata, CheckpointStorage, OperatorSnapshot, SubtaskSnapshot};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let storage = CheckpointStorage::new(dir.path().join("job"), 2).unwrap();
//! let file = storage.write_file(1, "map-0-keyed", b"state bytes").unwrap();
//! let subtask = SubtaskSnapshot { subtask: 0, files: vec![file], key_groups: None };
//! let operator = OperatorSnapshot { operator_id: "map".into(), parallelism: 1, max_parallelism: 128, subtasks: vec![subtask] };
//! storage.commit(&CheckpointMetadata::new(1, vec![operator])).unwrap();
//!
//! let restored = storage.latest_complete().unwrap().unwrap();
//! assert_eq!(restored.checkpoint_id, 1);
//! let handle = &restored.operators[0].subtasks[0].files[0];
//! assert_eq!(storage.read_file(&restored, handle).unwrap(), b"state bytes");
//! ```

mod file_format;
mod metadata;
mod shared_files;
mod storage;

pub use file_format::{read_checked, write_checked, FileKind};
pub use metadata::{CheckpointMetadata, FileFormat, FileHandle, OperatorSnapshot, SubtaskSnapshot, SHARED_DIR};
pub use shared_files::SharedFiles;
pub use storage::{CheckpointStorage, SkippedCheckpoint, METADATA_FILE};
