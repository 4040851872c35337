//! Jobs running in the background (`execute_async`): their ids, their status, and the client
//! that waits for, cancels or takes savepoints of them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::mpsc::{channel, sync_channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::metrics::MetricValue;
use crate::runtime::graph::JobGraph;
use crate::runtime::job::{panic_message, run, start, JobExecutionResult, JobShared, SavepointRequest};
use crate::{FlinkError, Result};

/// The id of a job, 16 random bytes shown as 32 hexadecimal digits, as Flink's `JobID`. A job's
/// checkpoints are kept under a directory of this name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(u128);

impl JobId {
    /// A new random id.
    pub fn random() -> Self {
        JobId(rand::random())
    }

    /// The id as a number.
    pub fn as_u128(self) -> u128 {
        self.0
    }

    /// The id of this number (as another process of a cluster sent it).
    pub(crate) fn from_u128(id: u128) -> Self {
        JobId(id)
    }
}

/// Asks the coordinator of the job `shared` for a savepoint into `target` and waits for it.
pub(crate) fn take_savepoint(
    shared: &JobShared,
    checkpointing: bool,
    target: PathBuf,
    timeout: Duration,
    drain: bool,
) -> Result<PathBuf> {
    if !checkpointing {
        return Err(FlinkError::InvalidProgram(
            "savepoints need checkpointing; call enable_checkpointing before executing the job".into(),
        ));
    }
    let (answer, receiver) = sync_channel(1);
    shared.savepoints.lock().unwrap_or_else(|e| e.into_inner()).push(SavepointRequest { target, answer, drain });
    match receiver.recv_timeout(timeout) {
        Ok(outcome) => outcome,
        Err(RecvTimeoutError::Timeout) => {
            Err(FlinkError::Runtime(format!("the savepoint did not complete within {timeout:?}")))
        }
        Err(RecvTimeoutError::Disconnected) => {
            Err(FlinkError::Runtime("the job ended or restarted before the savepoint completed".into()))
        }
    }
}

impl std::str::FromStr for JobId {
    type Err = FlinkError;

    /// Reads 32 hexadecimal digits, as [`JobId`]'s display writes them.
    ///
    /// ```
    /// use pyflink_core::JobId;
    /// let id: JobId = "000000000000000000000000000000ff".parse().unwrap();
    /// assert_eq!(id.to_string(), "000000000000000000000000000000ff");
    /// assert!("ff".parse::<JobId>().is_err());
    /// ```
    fn from_str(text: &str) -> Result<Self> {
        let digits = text.trim();
        match u128::from_str_radix(digits, 16) {
            Ok(id) if digits.len() == 32 => Ok(JobId(id)),
            _ => Err(FlinkError::InvalidProgram(format!(
                "'{text}' is not a job id: a job id is 32 hexadecimal digits, as Flink's JobID"
            ))),
        }
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// The status of a job started with `execute_async`, as Flink's `JobStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// The job is running.
    Running,
    /// The job ended after all its sources ended.
    Finished,
    /// The job failed.
    Failed,
    /// The job was cancelled.
    Canceled,
}

impl JobStatus {
    /// Flink's name of the status (`RUNNING`, `FINISHED`, `FAILED`, `CANCELED`).
    pub fn name(self) -> &'static str {
        match self {
            JobStatus::Running => "RUNNING",
            JobStatus::Finished => "FINISHED",
            JobStatus::Failed => "FAILED",
            JobStatus::Canceled => "CANCELED",
        }
    }

    /// Whether the job has ended (the status cannot change any more).
    pub fn is_globally_terminal(self) -> bool {
        self != JobStatus::Running
    }
}

/// Cancels a running job, or takes savepoints of it, from any thread (see
/// [`JobClient::canceller`]).
#[derive(Clone)]
pub struct JobCanceller {
    shared: Arc<JobShared>,
    checkpointing: bool,
}

impl JobCanceller {
    /// Asks the job to stop, as [`JobClient::cancel`] does.
    pub fn cancel(&self) {
        self.shared.cancel();
    }

    /// Takes a savepoint, as [`JobClient::trigger_savepoint`] does.
    pub fn trigger_savepoint(&self, target: impl Into<PathBuf>, timeout: Duration) -> Result<PathBuf> {
        take_savepoint(&self.shared, self.checkpointing, target.into(), timeout, false)
    }

    /// Takes a savepoint and stops the job, as [`JobClient::stop_with_savepoint`] does.
    pub fn stop_with_savepoint(&self, target: impl Into<PathBuf>, timeout: Duration) -> Result<PathBuf> {
        let path = take_savepoint(&self.shared, self.checkpointing, target.into(), timeout, false)?;
        self.shared.stop_after_savepoint();
        Ok(path)
    }

