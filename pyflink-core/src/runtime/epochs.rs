//! Epoch alignment: a task processes checkpoint epochs in order. In exactly-once mode a batch of
//! a later epoch than the one in progress is held back until the input frontier has passed every
//! earlier epoch, so that the snapshot of epoch `e` reflects exactly the records of epochs up to
//! `e`. Timely's progress tracking is the barrier: the frontier passing `e` means no record of `e`
//! is still on its way. Epochs are the high half of the runtime's timely times (see
//! [`timestamp`](super::timestamp)).

use std::collections::BTreeMap;
use std::ops::Range;

use timely::dataflow::operators::Capability;

use crate::checkpoint::coordinator::TaskSnapshot;
use crate::checkpoint::task::TaskCheckpoints;
use crate::checkpoint::StateSnapshotContext;
use crate::runtime::timestamp::Time;
use crate::Result;

/// Moves the held capabilities up to `time`. Operators keep them at their input frontier (or at
/// the time of results they still owe), never behind it: a capability left at an old time
/// would hold back the frontier that sources pace themselves on (see
/// [`pacing`](super::pacing)).
#[inline]
pub(crate) fn downgrade_to(held: &mut [Capability<Time>], time: Time) {
    for capability in held.iter_mut() {
        if *capability.time() < time {
            capability.downgrade(&time);
        }
    }
}

/// Takes the snapshot `write` produces for the checkpoint of `epoch`.
pub(crate) fn take_snapshot(
    checkpoints: &TaskCheckpoints,
    epoch: u64,
    write: impl FnOnce(&mut StateSnapshotContext) -> Result<()>,
) -> Result<TaskSnapshot> {
    let mut context = StateSnapshotContext::new(checkpoints.checkpoint_id(epoch));
    write(&mut context)?;
    Ok(context.snapshot)
}

/// Snapshots the task through `write` for every epoch of `closed`, if checkpoints are taken.
pub(crate) fn acknowledge_closed(
    checkpoints: &TaskCheckpoints,
    closed: Range<u64>,
    write: impl FnOnce(&mut StateSnapshotContext) -> Result<()>,
) -> Result<()> {
    if checkpoints.enabled() {
        let snapshot = take_snapshot(checkpoints, closed.start, write)?;
        checkpoints.acknowledge(closed, snapshot);
    }
    Ok(())
}

/// What a task does as epochs close.
pub(crate) trait EpochHandler<B> {
    /// The epochs `closed` are complete: nothing more of them will arrive. They all share the
    /// state the task has now.
    fn close(&mut self, closed: Range<u64>) -> Result<()>;

    /// Processes a batch held back for `epoch`, now the epoch in progress.
    fn process(&mut self, epoch: u64, batch: B) -> Result<()>;
}

/// The epoch a task is in and the batches it holds back.
pub(crate) struct EpochAlignment<B> {
    epoch: u64,
    aligned: bool,
    held: BTreeMap<u64, Vec<B>>,
}

impl<B> EpochAlignment<B> {
    /// A task at epoch 0; `aligned` holds back later epochs (exactly-once).
    pub(crate) fn new(aligned: bool) -> Self {
        EpochAlignment { epoch: 0, aligned, held: BTreeMap::new() }
    }

    /// The epoch in progress.
    #[inline]
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Whether a batch of epoch `time` must wait.
    #[inline]
    pub(crate) fn holds_back(&self, time: u64) -> bool {
        self.aligned && time > self.epoch
    }

    /// Holds `batch` of epoch `time` back.
    pub(crate) fn hold(&mut self, time: u64, batch: B) {
        self.held.entry(time).or_default().push(batch);
    }

    /// Closes every epoch below `frontier` (the least epoch still possible at the inputs, `None`
    /// once they have ended), processing held-back batches in epoch order. When the inputs have
    /// ended the epoch in progress stays open: the task's end of input belongs to it.
    pub(crate) fn advance(&mut self, frontier: Option<u64>, handler: &mut impl EpochHandler<B>) -> Result<()> {
        let limit = frontier.unwrap_or(u64::MAX);
        while self.epoch < limit {
            let next = self.held.keys().next().map_or(limit, |&held| held.min(limit));
            if next == u64::MAX {
                break;
            }
            handler.close(self.epoch..next)?;
            self.epoch = next;
            for batch in self.held.remove(&next).into_iter().flatten() {
                handler.process(next, batch)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Log(Vec<String>);

    impl EpochHandler<&'static str> for Log {
        fn close(&mut self, closed: Range<u64>) -> Result<()> {
            self.0.push(format!("close {closed:?}"));
            Ok(())
        }
        fn process(&mut self, epoch: u64, batch: &'static str) -> Result<()> {
            self.0.push(format!("{epoch}: {batch}"));
            Ok(())
        }
    }

    #[test]
    fn held_batches_run_in_epoch_order_after_their_predecessors_close() {
        let mut alignment = EpochAlignment::new(true);
        let mut log = Log::default();
        assert!(alignment.holds_back(2) && !alignment.holds_back(0));
        alignment.hold(2, "b");
        alignment.hold(1, "a");
        alignment.advance(Some(0), &mut log).unwrap();
        assert!(log.0.is_empty(), "epoch 0 still open");
        alignment.advance(Some(2), &mut log).unwrap();
        assert_eq!(log.0, ["close 0..1", "1: a", "close 1..2", "2: b"]);
        alignment.advance(Some(5), &mut log).unwrap();
        assert_eq!(log.0[4..], ["close 2..5"], "epochs without data close together");
        alignment.advance(None, &mut log).unwrap();
        assert_eq!(alignment.epoch(), 5, "the last epoch stays open at end of input");
    }

    #[test]
    fn at_least_once_never_holds_back() {
        let alignment = EpochAlignment::<()>::new(false);
        assert!(!alignment.holds_back(9));
    }
}
