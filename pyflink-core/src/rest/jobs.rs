//! The jobs of this process, as the REST API lists them: each job registers when it starts and
//! records how it ended; savepoints the API triggers are tracked by their request id.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::runtime::client::{take_savepoint, JobId, JobStatus};
use crate::runtime::job::JobShared;
use crate::{FlinkError, Result};

/// Ended jobs kept for the API to list, newest first; older ones are forgotten.
const KEPT_ENDED_JOBS: usize = 100;

/// How long a savepoint the API triggers may take.
const SAVEPOINT_TIMEOUT: Duration = Duration::from_secs(600);

/// What the API tells of a job.
pub(crate) struct JobEntry {
    pub(crate) id: JobId,
    pub(crate) name: String,
    pub(crate) start_time: i64,
    state: Mutex<EntryState>,
    /// The request of a savepoint that drains the job: the job, which then finishes by itself,
    /// waits at its end for a client to read where the savepoint is (see [`Registration`]).
    draining: Mutex<Option<String>>,
}

enum EntryState {
    Running { shared: Arc<JobShared>, checkpointing: bool },
    Ended { status: JobStatus, end_time: i64 },
}

impl JobEntry {
    /// The job's status, and when it ended (-1 while it runs).
    pub(crate) fn status(&self) -> (JobStatus, i64) {
        match &*lock(&self.state) {
            EntryState::Running { .. } => (JobStatus::Running, -1),
            EntryState::Ended { status, end_time } => (*status, *end_time),
        }
    }

    /// Asks the running job to stop; an error if it has ended.
    pub(crate) fn cancel(&self) -> Result<()> {
        match &*lock(&self.state) {
            EntryState::Running { shared, .. } => {
                shared.cancel();
                Ok(())
            }
            EntryState::Ended { status, .. } => {
                Err(FlinkError::InvalidProgram(format!("job {} has already ended ({})", self.id, status.name())))
            }
        }
    }

    /// Takes a savepoint into `target` in the background, then does `after`, and returns the
    /// request id to ask for its outcome.
    pub(crate) fn trigger_savepoint(&self, target: PathBuf, after: AfterSavepoint) -> Result<String> {
        let (shared, checkpointing) = match &*lock(&self.state) {
            EntryState::Running { shared, checkpointing } => (Arc::clone(shared), *checkpointing),
            EntryState::Ended { status, .. } => {
                return Err(FlinkError::InvalidProgram(format!(
                    "job {} has already ended ({}); a savepoint needs a running job",
                    self.id,
                    status.name()
                )))
            }
        };
        if !checkpointing {
            return Err(FlinkError::InvalidProgram(
                "savepoints need checkpointing; the job runs without (enable_checkpointing)".into(),
            ));
        }
        let request = format!("{:032x}", u128::from(NEXT_REQUEST.fetch_add(1, Ordering::Relaxed)) ^ self.id.as_u128());
        Savepoints::with(|savepoints| savepoints.insert(request.clone(), SavepointState::InProgress));
        let answer = request.clone();
        let drain = after == AfterSavepoint::Drain;
        if drain {
            *lock(&self.draining) = Some(request.clone());
        }
        let started = std::thread::Builder::new().name("REST savepoint".into()).spawn(move || {
            let outcome = take_savepoint(&shared, checkpointing, target, SAVEPOINT_TIMEOUT, drain);
            let done = outcome.is_ok();
            let state = match outcome {
                Ok(path) => SavepointState::Completed(path),
                Err(error) => SavepointState::Failed(error.to_string()),
            };
            Savepoints::with(|savepoints| savepoints.insert(answer.clone(), state));
            if done && matches!(after, AfterSavepoint::Stop | AfterSavepoint::Cancel) {
                // A job's process may end with its job, and its API with it: the client that
                // asked learns where the savepoint is before the job stops (or soon after).
                let deadline = Instant::now() + FETCH_GRACE;
                while !Savepoints::fetched(&answer) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
                match after {
                    AfterSavepoint::Stop => shared.stop_after_savepoint(),
                    _ => shared.cancel(),
                }
            }
        });
        started.map_err(|e| FlinkError::Runtime(format!("cannot start the savepoint's thread: {e}")))?;
        Ok(request)
    }

    fn end(&self, status: JobStatus) {
        *lock(&self.state) = EntryState::Ended { status, end_time: now_millis() };
    }
}

