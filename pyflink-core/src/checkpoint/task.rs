//! The checkpoint side of one task: snapshots to the coordinator, and which completed
//! checkpoints the task has been told about.

use std::ops::Range;
use std::sync::Arc;

use crate::checkpoint::coordinator::{CheckpointCoordinator, TaskId, TaskSnapshot};

/// A task's link to the coordinator of its run (none when checkpointing is off).
pub(crate) struct TaskCheckpoints {
    coordinator: Option<Arc<CheckpointCoordinator>>,
    task: TaskId,
    /// Completed epochs already notified to the operator.
    notified: u64,
}

impl TaskCheckpoints {
    pub(crate) fn new(coordinator: Option<Arc<CheckpointCoordinator>>, task: TaskId) -> Self {
        TaskCheckpoints { coordinator, task, notified: 0 }
    }

    /// Whether checkpoints are taken.
    #[inline]
    pub(crate) fn enabled(&self) -> bool {
        self.coordinator.is_some()
    }

    /// Whether the task aligns epochs (exactly-once).
    pub(crate) fn aligned(&self) -> bool {
        self.coordinator.as_ref().is_some_and(|c| c.aligned())
    }

    /// The checkpoint id of `epoch`.
    pub(crate) fn checkpoint_id(&self, epoch: u64) -> u64 {
        self.coordinator.as_ref().map_or(epoch + 1, |c| c.checkpoint_id(epoch))
    }

    /// The epoch sources should be in.
    pub(crate) fn triggered_epoch(&self) -> u64 {
        self.coordinator.as_ref().map_or(0, |c| c.triggered_epoch())
    }

    /// Whether a source moving on from `epochs` must drain instead (see
    /// [`CheckpointCoordinator::drains`]).
    pub(crate) fn drains(&self, epochs: &Range<u64>) -> bool {
        self.coordinator.as_ref().is_some_and(|c| c.drains(epochs))
    }

    /// The id of the newest checkpoint completed since the last call, if any.
    #[inline]
    pub(crate) fn newly_completed(&mut self) -> Option<u64> {
        let completed = self.coordinator.as_ref()?.completed_epochs();
        if completed > self.notified {
            self.notified = completed;
            return Some(self.checkpoint_id(completed - 1));
        }
        None
    }

    /// Whether the checkpoint of `epoch` has completed.
    pub(crate) fn is_complete(&self, epoch: u64) -> bool {
        self.coordinator.as_ref().is_none_or(|c| c.completed_epochs() > epoch)
    }

    /// Hands `snapshot` over as the task's state in every epoch of `epochs`.
    pub(crate) fn acknowledge(&self, epochs: Range<u64>, snapshot: TaskSnapshot) {
        let Some(coordinator) = &self.coordinator else { return };
        for epoch in epochs {
            coordinator.acknowledge(self.task, epoch, snapshot.clone());
        }
    }

    /// Reports the task finished in `epoch` with its final state.
    pub(crate) fn finish(&self, epoch: u64, snapshot: TaskSnapshot) {
        if let Some(coordinator) = &self.coordinator {
            coordinator.finished(self.task, epoch, snapshot);
        }
    }

    /// Wakes the task through `activator` when epochs are triggered or complete.
    pub(crate) fn register(&self, activator: timely::scheduling::SyncActivator) {
        if let Some(coordinator) = &self.coordinator {
            coordinator.register(activator);
        }
    }
}