    /// Drains the job into a savepoint, as [`JobClient::stop_with_drain`] does.
    pub fn stop_with_drain(&self, target: impl Into<PathBuf>, timeout: Duration) -> Result<PathBuf> {
        take_savepoint(&self.shared, self.checkpointing, target.into(), timeout, true)
    }

    /// The operators' metrics now, by identifier (see [`crate::metrics`]).
    pub fn get_metrics(&self) -> BTreeMap<String, MetricValue> {
        self.shared.metrics.snapshot()
    }
}

/// A handle to a job running in the background (`execute_async`).
///
/// Dropping the client leaves the job running, as in Flink; [`JobClient::wait`] joins it.
///
/// ```
/// use std::time::Duration;
/// use pyflink_core::{JobStatus, StreamExecutionEnvironment};
///
/// let env = StreamExecutionEnvironment::get_execution_environment();
/// env.from_sequence(1, i64::MAX).unwrap().discard();
/// let mut client = env.execute_async("endless").unwrap();
/// assert_eq!(client.wait_timeout(Duration::from_millis(10)), None, "still running");
/// client.cancel();
/// let outcome = client.wait_timeout(Duration::from_secs(60)).expect("ended");
/// assert!(outcome.is_err());
/// assert_eq!(client.job_status(), JobStatus::Canceled);
/// ```
pub struct JobClient {
    shared: Arc<JobShared>,
    checkpointing: bool,
    handle: Option<JoinHandle<Result<JobExecutionResult>>>,
    /// Closed (disconnected) when the job's thread is about to end.
    ended: Receiver<()>,
    outcome: Option<Result<JobExecutionResult>>,
}

impl JobClient {
    /// Starts `graph` on background threads.
    pub(crate) fn spawn(job_name: String, graph: JobGraph) -> Result<JobClient> {
        let started = start(&job_name, &graph)?;
        let shared = Arc::clone(&started.shared);
        let checkpointing = graph.checkpoint.is_checkpointing_enabled();
        let (ending, ended) = channel::<()>();
        let handle = std::thread::Builder::new()
            .name(format!("job: {job_name}"))
            .spawn(move || {
                // Dropped when `run` returns or unwinds, which wakes a waiting client.
                let _ending = ending;
                run(job_name, graph, started)
            })
            .map_err(|e| FlinkError::Runtime(format!("cannot start the job thread: {e}")))?;
        Ok(JobClient { shared, checkpointing, handle: Some(handle), ended, outcome: None })
    }

    /// The job's id.
    pub fn job_id(&self) -> JobId {
        self.shared.job_id
    }

    /// The operators' metrics now, by identifier (see [`crate::metrics`]).
    pub fn get_metrics(&self) -> BTreeMap<String, MetricValue> {
        self.shared.metrics.snapshot()
    }

    /// A handle that cancels the job, or reads its metrics, from any thread, while another
    /// thread waits for the job through this client.
    pub fn canceller(&self) -> JobCanceller {
        JobCanceller { shared: Arc::clone(&self.shared), checkpointing: self.checkpointing }
    }

    /// Asks the job to stop; [`JobClient::wait`] then returns [`FlinkError::Cancelled`]. The
    /// workers stop at their next activation: a user function running now finishes first.
    pub fn cancel(&self) {
        self.shared.cancel();
    }

    /// Takes a savepoint of the running job into the directory `target` (which must not exist)
    /// and returns its path once it is complete; a job can later start from it with
    /// `CheckpointConfig::restore_path`. The job must have checkpointing enabled.
    pub fn trigger_savepoint(&self, target: impl Into<PathBuf>, timeout: Duration) -> Result<PathBuf> {
        take_savepoint(&self.shared, self.checkpointing, target.into(), timeout, false)
    }

