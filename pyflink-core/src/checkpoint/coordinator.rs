//! The checkpoint coordinator of one job run: it triggers checkpoints (sources then close their
//! epoch), collects the snapshots of every task, writes them, and completes a checkpoint by
//! writing its metadata once every task's snapshot of the epoch is durable.
//!
//! It runs on its own thread so that tasks only freeze their state and hand it over: heap state
//! is encoded and files are written here while the tasks go on processing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pyflink_state::checkpoint::{
    CheckpointMetadata, CheckpointStorage, FileHandle, OperatorSnapshot, SharedFiles, SubtaskSnapshot, SHARED_DIR,
};
use pyflink_state::native::NativeStatePart;
use pyflink_state::{DeferredKeyedSnapshot, KeyGroupRange, StateError};
use timely::scheduling::SyncActivator;

use crate::checkpoint::config::CheckpointConfig;
use crate::checkpoint::faults::CoordinatorStep;
use crate::runtime::job::{JobShared, SavepointRequest};
use crate::{FlinkError, Result};

/// A task: an operator (by node index) and its instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TaskId {
    pub(crate) node: usize,
    pub(crate) subtask: usize,
}

/// The snapshot of one task at one epoch: named files, RocksDB checkpoints to upload (for
/// incremental checkpoints) and the key groups it covers.
#[derive(Debug, Clone, Default)]
pub(crate) struct TaskSnapshot {
    pub(crate) files: Vec<(String, SnapshotFile)>,
    pub(crate) native: Vec<NativeStatePart>,
    pub(crate) key_groups: Option<KeyGroupRange>,
}

/// The contents of one file of a task snapshot.
#[derive(Clone)]
pub(crate) enum SnapshotFile {
    /// Bytes the task wrote.
    Ready(Vec<u8>),
    /// Keyed state the task froze at the barrier, encoded by the coordinator thread, once,
    /// however many epochs share the snapshot.
    Keyed(Arc<DeferredFile>),
}

impl SnapshotFile {
    /// Keyed state to encode on the coordinator thread.
    pub(crate) fn keyed(snapshot: DeferredKeyedSnapshot) -> Self {
        SnapshotFile::Keyed(Arc::new(DeferredFile { frozen: Mutex::new(Some(snapshot)), encoded: OnceLock::new() }))
    }

    /// The file's bytes, encoding them first if the task left that to the coordinator.
    pub(crate) fn bytes(&self) -> std::result::Result<&[u8], StateError> {
        match self {
            SnapshotFile::Ready(bytes) => Ok(bytes),
            SnapshotFile::Keyed(deferred) => deferred.bytes(),
        }
    }
}

impl fmt::Debug for SnapshotFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotFile::Ready(bytes) => write!(f, "Ready({} bytes)", bytes.len()),
            SnapshotFile::Keyed(_) => f.write_str("Keyed(deferred)"),
        }
    }
}

/// A keyed snapshot to encode, and its bytes once encoded.
pub(crate) struct DeferredFile {
    /// Taken by the first encoding, which frees the frozen tables.
    frozen: Mutex<Option<DeferredKeyedSnapshot>>,
    encoded: OnceLock<std::result::Result<Vec<u8>, StateError>>,
}

impl DeferredFile {
    fn bytes(&self) -> std::result::Result<&[u8], StateError> {
        let encoded = self.encoded.get_or_init(|| {
            let frozen = self.frozen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
            frozen.expect("the frozen snapshot is only taken by the one encoding").complete()?.encode()
        });
        encoded.as_deref().map_err(Clone::clone)
    }
}

/// What tasks (and, in a cluster, other processes) tell the coordinator thread.
pub(crate) enum Message {
    /// A task's snapshot of an epoch, to write.
    Ack { task: TaskId, epoch: u64, snapshot: TaskSnapshot },
    /// A task's snapshot of an epoch, written already (by another process of a cluster).
    AckWritten { task: TaskId, epoch: u64, files: Vec<FileHandle>, key_groups: Option<KeyGroupRange> },
    /// A task finished with this final state.
    Finished { task: TaskId, from_epoch: u64, snapshot: TaskSnapshot },
    /// The run is over.
    Shutdown,
    /// This process's workers have finished: the coordinator goes on until every task of the
    /// job has reported its end (those of other processes report later) or `until` passes, so
    /// that the checkpoints and savepoints their ends complete are written.
    Finish { until: Instant },
}

