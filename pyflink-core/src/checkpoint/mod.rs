//! Checkpoints and recovery, as DESIGN.md describes them.
//!
//! The timely timestamp of every record carries its *checkpoint epoch* (with a round within it,
//! see `runtime::timestamp`). When the coordinator triggers
//! a checkpoint, sources snapshot their split positions and move to the next epoch. Every task
//! snapshots its state for epoch `e` once its input frontier has passed `e` (in exactly-once mode
//! it holds back batches of later epochs until then), and hands the snapshot to the coordinator,
//! which writes it. Once every task's snapshot of `e` is written, the coordinator writes the
//! checkpoint's metadata atomically, and tasks are told that the checkpoint completed: that is
//! when transactional sinks commit.
//!
//! When a task fails, the job restarts under its [`RestartStrategy`] from the newest complete
//! checkpoint: sources resume from the recorded positions and operators from their snapshots,
//! at any parallelism (keyed state moves by key group).

pub mod config;
pub(crate) mod coordinator;
pub mod faults;
pub mod restart;
pub(crate) mod restore;
pub(crate) mod task;

pub use config::{CheckpointConfig, CheckpointingMode, ExternalizedCheckpointRetention};
pub use faults::{CoordinatorFaults, CoordinatorStep, InjectedFault};
pub use restart::{RestartBackoff, RestartStrategy, DEFAULT_ATTEMPTS_BEFORE_RESET};

use pyflink_state::DeferredKeyedSnapshot;

use crate::checkpoint::coordinator::{SnapshotFile, TaskSnapshot};

/// What an operator writes into a checkpoint: named files of bytes, and its keyed state.
pub struct StateSnapshotContext {
    checkpoint_id: u64,
    pub(crate) snapshot: TaskSnapshot,
}

impl StateSnapshotContext {
    pub(crate) fn new(checkpoint_id: u64) -> Self {
        StateSnapshotContext { checkpoint_id, snapshot: TaskSnapshot::default() }
    }

    /// The id of the checkpoint being taken.
    pub fn checkpoint_id(&self) -> u64 {
        self.checkpoint_id
    }

    /// Adds a file of operator state called `name`.
    pub fn add_file(&mut self, name: &str, bytes: Vec<u8>) {
        self.snapshot.files.push((name.to_string(), SnapshotFile::Ready(bytes)));
    }

    /// Adds the instance's keyed state (the file `keyed`, restored by key group), with the
    /// files of its RocksDB checkpoints if it has any. The coordinator thread encodes what the
    /// snapshot froze and uploads the files, while the task goes on processing.
    pub fn add_keyed(&mut self, snapshot: DeferredKeyedSnapshot) {
        self.snapshot.key_groups = Some(snapshot.range());
        self.snapshot.native.extend(snapshot.native.iter().cloned());
        self.snapshot.files.push((restore::KEYED_FILE.to_string(), SnapshotFile::keyed(snapshot)));
    }
}
