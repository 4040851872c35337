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
    /// A state was registered with another kind than the restored state of that name.
    #[error("state '{name}' was restored as {restored} state but is requested as {requested} state; use the same kind or a new state name")]
    KindMismatch {
        /// The state name.
        name: String,
        /// The kind in the snapshot.
        restored: String,
        /// The kind requested now.
        requested: String,
    },
    /// Broadcast state was asked for under a name its broadcast stream did not declare.
    #[error("broadcast state '{name}' does not exist; check the name, or pass its descriptor to broadcast_with()")]
    UndeclaredBroadcastState {
        /// The state name asked for.
        name: String,
    },
    /// A value or key could not be encoded.
    #[error("cannot serialize state: {cause}")]
    Serialization {
        /// What the encoder reported.
        cause: String,
    },
    /// Stored or snapshot bytes could not be decoded.
    #[error("corrupt {what}: {cause}")]
    Corrupt {
        /// What was being decoded.
        what: String,
        /// What the decoder reported.
        cause: String,
    },
    /// A checkpoint was written by a build whose checkpoint format or key encoding differs from
    /// this build's; restoring it would look for its state in the wrong places.
    #[error("{what} cannot be restored by this build: {cause}")]
    IncompatibleCheckpoint {
        /// The checkpoint or file.
        what: String,
        /// Which version it has and which this build reads.
        cause: String,
    },
    /// A file operation failed.
    #[error("{path}: {cause}")]
    Io {
        /// The file or directory.
        path: String,
        /// The operating system's message.
        cause: String,
    },
    /// RocksDB reported an error.
    #[error("RocksDB at {path}: {cause}")]
    RocksDb {
        /// The database directory.
        path: String,
        /// RocksDB's message.
        cause: String,
    },
    /// The configured state backend was left out of this build.
    #[error(
        "the state backend '{backend}' is not in this build: enable the cargo feature '{feature}' of pyflink-core \
         (or pyflink-connectors, pyflink-state), e.g. `cargo add pyflink-core --features {feature}`, \
         or use the 'hashmap' backend"
    )]
    BackendNotBuilt {
        /// The backend's name in `state.backend.type`.
        backend: &'static str,
        /// The cargo feature that builds it.
        feature: &'static str,
    },
    /// A setting has a value that is not allowed.
    #[error("invalid value '{value}' for '{key}': {expected}")]
    InvalidConfig {
        /// The configuration key.
        key: String,
        /// The value given.
        value: String,
        /// What is allowed.
        expected: String,
    },
}

impl StateError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl AsRef<std::path::Path>, error: std::io::Error) -> Self {
        StateError::Io { path: path.as_ref().display().to_string(), cause: error.to_string() }
    }

    /// The RocksDB backend was asked for in a build without the cargo feature `rocksdb`.
    pub(crate) fn rocksdb_not_built() -> Self {
        StateError::BackendNotBuilt { backend: "rocksdb", feature: "rocksdb" }
    }

    /// A RocksDB error of the database at `path`.
    #[cfg(feature = "rocksdb")]
    pub(crate) fn rocks(path: impl AsRef<std::path::Path>, error: rocksdb::Error) -> Self {
        StateError::RocksDb { path: path.as_ref().display().to_string(), cause: error.into_string() }
    }
}
