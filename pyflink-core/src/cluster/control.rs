//! The control connections of a job's processes: every process connects to the coordinator
//! (process 0), which checks that all built the same job, starts each attempt once every
//! process listens for its record connections, spreads a stop to every process when one fails
//! or is cancelled, and decides, once all have ended an attempt, whether the job has finished,
//! restarts or fails. A process that dies is waited for at the next attempt: started again, it
//! rejoins the job there (see [`crate::cluster::admission`]).

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::checkpoint::coordinator::CheckpointCoordinator;
use crate::cluster::admission::{self, accept_processes, join_coordinator, Resume};
use crate::cluster::checkpoints::SendToCoordinator;
use crate::cluster::config::ClusterConfig;
use crate::cluster::mesh;
use crate::cluster::reader::Reader;
use crate::cluster::wire::{self, AttemptEnd, Control, Decision, RemoteError, StopReason};
use crate::metrics::MetricValue;
use crate::runtime::client::JobId;
use crate::runtime::job::JobShared;
use crate::{FlinkError, Result};

/// How often a waiting process looks at the job's flags.
pub(crate) const POLL: Duration = Duration::from_millis(5);

/// What reaches the job's thread: a message from a process, the loss of a connection (with
/// the connection's generation), or a process that asks to rejoin (coordinator only).
pub(crate) enum Inbound {
    Message(usize, Control),
    Lost(usize, u64, String),
    Joined(usize, TcpStream),
}

/// The current connection's generation of every process: it grows when a process rejoins.
pub(crate) type Generations = Arc<Vec<AtomicU64>>;

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
    generations: Generations,
    /// The job whose workers readers stop (set by `listen`).
    job: Option<Arc<JobShared>>,
    /// Where this process starts in the job.
    resume: Resume,
    /// The checkpoint the coordinator last told the processes to restore.
    last_restore: Option<u64>,
    /// Processes that asked to rejoin while an attempt ended (coordinator only).
    rejoining: Vec<(usize, TcpStream)>,
    /// The other processes' operator metrics when they last ended an attempt (coordinator only).
    remote_metrics: BTreeMap<String, MetricValue>,
}

/// Where the control readers find the running attempt's checkpoint coordinator.
pub(crate) type CheckpointSlot = Arc<Mutex<Option<Arc<CheckpointCoordinator>>>>;

