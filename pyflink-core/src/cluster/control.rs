//! The control connections of a job's processes: every process connects to the coordinator
//! (process 0), which checks that all built the same job, starts each attempt once every
//! process listens for its record connections, spreads a stop to every process when one fails
//! or is cancelled, and decides, once all have ended an attempt, whether the job has finished,
//! restarts or fails.

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::checkpoint::coordinator::{CheckpointCoordinator, SnapshotFile, TaskId, TaskSnapshot};
use crate::cluster::checkpoints::SendToCoordinator;
use crate::cluster::config::ClusterConfig;
use crate::cluster::mesh;
use crate::cluster::wire::{self, AttemptEnd, Control, Decision, RemoteError, StopReason};
use crate::runtime::client::JobId;
use crate::runtime::job::JobShared;
use crate::{FlinkError, Result};

/// How often a waiting process looks at the job's flags.
const POLL: Duration = Duration::from_millis(5);

/// What a reader thread passes on: a message from a process, or the loss of its connection.
enum Inbound {
    Message(usize, Control),
    Lost(usize, String),
}

/// The writing side of the connection to one other process.
struct Link {
    process: usize,
    writer: Mutex<TcpStream>,
}

impl Link {
    fn send(&self, message: &Control) -> std::io::Result<()> {
        wire::send(&mut *self.writer.lock().unwrap_or_else(|e| e.into_inner()), message)
    }
}

/// How an attempt of the job begins in this process.
pub(crate) enum AttemptStart {
    /// Run it on these record connections (by process index; `None` at this process).
    Run(Vec<Option<TcpStream>>),
    /// The coordinator ended the job before the attempt ran (it was cancelled while waiting to
    /// restart).
    Decided(Decision),
}

/// This process's part in coordinating one job across the cluster.
pub(crate) struct ClusterSession {
    config: ClusterConfig,
    job_id: JobId,
    /// Coordinator: one link per other process; any other process: the link to the coordinator.
    links: Arc<Vec<Link>>,
    readers: Vec<TcpStream>,
    inbox: Receiver<Inbound>,
    inbox_sender: Sender<Inbound>,
    /// The attempt running now; stops of other attempts are stale.
    attempt: Arc<AtomicU64>,
    /// Set once the job's end is decided, after which a closed connection is no failure.
    closing: Arc<AtomicBool>,
    /// Processes whose connection is gone (coordinator only).
    lost: Vec<bool>,
    /// The checkpoint coordinator (or, in other processes, forwarder) of the running attempt.
    checkpoints: CheckpointSlot,
}

/// Where the control readers find the running attempt's checkpoint coordinator.
type CheckpointSlot = Arc<Mutex<Option<Arc<CheckpointCoordinator>>>>;

impl ClusterSession {
    /// Joins the job `plan` describes with the other processes of `config`: process 0 waits for
    /// every other to connect and compares their plans with its own; the others connect to it.
    /// Fails, in every process, when the processes built different jobs.
    pub(crate) fn join(config: &ClusterConfig, plan: &str) -> Result<ClusterSession> {
        let deadline = Instant::now() + config.connect_timeout();
        let (job_id, streams) = if config.is_coordinator() {
            accept_processes(config, plan, deadline)?
        } else {
            let (job_id, stream) = join_coordinator(config, plan, deadline)?;
            (job_id, vec![(0, stream)])
        };
        let mut links = Vec::with_capacity(streams.len());
        let mut readers = Vec::with_capacity(streams.len());
        for (process, stream) in streams {
            let reader = stream.try_clone().map_err(|e| {
                FlinkError::Runtime(format!("cannot read the control connection to process {process}: {e}"))
            })?;
            readers.push(reader);
            links.push(Link { process, writer: Mutex::new(stream) });
        }
        let (inbox_sender, inbox) = channel();
        Ok(ClusterSession {
            config: config.clone(),
            job_id,
            links: Arc::new(links),
            readers,
            inbox,
            inbox_sender,
            attempt: Arc::new(AtomicU64::new(0)),
            closing: Arc::new(AtomicBool::new(false)),
            lost: vec![false; config.processes()],
            checkpoints: Arc::new(Mutex::new(None)),
        })
    }

