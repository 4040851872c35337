//! Failures injected into the checkpoint coordinator on purpose, to test that jobs recover
//! from them: a test (or a chaos experiment) sets [`CheckpointConfig::coordinator_faults`]
//! (see [`super::CheckpointConfig`]) and decides, at each step the coordinator takes, whether it
//! fails there with an I/O error or a panic.

use std::fmt;
use std::sync::Arc;

use pyflink_state::StateError;

/// A step of the checkpoint coordinator where a failure can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoordinatorStep {
    /// Writing the state files a task acknowledged a checkpoint with.
    WriteTaskState,
    /// Writing the metadata that completes a checkpoint.
    CompleteCheckpoint,
    /// The coordinator thread's periodic step (triggering and expiring checkpoints).
    Tick,
}

/// How an injected failure fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectedFault {
    /// As an I/O error of the checkpoint storage.
    IoError,
    /// As a panic of the coordinator's thread.
    Panic,
}

/// Decides where the checkpoint coordinator fails; `None` from the function lets the step run.
///
/// ```
/// use pyflink_core::checkpoint::{CoordinatorFaults, CoordinatorStep, InjectedFault};
///
/// // Fail the first write of a checkpoint's metadata with an I/O error.
/// let once = std::sync::atomic::AtomicBool::new(true);
/// let faults = CoordinatorFaults::new(move |step| {
///     let first = step == CoordinatorStep::CompleteCheckpoint && once.swap(false, std::sync::atomic::Ordering::SeqCst);
///     first.then_some(InjectedFault::IoError)
/// });
/// assert!(faults.check(CoordinatorStep::CompleteCheckpoint).is_err());
/// assert!(faults.check(CoordinatorStep::CompleteCheckpoint).is_ok());
/// ```
#[derive(Clone)]
pub struct CoordinatorFaults(Arc<dyn Fn(CoordinatorStep) -> Option<InjectedFault> + Send + Sync>);

impl CoordinatorFaults {
    /// Faults where `decide` says.
    pub fn new(decide: impl Fn(CoordinatorStep) -> Option<InjectedFault> + Send + Sync + 'static) -> Self {
        CoordinatorFaults(Arc::new(decide))
    }

    /// Runs the decision for `step`: an I/O error to return, a panic, or nothing.
    pub fn check(&self, step: CoordinatorStep) -> Result<(), StateError> {
        match (self.0)(step) {
            None => Ok(()),
            Some(InjectedFault::IoError) => {
                Err(StateError::Io { path: "(injected)".into(), cause: format!("injected I/O failure at {step:?}") })
            }
            Some(InjectedFault::Panic) => panic!("injected panic of the checkpoint coordinator at {step:?}"),
        }
    }
}

impl fmt::Debug for CoordinatorFaults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CoordinatorFaults(..)")
    }
}

impl PartialEq for CoordinatorFaults {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
