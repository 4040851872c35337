//! `ValueState`: one value per key, as in Flink's `ValueState<T>`.

use std::any::type_name;
use std::cell::RefCell;
use std::hash::Hash;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::Arc;

use crate::backend::{with_entered_state, CurrentKey};
use crate::{KeyedTable, StateError};

/// Describes a value state: its name, unique within an operator, and its value type.
#[derive(Debug, Clone)]
pub struct ValueStateDescriptor<V> {
    name: String,
    _value: PhantomData<fn() -> V>,
}

impl<V> ValueStateDescriptor<V> {
    /// A descriptor for the state called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        ValueStateDescriptor { name: name.into(), _value: PhantomData }
    }

    /// The state's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The value operations of one state for the current key.
pub(crate) trait ValueAccess<V> {
    fn value(&self) -> Result<Option<V>, StateError>;
    fn update(&self, value: V) -> Result<(), StateError>;
    fn clear(&self) -> Result<(), StateError>;
}

/// A handle to one value per key. Every call reads or writes the value of the key of the record
/// being processed, so a handle obtained in `open()` serves all keys.
///
/// The handle itself is a small, thread-safe token (which backend, which state): user functions
/// are shared between worker threads as prototypes, and each worker's operator makes its own
/// backend current while it runs the function.
pub struct ValueState<V> {
    pub(crate) backend: u64,
    pub(crate) index: usize,
    pub(crate) name: Arc<str>,
    _value: PhantomData<fn() -> V>,
}

impl<V> Clone for ValueState<V> {
    fn clone(&self) -> Self {
        ValueState { backend: self.backend, index: self.index, name: Arc::clone(&self.name), _value: PhantomData }
    }
}

impl<V> std::fmt::Debug for ValueState<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueState").field("name", &self.name).finish()
    }
}

impl<V: 'static> ValueState<V> {
    pub(crate) fn new(backend: u64, index: usize, name: &str) -> Self {
        ValueState { backend, index, name: name.into(), _value: PhantomData }
    }

    fn with_access<R>(&self, f: impl FnOnce(&dyn ValueAccess<V>) -> Result<R, StateError>) -> Result<R, StateError> {
        with_entered_state(self.backend, self.index, &self.name, |state| {
            let access = state
                .downcast_ref::<Rc<dyn ValueAccess<V>>>()
                .expect("a state handle's index and type come from the backend that registered it");
            f(access.as_ref())
        })
    }

    /// The current key's value, or `None` if it has none.
    ///
    /// # Panics
    /// Outside processing of a keyed record; [`ValueState::try_value`] returns that as an error.
    pub fn value(&self) -> Option<V> {
        self.try_value().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Sets the current key's value.
    ///
    /// # Panics
    /// As [`ValueState::value`].
    pub fn update(&self, value: V) {
        self.try_update(value).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Removes the current key's value.
    ///
    /// # Panics
    /// As [`ValueState::value`].
    pub fn clear(&self) {
        self.try_clear().unwrap_or_else(|e| panic!("{e}"))
    }

    /// The current key's value, or an error outside a keyed context.
    pub fn try_value(&self) -> Result<Option<V>, StateError> {
        self.with_access(|a| a.value())
    }

    /// Sets the current key's value, or fails outside a keyed context.
    pub fn try_update(&self, value: V) -> Result<(), StateError> {
        self.with_access(|a| a.update(value))
    }

    /// Removes the current key's value, or fails outside a keyed context.
    pub fn try_clear(&self) -> Result<(), StateError> {
        self.with_access(|a| a.clear())
    }
}

/// A value state kept in a [`KeyedTable`] on the heap.
pub(crate) struct HeapValueState<K, V> {
    pub(crate) name: String,
    pub(crate) key: Rc<CurrentKey<K>>,
    pub(crate) table: RefCell<KeyedTable<K, V>>,
}

impl<K, V> HeapValueState<K, V> {
    fn no_key(&self) -> StateError {
        StateError::NoCurrentKey { name: self.name.clone() }
    }

    pub(crate) fn type_name() -> &'static str {
        type_name::<V>()
    }
}

impl<K: Hash + Eq + Clone, V: Clone> ValueAccess<V> for HeapValueState<K, V> {
    fn value(&self) -> Result<Option<V>, StateError> {
        let current = self.key.get();
        let (at, key) = current.as_ref().ok_or_else(|| self.no_key())?;
        Ok(self.table.borrow().get(*at, key).cloned())
    }

    fn update(&self, value: V) -> Result<(), StateError> {
        let current = self.key.get();
        let (at, key) = current.as_ref().ok_or_else(|| self.no_key())?;
        let mut table = self.table.borrow_mut();
        match table.get_mut(*at, key) {
            Some(slot) => *slot = value,
            None => {
                table.insert(*at, key.clone(), value);
            }
        }
        Ok(())
    }

    fn clear(&self) -> Result<(), StateError> {
        let current = self.key.get();
        let (at, key) = current.as_ref().ok_or_else(|| self.no_key())?;
        self.table.borrow_mut().remove(*at, key);
        Ok(())
    }
}
