//! The reading side of a control connection: a stop from another process stops this process's
//! workers at once, checkpoint messages go to the running attempt's checkpoint coordinator, and
//! everything else waits in the job thread's inbox.

use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;

use crate::checkpoint::coordinator::{SnapshotFile, TaskId, TaskSnapshot};
use crate::cluster::config::ClusterConfig;
use crate::cluster::control::{gone, lost_coordinator, CheckpointSlot, Generations, Inbound};
use crate::cluster::wire::{self, Control, Decision, StopReason};
use crate::runtime::job::JobShared;
use crate::FlinkError;

/// Reads one control connection for as long as it lasts.
pub(crate) struct Reader {
    /// This process's cluster.
    pub(crate) config: ClusterConfig,
    pub(crate) from: usize,
    /// Which connection of process `from` this is; a later one replaces it when the process
    /// rejoins, and then this one's end means nothing.
    pub(crate) generation: u64,
    pub(crate) generations: Generations,
    pub(crate) job: Arc<JobShared>,
    pub(crate) inbox: Sender<Inbound>,
    pub(crate) attempt: Arc<AtomicU64>,
    pub(crate) closing: Arc<AtomicBool>,
    pub(crate) checkpoints: CheckpointSlot,
}

impl Reader {
    /// Reads `stream` on a thread of its own.
    pub(crate) fn spawn(self, stream: TcpStream) {
        let job = Arc::clone(&self.job);
        let spawned = std::thread::Builder::new()
            .name(format!("cluster control: process {}", self.from))
            .spawn(move || self.run(stream));
        if let Err(e) = spawned {
            job.fail(FlinkError::Runtime(format!("cannot start reading the cluster's control connections: {e}")));
        }
    }

    fn run(self, mut stream: TcpStream) {
        loop {
            let message = match wire::receive(&mut stream) {
                Ok(Some(message)) => message,
                Ok(None) => return self.lost("the connection was closed"),
                Err(e) => return self.lost(&e.to_string()),
            };
            let current = self.attempt.load(Ordering::Acquire);
            match &message {
                Control::Stop { attempt, reason } | Control::Stopping { attempt, reason } if *attempt == current => {
                    match reason {
                        StopReason::Cancelled => self.job.cancel(),
                        StopReason::Stopped => self.job.stop_after_savepoint(),
                        StopReason::Failed(error) => self.job.fail(error.clone().into_error()),
                    }
                }
                Control::Epochs { .. } | Control::Acked { .. } | Control::TaskFinished { .. } => {
                    self.checkpoint_message(current, message);
                    continue;
                }
                Control::Decided { decision, .. } if !matches!(decision, Decision::Restart { .. }) => {
                    self.closing.store(true, Ordering::Release)
                }
                _ => {}
            }
            if self.inbox.send(Inbound::Message(self.from, message)).is_err() {
                return;
            }
        }
    }

    /// Hands a checkpoint message of the running attempt to its checkpoint coordinator.
    fn checkpoint_message(&self, current: u64, message: Control) {
        let slot = self.checkpoints.lock().unwrap_or_else(|e| e.into_inner());
        let Some(checkpoints) = slot.as_ref() else { return };
        match message {
            Control::Epochs { attempt, triggered, completed, draining } if attempt == current => {
                checkpoints.mirror(triggered, completed, draining)
            }
            Control::Acked { attempt, node, subtask, epoch, files, key_groups } if attempt == current => {
                checkpoints.acknowledge_written(TaskId { node, subtask }, epoch, files, key_groups)
            }
            Control::TaskFinished { attempt, node, subtask, from_epoch, files, key_groups } if attempt == current => {
                let files = files.into_iter().map(|(name, bytes)| (name, SnapshotFile::Ready(bytes))).collect();
                let snapshot = TaskSnapshot { files, native: Vec::new(), key_groups };
                checkpoints.finished(TaskId { node, subtask }, from_epoch, snapshot)
            }
            // A message of an earlier attempt.
            _ => {}
        }
    }

    fn lost(&self, why: &str) {
        if self.generations[self.from].load(Ordering::Acquire) != self.generation {
            return;
        }
        if !self.closing.load(Ordering::Acquire) {
            let error = match self.config.is_coordinator() {
                true => gone(self.from, why).into_error(),
                false => lost_coordinator(&self.config, why),
            };
            self.job.fail(error);
        }
        let _ = self.inbox.send(Inbound::Lost(self.from, self.generation, why.to_string()));
    }
}
