//! The keyed state backend of one operator instance: its registered states, the current key, and
//! snapshot and restore of everything it holds by key group.

use std::any::{type_name, Any};
use std::cell::{Ref, RefCell};
use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(feature = "rocksdb")]
use std::sync::{Arc, PoisonError};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::cells::{CellAccess, KeyedCells, SharedFrozenDatabase, StateSnapshotter};
use crate::config::StateBackendConfig;
use crate::deferred::DeferredKeyedSnapshot;
use crate::key_group::{stable_hash, KeyGroupAssigner, KeyHash};
use crate::native::NativeStatePart;
#[cfg(feature = "rocksdb")]
use crate::rocks::{FrozenDatabase, RocksCells, RocksInstance};
use crate::snapshot::{KeyedStateSnapshot, StateKind, StateSection};
use crate::state::aggregating::{AggregatingAccess, AggregatingCells};
use crate::state::{DescriptorBase, StateRef};
use crate::ttl::{Expiring, Stamped, Ttl, TtlTimeProvider};
use crate::{
    AggregateFunction, AggregatingState, AggregatingStateDescriptor, KeyGroupRange, ListState, ListStateDescriptor,
    MapState, MapStateDescriptor, ReducingState, ReducingStateDescriptor, StateError, ValueState, ValueStateDescriptor,
};

/// The key of the record being processed, with its key group, shared by all states.
pub(crate) struct CurrentKey<K> {
    slot: RefCell<Option<(KeyHash, K)>>,
}

impl<K> CurrentKey<K> {
    pub(crate) fn get(&self) -> Ref<'_, Option<(KeyHash, K)>> {
        self.slot.borrow()
    }
}

/// The registered states of a backend, by index, each behind `Any` as the handle expects it.
struct Registry {
    id: u64,
    states: RefCell<Vec<Rc<dyn Any>>>,
}

thread_local! {
    /// The backends whose operator is running user code on this thread (a window function sees
    /// a per-key and a per-window backend at once).
    static ENTERED: RefCell<Vec<Rc<Registry>>> = const { RefCell::new(Vec::new()) };
}

/// Gives `f` the state `index` of the entered backend `backend`, or the error that says why
/// there is none.
pub(crate) fn with_entered_state<R>(
    backend: u64,
    index: usize,
    name: &str,
    f: impl FnOnce(&dyn Any) -> Result<R, StateError>,
) -> Result<R, StateError> {
    let registry = ENTERED.with(|entered| {
        let entered = entered.borrow();
        if entered.is_empty() {
            return Err(StateError::NoCurrentKey { name: name.to_string() });
        }
        let found = entered.iter().rev().find(|r| r.id == backend).cloned();
        found.ok_or_else(|| StateError::ForeignState { name: name.to_string() })
    })?;
    let state = Rc::clone(&registry.states.borrow()[index]);
    f(state.as_ref())
}

/// A registered state's name, kind and value type, to detect a name reused differently.
struct Registered {
    index: usize,
    kind: StateKind,
    value_type: &'static str,
}

/// Where the backend keeps its cells.
enum Storage {
    Heap,
    #[cfg(feature = "rocksdb")]
    RocksDb(Rc<RocksInstance>),
}

