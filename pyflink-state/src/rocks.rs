//! The RocksDB store of keyed state: one database per operator instance, one column family per
//! state, keys laid out as `key group (2 bytes, big-endian) | key | namespace` so that the
//! entries of one key group are contiguous and a snapshot or a rescale reads them by prefix.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use rocksdb::{BlockBasedOptions, Cache, ColumnFamily, Options, WriteOptions, DB};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codec;
use crate::StateError;

/// The RocksDB settings of a job (`state.backend.rocksdb.*`).
#[derive(Clone)]
pub struct RocksDbOptions {
    /// Where instances keep their working files (`state.backend.rocksdb.localdir`); a temporary
    /// directory when unset.
    pub local_dir: Option<PathBuf>,
    /// The block cache shared by all instances of the job, in bytes
    /// (`state.backend.rocksdb.block.cache-size`, 8 MiB by default).
    pub block_cache_size: usize,
    /// Whether checkpoints should upload only the files that changed since the previous one
    /// (`state.backend.incremental`). Not honoured yet: RocksDB checkpoints are full snapshots
    /// in the backend-independent format.
    pub incremental: bool,
    cache: Option<Cache>,
}

impl std::fmt::Debug for RocksDbOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksDbOptions")
            .field("local_dir", &self.local_dir)
            .field("block_cache_size", &self.block_cache_size)
            .field("incremental", &self.incremental)
            .finish()
    }
}

impl Default for RocksDbOptions {
    fn default() -> Self {
        RocksDbOptions { local_dir: None, block_cache_size: 8 << 20, incremental: false, cache: None }
    }
}

impl RocksDbOptions {
    /// The block cache shared by every database opened with these options.
    fn cache(&mut self) -> Cache {
        self.cache.get_or_insert_with(|| Cache::new_lru_cache(self.block_cache_size)).clone()
    }

    /// Options for a new database and its column families.
    pub(crate) fn db_options(&mut self) -> Options {
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&self.cache());
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_block_based_table_factory(&table);
        options
    }
}

/// One RocksDB database, owned by one operator instance on one thread. Its working directory
/// is removed when it is dropped: checkpoints, not the working files, are what survives.
pub(crate) struct RocksInstance {
    db: RefCell<DB>,
    options: Options,
    path: PathBuf,
    /// Writes skip the write-ahead log: checkpoints, not the log, make state durable.
    write: WriteOptions,
    /// Declared after `db`, so the directory goes after the database is closed.
    _directory: RemoveOnDrop,
}

/// Removes a directory tree when dropped.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl RocksInstance {
    /// Opens a new database in a fresh directory under the configured local directory (or the
    /// system's temporary directory), named after `instance`.
    pub(crate) fn create(options: RocksDbOptions, instance: &str) -> Result<Self, StateError> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let base = options.local_dir.clone().unwrap_or_else(std::env::temp_dir);
        let unique = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let safe: String = instance.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        let path = base.join(format!("pyflink-rocksdb-{}-{unique}-{safe}", std::process::id()));
        Self::open(&path, options)
    }

    /// Opens (creating if needed) the database at `path`.
    pub(crate) fn open(path: &Path, mut options: RocksDbOptions) -> Result<Self, StateError> {
        std::fs::create_dir_all(path).map_err(|e| StateError::io(path, e))?;
        let db_options = options.db_options();
        let families = DB::list_cf(&db_options, path).unwrap_or_default();
        let db = DB::open_cf(&db_options, path, families).map_err(|e| StateError::rocks(path, e))?;
        let mut write = WriteOptions::default();
        write.disable_wal(true);
        Ok(RocksInstance {
            db: RefCell::new(db),
            options: db_options,
            path: path.to_path_buf(),
            write,
            _directory: RemoveOnDrop(path.to_path_buf()),
        })
    }

    /// The database's directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the column family `name` unless it exists.
    pub(crate) fn ensure_column(&self, name: &str) -> Result<(), StateError> {
        let mut db = self.db.borrow_mut();
        if db.cf_handle(name).is_none() {
            db.create_cf(name, &self.options).map_err(|e| StateError::rocks(&self.path, e))?;
        }
        Ok(())
    }

    fn with_column<R>(&self, name: &str, f: impl FnOnce(&DB, &ColumnFamily) -> R) -> R {
        let db = self.db.borrow();
        let column = db.cf_handle(name).expect("states create their column family when they register");
        f(&db, column)
    }
}

