//! Jobs that Python started and controls. Python waits for a job in short steps, so that the
//! interpreter sees Ctrl-C between them and can cancel the job ([`RunningJob`]); collected
//! records stream to Python in batches as the job produces them ([`CollectedRecords`]).
//! Waiting happens without the interpreter (uniffi calls release it), so the job's threads can
//! run Python functions meanwhile.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use pyflink_core::metrics::MetricValue;
use pyflink_core::runtime::client::JobCanceller;
use pyflink_core::sinks::{CollectIterator, Polled};
use pyflink_core::{FlinkError, JobClient, JobExecutionResult};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::metrics::MetricSnapshot;
use crate::value::{pickle, PyValue};
use crate::JobError;

/// How a job ended, for Python (PyFlink's `JobExecutionResult`).
#[derive(Debug, Clone)]
pub struct JobResult {
    /// The job's id, 32 hexadecimal digits.
    pub job_id: String,
    /// The job's name.
    pub job_name: String,
    /// How long it ran.
    pub net_runtime_ms: u64,
    /// The operators' metrics when it ended.
    pub metrics: HashMap<String, MetricSnapshot>,
}

impl From<&JobExecutionResult> for JobResult {
    fn from(result: &JobExecutionResult) -> Self {
        JobResult {
            job_id: result.get_job_id().to_string(),
            job_name: result.job_name().to_string(),
            net_runtime_ms: u64::try_from(result.get_net_runtime()).unwrap_or(u64::MAX),
            metrics: snapshots(result.get_metrics()),
        }
    }
}

/// The engine's metrics by identifier, as Python receives them.
fn snapshots(metrics: &BTreeMap<String, MetricValue>) -> HashMap<String, MetricSnapshot> {
    metrics.iter().map(|(id, value)| (id.clone(), MetricSnapshot::from(value))).collect()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A job running in the background (PyFlink's `JobClient` builds on it).
pub struct RunningJob {
    client: Mutex<JobClient>,
    /// Kept apart from the client so that status and cancel calls need not wait for a
    /// `wait_for` step that holds the client.
    job_id: String,
    canceller: JobCanceller,
}

impl RunningJob {
    pub(crate) fn new(client: JobClient) -> Self {
        let job_id = client.job_id().to_string();
        let canceller = client.canceller();
        RunningJob { client: Mutex::new(client), job_id, canceller }
    }

    /// The job's id: 32 hexadecimal digits.
    pub fn job_id(&self) -> String {
        self.job_id.clone()
    }

    /// The job's status: `RUNNING`, `FINISHED`, `FAILED` or `CANCELED`.
    pub fn status(&self) -> String {
        match self.client.try_lock() {
            Ok(mut client) => client.job_status().name().to_string(),
            // Someone waits for the job now; it has not been seen to end.
            Err(_) => pyflink_core::JobStatus::Running.name().to_string(),
        }
    }

    /// Asks the job to stop; it ends as `CANCELED`.
    pub fn cancel(&self) {
        self.canceller.cancel();
    }

    /// Waits up to `timeout_ms` for the job to end: how it ended, or `None` while it still
    /// runs. Fails as the job failed, every time it is asked once the job has failed.
    pub fn wait_for(&self, timeout_ms: u64) -> Result<Option<JobResult>, JobError> {
        match lock(&self.client).wait_timeout(Duration::from_millis(timeout_ms)) {
            None => Ok(None),
            Some(Ok(result)) => Ok(Some(JobResult::from(&result))),
            Some(Err(error)) => Err(error.into()),
        }
    }

    /// The operators' metrics now.
    pub fn metrics(&self) -> HashMap<String, MetricSnapshot> {
        snapshots(&self.canceller.get_metrics())
    }

    /// Takes a savepoint into `target`; its path.
    pub fn trigger_savepoint(&self, target: String, timeout_ms: u64) -> Result<String, JobError> {
        let path = self.canceller.trigger_savepoint(target, Duration::from_millis(timeout_ms))?;
        Ok(path.display().to_string())
    }

    /// Takes a savepoint into `target`, then stops the job; the savepoint's path.
    pub fn stop_with_savepoint(&self, target: String, timeout_ms: u64) -> Result<String, JobError> {
        let path = self.canceller.stop_with_savepoint(target, Duration::from_millis(timeout_ms))?;
        Ok(path.display().to_string())
    }

    /// Drains the job into a savepoint at `target`; its path (see `JobClient::stop_with_drain`).
    pub fn stop_with_drain(&self, target: String, timeout_ms: u64) -> Result<String, JobError> {
        let path = self.canceller.stop_with_drain(target, Duration::from_millis(timeout_ms))?;
        Ok(path.display().to_string())
    }
}

/// The records of a stream collected while its job runs (`execute_and_collect`).
pub struct CollectedRecords {
    records: Mutex<Collecting>,
}

/// The iterator of a collecting job, and the job's failure when it came after records that a
/// batch returned first.
struct Collecting {
    iterator: CollectIterator<PyValue>,
    failure: Option<FlinkError>,
}

impl CollectedRecords {
    pub(crate) fn new(iterator: CollectIterator<PyValue>) -> Self {
        CollectedRecords { records: Mutex::new(Collecting { iterator, failure: None }) }
    }

    /// Up to `max_records` records as a pickled list, waiting up to `timeout_ms` for the
    /// first and then taking only those already there: an empty list if none came in time,
    /// `None` once the job has ended and every record has been taken. Fails as the job failed.
    pub fn next_batch(&self, max_records: u32, timeout_ms: u64) -> Result<Option<Vec<u8>>, JobError> {
        let mut records = lock(&self.records);
        if let Some(error) = records.failure.take() {
            return Err(error.into());
        }
        let mut batch = Vec::new();
        let deadline = Instant::now() + Duration::from_millis(timeout_ms);
        let mut ended = false;
        while batch.len() < max_records.max(1) as usize {
            let wait = match batch.is_empty() {
                true => deadline.saturating_duration_since(Instant::now()),
                false => Duration::ZERO,
            };
            match records.iterator.poll(wait) {
                Ok(Polled::Record(record)) => batch.push(record),
                Ok(Polled::Pending) => break,
                Ok(Polled::Ended) => {
                    ended = true;
                    break;
                }
                // Records taken before the failure still reach Python; the error comes next.
                Err(error) if batch.is_empty() => return Err(error.into()),
                Err(error) => {
                    records.failure = Some(error);
                    break;
                }
            }
        }
        if ended && batch.is_empty() {
            return Ok(None);
        }
        Python::attach(|py| {
            let list = PyList::new(py, batch.iter().map(|record| record.bind(py)))?;
            pickle(list.as_any())
        })
        .map(Some)
        .map_err(|e| JobError::JobFailed(format!("cannot pickle the collected records: {e}")))
    }

    /// Cancels the job if it still runs and waits for its threads to end.
    pub fn close(&self) {
        lock(&self.records).iterator.close();
    }

    /// Cancels the job if it still runs, without waiting for it: what a finalizer may do on
    /// any thread, including one of the job's own.
    pub fn cancel(&self) {
        lock(&self.records).iterator.cancel();
    }
}
