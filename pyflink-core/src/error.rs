//! The errors of building and running jobs.

use pyflink_state::StateError;

/// The result type of pyflink-core's fallible calls.
pub type Result<T, E = FlinkError> = std::result::Result<T, E>;

/// An error from building or running a job, with a message that says what went wrong and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FlinkError {
    /// The job graph cannot run as built (for example forward partitioning between operators of
    /// different parallelism); the message says what to change.
    #[error("invalid program: {0}")]
    InvalidProgram(String),
    /// An operator instance failed: a user function panicked or returned an error.
    #[error("job failed: operator '{operator}' (subtask {subtask}) failed: {cause}")]
    TaskFailed {
        /// The name of the operator, as set with `name()` or its default.
        operator: String,
        /// The index of the failed parallel instance.
        subtask: usize,
        /// What the user function or the runtime reported.
        cause: String,
    },
    /// The job was cancelled through its `JobClient`.
    #[error("job was cancelled")]
    Cancelled,
    /// A user function reported an error.
    #[error("{0}")]
    User(String),
    /// Keyed or operator state was used wrongly.
    #[error(transparent)]
    State(#[from] StateError),
    /// A connector could not read or write its external system (a file, a broker); the
    /// message names what and where.
    #[error("connector error: {0}")]
    Connector(String),
    /// The runtime itself failed (for example worker threads could not start).
    #[error("runtime error: {0}")]
    Runtime(String),
}

impl FlinkError {
    /// A user-function error with `message`; return it from a process function to fail the task.
    pub fn user(message: impl Into<String>) -> Self {
        FlinkError::User(message.into())
    }
}
