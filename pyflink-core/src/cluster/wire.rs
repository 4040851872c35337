//! The messages processes of a cluster exchange to coordinate a job (never records: those go
//! through timely), framed as a 4-byte big-endian length and the message as JSON.

use std::io::{Read, Write};

use std::collections::BTreeMap;

use pyflink_state::checkpoint::FileHandle;
use pyflink_state::KeyGroupRange;
use serde::{Deserialize, Serialize};

use crate::metrics::MetricValue;
use crate::FlinkError;

/// The longest message a process accepts (a finished task's final state can be large); a peer
/// speaking another protocol sends a length beyond it.
const MAX_FRAME: usize = 256 << 20;

/// A failure as it crosses between processes: the process it happened in, its message, and
/// whether a restart can get past it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RemoteError {
    pub(crate) process: usize,
    pub(crate) message: String,
    pub(crate) recoverable: bool,
}

impl RemoteError {
    /// `error` as it happened in `process` (or, if it came from another process, there).
    pub(crate) fn of(process: usize, error: &FlinkError) -> RemoteError {
        match error {
            FlinkError::Remote { process, message, recoverable } => {
                RemoteError { process: *process, message: message.clone(), recoverable: *recoverable }
            }
            other => RemoteError { process, message: other.to_string(), recoverable: other.is_recoverable() },
        }
    }

    /// The error to fail the job with.
    pub(crate) fn into_error(self) -> FlinkError {
        FlinkError::Remote { process: self.process, message: self.message, recoverable: self.recoverable }
    }
}

/// Why the workers of an attempt stop before their dataflow completes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum StopReason {
    /// The job was cancelled through a client.
    Cancelled,
    /// The job was stopped after a savepoint; it ends as finished.
    Stopped,
    /// A task of some process failed.
    Failed(RemoteError),
}

/// How an attempt ended in one process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum AttemptEnd {
    /// The dataflow completed.
    Finished,
    /// The job was cancelled.
    Cancelled,
    /// The attempt failed.
    Failed(RemoteError),
}

/// What the coordinator decided after an attempt, for every process to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Decision {
    /// The job has finished.
    Finish,
    /// The job is cancelled.
    Cancel,
    /// Run the next attempt after waiting this many milliseconds, from the checkpoint of this
    /// id if there is one.
    Restart { delay_ms: u64, restore: Option<u64> },
    /// The job has failed for good.
    Fail(RemoteError),
}

/// A message between a process and the coordinator (process 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Control {
    /// A process joins the job, naming the plan it built.
    Hello { process: usize, processes: usize, threads: usize, plan: String },
    /// The coordinator accepts the process into the job with this id, to run from `attempt` on,
    /// restoring the checkpoint `restore` if there is one.
    Welcome { job_id: u128, attempt: u64, restore: Option<u64> },
    /// The coordinator refuses the process, saying why.
    Rejected { reason: String },
    /// The process listens for the record connections of `attempt`.
    Ready { attempt: u64 },
    /// Every process listens: connect and run `attempt`.
    Start { attempt: u64 },
    /// A process's workers stop for `reason` (to the coordinator).
    Stopping { attempt: u64, reason: StopReason },
    /// Every process must stop its workers for `reason` (from the coordinator).
    Stop { attempt: u64, reason: StopReason },
    /// How `attempt` ended in the sending process, with its operators' metrics then.
    Ended { attempt: u64, end: AttemptEnd, metrics: BTreeMap<String, MetricValue> },
    /// What every process does after `attempt`.
    Decided { attempt: u64, decision: Decision },
    /// The epochs the coordinator has triggered and completed, and the one sources drain in
    /// (from the coordinator).
    Epochs { attempt: u64, triggered: u64, completed: u64, draining: Option<u64> },
    /// A task's snapshot of `epoch`, written into the shared checkpoint storage as `files`.
    Acked {
        attempt: u64,
        node: usize,
        subtask: usize,
        epoch: u64,
        files: Vec<FileHandle>,
        key_groups: Option<KeyGroupRange>,
    },
    /// A task finished; its final state is `files` (by name), its key groups `key_groups`.
    TaskFinished {
        attempt: u64,
        node: usize,
        subtask: usize,
        from_epoch: u64,
        files: Vec<(String, Vec<u8>)>,
        key_groups: Option<KeyGroupRange>,
    },
}

/// Writes one framed message.
pub(crate) fn send(stream: &mut impl Write, message: &Control) -> std::io::Result<()> {
    let body = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    stream.write_all(&frame)?;
    stream.flush()
}

/// Reads one framed message; `Ok(None)` when the peer closed the connection between messages.
pub(crate) fn receive(stream: &mut impl Read) -> std::io::Result<Option<Control>> {
    let mut length = [0u8; 4];
    match stream.read_exact(&mut length) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let length = u32::from_be_bytes(length) as usize;
    if length > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a control message of {length} bytes; the peer does not speak pyflink-rs's cluster protocol"),
        ));
    }
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body)?;
    serde_json::from_slice(&body).map(Some).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_survive_the_frame() {
        let messages = vec![
            Control::Hello { process: 1, processes: 2, threads: 3, plan: "abc".into() },
            Control::Stop {
                attempt: 4,
                reason: StopReason::Failed(RemoteError { process: 1, message: "boom".into(), recoverable: true }),
            },
            Control::Decided { attempt: 4, decision: Decision::Restart { delay_ms: 10, restore: Some(3) } },
        ];
        let mut bytes = Vec::new();
        for message in &messages {
            send(&mut bytes, message).unwrap();
        }
        let mut reader = bytes.as_slice();
        for message in &messages {
            assert_eq!(receive(&mut reader).unwrap().as_ref(), Some(message));
        }
        assert_eq!(receive(&mut reader).unwrap(), None);
    }

    #[test]
    fn a_foreign_peer_is_refused_not_trusted() {
        let mut reader: &[u8] = b"GET / HTTP/1.1\r\n\r\n";
        let error = receive(&mut reader).unwrap_err();
        assert!(error.to_string().contains("cluster protocol"), "{error}");
    }

    #[test]
    fn errors_keep_their_origin_across_hops() {
        let error = FlinkError::User("bad record".into());
        let remote = RemoteError::of(2, &error);
        assert_eq!((remote.process, remote.recoverable), (2, true));
        let again = RemoteError::of(0, &remote.clone().into_error());
        assert_eq!(again, remote);
        assert!(!RemoteError::of(1, &FlinkError::InvalidProgram("x".into())).recoverable);
    }
}
