//! How a task's activations run: guarded, so that an error or a panic fails the job with the
//! operator's name, and timed, for the instance's `busyTimeMsPerSecond`.
//!
//! Only sources wait when the dataflow is behind (see `pacing`), so their
//! `backPressuredTimeMsPerSecond` shows that a job is held back; the busy time of every operator
//! instance shows which one holds it back: the bottleneck is busy close to 1000 ms per second.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::metrics::{Meter, MetricGroup};
use crate::runtime::job::{panic_message, JobShared};
use crate::{FlinkError, Result};

/// The span busy time is averaged over, as the sources' backpressured time is.
const BUSY_TIME_SPAN: Duration = Duration::from_secs(5);

/// Runs the activations of one operator instance.
pub(crate) struct Activations {
    job: Arc<JobShared>,
    operator: String,
    subtask: usize,
    /// Microseconds spent in activations.
    busy_micros: Meter,
}

impl Activations {
    /// The activations of instance `subtask` of `operator`, whose busy time goes to `metrics`
    /// (none for an instance that never runs).
    pub(crate) fn new(job: &Arc<JobShared>, operator: &str, subtask: usize, metrics: Option<&MetricGroup>) -> Self {
        let busy_micros = Meter::new(BUSY_TIME_SPAN);
        if let Some(group) = metrics {
            let rate = busy_micros.clone();
            group.gauge("busyTimeMsPerSecond", move || (rate.get_rate() / 1000.0).min(1000.0));
        }
        Activations { job: Arc::clone(job), operator: operator.to_string(), subtask, busy_micros }
    }

    /// Runs one activation, turning a panic or an error into a failure of the job that names
    /// the operator. Returns true once the task is done: finished, or failed.
    pub(crate) fn run(&self, activation: impl FnOnce() -> Result<bool>) -> bool {
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(activation));
        self.busy_micros.mark_events(i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX));
        let (cause, recoverable) = match outcome {
            Ok(Ok(finished)) => return finished,
            Ok(Err(error)) => (error.to_string(), error.is_recoverable()),
            Err(payload) => (panic_message(payload.as_ref()), true),
        };
        let operator = self.operator.clone();
        self.job.fail(FlinkError::TaskFailed { operator, subtask: self.subtask, cause, recoverable });
        true
    }

    /// Whether the job asks its tasks to stop.
    #[inline]
    pub(crate) fn should_stop(&self) -> bool {
        self.job.should_stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{MetricRegistry, MetricValue};

    #[test]
    fn busy_time_is_the_share_of_each_second_spent_in_activations() {
        let job = Arc::new(JobShared::new());
        let registry = MetricRegistry::default();
        let activations = Activations::new(&job, "map", 0, Some(&registry.group(vec!["map".into(), "0".into()])));
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(300) {
            assert!(!activations.run(|| {
                std::thread::sleep(Duration::from_millis(10));
                Ok(false)
            }));
        }
        std::thread::sleep(Duration::from_millis(300));
        // About 300 ms busy in 600 ms.
        let Some(MetricValue::Gauge(busy)) = registry.snapshot().get("map.0.busyTimeMsPerSecond").cloned() else {
            panic!("no busyTimeMsPerSecond: {:?}", registry.snapshot())
        };
        assert!((350.0..=650.0).contains(&busy), "busy {busy} ms per second");
    }

    #[test]
    fn a_failed_activation_fails_the_job_naming_the_operator() {
        let job = Arc::new(JobShared::new());
        let activations = Activations::new(&job, "map", 1, None);
        assert!(activations.run(|| Err(FlinkError::Runtime("bad record".into()))));
        assert!(activations.should_stop());
        let job = Arc::new(JobShared::new());
        let activations = Activations::new(&job, "map", 1, None);
        assert!(activations.run(|| panic!("boom")));
        assert!(job.should_stop());
    }
}
