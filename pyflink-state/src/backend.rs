//! The keyed state backend of one operator instance: its states and the current key.

use std::any::Any;
use std::cell::{Ref, RefCell};
use std::collections::HashMap;
use std::hash::Hash;
use std::rc::Rc;

use crate::key_group::key_group_for_key;
use crate::value_state::HeapValueState;
use crate::{KeyGroupRange, KeyedTable, StateError, ValueState, ValueStateDescriptor};

/// The key of the record being processed, with its key group, shared by all state handles.
pub(crate) struct CurrentKey<K> {
    slot: RefCell<Option<(usize, K)>>,
}

impl<K> CurrentKey<K> {
    pub(crate) fn get(&self) -> Ref<'_, Option<(usize, K)>> {
        self.slot.borrow()
    }
}

/// A registered state: the value type it was created with, and the typed state behind `Any`.
struct Registered {
    value_type: &'static str,
    state: Rc<dyn Any>,
}

/// Keyed state of one operator instance on the heap (Flink's `hashmap` backend).
///
/// The operator sets the current key before it calls the user function; every state handle then
/// reads and writes that key's entry.
pub struct KeyedStateBackend<K> {
    range: KeyGroupRange,
    max_parallelism: usize,
    key: Rc<CurrentKey<K>>,
    states: HashMap<String, Registered>,
}

impl<K: Hash + Eq + Clone + 'static> KeyedStateBackend<K> {
    /// A backend for the key groups `range` out of `max_parallelism`.
    pub fn new(range: KeyGroupRange, max_parallelism: usize) -> Self {
        KeyedStateBackend {
            range,
            max_parallelism,
            key: Rc::new(CurrentKey { slot: RefCell::new(None) }),
            states: HashMap::new(),
        }
    }

    /// The key groups this backend holds.
    pub fn key_group_range(&self) -> KeyGroupRange {
        self.range
    }

    /// Makes `key` the current key and returns its key group.
    #[inline]
    pub fn set_current_key(&self, key: K) -> usize {
        let group = key_group_for_key(&key, self.max_parallelism);
        debug_assert!(self.range.contains(group), "key group {group} is not owned by this instance");
        *self.key.slot.borrow_mut() = Some((group, key));
        group
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
        if let Some(existing) = self.states.get(name) {
            return match Rc::clone(&existing.state).downcast::<HeapValueState<K, V>>() {
                Ok(state) => Ok(ValueState::new(state)),
                Err(_) => Err(StateError::TypeMismatch {
                    name: name.to_string(),
                    existing: existing.value_type,
                    requested: HeapValueState::<K, V>::type_name(),
                }),
            };
        }
        let state = Rc::new(HeapValueState {
            name: name.to_string(),
            key: Rc::clone(&self.key),
            table: RefCell::new(KeyedTable::<K, V>::new(self.range)),
        });
        self.states.insert(
            name.to_string(),
            Registered { value_type: HeapValueState::<K, V>::type_name(), state: state.clone() },
        );
        Ok(ValueState::new(state))
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
    }

    #[test]
    fn same_name_same_state_and_type_checked() {
        let mut b = backend();
        let a = b.get_value_state(&ValueStateDescriptor::<i64>::new("x")).unwrap();
        let again = b.get_value_state(&ValueStateDescriptor::<i64>::new("x")).unwrap();
        b.set_current_key(7);
        a.update(3);
        assert_eq!(again.value(), Some(3));
        let err = b.get_value_state(&ValueStateDescriptor::<String>::new("x")).err().unwrap();
        assert!(matches!(err, StateError::TypeMismatch { .. }), "{err}");
        assert!(err.to_string().contains("use a different state name"));
    }

    #[test]
    fn access_without_key_is_an_error() {
        let mut b = backend();
        let s = b.get_value_state(&ValueStateDescriptor::<i64>::new("v")).unwrap();
        assert_eq!(s.try_value(), Err(StateError::NoCurrentKey { name: "v".into() }));
    }
}
