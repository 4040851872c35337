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

/// How far sources may run ahead of the operators downstream of them: Flink's backpressure.
///
/// Each source instance counts the records it has sent that the job's last operators have not
/// yet finished, and stops reading while it has `max_in_flight_records` of them, or while the
/// oldest of them was sent more than `max_in_flight_time` ago. A source learns what is finished
/// from the progress (timely's frontier) of the job's last operators, which every worker sees,
/// so records waiting in exchanges, in queues in front of a slow operator, or held back by
/// exactly-once alignment all count, in thread and process mode alike. Memory in flight is
/// thus bounded by about `parallelism * max_in_flight_records` source records (times what
/// operators make of each), and a checkpoint barrier waits behind at most about
/// `max_in_flight_time` of records.
///
/// ```
/// use std::time::Duration;
/// use pyflink_core::BackpressureConfig;
/// let config = BackpressureConfig::default();
/// assert_eq!(config.max_in_flight_records, 65_536);
/// assert_eq!(config.max_in_flight_time, Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackpressureConfig {
    /// Records a source instance may have in flight (`execution.backpressure.max-in-flight-records`).
    pub max_in_flight_records: usize,
    /// How long the oldest record in flight may have been on its way before its source waits
    /// (`execution.backpressure.max-in-flight-time`, or Flink's
    /// `taskmanager.network.memory.buffer-debloat.target`, which aims at the same bound).
    pub max_in_flight_time: std::time::Duration,
}

impl Default for BackpressureConfig {
    fn default() -> Self {
        BackpressureConfig { max_in_flight_records: 65_536, max_in_flight_time: std::time::Duration::from_secs(1) }
    }
}
