//! The storage of one keyed state: a cell per (key, namespace), on the heap or in RocksDB, reached
//! through the current key of the backend. State handles (`ValueState`, `ListState`, …) give
//! the cells their meaning; this module only reads, writes, sweeps and snapshots them.

use std::cell::{Cell, RefCell};
use std::hash::Hash;
use std::rc::Rc;
#[cfg(feature = "rocksdb")]
use std::sync::{Arc, PoisonError};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::backend::CurrentKey;
use crate::codec;
#[cfg(feature = "rocksdb")]
use crate::rocks::RocksCells;
#[cfg(feature = "rocksdb")]
pub(crate) use crate::rocks::SharedFrozenDatabase;
use crate::snapshot::{GroupEntries, StateKind};
use crate::ttl::{Expiring, Ttl};
use crate::{DeferredKeyedSnapshot, KeyGroupRange, KeyedTable, StateError, StateSection, StateTtlConfig};

/// Without RocksDB there is no database to freeze: state snapshots are always given `None`.
#[cfg(not(feature = "rocksdb"))]
pub(crate) type SharedFrozenDatabase = std::convert::Infallible;

/// The cells of one state for the current key, as state handles use them. Object-safe, so that
/// a handle need not know the key type.
pub(crate) trait CellAccess<S> {
    /// The state's time-to-live, if it has one.
    fn ttl(&self) -> Option<&Ttl>;

    /// Calls `f` with the current key's cell.
    fn read(&self, f: &mut dyn FnMut(Option<&S>)) -> Result<(), StateError>;

    /// Calls `f` with the current key's cell to change it; a cell left `None` is removed.
    fn modify(&self, f: &mut dyn FnMut(&mut Option<S>)) -> Result<(), StateError>;
}

/// What checkpoints need of every state, whatever its cell type.
pub(crate) trait StateSnapshotter {
    /// The state's name (incremental snapshots list the states in RocksDB's files).
    #[cfg(feature = "rocksdb")]
    fn name(&self) -> &str;

    /// The state's kind, recorded in incremental snapshots.
    #[cfg(feature = "rocksdb")]
    fn kind(&self) -> StateKind;

    /// Adds the state's section to `snapshot`, leaving out expired entries when TTL says so.
    /// Heap cells add a frozen clone of their table, RocksDB cells their column of `database`
    /// (the backend's database, frozen at the barrier); either is read and encoded when the
    /// snapshot completes, off the task thread.
    fn snapshot_into(
        &self,
        snapshot: &mut DeferredKeyedSnapshot,
        database: Option<&SharedFrozenDatabase>,
    ) -> Result<(), StateError>;

    /// Inserts one encoded entry of a snapshot.
    fn restore_entry(&self, group: usize, key: &[u8], value: &[u8]) -> Result<(), StateError>;
}

/// Where the cells live.
enum Store<K, S> {
    /// Decoded values, by key group (cells are `None` only transiently).
    Heap(RefCell<KeyedTable<K, Option<S>>>),
    /// Encoded values in a column family.
    #[cfg(feature = "rocksdb")]
    RocksDb(RocksCells),
}

/// The cells of one state: `S` per key of type `K` (which includes the namespace, if any).
pub(crate) struct KeyedCells<K, S> {
    name: String,
    kind: StateKind,
    key: Rc<CurrentKey<K>>,
    ttl: Option<Ttl>,
    store: Store<K, S>,
    range: KeyGroupRange,
    /// The incremental TTL sweep of the heap store: the group it is at and the entries it may
    /// check before it sweeps that group.
    sweep: Cell<(usize, usize)>,
}

impl<K, S> KeyedCells<K, S>
where
    K: Hash + Eq + Clone + Serialize + DeserializeOwned + 'static,
    S: Expiring + Clone + Serialize + DeserializeOwned + 'static,
{
    /// Cells on the heap.
    pub(crate) fn heap(
        name: &str,
        kind: StateKind,
        key: Rc<CurrentKey<K>>,
        range: KeyGroupRange,
        ttl: Option<Ttl>,
    ) -> Self {
        let store = Store::Heap(RefCell::new(KeyedTable::new(range)));
        KeyedCells { name: name.to_string(), kind, key, ttl, store, range, sweep: Cell::new((range.start, 0)) }
    }

    /// Cells in RocksDB.
    #[cfg(feature = "rocksdb")]
    pub(crate) fn rocks(
        name: &str,
        kind: StateKind,
        key: Rc<CurrentKey<K>>,
        range: KeyGroupRange,
        ttl: Option<Ttl>,
        cells: RocksCells,
    ) -> Self {
        let store = Store::RocksDb(cells);
        KeyedCells { name: name.to_string(), kind, key, ttl, store, range, sweep: Cell::new((range.start, 0)) }
    }

    fn no_key(&self) -> StateError {
        StateError::NoCurrentKey { name: self.name.clone() }
    }

    /// Advances the incremental TTL sweep of the heap store by its configured step.
    fn sweep_step(&self, table: &mut KeyedTable<K, Option<S>>) {
        let Some(ttl) = &self.ttl else { return };
        let step = ttl.config.incremental_cleanup_size();
        if step == 0 {
            return;
        }
        // Sweeping whole groups while the budget covers them costs, amortised, `step` entries per
        // access, without keeping an iterator into a table that the access may have changed.
        let (mut group, mut budget) = self.sweep.get();
        budget += step;
        let now = ttl.now();
        for _ in 0..self.range.len() {
            let len = table.group_len(group);
            if budget < len {
                break;
            }
            table.retain_in_group(group, |_, cell| cell.as_mut().is_some_and(|c| !c.purge_expired(&ttl.config, now)));
            budget -= len;
            group = if group >= self.range.end { self.range.start } else { group + 1 };
        }
        // An unspent budget does not pile up beyond one group's worth.
        self.sweep.set((group, budget.min(step.max(table.group_len(group)))));
    }
}