/// Keyed state of one operator instance, on the heap (Flink's `hashmap` backend) or in RocksDB.
///
/// The operator makes the backend current with [`KeyedStateBackend::enter`] and sets the key
/// of each record; state handles then read and write that key's entries.
///
/// ```
/// use pyflink_state::{KeyGroupRange, KeyedStateBackend, ValueStateDescriptor};
///
/// let mut backend = KeyedStateBackend::<String>::new(KeyGroupRange::new(0, 127), 128);
/// let count = backend.get_value_state(&ValueStateDescriptor::<u64>::new("count")).unwrap();
/// backend.enter(|| {
///     backend.set_current_key("alice".to_string());
///     count.update(count.value().unwrap_or(0) + 1);
///     assert_eq!(count.value(), Some(1));
///     backend.set_current_key("bob".to_string());
///     assert_eq!(count.value(), None);
/// });
/// ```
pub struct KeyedStateBackend<K> {
    range: KeyGroupRange,
    max_parallelism: usize,
    assigner: KeyGroupAssigner,
    key: Rc<CurrentKey<K>>,
    registry: Rc<Registry>,
    names: HashMap<String, Registered>,
    storage: Storage,
    clock: TtlTimeProvider,
    snapshotters: Vec<Rc<dyn StateSnapshotter>>,
    /// Restored sections of states not registered yet; they are loaded on registration and
    /// carried into later snapshots until then, so no state is dropped by a job that stops
    /// using it for a while.
    pending: Vec<StateSection>,
    /// The kinds of the states restored as RocksDB's own files, whose column families are in the
    /// database whether or not the job registers them again.
    restored_kinds: HashMap<String, StateKind>,
}

/// Distinguishes backends, so a handle is never resolved against another operator's states.
static NEXT_BACKEND_ID: AtomicU64 = AtomicU64::new(1);

