//! Choosing and configuring the state backend with Flink's configuration keys.

use std::path::PathBuf;

use crate::StateError;

/// Which backend keeps keyed state (`state.backend.type`).
#[derive(Debug, Clone, Default)]
pub enum StateBackendConfig {
    /// Objects in hash maps on the heap (`hashmap`, the default): fastest, bounded by memory.
    #[default]
    HashMap,
    /// Serialized entries in an embedded RocksDB per operator instance (`rocksdb`): state can
    /// exceed memory, and checkpoints can be incremental.
    RocksDb(RocksDbOptions),
}

/// The RocksDB settings of a job (`state.backend.rocksdb.*`).
#[derive(Clone)]
pub struct RocksDbOptions {
    /// Where instances keep their working files (`state.backend.rocksdb.localdir`, a list
    /// separated by `,` or `;`): each new instance takes the next directory in turn, to spread
    /// them over disks; the system's temporary directory when empty.
    pub local_dirs: Vec<PathBuf>,
    /// The block cache shared by all instances of the job, in bytes
    /// (`state.backend.rocksdb.block.cache-size`, 8 MiB by default).
    pub block_cache_size: usize,
    /// Whether checkpoints upload only the files that changed since the previous one
    /// (`state.backend.incremental`, off by default as in Flink). Off, a checkpoint writes every
    /// entry in the backend-independent format; on, it is RocksDB's own checkpoint, whose SST
    /// files successive checkpoints share. Either kind restores into either backend.
    pub incremental: bool,
    /// The block cache, made by the first database opened with these options.
    #[cfg(feature = "rocksdb")]
    pub(crate) cache: Option<rocksdb::Cache>,
}

impl std::fmt::Debug for RocksDbOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksDbOptions")
            .field("local_dirs", &self.local_dirs)
            .field("block_cache_size", &self.block_cache_size)
            .field("incremental", &self.incremental)
            .finish()
    }
}

impl Default for RocksDbOptions {
    fn default() -> Self {
        RocksDbOptions {
            local_dirs: Vec::new(),
            block_cache_size: 8 << 20,
            incremental: false,
            #[cfg(feature = "rocksdb")]
            cache: None,
        }
    }
}

impl RocksDbOptions {
    /// These options with incremental checkpoints on or off (`state.backend.incremental`).
    ///
    /// ```
    /// use pyflink_state::RocksDbOptions;
    /// assert!(RocksDbOptions::default().with_incremental_checkpoints(true).incremental);
    /// ```
    pub fn with_incremental_checkpoints(mut self, enabled: bool) -> Self {
        self.incremental = enabled;
        self
    }
}

/// The configuration keys this module reads.
pub const STATE_BACKEND_TYPE: &str = "state.backend.type";
/// RocksDB's working directory.
pub const ROCKSDB_LOCAL_DIR: &str = "state.backend.rocksdb.localdir";
/// RocksDB's block cache size.
pub const ROCKSDB_BLOCK_CACHE_SIZE: &str = "state.backend.rocksdb.block.cache-size";
/// Whether RocksDB checkpoints are incremental.
pub const INCREMENTAL_CHECKPOINTS: &str = "state.backend.incremental";

impl StateBackendConfig {
    /// Whether this build has the backend: the heap backend always, RocksDB when the cargo
    /// feature `rocksdb` is on. Jobs check this before they start, so that a missing backend
    /// fails them at once with [`StateError::BackendNotBuilt`] rather than in every restart.
    ///
    /// ```
    /// use pyflink_state::{RocksDbOptions, StateBackendConfig};
    ///
    /// assert!(StateBackendConfig::HashMap.check_available().is_ok());
    /// let rocksdb = StateBackendConfig::RocksDb(RocksDbOptions::default()).check_available();
    /// assert_eq!(rocksdb.is_ok(), cfg!(feature = "rocksdb"));
    /// ```
    pub fn check_available(&self) -> Result<(), StateError> {
        match self {
            StateBackendConfig::HashMap => Ok(()),
            StateBackendConfig::RocksDb(_) if cfg!(feature = "rocksdb") => Ok(()),
            StateBackendConfig::RocksDb(_) => Err(StateError::rocksdb_not_built()),
        }
    }