    /// The job's id, the same in every process.
    pub(crate) fn job_id(&self) -> JobId {
        self.job_id
    }

    /// This process's index.
    pub(crate) fn process_id(&self) -> usize {
        self.config.process_id()
    }

    /// The cluster.
    pub(crate) fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// Starts reading the control connections: a stop from another process stops `job`'s
    /// workers here at once, everything else waits in the inbox for the job's thread.
    pub(crate) fn listen(&mut self, job: &Arc<JobShared>) {
        let me = self.config.process_id();
        for (link, reader) in self.links.iter().zip(self.readers.drain(..)) {
            let reading = Reader {
                me,
                from: link.process,
                job: Arc::clone(job),
                inbox: self.inbox_sender.clone(),
                attempt: Arc::clone(&self.attempt),
                closing: Arc::clone(&self.closing),
                checkpoints: Arc::clone(&self.checkpoints),
            };
            let spawned = std::thread::Builder::new()
                .name(format!("cluster control: process {}", link.process))
                .spawn(move || reading.run(reader));
            if let Err(e) = spawned {
                job.fail(FlinkError::Runtime(format!("cannot start reading the cluster's control connections: {e}")));
            }
        }
    }

    /// Makes `checkpoints` the running attempt's: acknowledgements and epochs that arrive from
    /// other processes go to it; on the coordinator, the epochs it triggers and completes go to
    /// every other process. `None` detaches it when the attempt ends.
    pub(crate) fn attach_checkpoints(&self, attempt: u64, checkpoints: Option<Arc<CheckpointCoordinator>>) {
        if let (Some(coordinator), true) = (&checkpoints, self.config.is_coordinator()) {
            let links = Arc::clone(&self.links);
            coordinator.observe(Box::new(move |triggered, completed| {
                for link in links.iter() {
                    // A process that cannot be told has lost its connection; its reader says so.
                    let _ = link.send(&Control::Epochs { attempt, triggered, completed });
                }
            }));
        }
        *self.checkpoints.lock().unwrap_or_else(|e| e.into_inner()) = checkpoints;
    }

    /// Sends messages to the coordinator (from a process that is not it).
    pub(crate) fn sender(&self) -> SendToCoordinator {
        let links = Arc::clone(&self.links);
        Box::new(move |message| links[0].send(message).is_ok())
    }

    /// Waits until every process is ready for `attempt` and connects its record connections.
    pub(crate) fn begin(&mut self, attempt: u64, job: &JobShared) -> Result<AttemptStart> {
        self.attempt.store(attempt, Ordering::Release);
        let listener = mesh::listen(&self.config)?;
        let deadline = Instant::now() + self.config.connect_timeout();
        if self.config.is_coordinator() {
            if let Some(decision) = self.await_ready(attempt, job, deadline)? {
                return Ok(AttemptStart::Decided(decision));
            }
            self.broadcast(&Control::Start { attempt });
        } else {
            self.links[0].send(&Control::Ready { attempt }).map_err(|e| self.lost_coordinator(&e.to_string()))?;
            if let Some(decision) = self.await_start(attempt, deadline)? {
                return Ok(AttemptStart::Decided(decision));
            }
        }
        mesh::connect(&self.config, listener, attempt, deadline).map(AttemptStart::Run)
    }

