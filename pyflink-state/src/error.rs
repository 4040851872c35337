//! Errors raised by state access and state configuration.

/// An error from the state layer, with a message that says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The same state name was registered twice with different value types.
    #[error(
        "state '{name}' is already registered with value type {existing}, not {requested}; use a different state name"
    )]
    TypeMismatch {
        /// The state name of the descriptor.
        name: String,
        /// The value type it was first registered with.
        existing: &'static str,
        /// The value type of the new request.
        requested: &'static str,
    },
    /// Keyed state was read or written outside of a keyed context.
    #[error("keyed state '{name}' was accessed without a current key; keyed state is only available on a KeyedStream")]
    NoCurrentKey {
        /// The state name.
        name: String,
    },
    /// A state handle was used in another operator than the one that created it.
    #[error("state '{name}' belongs to another operator; get state handles in this function's open()")]
    ForeignState {
        /// The state name.
        name: String,
    },
    /// A max parallelism outside Flink's bounds.
    #[error("max parallelism must be between 1 and {max}, got {got}")]
    InvalidMaxParallelism {
        /// The value given.
        got: usize,
        /// The upper bound (32768, as in Flink).
        max: usize,
    },
}
