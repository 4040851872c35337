//! Running a job graph on timely workers: building the dataflow on every worker, stepping it to
//! completion, and failing or cancelling every worker together.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use timely::worker::Worker;

use pyflink_state::checkpoint::{CheckpointMetadata, CheckpointStorage};

use crate::checkpoint::coordinator::{CheckpointCoordinator, OperatorInfo, RunningCoordinator};
use crate::checkpoint::restore::RestoredCheckpoint;
use crate::checkpoint::{CheckpointConfig, ExternalizedCheckpointRetention};
use crate::cluster::admission::Resume;
use crate::cluster::checkpoints::start_forwarding;
use crate::cluster::control::{AttemptStart, ClusterSession};
use crate::cluster::wire::{AttemptEnd, Decision, RemoteError};
use crate::cluster::ClusterConfig;
use crate::metrics::prometheus;
use crate::metrics::{MetricRegistry, MetricValue};
use crate::rest::jobs::Registration;
use crate::runtime::alignment::AlignmentGroups;
use crate::runtime::client::{JobId, JobStatus};
use crate::runtime::graph::{BuildContext, JobGraph};
use crate::runtime::timestamp::Time;
use crate::{FlinkError, Result};

/// How long a cluster's coordinator waits, after its workers finished, for the ends of the
/// other processes' tasks (reported over the control connections).
const REMOTE_ENDS_WAIT: Duration = Duration::from_secs(30);

/// How long an idle worker parks before it checks for cancellation and failures again.
const PARK_INTERVAL: Duration = Duration::from_millis(10);

/// A savepoint asked for by a client: where to write it, and where to answer.
#[derive(Debug)]
pub(crate) struct SavepointRequest {
    pub(crate) target: PathBuf,
    pub(crate) answer: SyncSender<Result<PathBuf>>,
    /// Whether the sources end after a watermark at the end of event time before the
    /// savepoint is taken (stop with drain), so that every event-time timer and window fires.
    pub(crate) drain: bool,
}

impl SavepointRequest {
    /// Answers the client.
    pub(crate) fn respond(self, outcome: Result<PathBuf>) {
        // A client that stopped waiting does not need the answer.
        let _ = self.answer.send(outcome);
    }

    /// Answers the client with a failure.
    pub(crate) fn fail(self, reason: &str) {
        let target = self.target.display().to_string();
        self.respond(Err(FlinkError::Runtime(format!("savepoint {target} was not taken: {reason}"))));
    }
}

/// State shared by all workers of a running job: its id, the first failure, cancellation, the
/// savepoints clients asked for, and the operators' metrics.
#[derive(Debug, Default)]
pub(crate) struct JobShared {
    pub(crate) job_id: JobId,
    pub(crate) metrics: MetricRegistry,
    stop: AtomicBool,
    cancelled: AtomicBool,
    /// Stopped after a savepoint: the job ends as finished, not cancelled.
    stopped_with_savepoint: AtomicBool,
    error: Mutex<Option<FlinkError>>,
    pub(crate) savepoints: Mutex<Vec<SavepointRequest>>,
    /// The watermarks of aligned sources in the current attempt.
    pub(crate) alignment: Arc<AlignmentGroups>,
}