    /// The coordinator waits for every process to be ready, or the job to be cancelled.
    fn await_ready(&mut self, attempt: u64, job: &JobShared, deadline: Instant) -> Result<Option<Decision>> {
        let mut ready = vec![false; self.config.processes()];
        ready[0] = true;
        while ready.iter().any(|r| !r) {
            if job.is_cancelled() {
                self.closing.store(true, Ordering::Release);
                self.broadcast(&Control::Decided { attempt, decision: Decision::Cancel });
                return Ok(Some(Decision::Cancel));
            }
            if let Some(process) = self.lost.iter().position(|&l| l) {
                return Err(FlinkError::Runtime(format!(
                    "process {process} of the cluster is gone; it cannot start attempt {attempt} of the job"
                )));
            }
            if Instant::now() >= deadline {
                let missing: Vec<usize> = (0..ready.len()).filter(|&p| !ready[p]).collect();
                return Err(FlinkError::Runtime(format!(
                    "processes {missing:?} were not ready for attempt {attempt} of the job within {:?}",
                    self.config.connect_timeout()
                )));
            }
            match self.inbox.recv_timeout(POLL) {
                Ok(Inbound::Message(process, Control::Ready { attempt: a })) if a == attempt => ready[process] = true,
                Ok(Inbound::Lost(process, _)) => self.lost[process] = true,
                Ok(_) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => unreachable!("the session keeps a sender"),
            }
        }
        Ok(None)
    }

