//! A checkpoint's `_metadata`: which operator instances wrote which files, with their lengths and
//! checksums, so that a restore can verify every file before it loads any.

use serde::{Deserialize, Serialize};

use crate::checkpoint::file_format::{decode_checked, encode_checked, FileKind};
use crate::key_encoding::KEY_ENCODING_VERSION;
use crate::{codec, KeyGroupRange, StateError};

/// How a checkpoint file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileFormat {
    /// Framed by pyflink-rs: a header, the payload and a checksum of its own.
    Framed,
    /// Written by RocksDB (the files of an incremental checkpoint), verified by the length and
    /// checksum of its handle only.
    Raw,
}

/// A file written into a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHandle {
    /// What the file holds for its operator instance (for example `keyed` or `source`).
    pub name: String,
    /// The file's path relative to the job's checkpoint directory (for a savepoint, to the
    /// savepoint's directory). Files shared by incremental checkpoints are under `shared/`.
    pub path: String,
    /// The file's length in bytes.
    pub length: u64,
    /// The CRC-32 of the whole file.
    pub crc32: u32,
    /// How the file is laid out.
    pub format: FileFormat,
}

impl FileHandle {
    /// Whether the file is shared between the incremental checkpoints of a job.
    pub fn is_shared(&self) -> bool {
        self.path.starts_with(SHARED_DIR)
    }
}

/// The directory, under a job's checkpoint directory, of the files that incremental
/// checkpoints share; each is kept while a retained checkpoint lists it.
pub const SHARED_DIR: &str = "shared/";

/// The files of one operator instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubtaskSnapshot {
    /// The instance's index.
    pub subtask: u32,
    /// Its files.
    pub files: Vec<FileHandle>,
    /// The key groups of its keyed state, if it has keyed state.
    pub key_groups: Option<KeyGroupRange>,
}

impl SubtaskSnapshot {
    /// The file called `name`, if the instance wrote one.
    pub fn file(&self, name: &str) -> Option<&FileHandle> {
        self.files.iter().find(|f| f.name == name)
    }
}

/// The snapshots of all instances of one operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorSnapshot {
    /// The operator's uid, or the id generated from its place in the job.
    pub operator_id: String,
    /// The operator's parallelism when the checkpoint was taken.
    pub parallelism: u32,
    /// The job's max parallelism.
    pub max_parallelism: u32,
    /// One entry per instance.
    pub subtasks: Vec<SubtaskSnapshot>,
}

/// Everything a restore needs to know about one checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointMetadata {
    /// The checkpoint's id, increasing within a job.
    pub checkpoint_id: u64,
    /// When the checkpoint was triggered, in milliseconds since the epoch.
    pub timestamp: i64,
    /// Whether this is a savepoint.
    pub savepoint: bool,
    /// The [key encoding](crate::key_encoding) version its keys were assigned to key groups with.
    pub key_encoding: u32,
    /// The operators' snapshots.
    pub operators: Vec<OperatorSnapshot>,
}

impl CheckpointMetadata {
    /// The metadata of checkpoint `checkpoint_id`, stamped now.
    pub fn new(checkpoint_id: u64, operators: Vec<OperatorSnapshot>) -> Self {
        let timestamp =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        CheckpointMetadata { checkpoint_id, timestamp, savepoint: false, key_encoding: KEY_ENCODING_VERSION, operators }
    }

    /// The snapshot of operator `operator_id`.
    pub fn operator(&self, operator_id: &str) -> Option<&OperatorSnapshot> {
        self.operators.iter().find(|o| o.operator_id == operator_id)
    }

    /// The framed bytes of the `_metadata` file.
    pub fn encode(&self) -> Result<Vec<u8>, StateError> {
        Ok(encode_checked(FileKind::Metadata, &codec::encode(self)?))
    }

    /// Decodes and verifies the bytes of a `_metadata` file.
    pub fn decode(bytes: &[u8]) -> Result<Self, StateError> {
        let payload = decode_checked(FileKind::Metadata, bytes, "checkpoint metadata")?;
        let metadata: CheckpointMetadata = codec::decode(payload, "checkpoint metadata")?;
        if metadata.key_encoding != KEY_ENCODING_VERSION {
            return Err(StateError::IncompatibleCheckpoint {
                what: format!("checkpoint {}", metadata.checkpoint_id),
                cause: format!(
                    "its keys were assigned to key groups with key encoding version {}, this build uses version \
                     {KEY_ENCODING_VERSION}; restore it with a build that uses version {}",
                    metadata.key_encoding, metadata.key_encoding
                ),
            });
        }
        for file in metadata.operators.iter().flat_map(|o| o.subtasks.iter()).flat_map(|s| s.files.iter()) {
            if file.path.is_empty() || file.path.contains("..") || file.path.starts_with('/') {
                return Err(StateError::Corrupt {
                    what: "checkpoint metadata".into(),
                    cause: format!("file path '{}' leaves the checkpoint directory", file.path),
                });
            }
        }
        Ok(metadata)
    }
}
