//! The RocksDB store of keyed state: one database per operator instance, one column family per
//! state, keys laid out as `key group (2 bytes, big-endian) | key | namespace` so that the
//! entries of one key group are contiguous and a snapshot or a rescale reads them by prefix.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rocksdb::checkpoint::Checkpoint;
use rocksdb::{BlockBasedOptions, Cache, ColumnFamily, FlushOptions, Options, WriteOptions, DB};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codec;
use crate::native::{new_database_id, NativeFiles};
use crate::{RocksDbOptions, StateError};

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
    settings: RocksDbOptions,
    path: PathBuf,
    /// The operator instance the database belongs to.
    name: String,
    /// Names the database's files in incremental checkpoints.
    id: String,
    /// Writes skip the write-ahead log: checkpoints, not the log, make state durable.
    write: WriteOptions,
    /// Native checkpoints taken so far, to name their directories.
    checkpoints: std::cell::Cell<u64>,
    /// The column families other than `default`.
    columns: RefCell<Vec<String>>,
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
        Self::open(&Self::fresh_path(&options, instance), options, instance)
    }

    /// Opens the database of a native checkpoint: its files are placed into a fresh directory.
    pub(crate) fn restore(files: &NativeFiles, options: RocksDbOptions, instance: &str) -> Result<Self, StateError> {
        let path = Self::fresh_path(&options, instance);
        std::fs::create_dir_all(&path).map_err(|e| StateError::io(&path, e))?;
        let placed = files.place_into(&path);
        if let Err(error) = placed {
            let _ = std::fs::remove_dir_all(&path);
            return Err(error);
        }
        Self::open(&path, options, instance)
    }

    fn fresh_path(options: &RocksDbOptions, instance: &str) -> PathBuf {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let unique = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let base = match options.local_dirs.len() {
            0 => std::env::temp_dir(),
            n => options.local_dirs[(unique % n as u64) as usize].clone(),
        };
        let mut safe: String = instance.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        // Operator names can be long (a join's condition): file names cannot (255 bytes). The
        // counter keeps paths unique; the name's start and end keep them readable.
        const KEPT: usize = 96;
        if safe.len() > KEPT {
            safe = format!("{}__{}", &safe[..KEPT - 24], &safe[safe.len() - 22..]);
        }
        base.join(format!("pyflink-rocksdb-{}-{unique}-{safe}", std::process::id()))
    }

    /// Opens (creating if needed) the database at `path`.
    fn open(path: &Path, mut settings: RocksDbOptions, name: &str) -> Result<Self, StateError> {
        std::fs::create_dir_all(path).map_err(|e| StateError::io(path, e))?;
        let directory = RemoveOnDrop(path.to_path_buf());
        let options = settings.db_options();
        let families = DB::list_cf(&options, path).unwrap_or_default();
        let db = DB::open_cf(&options, path, &families).map_err(|e| StateError::rocks(path, e))?;
        let columns = families.into_iter().filter(|name| name != rocksdb::DEFAULT_COLUMN_FAMILY_NAME).collect();
        let mut write = WriteOptions::default();
        write.disable_wal(true);
        Ok(RocksInstance {
            db: RefCell::new(db),
            options,
            settings,
            path: path.to_path_buf(),
            name: name.to_string(),
            id: new_database_id(),
            write,
            checkpoints: std::cell::Cell::new(0),
            columns: RefCell::new(columns),
            _directory: directory,
        })
    }

    /// The database's directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The options the database was opened with.
    pub(crate) fn settings(&self) -> &RocksDbOptions {
        &self.settings
    }

    /// The operator instance the database belongs to.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The name of the database's files in incremental checkpoints.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// The column families other than RocksDB's `default`: one per state.
    pub(crate) fn columns(&self) -> Vec<String> {
        self.columns.borrow().clone()
    }

    /// Creates the column family `name` unless it exists.
    pub(crate) fn ensure_column(&self, name: &str) -> Result<(), StateError> {
        let mut db = self.db.borrow_mut();
        if db.cf_handle(name).is_none() {
            db.create_cf(name, &self.options).map_err(|e| StateError::rocks(&self.path, e))?;
            self.columns.borrow_mut().push(name.to_string());
        }
        Ok(())
    }

    fn with_column<R>(&self, name: &str, f: impl FnOnce(&DB, &ColumnFamily) -> R) -> R {
        let db = self.db.borrow();
        let column = db.cf_handle(name).expect("states create their column family when they register");
        f(&db, column)
    }

    /// RocksDB's own checkpoint of the database, in a directory beside it: the memtables are
    /// flushed (writes skip the log, so only SST files hold them), then the SST files are
    /// hard-linked and the manifest copied.
    pub(crate) fn native_checkpoint(&self) -> Result<NativeFiles, StateError> {
        let db = self.db.borrow();
        let columns = self.columns();
        let handles: Vec<&ColumnFamily> = columns.iter().filter_map(|name| db.cf_handle(name)).collect();
        let mut flush = FlushOptions::default();
        flush.set_wait(true);
        db.flush_cfs_opt(&handles, &flush).map_err(|e| StateError::rocks(&self.path, e))?;
        let number = self.checkpoints.get() + 1;
        self.checkpoints.set(number);
        let dir = PathBuf::from(format!("{}-chk-{number}", self.path.display()));
        let _ = std::fs::remove_dir_all(&dir);
        let checkpoint = Checkpoint::new(&*db).map_err(|e| StateError::rocks(&self.path, e))?;
        checkpoint.create_checkpoint(&dir).map_err(|e| StateError::rocks(&dir, e))?;
        NativeFiles::local(dir)
    }

    /// Calls `f` with every encoded (key, value) of `group` in the column family `column`, in
    /// key order; a column family that does not exist has no entries.
    pub(crate) fn scan_group(
        &self,
        column: &str,
        group: usize,
        mut f: impl FnMut(&[u8], &[u8]) -> Result<(), StateError>,
    ) -> Result<(), StateError> {
        let prefix = group_prefix(group);
        let db = self.db.borrow();
        let Some(column) = db.cf_handle(column) else { return Ok(()) };
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
        iter.status().map_err(|e| StateError::rocks(&self.path, e))
    }
}