impl ClusterSession {
    /// Joins the job `plan` describes with the other processes of `config`: process 0 waits for
    /// every other to connect and compares their plans with its own; the others connect to it.
    /// Fails, in every process, when the processes built different jobs. Process 0 gives the
    /// job the id `job_id` (a random one if `None`) and starts every process from the checkpoint
    /// `recovered`, if given.
    pub(crate) fn join(
        config: &ClusterConfig,
        plan: &str,
        job_id: Option<JobId>,
        recovered: Option<u64>,
    ) -> Result<ClusterSession> {
        let deadline = Instant::now() + config.connect_timeout();
        let closing = Arc::new(AtomicBool::new(false));
        let (inbox_sender, inbox) = channel();
        let (job_id, streams, resume) = if config.is_coordinator() {
            let start = Resume { attempt: 0, restore: recovered };
            let admitted = accept_processes(config, plan, deadline, job_id, start)?;
            let (config, plan, inbox, closing) =
                (config.clone(), plan.to_string(), inbox_sender.clone(), Arc::clone(&closing));
            std::thread::Builder::new()
                .name("cluster admission".into())
                .spawn(move || admission::readmit(admitted.listener, config, plan, inbox, closing))
                .map_err(|e| FlinkError::Runtime(format!("cannot start admitting processes: {e}")))?;
            (admitted.job_id, admitted.streams, start)
        } else {
            let (job_id, stream, resume) = join_coordinator(config, plan, deadline)?;
            (job_id, vec![(0, stream)], resume)
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
        Ok(ClusterSession {
            config: config.clone(),
            job_id,
            links: Arc::new(links),
            readers,
            inbox,
            inbox_sender,
            attempt: Arc::new(AtomicU64::new(resume.attempt)),
            closing,
            lost: vec![false; config.processes()],
            checkpoints: Arc::new(Mutex::new(None)),
            generations: Arc::new((0..config.processes()).map(|_| AtomicU64::new(0)).collect()),
            job: None,
            resume,
            last_restore: resume.restore,
            rejoining: Vec::new(),
            remote_metrics: BTreeMap::new(),
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
        self.job = Some(Arc::clone(job));
        let readers: Vec<(usize, TcpStream)> =
            self.links.iter().map(|link| link.process).zip(self.readers.drain(..)).collect();
        for (process, stream) in readers {
            self.read(process, stream);
        }
    }

    /// Where this process starts in the job: at attempt 0, or, when it rejoined a running job,
    /// at the attempt the coordinator named, from its checkpoint.
    pub(crate) fn resume(&self) -> Resume {
        self.resume
    }

    /// The other processes' operator metrics when they last ended an attempt, gathered by
    /// the coordinator (empty elsewhere).
    pub(crate) fn remote_metrics(&self) -> &BTreeMap<String, MetricValue> {
        &self.remote_metrics
    }

    /// Reads the current connection of `process` on a thread of its own.
    fn read(&self, process: usize, stream: TcpStream) {
        let job = self.job.as_ref().expect("connections are read once the job listens");
        Reader {
            config: self.config.clone(),
            from: process,
            generation: self.generations[process].load(Ordering::Acquire),
            generations: Arc::clone(&self.generations),
            job: Arc::clone(job),
            inbox: self.inbox_sender.clone(),
            attempt: Arc::clone(&self.attempt),
            closing: Arc::clone(&self.closing),
            checkpoints: Arc::clone(&self.checkpoints),
        }
        .spawn(stream);
    }

    /// Lets `process`, started again, back into the job: its new connection replaces the lost
    /// one, and it is told to run from `attempt` on.
    fn rejoin(&mut self, process: usize, mut stream: TcpStream, attempt: u64) {
        let resume = Resume { attempt, restore: self.last_restore };
        let (Ok(reader), Ok(())) = (stream.try_clone(), admission::welcome(&mut stream, self.job_id, resume)) else {
            tracing::warn!(process, "a rejoining process left before it was let in");
            return;
        };
        let link = self.links.iter().find(|link| link.process == process).expect("every other process has a link");
        *link.writer.lock().unwrap_or_else(|e| e.into_inner()) = stream;
        self.generations[process].fetch_add(1, Ordering::AcqRel);
        self.lost[process] = false;
        tracing::info!(process, attempt, "process rejoined the job");
        self.read(process, reader);
    }

    /// Makes `checkpoints` the running attempt's: acknowledgements and epochs that arrive from
    /// other processes go to it; on the coordinator, the epochs it triggers and completes go to
    /// every other process. `None` detaches it when the attempt ends.
    pub(crate) fn attach_checkpoints(&self, attempt: u64, checkpoints: Option<Arc<CheckpointCoordinator>>) {
        if let (Some(coordinator), true) = (&checkpoints, self.config.is_coordinator()) {
            let links = Arc::clone(&self.links);
            coordinator.observe(Box::new(move |triggered, completed, draining| {
                send_to_all(&links, &Control::Epochs { attempt, triggered, completed, draining });
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
            for (process, stream) in std::mem::take(&mut self.rejoining) {
                ready[process] = false;
                self.rejoin(process, stream, attempt);
            }
            if Instant::now() >= deadline {
                let missing: Vec<usize> = (0..ready.len()).filter(|&p| !ready[p]).collect();
                return Err(FlinkError::Runtime(format!(
                    "processes {missing:?} were not ready for attempt {attempt} of the job within {:?}; a process that died must be started again (with the same program and id) to rejoin",
                    self.config.connect_timeout()
                )));
            }
            match self.inbox.recv_timeout(POLL) {
                Ok(Inbound::Message(process, Control::Ready { attempt: a })) if a == attempt => ready[process] = true,
                Ok(Inbound::Lost(process, generation, _)) => {
                    self.note_lost(process, generation);
                }
                Ok(Inbound::Joined(process, stream)) => {
                    ready[process] = false;
                    self.rejoin(process, stream, attempt);
                }
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
                Ok(Inbound::Lost(_, _, why)) => return Err(self.lost_coordinator(&why)),
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
                    send_to_all(&links, &message);
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
            match &decision {
                Decision::Restart { restore: Some(id), .. } => self.last_restore = Some(*id),
                Decision::Restart { .. } => {}
                _ => self.closing.store(true, Ordering::Release),
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
                Ok(Inbound::Message(process, Control::Ended { attempt: a, end, metrics })) if a == attempt => {
                    ends[process] = Some(end);
                    self.remote_metrics.extend(metrics);
                }
                Ok(Inbound::Lost(process, generation, why)) => {
                    if self.note_lost(process, generation) {
                        ends[process].get_or_insert(AttemptEnd::Failed(gone(process, &why)));
                    }
                }
                Ok(Inbound::Joined(process, stream)) => self.rejoining.push((process, stream)),
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
        let metrics = self.job.as_ref().map(|job| job.metrics.snapshot()).unwrap_or_default();
        if let Err(e) = self.links[0].send(&Control::Ended { attempt, end, metrics }) {
            return Decision::Fail(RemoteError::of(self.process_id(), &self.lost_coordinator(&e.to_string())));
        }
        loop {
            match self.inbox.recv() {
                Ok(Inbound::Message(_, Control::Decided { attempt: a, decision })) if a == attempt => return decision,
                Ok(Inbound::Lost(_, _, why)) => {
                    return Decision::Fail(RemoteError::of(self.process_id(), &self.lost_coordinator(&why)))
                }
                Ok(_) => {}
                Err(_) => unreachable!("the session keeps a sender"),
            }
        }
    }

    /// Marks `process` lost if `generation` is its current connection's; whether it was.
    fn note_lost(&mut self, process: usize, generation: u64) -> bool {
        let current = self.generations[process].load(Ordering::Acquire) == generation;
        if current {
            self.lost[process] = true;
        }
        current
    }

    fn broadcast(&self, message: &Control) {
        send_to_all(&self.links, message);
    }

    fn lost_coordinator(&self, why: &str) -> FlinkError {
        lost_coordinator(&self.config, why)
    }
}

/// The failure of a process (not the coordinator) whose connection to the coordinator broke.
pub(crate) fn lost_coordinator(config: &ClusterConfig, why: &str) -> FlinkError {
    FlinkError::Runtime(format!(
        "process {} lost its connection to the coordinator (process 0 at {}): {why}",
        config.process_id(),
        config.coordinator()
    ))
}

/// Sends `message` to every process `links` reach; one that cannot be told has lost its
/// connection, which its reader reports.
fn send_to_all(links: &[Link], message: &Control) {
    for link in links {
        let _ = link.send(message);
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

/// The failure of an attempt whose process `process` is gone. The job may restart: the
/// process, started again, rejoins.
pub(crate) fn gone(process: usize, why: &str) -> RemoteError {
    RemoteError { process, message: format!("the process is gone ({why})"), recoverable: true }
}
