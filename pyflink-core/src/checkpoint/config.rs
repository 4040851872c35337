//! Checkpointing settings, with Flink's names and defaults.

use std::path::PathBuf;
use std::time::Duration;

use crate::checkpoint::faults::CoordinatorFaults;

/// The guarantee checkpoints give, as Flink's `CheckpointingMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckpointingMode {
    /// Every record affects state and output exactly once after recovery: operators align
    /// checkpoint epochs, and transactional sinks commit when a checkpoint completes.
    #[default]
    ExactlyOnce,
    /// No record is lost, but records may be replayed into state and output after recovery:
    /// operators do not wait for epochs to align.
    AtLeastOnce,
}

/// What happens to a job's checkpoints when it ends, as Flink's
/// `ExternalizedCheckpointRetention` (`execution.checkpointing.externalized-checkpoint-retention`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExternalizedCheckpointRetention {
    /// Checkpoints are deleted when the job ends, however it ends (the default).
    #[default]
    NoExternalizedCheckpoints,
    /// Checkpoints are kept when the job fails or finishes, deleted when it is cancelled.
    DeleteOnCancellation,
    /// Checkpoints are kept however the job ends, to start a later job from them.
    RetainOnCancellation,
}

/// The checkpoint settings of a job (`execution.checkpointing.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointConfig {
    /// The time between checkpoints; `None` disables checkpointing.
    pub interval: Option<Duration>,
    /// Exactly-once or at-least-once.
    pub mode: CheckpointingMode,
    /// Where checkpoints are written (`execution.checkpointing.dir`); a directory under the
    /// system's temporary directory when unset.
    pub storage_dir: Option<PathBuf>,
    /// A checkpoint not complete after this long is abandoned (10 minutes by default).
    pub timeout: Duration,
    /// The least time from the end of one checkpoint to the start of the next.
    pub min_pause: Duration,
    /// How many checkpoints may be in progress at once (1 by default).
    pub max_concurrent: usize,
    /// How many complete checkpoints are kept (`state.checkpoints.num-retained`, 1).
    pub retained: usize,
    /// How many checkpoints in a row may fail before the job fails over (0 by default).
    pub tolerable_failures: u32,
    /// A checkpoint or savepoint to start the job from (`execution.savepoint.path`).
    pub restore_path: Option<PathBuf>,
    /// Whether the job's checkpoints outlive it.
    pub externalized_retention: ExternalizedCheckpointRetention,
    /// Whether a restore may skip state of operators that are not in the job any more
    /// (`execution.savepoint.ignore-unclaimed-state`).
    pub allow_non_restored_state: bool,
    /// Failures to inject into the checkpoint coordinator, to test recovery (none by default).
    pub coordinator_faults: Option<CoordinatorFaults>,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        CheckpointConfig {
            interval: None,
            mode: CheckpointingMode::ExactlyOnce,
            storage_dir: None,
            timeout: Duration::from_secs(600),
            min_pause: Duration::ZERO,
            max_concurrent: 1,
            retained: 1,
            tolerable_failures: 0,
            restore_path: None,
            allow_non_restored_state: false,
            externalized_retention: ExternalizedCheckpointRetention::NoExternalizedCheckpoints,
            coordinator_faults: None,
        }
    }
}

impl CheckpointConfig {
    /// Whether checkpoints are taken.
    pub fn is_checkpointing_enabled(&self) -> bool {
        self.interval.is_some()
    }

    /// Whether operators align epochs (exactly-once with checkpointing on).
    pub(crate) fn aligned(&self) -> bool {
        self.is_checkpointing_enabled() && self.mode == CheckpointingMode::ExactlyOnce
    }
}