/// What a job does once the savepoint the API triggered is complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterSavepoint {
    /// Runs on.
    Continue,
    /// Stops, and ends as FINISHED (`/stop`).
    Stop,
    /// Has its sources end after a watermark at the end of event time before the savepoint,
    /// so that every event-time window and timer fires, and then finishes (`/stop` with
    /// `"drain": true`).
    Drain,
    /// Is cancelled (`"cancel-job": true`).
    Cancel,
}

/// Where a savepoint the API triggered is.
#[derive(Clone, Debug)]
pub(crate) enum SavepointState {
    InProgress,
    Completed(PathBuf),
    Failed(String),
}

static JOBS: Mutex<Vec<Arc<JobEntry>>> = Mutex::new(Vec::new());
static SAVEPOINTS: Mutex<Option<HashMap<String, SavepointState>>> = Mutex::new(None);
static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);
/// The requests whose completed outcome a client has read.
static FETCHED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// How long a job to be stopped after a savepoint waits for the client to read where it is.
const FETCH_GRACE: Duration = Duration::from_secs(5);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The savepoint requests, made on first use.
struct Savepoints;

impl Savepoints {
    fn with<R>(f: impl FnOnce(&mut HashMap<String, SavepointState>) -> R) -> R {
        f(lock(&SAVEPOINTS).get_or_insert_with(HashMap::new))
    }

    /// Whether a client has been told the outcome of request `request`.
    fn fetched(request: &str) -> bool {
        lock(&FETCHED).iter().any(|fetched| fetched == request)
    }
}

/// Milliseconds since the Unix epoch now.
pub(crate) fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// A job registered while it runs; dropping it records how the job ended.
pub(crate) struct Registration {
    entry: Arc<JobEntry>,
    status: JobStatus,
}

impl Registration {
    /// Records how the job ended (FAILED unless told otherwise).
    pub(crate) fn ended(&mut self, status: JobStatus) {
        self.status = status;
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // A job drained into a savepoint finishes as soon as the savepoint is complete; its
        // process may end with it, and the API with it: the client that asked learns where the
        // savepoint is first (or the grace passes).
        if let Some(request) = lock(&self.entry.draining).take() {
            let deadline = Instant::now() + FETCH_GRACE;
            while !Savepoints::fetched(&request) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self.entry.end(self.status);
    }
}

/// Registers job `name` for the REST API while it runs.
pub(crate) fn register(name: &str, shared: &Arc<JobShared>, checkpointing: bool) -> Registration {
    let entry = Arc::new(JobEntry {
        id: shared.job_id,
        name: name.to_string(),
        start_time: now_millis(),
        state: Mutex::new(EntryState::Running { shared: Arc::clone(shared), checkpointing }),
        draining: Mutex::new(None),
    });
    let mut jobs = lock(&JOBS);
    jobs.insert(0, Arc::clone(&entry));
    // Forget the oldest ended jobs beyond the ones kept.
    let mut ended = 0;
    jobs.retain(|job| match job.status().0.is_globally_terminal() {
        true => {
            ended += 1;
            ended <= KEPT_ENDED_JOBS
        }
        false => true,
    });
    Registration { entry, status: JobStatus::Failed }
}

/// Every registered job, newest first.
pub(crate) fn all() -> Vec<Arc<JobEntry>> {
    lock(&JOBS).clone()
}

/// The job whose id is `id` (32 hexadecimal digits).
pub(crate) fn find(id: &str) -> Option<Arc<JobEntry>> {
    lock(&JOBS).iter().find(|job| job.id.to_string() == id).cloned()
}

/// Where the savepoint of request `request` is, if there is such a request; a completed one
/// counts as read by a client.
pub(crate) fn savepoint(request: &str) -> Option<SavepointState> {
    let state = Savepoints::with(|savepoints| savepoints.get(request).cloned());
    if matches!(state, Some(SavepointState::Completed(_) | SavepointState::Failed(_))) {
        let mut fetched = lock(&FETCHED);
        if !fetched.iter().any(|f| f == request) {
            fetched.push(request.to_string());
            // Only recent requests matter; a long-lived process keeps a bounded list.
            if fetched.len() > 1000 {
                fetched.remove(0);
            }
        }
    }
    state
}