/// Told the triggered and completed epochs, and the epoch sources drain in (if one is set),
/// whenever they change.
type EpochObserver = Box<dyn Fn(u64, u64, Option<u64>) + Send + Sync>;

/// `draining` when no savepoint drains the job.
const NOT_DRAINING: u64 = u64::MAX;

/// One operator of the job as checkpoints name it.
#[derive(Debug, Clone)]
pub(crate) struct OperatorInfo {
    pub(crate) operator_id: String,
    pub(crate) parallelism: usize,
}

/// What tasks share with the coordinator thread.
pub(crate) struct CheckpointCoordinator {
    sender: Mutex<Sender<Message>>,
    /// Sources run in this epoch; every lower epoch is closed (its checkpoint triggered).
    triggered: AtomicU64,
    /// One more than the newest completed epoch (0: none yet).
    completed: AtomicU64,
    /// The epoch that a savepoint stopping the job with drain closes ([`NOT_DRAINING`] when
    /// none does): sources end in it, after a watermark at the end of event time.
    draining: AtomicU64,
    /// Tasks to wake when an epoch is triggered or completed.
    activators: Mutex<Vec<SyncActivator>>,
    /// Others to tell (the other processes of a cluster).
    observers: Mutex<Vec<EpochObserver>>,
    /// The id of the checkpoint the run was restored from (0 when it started fresh); epoch `e`
    /// is checkpoint `base_id + e + 1`.
    base_id: u64,
    aligned: bool,
}

impl CheckpointCoordinator {
    /// Whether operators align epochs (exactly-once).
    pub(crate) fn aligned(&self) -> bool {
        self.aligned
    }

    /// The epoch sources should be in.
    #[inline]
    pub(crate) fn triggered_epoch(&self) -> u64 {
        self.triggered.load(Ordering::Acquire)
    }

    /// Whether sources moving on from `epochs` must drain: end their input there, after a
    /// watermark at the end of event time (`pyflink-rs stop --drain`).
    pub(crate) fn drains(&self, epochs: &std::ops::Range<u64>) -> bool {
        epochs.contains(&self.draining.load(Ordering::Acquire))
    }

    /// The number of epochs completed: epochs below it are in a complete checkpoint.
    #[inline]
    pub(crate) fn completed_epochs(&self) -> u64 {
        self.completed.load(Ordering::Acquire)
    }

    /// The checkpoint id of `epoch`.
    pub(crate) fn checkpoint_id(&self, epoch: u64) -> u64 {
        self.base_id + epoch + 1
    }

    /// Wakes the task of `activator` whenever an epoch is triggered or completed.
    pub(crate) fn register(&self, activator: SyncActivator) {
        self.activators.lock().unwrap_or_else(|e| e.into_inner()).push(activator);
    }

    /// Calls `observer` with the triggered and completed epochs, and the draining one, whenever
    /// they change.
    pub(crate) fn observe(&self, observer: EpochObserver) {
        self.observers.lock().unwrap_or_else(|e| e.into_inner()).push(observer);
    }

    /// The link of a process that is not the cluster's coordinator: its tasks hand their
    /// snapshots to `receiver`'s reader, and [`CheckpointCoordinator::mirror`] tells them the
    /// epochs the coordinator triggers and completes.
    pub(crate) fn follower(config: &CheckpointConfig, base_id: u64) -> (Arc<CheckpointCoordinator>, Receiver<Message>) {
        let (sender, receiver) = channel();
        (Arc::new(CheckpointCoordinator::with_sender(sender, config, base_id)), receiver)
    }

    fn with_sender(sender: Sender<Message>, config: &CheckpointConfig, base_id: u64) -> CheckpointCoordinator {
        CheckpointCoordinator {
            sender: Mutex::new(sender),
            triggered: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            draining: AtomicU64::new(NOT_DRAINING),
            activators: Mutex::new(Vec::new()),
            observers: Mutex::new(Vec::new()),
            base_id,
            aligned: config.aligned(),
        }
    }