impl<K> KeyedStateBackend<K>
where
    K: Hash + Eq + Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// A heap backend for the key groups `range` out of `max_parallelism`.
    pub fn new(range: KeyGroupRange, max_parallelism: usize) -> Self {
        Self::with_storage(range, max_parallelism, Storage::Heap)
    }

    /// A backend of the kind `config` selects, for the key groups `range`; `instance` names the
    /// operator instance (it names RocksDB's working directory).
    #[cfg_attr(not(feature = "rocksdb"), allow(unused_variables))]
    pub fn from_config(
        config: &StateBackendConfig,
        range: KeyGroupRange,
        max_parallelism: usize,
        instance: &str,
    ) -> Result<Self, StateError> {
        let storage = match config {
            StateBackendConfig::HashMap => Storage::Heap,
            #[cfg(feature = "rocksdb")]
            StateBackendConfig::RocksDb(options) => {
                Storage::RocksDb(Rc::new(RocksInstance::create(options.clone(), instance)?))
            }
            #[cfg(not(feature = "rocksdb"))]
            StateBackendConfig::RocksDb(_) => return Err(StateError::rocksdb_not_built()),
        };
        Ok(Self::with_storage(range, max_parallelism, storage))
    }

    fn with_storage(range: KeyGroupRange, max_parallelism: usize, storage: Storage) -> Self {
        KeyedStateBackend {
            range,
            max_parallelism,
            assigner: KeyGroupAssigner::new(max_parallelism),
            key: Rc::new(CurrentKey { slot: RefCell::new(None) }),
            registry: Rc::new(Registry {
                id: NEXT_BACKEND_ID.fetch_add(1, Ordering::Relaxed),
                states: RefCell::new(Vec::new()),
            }),
            names: HashMap::new(),
            storage,
            clock: TtlTimeProvider::default(),
            snapshotters: Vec::new(),
            pending: Vec::new(),
            restored_kinds: HashMap::new(),
        }
    }

    /// The key groups this backend holds.
    pub fn key_group_range(&self) -> KeyGroupRange {
        self.range
    }

    /// Whether the state lives in RocksDB.
    pub fn is_rocksdb(&self) -> bool {
        match self.storage {
            Storage::Heap => false,
            #[cfg(feature = "rocksdb")]
            Storage::RocksDb(_) => true,
        }
    }

    /// Replaces the processing-time clock of state TTL (for tests); applies to states
    /// registered afterwards.
    pub fn set_ttl_time_provider(&mut self, clock: TtlTimeProvider) {
        self.clock = clock;
    }

    /// Runs `f` with this backend current on this thread, so state handles resolve to it.
    /// Backends entered inside `f` are current too.
    #[inline]
    pub fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        /// Leaves the backend also when `f` unwinds.
        struct Leave;
        impl Drop for Leave {
            fn drop(&mut self) {
                ENTERED.with(|entered| entered.borrow_mut().pop());
            }
        }
        ENTERED.with(|entered| entered.borrow_mut().push(Rc::clone(&self.registry)));
        let _leave = Leave;
        f()
    }

    /// Makes `key` the current key and returns its key group.
    #[inline]
    pub fn set_current_key(&self, key: K) -> usize {
        let at = self.assigner.hash_key(&key);
        debug_assert!(self.range.contains(at.group), "key group {} is not owned by this instance", at.group);
        *self.key.slot.borrow_mut() = Some((at, key));
        at.group
    }

    /// Makes `key` current in the key group `group`: for keys that combine a record's key with a
    /// namespace (a window), which belong to the group of the record's key.
    #[inline]
    pub fn set_current_key_in_group(&self, key: K, group: usize) {
        debug_assert!(self.range.contains(group), "key group {group} is not owned by this instance");
        let at = KeyHash { hash: stable_hash(&key), group };
        *self.key.slot.borrow_mut() = Some((at, key));
    }

    /// Runs `f` with the current key.
    ///
    /// # Panics
    /// If no key is set: keyed operators set it before they run user code.
    #[inline]
    pub fn with_current_key<R>(&self, f: impl FnOnce(&K) -> R) -> R {
        let current = self.key.get();
        let (_, key) = current.as_ref().expect("a current key is set while keyed user code runs");
        f(key)
    }

    /// The current key, if one is set.
    pub fn current_key(&self) -> Option<K> {
        self.key.get().as_ref().map(|(_, k)| k.clone())
    }

    /// The value state described by `descriptor`, created on first use. Asking again with the
    /// same name returns a handle to the same state.
    pub fn get_value_state<V>(&mut self, descriptor: &ValueStateDescriptor<V>) -> Result<ValueState<V>, StateError>
    where
        V: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let state = self.register_cells::<Stamped<V>>(&descriptor.base, StateKind::Value, type_name::<V>())?;
        Ok(ValueState::new(state))
    }

    /// The list state described by `descriptor`.
    pub fn get_list_state<V>(&mut self, descriptor: &ListStateDescriptor<V>) -> Result<ListState<V>, StateError>
    where
        V: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let state = self.register_cells::<Vec<Stamped<V>>>(&descriptor.base, StateKind::List, type_name::<V>())?;
        Ok(ListState::new(state))
    }

    /// The map state described by `descriptor`.
    pub fn get_map_state<UK, UV>(
        &mut self,
        descriptor: &MapStateDescriptor<UK, UV>,
    ) -> Result<MapState<UK, UV>, StateError>
    where
        UK: Hash + Eq + Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
        UV: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let state =
            self.register_cells::<HashMap<UK, Stamped<UV>>>(&descriptor.base, StateKind::Map, type_name::<(UK, UV)>())?;
        Ok(MapState::new(state))
    }

    /// The reducing state described by `descriptor`.
    pub fn get_reducing_state<V>(
        &mut self,
        descriptor: &ReducingStateDescriptor<V>,
    ) -> Result<ReducingState<V>, StateError>
    where
        V: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let state = self.register_cells::<Stamped<V>>(&descriptor.base, StateKind::Reducing, type_name::<V>())?;
        Ok(ReducingState { state, reduce: descriptor.reduce.clone() })
    }

    /// The aggregating state described by `descriptor`.
    pub fn get_aggregating_state<IN: 'static, F: AggregateFunction<IN>>(
        &mut self,
        descriptor: &AggregatingStateDescriptor<IN, F>,
    ) -> Result<AggregatingState<IN, F::Output>, StateError> {
        let base = &descriptor.base;
        let value_type = type_name::<F::Accumulator>();
        if let Some(existing) = self.existing(&base.name, StateKind::Aggregating, value_type)? {
            return Ok(AggregatingState::new(existing));
        }
        let cells: Rc<dyn CellAccess<Stamped<F::Accumulator>>> =
            self.create_cells::<Stamped<F::Accumulator>>(base, StateKind::Aggregating)?;
        let access: Rc<dyn AggregatingAccess<IN, F::Output>> =
            Rc::new(AggregatingCells { cells, function: descriptor.function.clone(), _input: PhantomData });
        let state = self.add(&base.name, StateKind::Aggregating, value_type, Rc::new(access));
        Ok(AggregatingState::new(state))
    }

    /// The handle of an already registered state `name`, after checking that it is used alike.
    fn existing(&self, name: &str, kind: StateKind, value_type: &'static str) -> Result<Option<StateRef>, StateError> {
        let Some(existing) = self.names.get(name) else { return Ok(None) };
        if existing.kind != kind || existing.value_type != value_type {
            return Err(StateError::TypeMismatch {
                name: name.to_string(),
                existing: existing.value_type,
                requested: value_type,
            });
        }
        Ok(Some(StateRef { backend: self.registry.id, index: existing.index, name: name.into() }))
    }

    /// Registers cells of type `S` for a state that handles reach as `dyn CellAccess<S>`.
    fn register_cells<S>(
        &mut self,
        base: &DescriptorBase,
        kind: StateKind,
        value_type: &'static str,
    ) -> Result<StateRef, StateError>
    where
        S: Expiring + Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        if let Some(existing) = self.existing(&base.name, kind, value_type)? {
            return Ok(existing);
        }
        let cells: Rc<dyn CellAccess<S>> = self.create_cells::<S>(base, kind)?;
        Ok(self.add(&base.name, kind, value_type, Rc::new(cells)))
    }

    /// Creates the cells of a new state, loaded with its restored entries.
    fn create_cells<S>(&mut self, base: &DescriptorBase, kind: StateKind) -> Result<Rc<KeyedCells<K, S>>, StateError>
    where
        S: Expiring + Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let name = &base.name;
        if let Some(restored) = self.restored_kinds.get(name).filter(|restored| **restored != kind) {
            return Err(StateError::KindMismatch {
                name: name.clone(),
                restored: restored.to_string(),
                requested: kind.to_string(),
            });
        }
        let ttl = base.ttl.clone().map(|config| Ttl { config, clock: self.clock.clone() });
        let key = Rc::clone(&self.key);
        let cells = Rc::new(match &self.storage {
            Storage::Heap => KeyedCells::heap(name, kind, key, self.range, ttl),
            #[cfg(feature = "rocksdb")]
            Storage::RocksDb(instance) => {
                let column = RocksCells::new(Rc::clone(instance), name)?;
                KeyedCells::rocks(name, kind, key, self.range, ttl, column)
            }
        });
        let mut remaining = Vec::with_capacity(self.pending.len());
        for section in std::mem::take(&mut self.pending) {
            if section.name != *name {
                remaining.push(section);
                continue;
            }
            if section.kind != kind {
                let error = StateError::KindMismatch {
                    name: name.clone(),
                    restored: section.kind.to_string(),
                    requested: kind.to_string(),
                };
                remaining.push(section);
                remaining.append(&mut self.pending);
                self.pending = remaining;
                return Err(error);
            }
            for entry in section.raw_entries(self.range) {
                let (group, key, value) = entry?;
                cells.restore_entry(group, key, value)?;
            }
        }
        self.pending = remaining;
        self.snapshotters.push(cells.clone());
        Ok(cells)
    }

    fn add(&mut self, name: &str, kind: StateKind, value_type: &'static str, object: Rc<dyn Any>) -> StateRef {
        let mut states = self.registry.states.borrow_mut();
        let index = states.len();
        states.push(object);
        self.names.insert(name.to_string(), Registered { index, kind, value_type });
        StateRef { backend: self.registry.id, index, name: name.into() }
    }

    /// Loads restored snapshots (taken at any parallelism) before states are registered: every
    /// state gets the entries of this backend's key groups when it registers. Sections of
    /// operator-owned state ([`StateKind::Raw`]) are left to the operator.
    ///
    /// A RocksDB backend restored from the RocksDB checkpoint of exactly its key groups opens
    /// that checkpoint's files as its database; otherwise the entries of its key groups are read
    /// out of every snapshot that holds some.
    pub fn restore(&mut self, snapshots: &[KeyedStateSnapshot]) -> Result<(), StateError> {
        for snapshot in snapshots {
            if snapshot.max_parallelism as usize != self.max_parallelism {
                return Err(StateError::InvalidConfig {
                    key: "pipeline.max-parallelism".into(),
                    value: self.max_parallelism.to_string(),
                    expected: format!(
                        "the max parallelism of the restored checkpoint, {}; the number of key groups cannot change",
                        snapshot.max_parallelism
                    ),
                });
            }
        }
        let range = self.range;
        let parts: Vec<&NativeStatePart> = snapshots
            .iter()
            .flat_map(|s| &s.native)
            .filter(|p| p.range.start <= range.end && range.start <= p.range.end)
            .collect();
        match (&self.storage, parts.as_slice()) {
            #[cfg(feature = "rocksdb")]
            (Storage::RocksDb(instance), [part])
                if part.range == range && self.names.is_empty() && self.restored_kinds.is_empty() =>
            {
                let restored =
                    RocksInstance::restore(part.require_files()?, instance.settings().clone(), instance.name())?;
                self.storage = Storage::RocksDb(Rc::new(restored));
                self.restored_kinds.extend(part.states.iter().cloned());
            }
            _ => {
                for part in parts {
                    self.read_native_part(part)?;
                }
            }
        }
        for snapshot in snapshots {
            for section in snapshot.sections.iter().filter(|s| s.kind != StateKind::Raw) {
                let overlapping = section.groups.iter().filter(|(g, _)| range.contains(*g as usize));
                let mut mine = StateSection { name: section.name.clone(), kind: section.kind, groups: Vec::new() };
                mine.groups.extend(overlapping.cloned());
                self.add_pending(mine);
            }
        }
        Ok(())
    }

    /// Adds restored entries of a state to those waiting for its registration.
    fn add_pending(&mut self, mut section: StateSection) {
        if section.groups.is_empty() {
            return;
        }
        match self.pending.iter_mut().find(|p| p.name == section.name) {
            Some(pending) => {
                pending.groups.append(&mut section.groups);
                pending.groups.sort_by_key(|(g, _)| *g);
            }
            None => self.pending.push(section),
        }
    }

    /// Reads the entries of this backend's key groups out of the RocksDB checkpoint `part`.
    #[cfg(feature = "rocksdb")]
    fn read_native_part(&mut self, part: &NativeStatePart) -> Result<(), StateError> {
        let options = match &self.storage {
            Storage::RocksDb(instance) => instance.settings().clone(),
            Storage::Heap => crate::RocksDbOptions::default(),
        };
        let reader = RocksInstance::restore(part.require_files()?, options, "restore")?;
        let groups = KeyGroupRange::new(self.range.start.max(part.range.start), self.range.end.min(part.range.end));
        for (name, kind) in &part.states {
            self.add_pending(section_from_rocks(&reader, name, *kind, groups)?);
        }
        Ok(())
    }

    /// The files of a RocksDB checkpoint (an incremental one) can only be read by RocksDB.
    #[cfg(not(feature = "rocksdb"))]
    fn read_native_part(&mut self, _part: &NativeStatePart) -> Result<(), StateError> {
        Err(StateError::rocksdb_not_built())
    }

    /// A snapshot of every state, by key group: the entries themselves, or for an incremental
    /// RocksDB backend, RocksDB's own checkpoint of its database.
    pub fn snapshot(&self) -> Result<KeyedStateSnapshot, StateError> {
        self.snapshot_deferred()?.complete()
    }

    /// A snapshot whose entries are read and encoded later, so that the task can go on
    /// processing while another thread completes it with [`DeferredKeyedSnapshot::complete`].
    /// The heap tables are frozen by a copy-on-write clone; a RocksDB database by RocksDB's own
    /// checkpoint of it (a flush and hard links), which the completion opens and reads.
    ///
    /// ```
    /// use pyflink_state::{KeyGroupRange, KeyedStateBackend, ValueStateDescriptor};
    ///
    /// let mut backend = KeyedStateBackend::<String>::new(KeyGroupRange::new(0, 127), 128);
    /// let count = backend.get_value_state(&ValueStateDescriptor::<u64>::new("count")).unwrap();
    /// let bump = |backend: &KeyedStateBackend<String>| {
    ///     backend.enter(|| {
    ///         backend.set_current_key("alice".to_string());
    ///         count.update(count.value().unwrap_or(0) + 1);
    ///     })
    /// };
    /// bump(&backend);
    /// let frozen = backend.snapshot_deferred().unwrap();
    /// bump(&backend); // after the barrier: not in this checkpoint
    /// let snapshot = std::thread::spawn(move || frozen.complete()).join().unwrap().unwrap();
    ///
    /// let mut restored = KeyedStateBackend::<String>::new(KeyGroupRange::new(0, 127), 128);
    /// restored.restore(&[snapshot]).unwrap();
    /// let count = restored.get_value_state(&ValueStateDescriptor::<u64>::new("count")).unwrap();
    /// restored.enter(|| {
    ///     restored.set_current_key("alice".to_string());
    ///     assert_eq!(count.value(), Some(1));
    /// });
    /// ```
    pub fn snapshot_deferred(&self) -> Result<DeferredKeyedSnapshot, StateError> {
        #[cfg(feature = "rocksdb")]
        if let Storage::RocksDb(instance) = &self.storage {
            if instance.settings().incremental {
                return Ok(DeferredKeyedSnapshot::ready(self.native_snapshot(instance)?));
            }
        }
        let mut snapshot = DeferredKeyedSnapshot::new(self.max_parallelism, self.range);
        let database = self.freeze_database()?;
        for state in &self.snapshotters {
            state.snapshot_into(&mut snapshot, database.as_ref())?;
        }
        #[cfg(feature = "rocksdb")]
        if let Some(database) = &database {
            for (name, kind) in self.unregistered_restored_kinds() {
                let (database, name, range) = (Arc::clone(database), name.clone(), self.range);
                snapshot.push_deferred(move || {
                    let mut database = database.lock().unwrap_or_else(PoisonError::into_inner);
                    StateSection::from_groups(&name, kind, range, |group, entries| {
                        database.scan_group(&name, group, |key, value| {
                            entries.push_raw(key, value);
                            Ok(())
                        })
                    })
                });
            }
        }
        for section in &self.pending {
            snapshot.push_section(section.clone());
        }
        Ok(snapshot)
    }

    /// The backend's database frozen at the barrier, which the states' deferred snapshots read.
    fn freeze_database(&self) -> Result<Option<SharedFrozenDatabase>, StateError> {
        match &self.storage {
            Storage::Heap => Ok(None),
            #[cfg(feature = "rocksdb")]
            Storage::RocksDb(instance) => FrozenDatabase::freeze(instance).map(Some),
        }
    }

    /// States restored as RocksDB files that the job has not registered (again).
    #[cfg(feature = "rocksdb")]
    fn unregistered_restored_kinds(&self) -> impl Iterator<Item = (&String, StateKind)> {
        self.restored_kinds.iter().filter(|(name, _)| !self.names.contains_key(*name)).map(|(n, k)| (n, *k))
    }

    /// The snapshot of an incremental RocksDB backend: its database as a RocksDB checkpoint,
    /// and the restored entries still waiting for their state to be registered.
    #[cfg(feature = "rocksdb")]
    fn native_snapshot(&self, instance: &RocksInstance) -> Result<KeyedStateSnapshot, StateError> {
        let mut states: Vec<(String, StateKind)> =
            self.snapshotters.iter().map(|s| (s.name().to_string(), s.kind())).collect();
        states.extend(self.unregistered_restored_kinds().map(|(n, k)| (n.clone(), k)));
        states.sort_by(|a, b| a.0.cmp(&b.0));
        let mut snapshot = KeyedStateSnapshot::new(self.max_parallelism, self.range, self.pending.clone());
        if !states.is_empty() {
            let files = instance.native_checkpoint()?;
            snapshot.native.push(NativeStatePart::new(instance.id().to_string(), self.range, states, files));
        }
        Ok(snapshot)
    }
}

