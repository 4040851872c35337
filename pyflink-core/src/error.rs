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
        /// Whether a restart can help: false when the cause fails the same way on every try
        /// (see [`FlinkError::is_recoverable`]).
        recoverable: bool,
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
    /// A record cannot be read in its format (malformed JSON or CSV, text that is not UTF-8,
    /// ...) and the format is not set to ignore parse errors. Reading it again fails again, so
    /// the job fails without restarting; the message says what is wrong with which record.
    #[error("cannot deserialize a record: {0}")]
    Deserialization(String),
    /// A connector could not read or write its external system (a file, a broker); the
    /// message names what and where.
    #[error("connector error: {0}")]
    Connector(String),
    /// The runtime itself failed (for example worker threads could not start).
    #[error("runtime error: {0}")]
    Runtime(String),
    /// Another process of the cluster failed the job; the message is its error.
    #[error("process {process} of the cluster failed: {message}")]
    Remote {
        /// The index of the process where the failure happened.
        process: usize,
        /// The error there.
        message: String,
        /// Whether a restart can get past it.
        recoverable: bool,
    },
}

impl FlinkError {
    /// A user-function error with `message`; return it from a process function to fail the task.
    pub fn user(message: impl Into<String>) -> Self {
        FlinkError::User(message.into())
    }

    /// Whether restarting the job can get past this error. Invalid programs and records that
    /// cannot be deserialized fail the same way on every try, so a job failing with them fails
    /// at once whatever its restart strategy, as Flink does with its non-recoverable errors;
    /// everything else (user errors, panics, connector and runtime failures) may be transient.
    ///
    /// ```
    /// use pyflink_core::FlinkError;
    ///
    /// assert!(FlinkError::user("a flaky lookup").is_recoverable());
    /// assert!(!FlinkError::Deserialization("'x' is not INT".into()).is_recoverable());
    /// assert!(!FlinkError::InvalidProgram("no sinks".into()).is_recoverable());
    /// ```
    pub fn is_recoverable(&self) -> bool {
        match self {
            FlinkError::InvalidProgram(_) | FlinkError::Deserialization(_) => false,
            FlinkError::TaskFailed { recoverable, .. } | FlinkError::Remote { recoverable, .. } => *recoverable,
            _ => true,
        }
    }
}
