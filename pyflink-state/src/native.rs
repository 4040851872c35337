//! Incremental checkpoints of the RocksDB backend (`state.backend.incremental: true`).
//!
//! The snapshot of a database is RocksDB's own checkpoint of it: hard links to its immutable
//! SST files plus the small files that describe them (`MANIFEST-*`, `CURRENT`, `OPTIONS-*`).
//! Taking it costs a flush of the memtables and a few links, so the task goes on processing at
//! once; the checkpoint storage then copies only the SST files it does not hold yet into the
//! job's `shared/` directory, where successive checkpoints share them.
//!
//! A keyed snapshot carries such a database as a [`NativeStatePart`]: which key groups and states
//! it holds, and where its files are (a local directory right after the snapshot, the checkpoint
//! storage after a restore). A restore into the same key groups opens those files as its own
//! database; any other restore (another parallelism, or the heap backend) reads the key groups
//! it owns out of them.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::snapshot::StateKind;
use crate::{KeyGroupRange, StateError};

/// The files of one RocksDB checkpoint: each file's name in the database directory and where
/// it is now. A local checkpoint directory is removed when the last reference goes.
#[derive(Debug)]
pub struct NativeFiles {
    files: Vec<(String, PathBuf)>,
    owned_dir: Option<PathBuf>,
}

impl NativeFiles {
    /// The files of a checkpoint kept elsewhere (in checkpoint storage, after a restore).
    pub fn at(files: Vec<(String, PathBuf)>) -> Self {
        NativeFiles { files, owned_dir: None }
    }

    /// Every file of the local checkpoint directory `dir`, which is removed with this value.
    #[cfg(feature = "rocksdb")]
    pub(crate) fn local(dir: PathBuf) -> Result<Self, StateError> {
        // Owned from the start, so that an error below still removes the directory.
        let mut owned = NativeFiles { files: Vec::new(), owned_dir: Some(dir.clone()) };
        for entry in std::fs::read_dir(&dir).map_err(|e| StateError::io(&dir, e))? {
            let entry = entry.map_err(|e| StateError::io(&dir, e))?;
            if let Some(name) = entry.file_name().to_str() {
                owned.files.push((name.to_string(), entry.path()));
            }
        }
        owned.files.sort();
        Ok(owned)
    }

    /// The files, by name.
    pub fn files(&self) -> &[(String, PathBuf)] {
        &self.files
    }

    /// Places every file into `dir` (which must exist) as `name`: SST files, which RocksDB never
    /// changes, are hard-linked where the file system allows it; the others are copied, since
    /// RocksDB appends to its manifest.
    #[cfg(feature = "rocksdb")]
    pub(crate) fn place_into(&self, dir: &std::path::Path) -> Result<(), StateError> {
        for (name, from) in &self.files {
            let to = dir.join(name);
            let linked = is_immutable(name) && std::fs::hard_link(from, &to).is_ok();
            if !linked {
                std::fs::copy(from, &to).map_err(|e| StateError::io(from, e))?;
            }
        }
        Ok(())
    }
}

impl Drop for NativeFiles {
    fn drop(&mut self) {
        if let Some(dir) = &self.owned_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Whether a file of a RocksDB checkpoint never changes once written, so that checkpoints can
/// share it: SST files, and blob files.
pub fn is_immutable(name: &str) -> bool {
    name.ends_with(".sst") || name.ends_with(".blob")
}

/// One RocksDB database of an operator instance, as a keyed snapshot records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NativeStatePart {
    /// Identifies the database across checkpoints: its files are named `rocksdb-<id>/<file>`
    /// in the checkpoint, and its SST files `shared/<id>-<file>`.
    pub id: String,
    /// Put before the part's state names when the snapshot combines several backends (as a
    /// window operator does), as it is before the names of their sections.
    pub prefix: String,
    /// The key groups the database holds.
    pub range: KeyGroupRange,
    /// The states in the database (one column family each) and their kinds.
    pub states: Vec<(String, StateKind)>,
    /// Where the files are, once attached; not part of the encoded snapshot.
    #[serde(skip)]
    files: Option<Arc<NativeFiles>>,
}

impl PartialEq for NativeStatePart {
    fn eq(&self, other: &Self) -> bool {
        (&self.id, &self.prefix, self.range, &self.states) == (&other.id, &other.prefix, other.range, &other.states)
    }
}

impl Eq for NativeStatePart {}

impl NativeStatePart {
    /// A part of the database `id` whose files are `files`.
    #[cfg(feature = "rocksdb")]
    pub(crate) fn new(id: String, range: KeyGroupRange, states: Vec<(String, StateKind)>, files: NativeFiles) -> Self {
        NativeStatePart { id, prefix: String::new(), range, states, files: Some(Arc::new(files)) }
    }

    /// What the names of this part's files in a checkpoint start with.
    pub fn file_name_prefix(&self) -> String {
        format!("rocksdb-{}/", self.id)
    }

    /// The part's files, if attached.
    pub fn files(&self) -> Option<&Arc<NativeFiles>> {
        self.files.as_ref()
    }

    /// Attaches the files found for this part (after decoding it from a checkpoint).
    pub fn attach_files(&mut self, files: Arc<NativeFiles>) {
        self.files = Some(files);
    }

    /// The attached files, or the error that says they are missing.
    pub(crate) fn require_files(&self) -> Result<&NativeFiles, StateError> {
        self.files.as_deref().ok_or_else(|| StateError::Corrupt {
            what: format!("RocksDB state '{}'", self.id),
            cause: "the checkpoint lists no files for it".into(),
        })
    }

    /// Checks what a decoded part says before anything uses it.
    pub(crate) fn validate(&self, max_parallelism: u32) -> Result<(), StateError> {
        let corrupt = |cause: &str| StateError::Corrupt { what: "state snapshot".into(), cause: cause.into() };
        if self.id.is_empty() || !self.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(corrupt("a RocksDB part id that is not a plain name"));
        }
        if self.range.start > self.range.end || self.range.end >= max_parallelism as usize {
            return Err(corrupt("a RocksDB part's key groups beyond the max parallelism"));
        }
        Ok(())
    }
}

/// A name for a new database that no other database of any run writes to the same checkpoint
/// directory: the process, the time and a counter.
#[cfg(feature = "rocksdb")]
pub(crate) fn new_database_id() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let counter = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{:x}-{:x}-{counter:x}", std::process::id(), nanos as u64)
}