    /// Any other process waits for the coordinator to start the attempt (or end the job).
    fn await_start(&self, attempt: u64, deadline: Instant) -> Result<Option<Decision>> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.inbox.recv_timeout(left.max(POLL)) {
                Ok(Inbound::Message(_, Control::Start { attempt: a })) if a == attempt => return Ok(None),
                Ok(Inbound::Message(_, Control::Decided { attempt: a, decision })) if a == attempt => {
                    return Ok(Some(decision))
                }
                Ok(Inbound::Message(_, Control::Stop { attempt: a, reason })) if a == attempt => {
                    return Err(match reason {
                        StopReason::Cancelled | StopReason::Stopped => FlinkError::Cancelled,
                        StopReason::Failed(error) => error.into_error(),
                    })
                }
                Ok(Inbound::Lost(_, why)) => return Err(self.lost_coordinator(&why)),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) if Instant::now() >= deadline => {
                    return Err(FlinkError::Runtime(format!(
                        "the coordinator (process 0) did not start attempt {attempt} of the job within {:?}",
                        self.config.connect_timeout()
                    )))
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => unreachable!("the session keeps a sender"),
            }
        }
    }

    /// Watches `job` while `attempt` runs: once its workers here stop early, tells the other
    /// processes why, so that theirs stop too. The watch ends when the returned guard drops.
    pub(crate) fn watch(&self, attempt: u64, job: &Arc<JobShared>) -> Watch {
        let done = Arc::new(AtomicBool::new(false));
        let watching = Arc::clone(&done);
        let job = Arc::clone(job);
        let links = Arc::clone(&self.links);
        let me = self.config.process_id();
        let thread = std::thread::Builder::new().name("cluster watch".into()).spawn(move || {
            while !watching.load(Ordering::Acquire) {
                if job.should_stop() {
                    let reason = stop_reason(me, &job);
                    let message = match me {
                        0 => Control::Stop { attempt, reason },
                        _ => Control::Stopping { attempt, reason },
                    };
                    for link in links.iter() {
                        // A process that cannot be told has lost its connection, which stops it.
                        let _ = link.send(&message);
                    }
                    return;
                }
                std::thread::sleep(POLL);
            }
        });
        Watch { done, thread: thread.ok() }
    }

    /// Ends `attempt`: every process reports how it ended here, and the coordinator combines
    /// the reports, decides with `decide` and tells every process the decision.
    pub(crate) fn conclude(
        &mut self,
        attempt: u64,
        end: AttemptEnd,
        decide: impl FnOnce(AttemptEnd) -> Decision,
    ) -> Decision {
        let decision = if self.config.is_coordinator() {
            let combined = self.gather_ends(attempt, end);
            let decision = decide(combined);
            if !matches!(decision, Decision::Restart { .. }) {
                self.closing.store(true, Ordering::Release);
            }
            self.broadcast(&Control::Decided { attempt, decision: decision.clone() });
            decision
        } else {
            self.await_decision(attempt, end)
        };
        tracing::debug!(process = self.config.process_id(), attempt, ?decision, "attempt concluded");
        decision
    }

    /// The coordinator's view of how an attempt ended: the first failure of any process, else
    /// cancelled if any process was, else finished.
    fn gather_ends(&mut self, attempt: u64, own: AttemptEnd) -> AttemptEnd {
        let mut ends: Vec<Option<AttemptEnd>> = vec![None; self.config.processes()];
        ends[0] = Some(own);
        for (process, lost) in self.lost.iter().enumerate() {
            if *lost {
                ends[process] = Some(AttemptEnd::Failed(gone(process, "its connection was lost earlier")));
            }
        }
        while ends.iter().any(Option::is_none) {
            match self.inbox.recv() {
                Ok(Inbound::Message(process, Control::Ended { attempt: a, end })) if a == attempt => {
                    ends[process] = Some(end)
                }
                Ok(Inbound::Lost(process, why)) => {
                    self.lost[process] = true;
                    ends[process].get_or_insert(AttemptEnd::Failed(gone(process, &why)));
                }
                Ok(_) => {}
                Err(_) => unreachable!("the session keeps a sender"),
            }
        }
        let ends: Vec<AttemptEnd> = ends.into_iter().flatten().collect();
        if let Some(failed) = ends.iter().find(|e| matches!(e, AttemptEnd::Failed(_))) {
            return failed.clone();
        }
        if ends.contains(&AttemptEnd::Cancelled) {
            return AttemptEnd::Cancelled;
        }
        AttemptEnd::Finished
    }

    /// Any other process reports its end and waits for the coordinator's decision.
    fn await_decision(&mut self, attempt: u64, end: AttemptEnd) -> Decision {
        if let Err(e) = self.links[0].send(&Control::Ended { attempt, end }) {
            return Decision::Fail(RemoteError::of(self.process_id(), &self.lost_coordinator(&e.to_string())));
        }
        loop {
            match self.inbox.recv() {
                Ok(Inbound::Message(_, Control::Decided { attempt: a, decision })) if a == attempt => return decision,
                Ok(Inbound::Lost(_, why)) => {
                    return Decision::Fail(RemoteError::of(self.process_id(), &self.lost_coordinator(&why)))
                }
                Ok(_) => {}
                Err(_) => unreachable!("the session keeps a sender"),
            }
        }
    }

    fn broadcast(&self, message: &Control) {
        for link in self.links.iter() {
            // A process that cannot be told has lost its connection; its reader reports that.
            let _ = link.send(message);
        }
    }

    fn lost_coordinator(&self, why: &str) -> FlinkError {
        FlinkError::Runtime(format!(
            "process {} lost its connection to the coordinator (process 0 at {}): {why}",
            self.config.process_id(),
            self.config.coordinator()
        ))
    }
}

impl Drop for ClusterSession {
    fn drop(&mut self) {
        self.closing.store(true, Ordering::Release);
        for link in self.links.iter() {
            let _ = link.writer.lock().unwrap_or_else(|e| e.into_inner()).shutdown(std::net::Shutdown::Both);
        }
    }
}

