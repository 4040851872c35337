//! Checkpoints of a job on a cluster: the coordinator process runs the job's checkpoint
//! coordinator for every task of the cluster; in every other process, tasks hand their
//! snapshots to a forwarder that writes them into the checkpoint storage all processes share
//! and tells the coordinator which files it wrote, while the epochs the coordinator triggers and
//! completes reach the tasks through the control connection.

use std::sync::mpsc::Receiver;
use std::sync::Arc;

use pyflink_state::checkpoint::{CheckpointStorage, SharedFiles};

use crate::checkpoint::coordinator::{
    write_task_files, CheckpointCoordinator, Message, RunningCoordinator, TaskId, TaskSnapshot,
};
use crate::checkpoint::CheckpointConfig;
use crate::cluster::control::ClusterSession;
use crate::cluster::wire::Control;
use crate::runtime::job::JobShared;
use crate::{FlinkError, Result};

/// Starts forwarding the snapshots of this process's tasks in `attempt` to the coordinator;
/// the returned handle is what tasks use, as they use the coordinator's in process 0.
pub(crate) fn start_forwarding(
    session: &ClusterSession,
    attempt: u64,
    config: &CheckpointConfig,
    storage: CheckpointStorage,
    base_id: u64,
    job: &Arc<JobShared>,
) -> Result<RunningCoordinator> {
    let (shared, receiver) = CheckpointCoordinator::follower(config, base_id);
    let forwarder = Forwarder {
        shared: Arc::clone(&shared),
        storage,
        shared_files: SharedFiles::default(),
        send: session.sender(),
        attempt,
        job: Arc::clone(job),
    };
    let thread = std::thread::Builder::new()
        .name("checkpoint forwarder".into())
        .spawn(move || forwarder.run(receiver))
        .map_err(|e| FlinkError::Runtime(format!("cannot start the checkpoint forwarder: {e}")))?;
    Ok(RunningCoordinator::running(shared, thread))
}

/// Sends a message to the coordinator; false when the connection is gone.
pub(crate) type SendToCoordinator = Box<dyn Fn(&Control) -> bool + Send>;

struct Forwarder {
    shared: Arc<CheckpointCoordinator>,
    storage: CheckpointStorage,
    shared_files: SharedFiles,
    send: SendToCoordinator,
    attempt: u64,
    job: Arc<JobShared>,
}

impl Forwarder {
    fn run(mut self, receiver: Receiver<Message>) {
        while let Ok(message) = receiver.recv() {
            let outcome = match message {
                Message::Ack { task, epoch, snapshot } => self.forward_ack(task, epoch, &snapshot),
                Message::Finished { task, from_epoch, snapshot } => self.forward_finished(task, from_epoch, &snapshot),
                Message::AckWritten { .. } => Ok(()),
                // Every task of this process has handed over its messages.
                Message::Shutdown | Message::Finish { .. } => return,
            };
            if let Err(error) = outcome {
                self.job.fail(error);
                return;
            }
        }
    }

    fn forward_ack(&mut self, task: TaskId, epoch: u64, snapshot: &TaskSnapshot) -> Result<()> {
        let id = self.shared.checkpoint_id(epoch);
        let files = write_task_files(&self.storage, &mut self.shared_files, id, task, snapshot)
            .map_err(|e| FlinkError::Runtime(format!("cannot write checkpoint {id}: {e}")))?;
        let message = Control::Acked {
            attempt: self.attempt,
            node: task.node,
            subtask: task.subtask,
            epoch,
            files,
            key_groups: snapshot.key_groups,
        };
        // A lost connection stops the job through the control reader; nothing to add here.
        (self.send)(&message);
        Ok(())
    }

    fn forward_finished(&mut self, task: TaskId, from_epoch: u64, snapshot: &TaskSnapshot) -> Result<()> {
        if !snapshot.native.is_empty() {
            return Err(FlinkError::Runtime(format!(
                "task {} of operator {} finished with RocksDB state, which a cluster cannot checkpoint after the task ends yet; use the heap state backend for bounded jobs on a cluster",
                task.subtask, task.node
            )));
        }
        let mut files = Vec::with_capacity(snapshot.files.len());
        for (name, contents) in &snapshot.files {
            let bytes = contents.bytes().map_err(|e| FlinkError::Runtime(format!("cannot encode final state: {e}")))?;
            files.push((name.clone(), bytes.to_vec()));
        }
        let message = Control::TaskFinished {
            attempt: self.attempt,
            node: task.node,
            subtask: task.subtask,
            from_epoch,
            files,
            key_groups: snapshot.key_groups,
        };
        (self.send)(&message);
        Ok(())
    }
}