impl JobShared {
    /// The shared state of a new job, with a new random id.
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        JobShared::with_id(JobId::random())
    }

    /// The shared state of a new job with the id `job_id` (as a cluster's coordinator gave it).
    pub(crate) fn with_id(job_id: JobId) -> Self {
        JobShared { job_id, ..JobShared::default() }
    }

    /// Records `error` (the first one wins) and asks every worker to stop.
    pub(crate) fn fail(&self, error: FlinkError) {
        let mut slot = self.error.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(error);
        self.stop.store(true, Ordering::Release);
    }

    /// Asks every worker to stop; the job ends as cancelled.
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        self.stop.store(true, Ordering::Release);
    }

    /// Asks every worker to stop after a savepoint; the job ends as finished.
    pub(crate) fn stop_after_savepoint(&self) {
        self.stopped_with_savepoint.store(true, Ordering::Release);
        self.cancel();
    }

    /// Whether workers should stop processing.
    #[inline]
    pub(crate) fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// The failure that stopped the workers, if one did.
    pub(crate) fn error(&self) -> Option<FlinkError> {
        self.error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The savepoint requests not yet taken up by the coordinator.
    pub(crate) fn take_savepoint_requests(&self) -> Vec<SavepointRequest> {
        std::mem::take(&mut *self.savepoints.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Clears the failure of an attempt before the job restarts (unless it was cancelled).
    fn reset_for_restart(&self) {
        *self.error.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.alignment.clear();
        if !self.is_cancelled() {
            self.stop.store(false, Ordering::Release);
        }
    }

    /// Whether the job was stopped after a savepoint.
    pub(crate) fn is_stopped_with_savepoint(&self) -> bool {
        self.stopped_with_savepoint.load(Ordering::Acquire)
    }

    /// Whether a client cancelled (or stopped) the job.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

/// The text of a panic payload (a `&str` or `String`), for errors that report a caught panic.
///
/// ```
/// let payload = std::panic::catch_unwind(|| panic!("bad {}", 1)).unwrap_err();
/// assert_eq!(pyflink_core::runtime::panic_message(payload.as_ref()), "bad 1");
/// ```
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// The result of a finished job, as Flink's `JobExecutionResult`.
#[derive(Debug, Clone, PartialEq)]
pub struct JobExecutionResult {
    job_id: JobId,
    job_name: String,
    net_runtime: Duration,
    metrics: BTreeMap<String, MetricValue>,
}

impl JobExecutionResult {
    /// The job's id, as its client had it.
    pub fn get_job_id(&self) -> JobId {
        self.job_id
    }

    /// The job's name, as passed to `execute`.
    pub fn job_name(&self) -> &str {
        &self.job_name
    }

    /// How long the job ran.
    pub fn net_runtime(&self) -> Duration {
        self.net_runtime
    }

    /// How long the job ran, in milliseconds (PyFlink's `get_net_runtime()`).
    pub fn get_net_runtime(&self) -> u128 {
        self.net_runtime.as_millis()
    }

    /// The operators' metrics when the job ended, by identifier (see [`crate::metrics`]).
    pub fn get_metrics(&self) -> &BTreeMap<String, MetricValue> {
        &self.metrics
    }
}

/// A job about to run: its shared state, its entry in the REST API and, in a cluster, its
/// link to the other processes.
pub(crate) struct StartedJob {
    pub(crate) shared: Arc<JobShared>,
    registration: Registration,
    cluster: Option<ClusterSession>,
    /// The checkpoint an earlier run of a job with a fixed id left, which this run starts from.
    recovered: Option<u64>,
}

/// Prepares `graph` to run: in a cluster, joins the other processes (which must have built the
/// same job) and takes the job id the coordinator gives; then makes the job known to the REST
/// API (serving it first if the job asks for it), so that a client may find it as soon as it
/// has the job's id.
pub(crate) fn start(job_name: &str, graph: &JobGraph) -> Result<StartedJob> {
    let job_id = graph.job_id.map(fixed_id_of_this_execution);
    let recovered = recovered_checkpoint(graph, job_id)?;
    let mut cluster = match &graph.cluster {
        Some(config) => Some(ClusterSession::join(config, &graph.describe(), job_id, recovered)?),
        None => None,
    };
    let shared = Arc::new(match &cluster {
        Some(session) => JobShared::with_id(session.job_id()),
        None => JobShared::with_id(job_id.unwrap_or_else(JobId::random)),
    });
    if let Some(session) = &mut cluster {
        session.listen(&shared);
    }
    // In a cluster, process 0 serves the REST API, as Flink's job manager does; a cancel there
    // reaches every process.
    let serves_rest = graph.cluster.as_ref().is_none_or(ClusterConfig::is_coordinator);
    if let (Some(endpoint), true) = (&graph.rest, serves_rest) {
        crate::rest::serve(endpoint)?;
    }
    let registration = crate::rest::jobs::register(job_name, &shared, graph.checkpoint.is_checkpointing_enabled());
    Ok(StartedJob { shared, registration, cluster, recovered })
}

/// The id of this execution of a job whose id the program fixed to `base`: `base` for the
/// process's first execution, then `base` with the execution's number mixed in, so that each
/// job of a program that executes several has its own id (and checkpoints), the same in every
/// run of the program.
fn fixed_id_of_this_execution(base: JobId) -> JobId {
    static EXECUTIONS: AtomicU64 = AtomicU64::new(0);
    let execution = EXECUTIONS.fetch_add(1, Ordering::Relaxed);
    JobId::from_u128(base.as_u128() ^ u128::from(execution))
}

/// The newest complete checkpoint that an earlier run of the job `job_id` left, when the
/// program fixed the job's id and gave no savepoint to start from (as Flink recovers a job of
/// its application mode). In a cluster, process 0 looks and tells the others.
fn recovered_checkpoint(graph: &JobGraph, job_id: Option<JobId>) -> Result<Option<u64>> {
    let follower = graph.cluster.as_ref().is_some_and(|cluster| !cluster.is_coordinator());
    let (Some(job_id), None, false) = (job_id, &graph.checkpoint.restore_path, follower) else {
        return Ok(None);
    };
    let Some(storage) = checkpoint_storage(&graph.checkpoint, job_id)? else { return Ok(None) };
    let newest = storage.latest_complete()?.map(|metadata| metadata.checkpoint_id);
    if let Some(id) = newest {
        tracing::info!(job_id = %job_id, checkpoint = id, "the job starts from the newest checkpoint of its earlier run");
    }
    Ok(newest)
}

/// Runs `graph` to completion and reports how it ended, to the caller and to the REST API
/// through `registration`; the job's checkpoints are then kept or deleted as its retention
/// setting says.
pub(crate) fn run(job_name: String, graph: JobGraph, started: StartedJob) -> Result<JobExecutionResult> {
    let StartedJob { shared, mut registration, mut cluster, recovered } = started;
    let graph = Arc::new(graph);
    // The job's metrics are served while it runs, restarts included.
    let _reporting: Vec<_> = graph
        .reporters
        .iter()
        .filter_map(|reporter| prometheus::report(reporter, &job_name, shared.job_id.to_string(), &shared.metrics))
        .collect();
    let storage = checkpoint_storage(&graph.checkpoint, shared.job_id)?;
    let outcome = run_with_restarts(job_name, &graph, &shared, storage.as_ref(), cluster.as_mut(), recovered);
    // The coordinator keeps or deletes the checkpoints every process wrote.
    let owns_storage = cluster.as_ref().is_none_or(|session| session.config().is_coordinator());
    // Closing the links tells the other processes this one is done with the job.
    drop(cluster);
    registration.ended(match &outcome {
        Ok(_) => JobStatus::Finished,
        Err(FlinkError::Cancelled) => JobStatus::Canceled,
        Err(_) => JobStatus::Failed,
    });
    if let (Some(storage), true) = (storage, owns_storage) {
        let keep = match graph.checkpoint.externalized_retention {
            ExternalizedCheckpointRetention::NoExternalizedCheckpoints => false,
            ExternalizedCheckpointRetention::DeleteOnCancellation => !matches!(outcome, Err(FlinkError::Cancelled)),
            ExternalizedCheckpointRetention::RetainOnCancellation => true,
        };
        if !keep {
            let _ = std::fs::remove_dir_all(storage.root());
        }
    }
    outcome
}

/// How an attempt ended in this process.
enum LocalEnd {
    Finished,
    Cancelled,
    Failed(FlinkError),
}

/// What the job does after an attempt.
enum Next {
    Finish,
    Cancel,
    Restart(Duration),
    Fail(FlinkError),
}

/// Runs `graph` to completion; a failed run restarts under the job's restart strategy, from the
/// newest complete checkpoint if there is one. In a cluster, every process runs each attempt
/// and the coordinator decides for all what follows it.
fn run_with_restarts(
    job_name: String,
    graph: &Arc<JobGraph>,
    shared: &Arc<JobShared>,
    storage: Option<&CheckpointStorage>,
    mut cluster: Option<&mut ClusterSession>,
    recovered: Option<u64>,
) -> Result<JobExecutionResult> {
    let start = Instant::now();
    let mut restored = match &graph.checkpoint.restore_path {
        Some(path) => {
            let (metadata, storage) = CheckpointStorage::open_path(path)?;
            check_all_state_claimed(graph, &metadata, path)?;
            Some(Arc::new(RestoredCheckpoint { metadata, storage }))
        }
        None => None,
    };
    // A process that rejoins a running job starts at the attempt, and from the checkpoint, the
    // coordinator names; a job whose earlier run left a checkpoint starts from it.
    let resume = match cluster.as_deref() {
        Some(session) => session.resume(),
        None => Resume { attempt: 0, restore: recovered },
    };
    if let (Some(id), Some(storage)) = (resume.restore, storage) {
        restored = Some(checkpoint_of(storage, id)?);
    }
    let mut backoff = graph.restart.backoff();
    for attempt in resume.attempt.. {
        let began = Instant::now();
        let end = match cluster.as_deref_mut() {
            None => local_end(shared, run_attempt(graph, shared, storage, restored.clone(), None)),
            Some(session) => match session.begin(attempt, shared) {
                Ok(AttemptStart::Run(sockets)) => {
                    let watch = session.watch(attempt, shared);
                    let on_cluster = ClusterAttempt { session, attempt, sockets };
                    let outcome = run_attempt(graph, shared, storage, restored.clone(), Some(on_cluster));
                    drop(watch);
                    local_end(shared, outcome)
                }
                Ok(AttemptStart::Decided(decision)) => {
                    let next = next_of(decision, session.process_id(), None);
                    return finish(job_name, shared, start, next, Some(session));
                }
                Err(error) => {
                    shared.fail(error.clone());
                    local_end(shared, Err(error))
                }
            },
        };
        let next = match cluster.as_deref_mut() {
            None => decide(end, &mut backoff, began.elapsed()),
            Some(session) => {
                let me = session.process_id();
                let (wire_end, own_error) = match end {
                    LocalEnd::Finished => (AttemptEnd::Finished, None),
                    LocalEnd::Cancelled => (AttemptEnd::Cancelled, None),
                    LocalEnd::Failed(error) => (AttemptEnd::Failed(RemoteError::of(me, &error)), Some(error)),
                };
                let elapsed = began.elapsed();
                let decision = session.conclude(attempt, wire_end, |combined| {
                    let combined = match combined {
                        AttemptEnd::Finished => LocalEnd::Finished,
                        AttemptEnd::Cancelled => LocalEnd::Cancelled,
                        AttemptEnd::Failed(error) => LocalEnd::Failed(error.into_error()),
                    };
                    // Every process restores the checkpoint the coordinator names.
                    let restore = match storage.map(CheckpointStorage::latest_complete) {
                        Some(Ok(latest)) => latest.map(|m| m.checkpoint_id),
                        Some(Err(error)) => return decision_of(Next::Fail(error.into()), me, None),
                        None => None,
                    };
                    decision_of(decide(combined, &mut backoff, elapsed), me, restore)
                });
                if let (Decision::Restart { restore: Some(id), .. }, Some(storage)) = (&decision, storage) {
                    restored = Some(checkpoint_of(storage, *id)?);
                }
                next_of(decision, me, own_error)
            }
        };
        let delay = match next {
            Next::Restart(delay) => delay,
            other => return finish(job_name, shared, start, other, cluster.as_deref()),
        };
        tracing::warn!(job = %job_name, restart = backoff.restarts(), error = ?shared.error(), "job failed; restarting after {delay:?}");
        let deadline = Instant::now() + delay;
        while Instant::now() < deadline {
            // In a cluster the coordinator ends a job cancelled now, when the next attempt begins.
            if cluster.is_none() && shared.is_cancelled() {
                return Err(FlinkError::Cancelled);
            }
            std::thread::sleep(PARK_INTERVAL.min(deadline.saturating_duration_since(Instant::now())));
        }
        shared.reset_for_restart();
        if let (Some(storage), None) = (storage, &cluster) {
            if let Some(metadata) = storage.latest_complete()? {
                restored = Some(Arc::new(RestoredCheckpoint { metadata, storage: storage.clone() }));
            }
        }
    }
    unreachable!("attempts are counted without end")
}

/// The complete checkpoint `id` of the job's `storage`, as a cluster's coordinator named it.
fn checkpoint_of(storage: &CheckpointStorage, id: u64) -> Result<Arc<RestoredCheckpoint>> {
    let (metadata, storage) = CheckpointStorage::open_path(&storage.checkpoint_dir(id))?;
    Ok(Arc::new(RestoredCheckpoint { metadata, storage }))
}

/// How an attempt that returned `outcome` ended in this process.
fn local_end(shared: &JobShared, outcome: Result<()>) -> LocalEnd {
    let stopped = shared.is_stopped_with_savepoint();
    if shared.is_cancelled() && !stopped {
        return LocalEnd::Cancelled;
    }
    // A job stopped after a savepoint has finished, whatever its tasks reported on the way.
    match outcome {
        Err(error) if !stopped => LocalEnd::Failed(error),
        _ => LocalEnd::Finished,
    }
}

/// What follows an attempt that ended as `end`, under the restart strategy's `backoff`.
fn decide(end: LocalEnd, backoff: &mut crate::checkpoint::restart::RestartBackoff, attempt_took: Duration) -> Next {
    match end {
        LocalEnd::Finished => Next::Finish,
        LocalEnd::Cancelled => Next::Cancel,
        LocalEnd::Failed(error) if !error.is_recoverable() => {
            tracing::error!(%error, "job failed with an error a restart cannot get past; not restarting");
            Next::Fail(error)
        }
        LocalEnd::Failed(error) => match backoff.next_delay_after(attempt_took) {
            Some(delay) => Next::Restart(delay),
            None => Next::Fail(error),
        },
    }
}

/// The coordinator's decision for every process of a cluster; a restart restores the
/// checkpoint `restore`.
fn decision_of(next: Next, me: usize, restore: Option<u64>) -> Decision {
    match next {
        Next::Finish => Decision::Finish,
        Next::Cancel => Decision::Cancel,
        Next::Restart(delay) => Decision::Restart { delay_ms: delay.as_millis() as u64, restore },
        Next::Fail(error) => Decision::Fail(RemoteError::of(me, &error)),
    }
}

/// What this process does on the coordinator's `decision`; a failure that began here is
/// reported as this process saw it.
fn next_of(decision: Decision, me: usize, own_error: Option<FlinkError>) -> Next {
    match decision {
        Decision::Finish => Next::Finish,
        Decision::Cancel => Next::Cancel,
        Decision::Restart { delay_ms, .. } => Next::Restart(Duration::from_millis(delay_ms)),
        Decision::Fail(error) => match own_error {
            Some(own) if error.process == me && error == RemoteError::of(me, &own) => Next::Fail(own),
            _ => Next::Fail(error.into_error()),
        },
    }
}

/// The end of the job after its last attempt; on a cluster's coordinator, the result's
/// metrics include the other processes'.
fn finish(
    job_name: String,
    shared: &JobShared,
    start: Instant,
    next: Next,
    cluster: Option<&ClusterSession>,
) -> Result<JobExecutionResult> {
    match next {
        Next::Finish | Next::Restart(_) => {
            let mut metrics = cluster.map(|session| session.remote_metrics().clone()).unwrap_or_default();
            metrics.extend(shared.metrics.snapshot());
            Ok(JobExecutionResult { job_id: shared.job_id, job_name, net_runtime: start.elapsed(), metrics })
        }
        Next::Cancel => Err(FlinkError::Cancelled),
        Next::Fail(error) => Err(error),
    }
}

/// Fails if the checkpoint at `path` has state of an operator the job does not have, unless
/// the job allows it, as Flink does.
fn check_all_state_claimed(graph: &JobGraph, metadata: &CheckpointMetadata, path: &std::path::Path) -> Result<()> {
    if graph.checkpoint.allow_non_restored_state {
        return Ok(());
    }
    for operator in &metadata.operators {
        let has_state = operator.subtasks.iter().any(|s| !s.files.is_empty());
        if has_state && !graph.plans.iter().any(|p| p.operator_id == operator.operator_id) {
            return Err(FlinkError::InvalidProgram(format!(
                "cannot map the state of operator '{}' in {} to the new job: no operator has that id; give the operator the same uid() as before, or allow non-restored state",
                operator.operator_id,
                path.display()
            )));
        }
    }
    Ok(())
}

/// The storage of the job's checkpoints, if it takes any: `<dir>/<job id>` as in Flink.
fn checkpoint_storage(config: &CheckpointConfig, job_id: JobId) -> Result<Option<CheckpointStorage>> {
    if !config.is_checkpointing_enabled() {
        return Ok(None);
    }
    let base = config.storage_dir.clone().unwrap_or_else(|| std::env::temp_dir().join("pyflink-checkpoints"));
    Ok(Some(CheckpointStorage::new(base.join(job_id.to_string()), config.retained)?))
}

/// An attempt's place in a cluster: the session, the attempt's number and its record
/// connections.
struct ClusterAttempt<'a> {
    session: &'a ClusterSession,
    attempt: u64,
    sockets: Vec<Option<TcpStream>>,
}

/// Starts the checkpoint side of an attempt, if the job takes checkpoints: the job's
/// coordinator, or in a process of a cluster that is not its coordinator, the forwarder of its
/// tasks' snapshots.
fn start_checkpoints(
    graph: &JobGraph,
    shared: &Arc<JobShared>,
    storage: Option<&CheckpointStorage>,
    restored: Option<&Arc<RestoredCheckpoint>>,
    cluster: Option<&ClusterAttempt<'_>>,
) -> Result<Option<RunningCoordinator>> {
    let Some(storage) = storage else { return Ok(None) };
    let base_id = restored.map_or(0, |r| r.metadata.checkpoint_id);
    if let Some(on) = cluster.filter(|on| !on.session.config().is_coordinator()) {
        let forwarded = start_forwarding(on.session, on.attempt, &graph.checkpoint, storage.clone(), base_id, shared)?;
        on.session.attach_checkpoints(on.attempt, Some(Arc::clone(&forwarded.shared)));
        return Ok(Some(forwarded));
    }
    let operators = graph
        .plans
        .iter()
        .map(|p| OperatorInfo { operator_id: p.operator_id.clone(), parallelism: p.parallelism })
        .collect();
    let coordinator = RunningCoordinator::start(
        &graph.checkpoint,
        storage.clone(),
        operators,
        graph.max_parallelism,
        base_id,
        Arc::clone(shared),
        cluster.is_some(),
    )?;
    if let Some(on) = cluster {
        on.session.attach_checkpoints(on.attempt, Some(Arc::clone(&coordinator.shared)));
    }
    Ok(Some(coordinator))
}

/// Runs one attempt of the job: its workers and, with checkpointing, its coordinator.
fn run_attempt(
    graph: &Arc<JobGraph>,
    shared: &Arc<JobShared>,
    storage: Option<&CheckpointStorage>,
    restored: Option<Arc<RestoredCheckpoint>>,
    cluster: Option<ClusterAttempt<'_>>,
) -> Result<()> {
    let checkpointing = start_checkpoints(graph, shared, storage, restored.as_ref(), cluster.as_ref())?;
    let checkpoints = checkpointing.as_ref().map(|c| Arc::clone(&c.shared));
    let workers = graph.workers;
    let worker_graph = Arc::clone(graph);
    let job = Arc::clone(shared);
    let work =
        move |worker: &mut Worker| run_worker(worker, &worker_graph, &job, checkpoints.clone(), restored.clone());
    let (started, session) = match cluster {
        None => (
            timely::execute(timely::Config::process(workers), work)
                .map_err(|e| FlinkError::Runtime(format!("cannot start {workers} workers: {e}"))),
            None,
        ),
        Some(on) => (crate::cluster::execute(on.session.config(), on.sockets, work), Some((on.session, on.attempt))),
    };
    let result = started.map(|guards| {
        // Joining also joins the threads that carry records to other processes; one of those
        // panics when its peer process died, which the other processes' reports explain.
        let joined = catch_unwind(AssertUnwindSafe(|| guards.join()));
        match joined {
            Ok(outcomes) => {
                for outcome in outcomes {
                    if let Err(message) = outcome {
                        shared.fail(FlinkError::Runtime(format!("a worker thread died: {message}")));
                    }
                }
            }
            Err(payload) => shared.fail(FlinkError::Runtime(format!(
                "the connection to another process broke: {}",
                panic_message(payload.as_ref())
            ))),
        }
    });
    if let Some(checkpointing) = checkpointing {
        if session.is_some() && result.is_ok() && !shared.should_stop() {
            // The job finished here; other processes' tasks may still report their ends, which
            // complete its last checkpoint (a drain's savepoint among them).
            checkpointing.finish(REMOTE_ENDS_WAIT);
        } else {
            checkpointing.stop();
        }
    }
    if let Some((session, attempt)) = session {
        session.attach_checkpoints(attempt, None);
    }
    result?;
    match shared.error() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Builds the dataflow on one worker and steps it until it completes or the job stops.
fn run_worker(
    worker: &mut Worker,
    graph: &JobGraph,
    job: &Arc<JobShared>,
    checkpoints: Option<Arc<CheckpointCoordinator>>,
    restored: Option<Arc<RestoredCheckpoint>>,
) {
    let built = catch_unwind(AssertUnwindSafe(|| {
        worker.dataflow::<Time, _, _>(|scope| {
            let mut context = BuildContext::new(scope, Arc::clone(job), checkpoints, restored);
            for (node, plan) in graph.nodes.iter().zip(&graph.plans) {
                let build = node.build.as_ref().expect("nodes of a job keep their build function");
                build(&mut context, node, plan)?;
            }
            context.probe_the_end();
            Ok::<(), FlinkError>(())
        })
    }));
    match built {
        Ok(Ok(())) => {}
        Ok(Err(error)) => job.fail(error),
        Err(payload) => {
            job.fail(FlinkError::Runtime(format!("building the dataflow failed: {}", panic_message(payload.as_ref()))))
        }
    }
    let stepped = catch_unwind(AssertUnwindSafe(|| {
        while worker.has_dataflows() && !job.should_stop() {
            worker.step_or_park(Some(PARK_INTERVAL));
        }
    }));
    if let Err(payload) = stepped {
        job.fail(FlinkError::Runtime(format!("a worker failed: {}", panic_message(payload.as_ref()))));
    }
    // On failure or cancellation, drop what is left so that timely does not wait for it.
    for dataflow in worker.installed_dataflows() {
        worker.drop_dataflow(dataflow);
    }
}