/// Stops the watch of an attempt when dropped.
pub(crate) struct Watch {
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Why the workers of `job` stop, as other processes are told.
fn stop_reason(me: usize, job: &JobShared) -> StopReason {
    if job.is_stopped_with_savepoint() {
        return StopReason::Stopped;
    }
    if job.is_cancelled() {
        return StopReason::Cancelled;
    }
    let error = job.error().unwrap_or_else(|| FlinkError::Runtime("the workers stopped".into()));
    StopReason::Failed(RemoteError::of(me, &error))
}

fn gone(process: usize, why: &str) -> RemoteError {
    RemoteError {
        process,
        message: format!("the process is gone ({why}); restart the job once every process runs"),
        recoverable: false,
    }
}

/// Reads one control connection for the life of the job.
struct Reader {
    me: usize,
    from: usize,
    job: Arc<JobShared>,
    inbox: Sender<Inbound>,
    attempt: Arc<AtomicU64>,
    closing: Arc<AtomicBool>,
    checkpoints: CheckpointSlot,
}

impl Reader {
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
            Control::Epochs { attempt, triggered, completed } if attempt == current => {
                checkpoints.mirror(triggered, completed)
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
        if !self.closing.load(Ordering::Acquire) {
            let error = match self.me {
                0 => gone(self.from, why).into_error(),
                _ => FlinkError::Runtime(format!(
                    "process {} lost its connection to the coordinator (process 0): {why}",
                    self.me
                )),
            };
            self.job.fail(error);
        }
        let _ = self.inbox.send(Inbound::Lost(self.from, why.to_string()));
    }
}

/// Process 0: accepts every other process's control connection and checks its plan.
fn accept_processes(config: &ClusterConfig, plan: &str, deadline: Instant) -> Result<(JobId, Vec<(usize, TcpStream)>)> {
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
        if let Some(process) = admit(config, plan, stream, deadline, &mut joined)? {
            tracing::info!(process, "process joined the job");
            waiting -= 1;
        }
    }
    let job_id = JobId::random();
    let mut streams = Vec::with_capacity(config.processes() - 1);
    for (process, stream) in joined.into_iter().enumerate() {
        if let Some(mut stream) = stream {
            wire::send(&mut stream, &Control::Welcome { job_id: job_id.as_u128() })
                .map_err(|e| FlinkError::Runtime(format!("process {process} left before the job started: {e}")))?;
            streams.push((process, stream));
        }
    }
    Ok((job_id, streams))
}

/// Reads a joining process's hello; refuses it, failing the job, when its job differs.
fn admit(
    config: &ClusterConfig,
    plan: &str,
    mut stream: TcpStream,
    deadline: Instant,
    joined: &mut [Option<TcpStream>],
) -> Result<Option<usize>> {
    let setup = |e: std::io::Error| FlinkError::Runtime(format!("cannot set up a control connection: {e}"));
    mesh::prepare_accepted(&stream, deadline).map_err(setup)?;
    let (process, processes, threads, their_plan) = match wire::receive(&mut stream) {
        Ok(Some(Control::Hello { process, processes, threads, plan })) => (process, processes, threads, plan),
        // Not one of ours; ignore it.
        _ => return Ok(None),
    };
    stream.set_read_timeout(None).map_err(setup)?;
    let problem = if processes != config.processes() || threads != config.threads() {
        Some(format!(
            "process {process} runs a cluster of {processes} processes x {threads} threads, process 0 one of {} x {}; give every process the same host list and threads",
            config.processes(),
            config.threads()
        ))
    } else if process == 0 || process >= config.processes() || joined[process].is_some() {
        Some(format!("two processes claim to be process {process}; give each process its own id"))
    } else {
        plan_difference(plan, &their_plan)
            .map(|difference| format!("process {process} built a different job than process 0 ({difference}); every process must run the same program with the same arguments"))
    };
    if let Some(reason) = problem {
        let _ = wire::send(&mut stream, &Control::Rejected { reason: reason.clone() });
        return Err(FlinkError::InvalidProgram(reason));
    }
    joined[process] = Some(stream);
    Ok(Some(process))
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

/// Any other process: connects to the coordinator and says which job it built.
fn join_coordinator(config: &ClusterConfig, plan: &str, deadline: Instant) -> Result<(JobId, TcpStream)> {
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
        Some(Control::Welcome { job_id }) => Ok((JobId::from_u128(job_id), stream)),
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
