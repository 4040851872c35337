//! The keyed state backend of one operator instance: its states and the current key.

use std::any::Any;
use std::cell::{Ref, RefCell};
use std::collections::HashMap;
use std::hash::Hash;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::key_group::{KeyGroupAssigner, KeyHash};
use crate::value_state::{HeapValueState, ValueAccess};
use crate::{KeyGroupRange, KeyedTable, StateError, ValueState, ValueStateDescriptor};

/// The key of the record being processed, with its key group, shared by all states.
pub(crate) struct CurrentKey<K> {
    slot: RefCell<Option<(KeyHash, K)>>,
}

impl<K> CurrentKey<K> {
    pub(crate) fn get(&self) -> Ref<'_, Option<(KeyHash, K)>> {
        self.slot.borrow()
    }
}

/// The registered states of a backend, by index: each an `Rc<dyn ValueAccess<V>>` behind `Any`.
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

/// A registered state's name and value type, to detect a name reused with another type.
struct Registered {
    index: usize,
    value_type: &'static str,
}

/// Keyed state of one operator instance on the heap (Flink's `hashmap` backend).
///
/// The operator makes the backend current with [`KeyedStateBackend::enter`] and sets the key
/// of each record; state handles then read and write that key's entry.
pub struct KeyedStateBackend<K> {
    range: KeyGroupRange,
    assigner: KeyGroupAssigner,
    key: Rc<CurrentKey<K>>,
    registry: Rc<Registry>,
    names: HashMap<String, Registered>,
}

/// Distinguishes backends, so a handle is never resolved against another operator's states.
static NEXT_BACKEND_ID: AtomicU64 = AtomicU64::new(1);

impl<K: Hash + Eq + Clone + 'static> KeyedStateBackend<K> {
    /// A backend for the key groups `range` out of `max_parallelism`.
    pub fn new(range: KeyGroupRange, max_parallelism: usize) -> Self {
        KeyedStateBackend {
            range,
            assigner: KeyGroupAssigner::new(max_parallelism),
            key: Rc::new(CurrentKey { slot: RefCell::new(None) }),
            registry: Rc::new(Registry {
                id: NEXT_BACKEND_ID.fetch_add(1, Ordering::Relaxed),
                states: RefCell::new(Vec::new()),
            }),
            names: HashMap::new(),
        }
    }

    /// The key groups this backend holds.
    pub fn key_group_range(&self) -> KeyGroupRange {
        self.range
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

    /// The value state described by `descriptor`, created on first use. Asking again with the same
    /// name returns a handle to the same state.
    pub fn get_value_state<V: Clone + 'static>(
        &mut self,
        descriptor: &ValueStateDescriptor<V>,
    ) -> Result<ValueState<V>, StateError> {
        let name = descriptor.name();
        let requested = HeapValueState::<K, V>::type_name();
        if let Some(existing) = self.names.get(name) {
            if existing.value_type != requested {
                return Err(StateError::TypeMismatch {
                    name: name.to_string(),
                    existing: existing.value_type,
                    requested,
                });
            }
            return Ok(ValueState::new(self.registry.id, existing.index, name));
        }
        let state: Rc<dyn ValueAccess<V>> = Rc::new(HeapValueState {
            name: name.to_string(),
            key: Rc::clone(&self.key),
            table: RefCell::new(KeyedTable::<K, V>::new(self.range)),
        });
        let mut states = self.registry.states.borrow_mut();
        let index = states.len();
        states.push(Rc::new(state));
        self.names.insert(name.to_string(), Registered { index, value_type: requested });
        Ok(ValueState::new(self.registry.id, index, name))
    }
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
    }
}