/// A database as a checkpoint barrier left it: RocksDB's own checkpoint of it (a flush and hard
/// links, on the task thread), opened and read when the snapshot completes, off the task thread,
/// while the task goes on writing the live database.
pub(crate) struct FrozenDatabase {
    files: NativeFiles,
    settings: RocksDbOptions,
    opened: Option<RocksInstance>,
}

/// A frozen database, shared by the deferred sections of its states.
pub(crate) type SharedFrozenDatabase = Arc<Mutex<FrozenDatabase>>;

impl FrozenDatabase {
    /// Freezes `instance` as it is now.
    pub(crate) fn freeze(instance: &RocksInstance) -> Result<SharedFrozenDatabase, StateError> {
        let files = instance.native_checkpoint()?;
        Ok(Arc::new(Mutex::new(FrozenDatabase { files, settings: instance.settings().clone(), opened: None })))
    }

    /// Calls `f` with every encoded (key, value) of `group` in the column family `column` of the
    /// frozen database, which is opened on the first call.
    pub(crate) fn scan_group(
        &mut self,
        column: &str,
        group: usize,
        f: impl FnMut(&[u8], &[u8]) -> Result<(), StateError>,
    ) -> Result<(), StateError> {
        let opened = match &mut self.opened {
            Some(opened) => opened,
            None => self.opened.insert(RocksInstance::restore(&self.files, self.settings.clone(), "snapshot")?),
        };
        opened.scan_group(column, group, f)
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

    /// The column family of the state.
    pub(crate) fn column(&self) -> &str {
        &self.column
    }
}