/// The entries of state `name` in the key groups `groups` of a RocksDB database, as a section.
#[cfg(feature = "rocksdb")]
fn section_from_rocks(
    instance: &RocksInstance,
    name: &str,
    kind: StateKind,
    groups: KeyGroupRange,
) -> Result<StateSection, StateError> {
    StateSection::from_groups(name, kind, groups, |group, entries| {
        instance.scan_group(name, group, |key, value| {
            entries.push_raw(key, value);
            Ok(())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend() -> KeyedStateBackend<u32> {
        KeyedStateBackend::new(KeyGroupRange::new(0, 127), 128)
    }

    #[test]
    fn values_are_per_key() {
        let mut b = backend();
        let s = b.get_value_state(&ValueStateDescriptor::<i64>::new("sum")).unwrap();
        b.enter(|| {
            for (k, v) in [(1, 10), (2, 20), (1, 5)] {
                b.set_current_key(k);
                s.update(s.value().unwrap_or(0) + v);
            }
            b.set_current_key(1);
            assert_eq!(s.value(), Some(15));
            s.clear();
            assert_eq!(s.value(), None);
            b.set_current_key(2);
            assert_eq!(s.value(), Some(20));
        });
    }

    #[test]
    fn same_name_same_state_and_type_checked() {
        let mut b = backend();
        let a = b.get_value_state(&ValueStateDescriptor::<i64>::new("x")).unwrap();
        let again = b.get_value_state(&ValueStateDescriptor::<i64>::new("x")).unwrap();
        b.enter(|| {
            b.set_current_key(7);
            a.update(3);
            assert_eq!(again.value(), Some(3));
        });
        let err = b.get_value_state(&ValueStateDescriptor::<String>::new("x")).err().unwrap();
        assert!(matches!(err, StateError::TypeMismatch { .. }), "{err}");
        assert!(err.to_string().contains("use a different state name"));
        let err = b.get_list_state(&ListStateDescriptor::<i64>::new("x")).err().unwrap();
        assert!(matches!(err, StateError::TypeMismatch { .. }), "another kind under the same name: {err}");
    }

    #[test]
    fn access_outside_a_keyed_context_is_an_error() {
        let mut b = backend();
        let s = b.get_value_state(&ValueStateDescriptor::<i64>::new("v")).unwrap();
        assert_eq!(s.try_value(), Err(StateError::NoCurrentKey { name: "v".into() }));
        b.enter(|| assert_eq!(s.try_value(), Err(StateError::NoCurrentKey { name: "v".into() })));
    }

    #[test]
    fn a_handle_is_not_resolved_against_another_backend() {
        let mut first = backend();
        let mut second = backend();
        let s = first.get_value_state(&ValueStateDescriptor::<i64>::new("v")).unwrap();
        second.get_value_state(&ValueStateDescriptor::<i64>::new("v")).unwrap();
        second.set_current_key(1);
        second.enter(|| assert_eq!(s.try_value(), Err(StateError::ForeignState { name: "v".into() })));
    }

    #[test]
    fn nested_backends_are_both_current() {
        let mut outer = backend();
        let mut inner = KeyedStateBackend::<(u32, u8)>::new(KeyGroupRange::new(0, 127), 128);
        let a = outer.get_value_state(&ValueStateDescriptor::<i64>::new("a")).unwrap();
        let b = inner.get_value_state(&ValueStateDescriptor::<i64>::new("b")).unwrap();
        outer.set_current_key(1);
        inner.set_current_key((1, 0));
        outer.enter(|| {
            inner.enter(|| {
                a.update(1);
                b.update(2);
            });
            assert_eq!(a.value(), Some(1));
            assert_eq!(b.try_value(), Err(StateError::ForeignState { name: "b".into() }), "inner left");
        });
    }

    #[test]
    fn handles_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ValueState<String>>();
        assert_send_sync::<ListState<String>>();
        assert_send_sync::<MapState<String, u8>>();
        assert_send_sync::<ReducingState<i64>>();
        assert_send_sync::<AggregatingState<i64, f64>>();
    }

    #[test]
    fn restored_state_of_another_kind_is_refused() {
        let mut first = backend();
        let s = first.get_value_state(&ValueStateDescriptor::<i64>::new("s")).unwrap();
        first.set_current_key(1);
        first.enter(|| s.update(1));
        let snapshot = first.snapshot().unwrap();
        let mut second = backend();
        second.restore(&[snapshot]).unwrap();
        let err = second.get_list_state(&ListStateDescriptor::<i64>::new("s")).err().unwrap();
        assert!(matches!(err, StateError::KindMismatch { .. }), "{err}");
        // The restored entries stay, and a correct registration still gets them.
        let s = second.get_value_state(&ValueStateDescriptor::<i64>::new("s")).unwrap();
        second.set_current_key(1);
        second.enter(|| assert_eq!(s.value(), Some(1)));
    }

    #[test]
    #[cfg(feature = "rocksdb")]
    fn an_incremental_snapshot_of_the_same_key_groups_is_opened_not_read() {
        let config = StateBackendConfig::RocksDb(crate::RocksDbOptions::default().with_incremental_checkpoints(true));
        let range = KeyGroupRange::new(0, 127);
        let mut first = KeyedStateBackend::<u32>::from_config(&config, range, 128, "first").unwrap();
        let s = first.get_value_state(&ValueStateDescriptor::<i64>::new("s")).unwrap();
        for key in 0..50 {
            first.set_current_key(key);
            first.enter(|| s.update(key as i64));
        }
        let snapshot = first.snapshot().unwrap();
        assert!(snapshot.sections.is_empty() && snapshot.native.len() == 1, "{snapshot:?}");

        let mut same = KeyedStateBackend::<u32>::from_config(&config, range, 128, "same").unwrap();
        same.restore(std::slice::from_ref(&snapshot)).unwrap();
        assert!(same.pending.is_empty(), "nothing is read into memory");
        assert_eq!(same.restored_kinds.get("s"), Some(&StateKind::Value));
        let err = same.get_list_state(&ListStateDescriptor::<i64>::new("s")).err().unwrap();
        assert!(matches!(err, StateError::KindMismatch { .. }), "{err}");
        // A state restored but not registered is still in the next snapshot.
        let again = same.snapshot().unwrap();
        assert_eq!(again.native[0].states, vec![("s".to_string(), StateKind::Value)]);

        let mut half = KeyedStateBackend::<u32>::from_config(&config, KeyGroupRange::new(0, 63), 128, "half").unwrap();
        half.restore(&[snapshot]).unwrap();
        assert!(half.restored_kinds.is_empty());
        assert_eq!(half.pending.len(), 1, "another range reads its key groups");
    }
}