/// The cells of one state in a column family of a [`RocksInstance`].
pub(crate) struct RocksCells {
    instance: std::rc::Rc<RocksInstance>,
    column: String,
    /// The encoded key of the last access, reused so that an access does not allocate.
    key: RefCell<Vec<u8>>,
    value: RefCell<Vec<u8>>,
}

/// The bytes that start every key of `group`.
#[inline]
pub(crate) fn group_prefix(group: usize) -> [u8; 2] {
    (group as u16).to_be_bytes()
}

impl RocksCells {
    pub(crate) fn new(instance: std::rc::Rc<RocksInstance>, column: &str) -> Result<Self, StateError> {
        instance.ensure_column(column)?;
        Ok(RocksCells {
            instance,
            column: column.to_string(),
            key: RefCell::new(Vec::with_capacity(64)),
            value: RefCell::new(Vec::with_capacity(256)),
        })
    }

    fn encode_key<K: Serialize>(&self, group: usize, key: &K) -> Result<std::cell::RefMut<'_, Vec<u8>>, StateError> {
        let mut buffer = self.key.borrow_mut();
        buffer.clear();
        buffer.extend_from_slice(&group_prefix(group));
        codec::encode_into(&mut buffer, key)?;
        Ok(buffer)
    }

    fn error(&self, e: rocksdb::Error) -> StateError {
        StateError::rocks(self.instance.path(), e)
    }

    /// The cell of `key` in `group`, decoded.
    pub(crate) fn get<K: Serialize, S: DeserializeOwned>(
        &self,
        group: usize,
        key: &K,
    ) -> Result<Option<S>, StateError> {
        let encoded = self.encode_key(group, key)?;
        self.instance.with_column(&self.column, |db, column| {
            match db.get_pinned_cf(column, &encoded[..]).map_err(|e| self.error(e))? {
                Some(bytes) => Ok(Some(codec::decode(&bytes, &self.column)?)),
                None => Ok(None),
            }
        })
    }

    /// Writes the cell of `key` in `group`, or deletes it when `cell` is `None`.
    pub(crate) fn put<K: Serialize, S: Serialize>(
        &self,
        group: usize,
        key: &K,
        cell: Option<&S>,
    ) -> Result<(), StateError> {
        let encoded = self.encode_key(group, key)?;
        let write = &self.instance.write;
        self.instance.with_column(&self.column, |db, column| match cell {
            Some(cell) => {
                let mut value = self.value.borrow_mut();
                value.clear();
                codec::encode_into(&mut value, cell)?;
                db.put_cf_opt(column, &encoded[..], &value[..], write).map_err(|e| self.error(e))
            }
            None => db.delete_cf_opt(column, &encoded[..], write).map_err(|e| self.error(e)),
        })
    }

    /// Writes an encoded entry as restored from a snapshot.
    pub(crate) fn put_raw(&self, group: usize, key: &[u8], value: &[u8]) -> Result<(), StateError> {
        let mut encoded = self.key.borrow_mut();
        encoded.clear();
        encoded.extend_from_slice(&group_prefix(group));
        encoded.extend_from_slice(key);
        self.instance.with_column(&self.column, |db, column| {
            db.put_cf_opt(column, &encoded[..], value, &self.instance.write).map_err(|e| self.error(e))
        })
    }

    /// Calls `f` with every encoded (key, value) of `group`, in key order.
    pub(crate) fn scan_group(
        &self,
        group: usize,
        mut f: impl FnMut(&[u8], &[u8]) -> Result<(), StateError>,
    ) -> Result<(), StateError> {
        let prefix = group_prefix(group);
        self.instance.with_column(&self.column, |db, column| {
            let mut iter = db.raw_iterator_cf(column);
            iter.seek(prefix);
            while iter.valid() {
                let (Some(key), Some(value)) = (iter.key(), iter.value()) else { break };
                if !key.starts_with(&prefix) {
                    break;
                }
                f(&key[2..], value)?;
                iter.next();
            }
            iter.status().map_err(|e| self.error(e))
        })
    }
}