    /// The backend that the settings `get` returns select, with Flink's keys and defaults.
    ///
    /// ```
    /// use pyflink_state::StateBackendConfig;
    ///
    /// let settings = [
    ///     ("state.backend.type", "rocksdb"),
    ///     ("state.backend.rocksdb.block.cache-size", "64 mb"),
    ///     ("state.backend.rocksdb.localdir", "/disk1/rocks, /disk2/rocks"),
    /// ];
    /// let get = |key: &str| settings.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string());
    /// match StateBackendConfig::from_settings(get).unwrap() {
    ///     StateBackendConfig::RocksDb(options) => {
    ///         assert_eq!(options.block_cache_size, 64 << 20);
    ///         assert_eq!(options.local_dirs.len(), 2);
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// let err = StateBackendConfig::from_settings(|_| Some("leveldb".into())).unwrap_err();
    /// assert!(err.to_string().contains("hashmap"));
    /// ```
    pub fn from_settings(get: impl Fn(&str) -> Option<String>) -> Result<Self, StateError> {
        let kind = get(STATE_BACKEND_TYPE).unwrap_or_else(|| "hashmap".into());
        match kind.trim().to_ascii_lowercase().as_str() {
            // `filesystem` and `jobmanager` are Flink's older names of the heap backend.
            "hashmap" | "filesystem" | "jobmanager" => Ok(StateBackendConfig::HashMap),
            "rocksdb" => {
                let mut options = RocksDbOptions::default();
                if let Some(dirs) = get(ROCKSDB_LOCAL_DIR) {
                    options.local_dirs =
                        dirs.split([',', ';']).map(str::trim).filter(|d| !d.is_empty()).map(PathBuf::from).collect();
                }
                if let Some(size) = get(ROCKSDB_BLOCK_CACHE_SIZE) {
                    options.block_cache_size = parse_memory_size(ROCKSDB_BLOCK_CACHE_SIZE, &size)?;
                }
                if let Some(incremental) = get(INCREMENTAL_CHECKPOINTS) {
                    options.incremental = parse_bool(INCREMENTAL_CHECKPOINTS, &incremental)?;
                }
                Ok(StateBackendConfig::RocksDb(options))
            }
            _ => Err(StateError::InvalidConfig {
                key: STATE_BACKEND_TYPE.into(),
                value: kind,
                expected: "one of 'hashmap' or 'rocksdb'".into(),
            }),
        }
    }
}

/// A boolean setting: `true` or `false`, in any case.
pub fn parse_bool(key: &str, value: &str) -> Result<bool, StateError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(StateError::InvalidConfig { key: key.into(), value: value.into(), expected: "true or false".into() }),
    }
}

/// A memory size in Flink's notation: a number with an optional unit (`b`, `k`/`kb`, `m`/`mb`,
/// `g`/`gb`, `t`/`tb`, also with `ibibytes` spellings), bytes when there is none.
///
/// ```
/// use pyflink_state::config::parse_memory_size;
/// assert_eq!(parse_memory_size("k", "512").unwrap(), 512);
/// assert_eq!(parse_memory_size("k", "8 MiB").unwrap(), 8 << 20);
/// assert_eq!(parse_memory_size("k", "1g").unwrap(), 1 << 30);
/// assert!(parse_memory_size("k", "lots").is_err());
/// ```
pub fn parse_memory_size(key: &str, value: &str) -> Result<usize, StateError> {
    let invalid = || StateError::InvalidConfig {
        key: key.into(),
        value: value.into(),
        expected: "a size such as '64mb', '1 gb' or '1048576' (bytes)".into(),
    };
    let text = value.trim().to_ascii_lowercase();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: usize = digits.parse().map_err(|_| invalid())?;
    let shift = match unit.trim() {
        "" | "b" | "bytes" => 0,
        "k" | "kb" | "kib" | "kibibytes" => 10,
        "m" | "mb" | "mib" | "mebibytes" => 20,
        "g" | "gb" | "gib" | "gibibytes" => 30,
        "t" | "tb" | "tib" | "tebibytes" => 40,
        _ => return Err(invalid()),
    };
    number.checked_mul(1usize << shift).ok_or_else(invalid)
}
