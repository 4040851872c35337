//! The checkpoint a run restores from, and each operator's view of it.

use std::sync::Arc;

use pyflink_state::checkpoint::{CheckpointMetadata, CheckpointStorage, OperatorSnapshot};
use pyflink_state::{KeyGroupRange, KeyedStateSnapshot, StateError};

/// The file name of an instance's keyed state.
pub(crate) const KEYED_FILE: &str = "keyed";

/// A complete checkpoint and the storage its files are in.
pub(crate) struct RestoredCheckpoint {
    pub(crate) metadata: CheckpointMetadata,
    pub(crate) storage: CheckpointStorage,
}

impl RestoredCheckpoint {
    /// The state of the operator `operator_id`, if the checkpoint has any.
    pub(crate) fn operator(self: &Arc<Self>, operator_id: &str) -> Option<RestoredOperator> {
        let index = self.metadata.operators.iter().position(|o| o.operator_id == operator_id)?;
        Some(RestoredOperator { checkpoint: Arc::clone(self), index })
    }
}

/// One operator's snapshots in a restored checkpoint, taken at whatever parallelism it had.
#[derive(Clone)]
pub(crate) struct RestoredOperator {
    checkpoint: Arc<RestoredCheckpoint>,
    index: usize,
}

impl std::fmt::Debug for RestoredOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestoredOperator")
            .field("checkpoint", &self.checkpoint.metadata.checkpoint_id)
            .field("operator", &self.snapshot().operator_id)
            .finish()
    }
}

impl RestoredOperator {
    fn snapshot(&self) -> &OperatorSnapshot {
        &self.checkpoint.metadata.operators[self.index]
    }

    /// The contents of every instance's file `name`, with the instance index.
    pub(crate) fn files(&self, name: &str) -> Result<Vec<(usize, Vec<u8>)>, StateError> {
        let mut files = Vec::new();
        for subtask in &self.snapshot().subtasks {
            if let Some(handle) = subtask.file(name) {
                let bytes = self.checkpoint.storage.read_file(&self.checkpoint.metadata, handle)?;
                files.push((subtask.subtask as usize, bytes));
            }
        }
        Ok(files)
    }

    /// The keyed state snapshots that hold key groups of `range`.
    pub(crate) fn keyed(&self, range: KeyGroupRange) -> Result<Vec<KeyedStateSnapshot>, StateError> {
        let mut snapshots = Vec::new();
        for subtask in &self.snapshot().subtasks {
            let overlaps = subtask.key_groups.is_some_and(|g| g.start <= range.end && range.start <= g.end);
            if let (true, Some(handle)) = (overlaps, subtask.file(KEYED_FILE)) {
                let bytes = self.checkpoint.storage.read_file(&self.checkpoint.metadata, handle)?;
                let mut snapshot = KeyedStateSnapshot::decode(&bytes)?;
                self.checkpoint.storage.attach_native_files(subtask, &mut snapshot);
                snapshots.push(snapshot);
            }
        }
        Ok(snapshots)
    }
}
