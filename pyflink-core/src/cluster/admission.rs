//! How processes join a job: at its start, process 0 waits for every other process to connect
//! and say which job it built, refusing the job when they differ; while the job runs, it keeps
//! listening, so that a process that died and was started again rejoins the job at its next
//! attempt.

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cluster::config::ClusterConfig;
use crate::cluster::control::{Inbound, POLL};
use crate::cluster::mesh;
use crate::cluster::wire::{self, Control};
use crate::runtime::client::JobId;
use crate::{FlinkError, Result};

/// Where a process starts in a job: the first attempt it runs and the checkpoint it restores
/// (a process that rejoins a running job starts at its next attempt).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Resume {
    pub(crate) attempt: u64,
    pub(crate) restore: Option<u64>,
}

/// The processes that joined a job at its start, and the listener that admits them again.
pub(crate) struct Admitted {
    pub(crate) job_id: JobId,
    pub(crate) streams: Vec<(usize, TcpStream)>,
    pub(crate) listener: TcpListener,
}

/// Process 0: accepts every other process's control connection and checks its plan, then
/// welcomes each to the job `job_id` (a random one if `None`), to start from `start`.
pub(crate) fn accept_processes(
    config: &ClusterConfig,
    plan: &str,
    deadline: Instant,
    job_id: Option<JobId>,
    start: Resume,
) -> Result<Admitted> {
    let address = config.coordinator();
    let listener = TcpListener::bind(&ClusterConfig::resolve(&address)?[..]).map_err(|e| {
        FlinkError::Runtime(format!(
            "the coordinator (process 0) cannot listen on {address}: {e}; set another coordinator address"
        ))
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| FlinkError::Runtime(format!("cannot poll the coordinator's listener: {e}")))?;
    let mut joined: Vec<Option<TcpStream>> = (0..config.processes()).map(|_| None).collect();
    let mut waiting = config.processes() - 1;
    while waiting > 0 {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    let missing: Vec<usize> = (1..config.processes()).filter(|&p| joined[p].is_none()).collect();
                    return Err(FlinkError::Runtime(format!(
                        "the coordinator waited {:?} for processes {missing:?} to join the job at {address}; start them with the same program",
                        config.connect_timeout()
                    )));
                }
                std::thread::sleep(POLL);
                continue;
            }
            Err(e) => return Err(FlinkError::Runtime(format!("the coordinator cannot accept a process: {e}"))),
        };
        let Some((process, stream)) = read_hello(config, plan, stream, deadline, |p| joined[p].is_some())? else {
            continue;
        };
        match process {
            Ok(process) => {
                tracing::info!(process, "process joined the job");
                joined[process] = Some(stream);
                waiting -= 1;
            }
            Err(reason) => return Err(FlinkError::InvalidProgram(reason)),
        }
    }
    let job_id = job_id.unwrap_or_else(JobId::random);
    let mut streams = Vec::with_capacity(config.processes() - 1);
    for (process, stream) in joined.into_iter().enumerate() {
        if let Some(mut stream) = stream {
            welcome(&mut stream, job_id, start)
                .map_err(|e| FlinkError::Runtime(format!("process {process} left before the job started: {e}")))?;
            streams.push((process, stream));
        }
    }
    Ok(Admitted { job_id, streams, listener })
}

/// Tells an admitted process the job's id and where to start.
pub(crate) fn welcome(stream: &mut TcpStream, job_id: JobId, resume: Resume) -> std::io::Result<()> {
    wire::send(stream, &Control::Welcome { job_id: job_id.as_u128(), attempt: resume.attempt, restore: resume.restore })
}

/// Keeps admitting processes while the job runs: a process that passes the checks is handed to
/// the job's thread through `inbox`, which lets it in at the next attempt; one that fails them
/// is refused and the job goes on.
pub(crate) fn readmit(
    listener: TcpListener,
    config: ClusterConfig,
    plan: String,
    inbox: Sender<Inbound>,
    closing: Arc<AtomicBool>,
) {
    while !closing.load(Ordering::Acquire) {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(POLL * 4);
                continue;
            }
            Err(error) => {
                tracing::warn!(%error, "the coordinator stops admitting processes");
                return;
            }
        };
        let deadline = Instant::now() + config.connect_timeout();
        match read_hello(&config, &plan, stream, deadline, |_| false) {
            Ok(Some((Ok(process), stream))) => {
                tracing::info!(process, "process asks to rejoin the job");
                if inbox.send(Inbound::Joined(process, stream)).is_err() {
                    return;
                }
            }
            Ok(Some((Err(reason), _))) => tracing::warn!(%reason, "refused a process that asked to join the job"),
            Ok(None) | Err(_) => {}
        }
    }
}

