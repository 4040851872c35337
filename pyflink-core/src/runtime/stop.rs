//! `StopSignal`: tells a task's long calls that the task must stop, so they can end early.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::runtime::job::JobShared;

/// Tells the long calls of a task (a connector waiting for a broker or a database, a function
/// polling an outside system) that the task must stop: the job was cancelled, or another task
/// failed and the attempt is being torn down. A call that may wait long waits in short steps and
/// gives up when [`StopSignal::should_stop`] turns true, so that cancelling a job never waits
/// for an outside system.
///
/// Tasks get theirs from the runtime ([`crate::RuntimeContext::stop_signal`], and the contexts
/// of source readers and sink writers). Code run outside a job uses [`StopSignal::never`], or
/// [`StopSignal::from_flag`] to stop it by hand:
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use pyflink_core::runtime::StopSignal;
///
/// let flag = Arc::new(AtomicBool::new(false));
/// let signal = StopSignal::from_flag(Arc::clone(&flag));
/// assert!(!signal.should_stop());
/// flag.store(true, Ordering::Release);
/// assert!(signal.should_stop());
/// assert!(!StopSignal::never().should_stop());
/// ```
#[derive(Clone, Default)]
pub struct StopSignal(Source);

#[derive(Clone, Default)]
enum Source {
    #[default]
    Never,
    Job(Arc<JobShared>),
    Flag(Arc<AtomicBool>),
}

impl StopSignal {
    /// A signal that never asks to stop.
    pub fn never() -> Self {
        StopSignal(Source::Never)
    }

    /// A signal that asks to stop once `flag` is true.
    pub fn from_flag(flag: Arc<AtomicBool>) -> Self {
        StopSignal(Source::Flag(flag))
    }

    /// The signal of the tasks of `job`.
    pub(crate) fn of_job(job: &Arc<JobShared>) -> Self {
        StopSignal(Source::Job(Arc::clone(job)))
    }

    /// Whether the task must stop: a call waiting for something should give up now.
    #[inline]
    pub fn should_stop(&self) -> bool {
        match &self.0 {
            Source::Never => false,
            Source::Job(job) => job.should_stop(),
            Source::Flag(flag) => flag.load(Ordering::Acquire),
        }
    }
}

impl fmt::Debug for StopSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StopSignal").field("should_stop", &self.should_stop()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_signal_follows_the_job() {
        let job = Arc::new(JobShared::new());
        let signal = StopSignal::of_job(&job);
        assert!(!signal.should_stop());
        job.cancel();
        assert!(signal.should_stop());
        assert!(format!("{signal:?}").contains("should_stop: true"));
    }
}