impl<K, S> CellAccess<S> for KeyedCells<K, S>
where
    K: Hash + Eq + Clone + Serialize + DeserializeOwned + 'static,
    S: Expiring + Clone + Serialize + DeserializeOwned + 'static,
{
    fn ttl(&self) -> Option<&Ttl> {
        self.ttl.as_ref()
    }

    #[inline]
    fn read(&self, f: &mut dyn FnMut(Option<&S>)) -> Result<(), StateError> {
        let current = self.key.get();
        let (at, key) = current.as_ref().ok_or_else(|| self.no_key())?;
        match &self.store {
            Store::Heap(table) => {
                f(table.borrow().get(*at, key).and_then(Option::as_ref));
                Ok(())
            }
            #[cfg(feature = "rocksdb")]
            Store::RocksDb(cells) => {
                let cell: Option<S> = cells.get(at.group, key)?;
                f(cell.as_ref());
                Ok(())
            }
        }
    }

    #[inline]
    fn modify(&self, f: &mut dyn FnMut(&mut Option<S>)) -> Result<(), StateError> {
        let current = self.key.get();
        let (at, key) = current.as_ref().ok_or_else(|| self.no_key())?;
        match &self.store {
            Store::Heap(table) => {
                let mut table = table.borrow_mut();
                let cell = table.get_or_insert_cloned(*at, key, || None);
                f(cell);
                if cell.is_none() {
                    table.remove(*at, key);
                }
                self.sweep_step(&mut table);
                Ok(())
            }
            #[cfg(feature = "rocksdb")]
            Store::RocksDb(cells) => {
                let mut cell: Option<S> = cells.get(at.group, key)?;
                f(&mut cell);
                cells.put(at.group, key, cell.as_ref())
            }
        }
    }
}

impl<K, S> StateSnapshotter for KeyedCells<K, S>
where
    K: Hash + Eq + Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    S: Expiring + Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    #[cfg(feature = "rocksdb")]
    fn name(&self) -> &str {
        &self.name
    }

    #[cfg(feature = "rocksdb")]
    fn kind(&self) -> StateKind {
        self.kind
    }

    #[cfg_attr(not(feature = "rocksdb"), allow(unused_variables))]
    fn snapshot_into(
        &self,
        snapshot: &mut DeferredKeyedSnapshot,
        database: Option<&SharedFrozenDatabase>,
    ) -> Result<(), StateError> {
        let purge =
            self.ttl.as_ref().filter(|t| t.config.cleanup_in_full_snapshot()).map(|t| (t.config.clone(), t.now()));
        let (name, kind) = (self.name.clone(), self.kind);
        match &self.store {
            Store::Heap(table) => {
                let frozen = table.borrow().clone();
                snapshot.push_deferred(move || {
                    StateSection::from_groups(&name, kind, frozen.range(), |group, out| {
                        write_heap_group(&frozen, group, purge.as_ref(), out)
                    })
                });
            }
            #[cfg(feature = "rocksdb")]
            Store::RocksDb(cells) => {
                let database = Arc::clone(database.expect("a RocksDB backend freezes its database to snapshot it"));
                let (column, range) = (cells.column().to_string(), self.range);
                snapshot.push_deferred(move || {
                    let mut database = database.lock().unwrap_or_else(PoisonError::into_inner);
                    StateSection::from_groups(&name, kind, range, |group, out| {
                        database.scan_group(&column, group, |key, value| match &purge {
                            Some((config, now)) => {
                                let mut cell: S = codec::decode(value, &name)?;
                                if !cell.purge_expired(config, *now) {
                                    out.push_raw(key, &codec::encode(&cell)?);
                                }
                                Ok(())
                            }
                            None => {
                                out.push_raw(key, value);
                                Ok(())
                            }
                        })
                    })
                });
            }
        }
        Ok(())
    }

    fn restore_entry(&self, group: usize, key: &[u8], value: &[u8]) -> Result<(), StateError> {
        match &self.store {
            Store::Heap(table) => {
                let decoded_key: K = codec::decode(key, &self.name)?;
                let cell: S = codec::decode(value, &self.name)?;
                let at = crate::key_group::KeyHash { hash: crate::key_group::stable_hash(&decoded_key), group };
                table.borrow_mut().insert(at, decoded_key, Some(cell));
                Ok(())
            }
            #[cfg(feature = "rocksdb")]
            Store::RocksDb(cells) => {
                // Decoding validates the bytes before they reach the database.
                codec::decode::<S>(value, &self.name)?;
                cells.put_raw(group, key, value)
            }
        }
    }
}

/// Appends the entries of `group` of a frozen heap table to `out`, leaving out the expired ones
/// when `purge` gives the TTL and the time of the snapshot.
fn write_heap_group<K: Hash + Eq + Clone + Serialize, S: Expiring + Clone + Serialize>(
    table: &KeyedTable<K, Option<S>>,
    group: usize,
    purge: Option<&(StateTtlConfig, i64)>,
    out: &mut GroupEntries,
) -> Result<(), StateError> {
    for (key, cell) in table.iter_group(group) {
        let Some(cell) = cell else { continue };
        match purge {
            Some((config, now)) => {
                let mut kept = cell.clone();
                if !kept.purge_expired(config, *now) {
                    out.push(key, &kept)?;
                }
            }
            None => out.push(key, cell)?,
        }
    }
    Ok(())
}
