//! Execution settings of an environment.

use serde::{Deserialize, Serialize};

/// How a job executes, as Flink's `RuntimeExecutionMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum RuntimeExecutionMode {
    /// Continuous processing: keyed aggregations emit every updated result.
    #[default]
    Streaming,
    /// Bounded input processed as a whole: keyed aggregations emit only their final result per key.
    Batch,
    /// Batch when every source is bounded, otherwise streaming.
    Automatic,
}

/// Whether a source ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Boundedness {
    /// The source ends after a finite number of records.
    Bounded,
    /// The source runs until the job is cancelled.
    ContinuousUnbounded,
}