    /// Takes over the coordinator's triggered, completed and draining epochs, and wakes the
    /// tasks.
    pub(crate) fn mirror(&self, triggered: u64, completed: u64, draining: Option<u64>) {
        if let Some(epoch) = draining {
            // Set before the trigger is seen, so that no source moves past it undrained.
            self.draining.store(epoch, Ordering::Release);
        }
        self.triggered.fetch_max(triggered, Ordering::AcqRel);
        self.completed.fetch_max(completed, Ordering::AcqRel);
        self.wake_all();
    }

    fn wake_all(&self) {
        let (triggered, completed) = (self.triggered_epoch(), self.completed_epochs());
        let draining = Some(self.draining.load(Ordering::Acquire)).filter(|&epoch| epoch != NOT_DRAINING);
        for observer in self.observers.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            observer(triggered, completed, draining);
        }
        for activator in self.activators.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            // A failed activation means the dataflow is gone; nothing is left to wake.
            let _ = activator.activate();
        }
    }

    fn send(&self, message: Message) {
        // The coordinator outlives every task of its run, so the receiver is there.
        let _ = self.sender.lock().unwrap_or_else(|e| e.into_inner()).send(message);
    }

    /// Hands over `task`'s snapshot of `epoch`.
    pub(crate) fn acknowledge(&self, task: TaskId, epoch: u64, snapshot: TaskSnapshot) {
        self.send(Message::Ack { task, epoch, snapshot });
    }

    /// Reports that `task` has finished: `snapshot` is its state in every epoch from
    /// `from_epoch` on.
    pub(crate) fn finished(&self, task: TaskId, from_epoch: u64, snapshot: TaskSnapshot) {
        self.send(Message::Finished { task, from_epoch, snapshot });
    }

    /// Ends the reading of the run's messages once those sent so far are read.
    pub(crate) fn shut_down(&self) {
        self.send(Message::Shutdown);
    }

    /// Hands over the snapshot of `task` (of another process) at `epoch`, written as `files`.
    pub(crate) fn acknowledge_written(
        &self,
        task: TaskId,
        epoch: u64,
        files: Vec<FileHandle>,
        key_groups: Option<KeyGroupRange>,
    ) {
        self.send(Message::AckWritten { task, epoch, files, key_groups });
    }
}

/// The thread that takes a run's snapshots (the coordinator, or in a process of a cluster
/// that is not its coordinator, the forwarder) and the handle tasks use.
pub(crate) struct RunningCoordinator {
    pub(crate) shared: Arc<CheckpointCoordinator>,
    thread: Option<JoinHandle<()>>,
}

impl RunningCoordinator {
    /// The handle of `thread`, which reads what tasks send through `shared`.
    pub(crate) fn running(shared: Arc<CheckpointCoordinator>, thread: JoinHandle<()>) -> RunningCoordinator {
        RunningCoordinator { shared, thread: Some(thread) }
    }