/// A hello's sender and connection: `Ok(process)` when it may join, `Err(reason)` (which it is
/// told) when it may not; `None` for a connection that is not a pyflink-rs process's.
type Hello = Option<(std::result::Result<usize, String>, TcpStream)>;

/// Reads a joining process's hello and checks it against this process's cluster and `plan`.
fn read_hello(
    config: &ClusterConfig,
    plan: &str,
    mut stream: TcpStream,
    deadline: Instant,
    taken: impl Fn(usize) -> bool,
) -> Result<Hello> {
    let setup = |e: std::io::Error| FlinkError::Runtime(format!("cannot set up a control connection: {e}"));
    mesh::prepare_accepted(&stream, deadline).map_err(setup)?;
    let (process, processes, threads, their_plan) = match wire::receive(&mut stream) {
        Ok(Some(Control::Hello { process, processes, threads, plan })) => (process, processes, threads, plan),
        _ => return Ok(None),
    };
    stream.set_read_timeout(None).map_err(setup)?;
    let problem = if processes != config.processes() || threads != config.threads() {
        Some(format!(
            "process {process} runs a cluster of {processes} processes x {threads} threads, process 0 one of {} x {}; give every process the same host list and threads",
            config.processes(),
            config.threads()
        ))
    } else if process == 0 || process >= config.processes() || taken(process) {
        Some(format!("two processes claim to be process {process}; give each process its own id"))
    } else {
        plan_difference(plan, &their_plan)
            .map(|difference| format!("process {process} built a different job than process 0 ({difference}); every process must run the same program with the same arguments"))
    };
    match problem {
        Some(reason) => {
            let _ = wire::send(&mut stream, &Control::Rejected { reason: reason.clone() });
            Ok(Some((Err(reason), stream)))
        }
        None => Ok(Some((Ok(process), stream))),
    }
}

/// The first line where two plans differ, said for a person.
fn plan_difference(ours: &str, theirs: &str) -> Option<String> {
    if ours == theirs {
        return None;
    }
    let mut ours_lines = ours.lines();
    let mut their_lines = theirs.lines();
    loop {
        match (ours_lines.next(), their_lines.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (Some(a), Some(b)) => return Some(format!("there: {b}; here: {a}")),
            (Some(a), None) => return Some(format!("it lacks {a}")),
            (None, Some(b)) => return Some(format!("it has {b} more")),
            (None, None) => return Some("the plans differ".into()),
        }
    }
}

/// Any other process: connects to the coordinator, says which job it built, and learns the
/// job's id and where to start in it.
pub(crate) fn join_coordinator(
    config: &ClusterConfig,
    plan: &str,
    deadline: Instant,
) -> Result<(JobId, TcpStream, Resume)> {
    let address = config.coordinator();
    let resolved = ClusterConfig::resolve(&address)?;
    let mut stream = loop {
        match TcpStream::connect(&resolved[..]) {
            Ok(stream) => break stream,
            Err(e) if Instant::now() >= deadline => {
                return Err(FlinkError::Runtime(format!(
                    "process {} cannot reach the coordinator (process 0) at {address} within {:?}: {e}",
                    config.process_id(),
                    config.connect_timeout()
                )))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let io = |e: std::io::Error| FlinkError::Runtime(format!("cannot talk to the coordinator at {address}: {e}"));
    stream.set_nodelay(true).map_err(io)?;
    let hello = Control::Hello {
        process: config.process_id(),
        processes: config.processes(),
        threads: config.threads(),
        plan: plan.to_string(),
    };
    wire::send(&mut stream, &hello).map_err(io)?;
    stream.set_read_timeout(Some(deadline.saturating_duration_since(Instant::now()).max(POLL))).map_err(io)?;
    let reply = wire::receive(&mut stream).map_err(io)?;
    stream.set_read_timeout(None).map_err(io)?;
    match reply {
        Some(Control::Welcome { job_id, attempt, restore }) => {
            Ok((JobId::from_u128(job_id), stream, Resume { attempt, restore }))
        }
        Some(Control::Rejected { reason }) => Err(FlinkError::InvalidProgram(reason)),
        other => Err(FlinkError::Runtime(format!(
            "the coordinator at {address} answered {other:?} instead of admitting process {}",
            config.process_id()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::plan_difference;

    #[test]
    fn plan_differences_name_the_first_differing_operator() {
        assert_eq!(plan_difference("a\nb", "a\nb"), None);
        assert_eq!(plan_difference("a\nb", "a\nc").unwrap(), "there: c; here: b");
        assert_eq!(plan_difference("a\nb", "a").unwrap(), "it lacks b");
    }
}