    /// Takes a savepoint into `target` as [`JobClient::trigger_savepoint`] does, then stops the
    /// job, which ends as FINISHED (Flink's stop-with-savepoint). Transactional sinks commit what
    /// the savepoint covers; records after it may still reach sinks that write at once until the
    /// job has stopped, and are read again by a job started from the savepoint.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pyflink_core::{CheckpointingMode, JobStatus, StreamExecutionEnvironment};
    ///
    /// let env = StreamExecutionEnvironment::get_execution_environment();
    /// env.enable_checkpointing(Duration::from_secs(3600), CheckpointingMode::ExactlyOnce);
    /// env.from_sequence(1, i64::MAX).unwrap().discard();
    /// let mut client = env.execute_async("endless").unwrap();
    /// let target = std::env::temp_dir().join(format!("doc-savepoint-{}", client.job_id()));
    /// let path = client.stop_with_savepoint(&target, Duration::from_secs(60)).unwrap();
    /// assert!(path.join("_metadata").exists());
    /// assert!(client.wait_timeout(Duration::from_secs(60)).expect("ended").is_ok());
    /// assert_eq!(client.job_status(), JobStatus::Finished);
    /// std::fs::remove_dir_all(path).unwrap();
    /// ```
    pub fn stop_with_savepoint(&self, target: impl Into<PathBuf>, timeout: Duration) -> Result<PathBuf> {
        self.canceller().stop_with_savepoint(target, timeout)
    }

    /// Stops the job with drain (`flink stop --drain`): its sources end after a watermark at
    /// the end of event time, so that every event-time window and timer fires, and the
    /// savepoint taken into `target` holds the state after that; the job then finishes, its
    /// sinks writing everything. Use it to end a job for good; a job started from the savepoint
    /// reads on from where the sources stopped, with its event-time state already emitted.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pyflink_core::time::WatermarkStrategy;
    /// use pyflink_core::window::TumblingEventTimeWindows;
    /// use pyflink_core::{CheckpointingMode, StreamExecutionEnvironment};
    ///
    /// let env = StreamExecutionEnvironment::get_execution_environment();
    /// env.set_parallelism(1);
    /// env.enable_checkpointing(Duration::from_secs(3600), CheckpointingMode::ExactlyOnce);
    /// // Event times 0, 1, 2, ...: windows of a day never end by themselves.
    /// let sums = env
    ///     .from_sequence(0, i64::MAX)
    ///     .unwrap()
    ///     .assign_timestamps_and_watermarks(
    ///         WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|n: &i64, _| *n),
    ///     )
    ///     .key_by(|_| 0)
    ///     .window(TumblingEventTimeWindows::of(Duration::from_secs(86_400)))
    ///     .reduce(|a, b| a.max(b));
    /// let fired = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    /// let seen = fired.clone();
    /// sums.map(move |max| seen.lock().unwrap().push(max)).discard();
    /// let mut client = env.execute_async("endless").unwrap();
    /// std::thread::sleep(Duration::from_millis(200));
    /// let target = std::env::temp_dir().join(format!("doc-drain-{}", client.job_id()));
    /// let path = client.stop_with_drain(&target, Duration::from_secs(60)).unwrap();
    /// assert!(client.wait_timeout(Duration::from_secs(60)).expect("ended").is_ok());
    /// // The day's window fired as event time reached its end.
    /// assert_eq!(fired.lock().unwrap().len(), 1);
    /// std::fs::remove_dir_all(path).unwrap();
    /// ```
    pub fn stop_with_drain(&self, target: impl Into<PathBuf>, timeout: Duration) -> Result<PathBuf> {
        self.canceller().stop_with_drain(target, timeout)
    }

    /// The job's status now.
    pub fn job_status(&mut self) -> JobStatus {
        if self.handle.as_ref().is_some_and(|h| h.is_finished()) {
            self.join();
        }
        match &self.outcome {
            None => JobStatus::Running,
            Some(Ok(_)) => JobStatus::Finished,
            Some(Err(FlinkError::Cancelled)) => JobStatus::Canceled,
            Some(Err(_)) => JobStatus::Failed,
        }
    }

    /// Waits up to `timeout` for the job to end: its outcome once it has ended (and its
    /// threads have been joined), `None` while it still runs. A caller that must stay
    /// responsive (to Ctrl-C, for example) waits in short steps.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<Result<JobExecutionResult>> {
        if self.handle.is_some() {
            match self.ended.recv_timeout(timeout) {
                Err(RecvTimeoutError::Timeout) => return None,
                Ok(()) | Err(RecvTimeoutError::Disconnected) => self.join(),
            }
        }
        self.outcome.clone()
    }

    /// Waits for the job to end and returns its result.
    pub fn wait(mut self) -> Result<JobExecutionResult> {
        self.join();
        self.outcome.take().expect("joined job has an outcome")
    }

    fn join(&mut self) {
        if let Some(handle) = self.handle.take() {
            let outcome = handle.join().unwrap_or_else(|payload| {
                Err(FlinkError::Runtime(format!("job thread panicked: {}", panic_message(payload.as_ref()))))
            });
            self.outcome = Some(outcome);
        }
    }
}