    /// Starts the coordinator of a run whose tasks are those of `operators`; `base_id` is the
    /// id of the checkpoint it restores (0 if none). With `remote_writers`, other processes
    /// write files into the storage too, so shared files written lately are kept even before
    /// a snapshot lists them.
    pub(crate) fn start(
        config: &CheckpointConfig,
        storage: CheckpointStorage,
        operators: Vec<OperatorInfo>,
        max_parallelism: usize,
        base_id: u64,
        job: Arc<JobShared>,
        remote_writers: bool,
    ) -> Result<RunningCoordinator> {
        let (sender, receiver) = channel();
        let shared = Arc::new(CheckpointCoordinator::with_sender(sender, config, base_id));
        let expected = operators
            .iter()
            .enumerate()
            .flat_map(|(node, o)| (0..o.parallelism).map(move |subtask| TaskId { node, subtask }))
            .collect();
        let state = CoordinatorThread {
            config: config.clone(),
            storage,
            operators,
            max_parallelism,
            expected,
            shared: Arc::clone(&shared),
            job,
            pending: BTreeMap::new(),
            finished: HashMap::new(),
            last_trigger: Instant::now(),
            last_completion: None,
            failures: 0,
            shared_files: SharedFiles::default(),
            remote_writers,
        };
        let thread = std::thread::Builder::new()
            .name("checkpoint coordinator".into())
            .spawn(move || {
                let job = Arc::clone(&state.job);
                // A panic here must fail the job: its tasks would otherwise wait forever for
                // checkpoints that no thread completes.
                if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| state.run(receiver))) {
                    let message = crate::runtime::job::panic_message(payload.as_ref());
                    job.fail(FlinkError::Runtime(format!("the checkpoint coordinator failed: {message}")));
                }
            })
            .map_err(|e| FlinkError::Runtime(format!("cannot start the checkpoint coordinator: {e}")))?;
        Ok(RunningCoordinator::running(shared, thread))
    }

    /// Stops the thread after it has handled every message sent so far.
    pub(crate) fn stop(mut self) {
        self.shared.shut_down();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Stops the thread once every task of the job has reported its end, or `wait` has passed
    /// (see [`Message::Finish`]): for a run whose workers here have all finished.
    pub(crate) fn finish(mut self, wait: Duration) {
        self.shared.send(Message::Finish { until: Instant::now() + wait });
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A checkpoint in progress.
struct Pending {
    started: Instant,
    files: HashMap<TaskId, (Vec<FileHandle>, Option<KeyGroupRange>)>,
    /// Savepoints to write from this checkpoint once it completes.
    savepoints: Vec<SavepointRequest>,
}

impl Pending {
    fn new(now: Instant) -> Self {
        Pending { started: now, files: HashMap::new(), savepoints: Vec::new() }
    }
}

struct CoordinatorThread {
    config: CheckpointConfig,
    storage: CheckpointStorage,
    operators: Vec<OperatorInfo>,
    max_parallelism: usize,
    expected: Vec<TaskId>,
    shared: Arc<CheckpointCoordinator>,
    job: Arc<JobShared>,
    pending: BTreeMap<u64, Pending>,
    finished: HashMap<TaskId, (u64, TaskSnapshot)>,
    last_trigger: Instant,
    last_completion: Option<Instant>,
    failures: u32,
    /// The files incremental checkpoints share, as written so far.
    shared_files: SharedFiles,
    /// Whether other processes write snapshot files too.
    remote_writers: bool,
}

impl CoordinatorThread {
    fn run(mut self, receiver: Receiver<Message>) {
        // Set once the workers here have finished: the end of the reading.
        let mut closing: Option<Instant> = None;
        loop {
            if closing.is_some_and(|until| self.finished.len() == self.expected.len() || Instant::now() >= until) {
                return;
            }
            let wait = self.next_trigger().map_or(Duration::from_millis(100), |at| {
                at.saturating_duration_since(Instant::now()).clamp(Duration::from_millis(1), Duration::from_millis(100))
            });
            match receiver.recv_timeout(wait) {
                Ok(Message::Shutdown) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(Message::Finish { until }) => closing = Some(until),
                Ok(Message::Ack { task, epoch, snapshot }) => self.on_ack(task, epoch, snapshot),
                Ok(Message::AckWritten { task, epoch, files, key_groups }) => {
                    if let Some(pending) = self.pending.get_mut(&epoch) {
                        pending.files.insert(task, (files, key_groups));
                        self.try_complete(epoch);
                    }
                }
                Ok(Message::Finished { task, from_epoch, snapshot }) => {
                    self.finished.insert(task, (from_epoch, snapshot));
                    self.on_finished();
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            if let Err(error) = self.step() {
                self.job.fail(error);
                return;
            }
        }
    }

    /// When the next checkpoint may be triggered, if checkpointing is periodic.
    fn next_trigger(&self) -> Option<Instant> {
        let interval = self.config.interval?;
        let mut next = self.last_trigger + interval;
        if let Some(completion) = self.last_completion {
            next = next.max(completion + self.config.min_pause);
        }
        Some(next)
    }

    /// Runs the injected fault for `step`, if the configuration has one there.
    fn inject(&self, step: CoordinatorStep) -> std::result::Result<(), pyflink_state::StateError> {
        match &self.config.coordinator_faults {
            Some(faults) => faults.check(step),
            None => Ok(()),
        }
    }

    /// Triggers a checkpoint when it is time, and abandons checkpoints that timed out.
    fn step(&mut self) -> Result<()> {
        self.inject(CoordinatorStep::Tick)?;
        let now = Instant::now();
        let expired: Vec<u64> =
            self.pending.iter().filter(|(_, p)| now - p.started > self.config.timeout).map(|(e, _)| *e).collect();
        for epoch in expired {
            self.pending.remove(&epoch);
            let id = self.shared.checkpoint_id(epoch);
            self.storage.discard(id);
            self.failures += 1;
            tracing::warn!(checkpoint = id, "checkpoint expired before it completed");
            if self.failures > self.config.tolerable_failures {
                return Err(FlinkError::Runtime(format!(
                    "checkpoint {id} expired after {:?}; exceeded the tolerable number of checkpoint failures ({}); raise the checkpoint timeout or the tolerable failure number",
                    self.config.timeout, self.config.tolerable_failures
                )));
            }
        }
        let all_finished = self.finished.len() == self.expected.len();
        let savepoints = self.job.take_savepoint_requests();
        if all_finished {
            for request in savepoints {
                request.fail("the job has finished");
            }
            return Ok(());
        }
        // A savepoint is taken at once, whatever the interval says.
        let due =
            self.next_trigger().is_some_and(|at| at <= now) && self.pending.len() < self.config.max_concurrent.max(1);
        if due || !savepoints.is_empty() {
            let epoch = self.shared.triggered_epoch();
            if savepoints.iter().any(|request| request.drain) {
                // Before the trigger: sources closing this epoch see it with the trigger.
                self.shared.draining.store(epoch, Ordering::Release);
            }
            self.shared.triggered.fetch_add(1, Ordering::AcqRel);
            let mut pending = Pending::new(now);
            pending.savepoints = savepoints;
            self.pending.insert(epoch, pending);
            self.last_trigger = now;
            self.shared.wake_all();
        }
        Ok(())
    }

    fn on_ack(&mut self, task: TaskId, epoch: u64, snapshot: TaskSnapshot) {
        let id = self.shared.checkpoint_id(epoch);
        // Acks of an abandoned checkpoint are dropped with it.
        if !self.pending.contains_key(&epoch) {
            return;
        }
        let written = self
            .inject(CoordinatorStep::WriteTaskState)
            .and_then(|()| write_task_files(&self.storage, &mut self.shared_files, id, task, &snapshot));
        let pending = self.pending.get_mut(&epoch).expect("checked above");
        match written {
            Ok(handles) => {
                pending.files.insert(task, (handles, snapshot.key_groups));
            }
            Err(error) => {
                self.job.fail(FlinkError::Runtime(format!("cannot write checkpoint {id}: {error}")));
                return;
            }
        }
        self.try_complete(epoch);
    }

    /// When every task has finished, the final state is one more checkpoint: it lets sinks
    /// commit what they wrote last.
    fn on_finished(&mut self) {
        if self.finished.len() == self.expected.len() {
            let last = self.finished.values().map(|(from, _)| *from).max().unwrap_or(0);
            let open_epoch = self.shared.triggered_epoch().max(last);
            self.pending.entry(open_epoch).or_insert_with(|| Pending::new(Instant::now()));
        }
        let epochs: Vec<u64> = self.pending.keys().copied().collect();
        for epoch in epochs {
            self.try_complete(epoch);
        }
    }

    fn try_complete(&mut self, epoch: u64) {
        let Some(pending) = self.pending.get(&epoch) else { return };
        let done = self.expected.iter().all(|task| {
            pending.files.contains_key(task) || self.finished.get(task).is_some_and(|(from, _)| *from <= epoch)
        });
        // Checkpoints complete in order: a later one never overtakes an earlier one.
        if !done || self.pending.keys().next() != Some(&epoch) {
            return;
        }
        let mut pending = self.pending.remove(&epoch).expect("checked above");
        let id = self.shared.checkpoint_id(epoch);
        let result = self.complete(id, &mut pending);
        match result {
            Ok(()) => {
                self.failures = 0;
                self.last_completion = Some(Instant::now());
                self.shared.completed.fetch_max(epoch + 1, Ordering::AcqRel);
                self.shared.wake_all();
                if let Some(next) = self.pending.keys().next().copied() {
                    self.try_complete(next);
                }
            }
            Err(error) => self.job.fail(FlinkError::Runtime(format!("cannot complete checkpoint {id}: {error}"))),
        }
    }

    fn complete(&mut self, id: u64, pending: &mut Pending) -> Result<()> {
        let mut operators: Vec<OperatorSnapshot> = self
            .operators
            .iter()
            .map(|o| OperatorSnapshot {
                operator_id: o.operator_id.clone(),
                parallelism: o.parallelism as u32,
                max_parallelism: self.max_parallelism as u32,
                subtasks: Vec::new(),
            })
            .collect();
        for task in &self.expected {
            let (files, key_groups) = match pending.files.remove(task) {
                Some(written) => written,
                None => {
                    let (_, snapshot) = &self.finished[task];
                    (write_task_files(&self.storage, &mut self.shared_files, id, *task, snapshot)?, snapshot.key_groups)
                }
            };
            operators[task.node].subtasks.push(SubtaskSnapshot { subtask: task.subtask as u32, files, key_groups });
        }
        let metadata = CheckpointMetadata::new(id, operators);
        // Checkpoints still in progress may list shared files no complete checkpoint lists yet.
        let mut in_flight: HashSet<String> = self
            .pending
            .values()
            .flat_map(|p| p.files.values())
            .flat_map(|(files, _)| files)
            .filter(|f| f.is_shared())
            .map(|f| f.path.clone())
            .collect();
        if self.remote_writers {
            // Another process may have written a shared file for a checkpoint it has not
            // acknowledged yet; files as young as a checkpoint may take are kept.
            in_flight.extend(recent_shared_files(&self.storage, self.config.timeout));
        }
        self.inject(CoordinatorStep::CompleteCheckpoint)?;
        self.storage.commit_with_in_flight(&metadata, &in_flight, Some(&mut self.shared_files))?;
        tracing::info!(checkpoint = id, "completed checkpoint");
        for request in pending.savepoints.drain(..) {
            let written = self.storage.write_savepoint(&metadata, &request.target);
            request.respond(written.map_err(FlinkError::from));
        }
        Ok(())
    }
}

/// The shared files of `storage` modified within `age`, as paths relative to its root.
fn recent_shared_files(storage: &CheckpointStorage, age: Duration) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(storage.root().join(SHARED_DIR)) else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            let modified = entry.metadata().and_then(|m| m.modified()).ok();
            modified.and_then(|m| m.elapsed().ok()).is_none_or(|elapsed| elapsed <= age)
        })
        .map(|entry| format!("{SHARED_DIR}{}", entry.file_name().to_string_lossy()))
        .collect()
}

/// Writes the files of one task's snapshot into checkpoint `id`, and uploads the files of its
/// RocksDB checkpoints that `shared/` does not hold yet.
pub(crate) fn write_task_files(
    storage: &CheckpointStorage,
    shared: &mut SharedFiles,
    id: u64,
    task: TaskId,
    snapshot: &TaskSnapshot,
) -> std::result::Result<Vec<FileHandle>, pyflink_state::StateError> {
    let prefix = format!("{}-{}", task.node, task.subtask);
    let mut handles = Vec::with_capacity(snapshot.files.len());
    for (name, contents) in &snapshot.files {
        let mut handle = storage.write_file(id, &format!("{prefix}-{name}"), contents.bytes()?)?;
        handle.name = name.clone();
        handles.push(handle);
    }
    for part in &snapshot.native {
        handles.extend(storage.write_native_files(id, &prefix, part, shared)?);
    }
    Ok(handles)
}
