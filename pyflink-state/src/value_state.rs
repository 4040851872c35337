//! `ValueState`: one value per key, as in Flink's `ValueState<T>`.

use std::any::type_name;
use std::cell::RefCell;
use std::hash::Hash;
use std::marker::PhantomData;
use std::rc::Rc;

use crate::backend::CurrentKey;
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

/// The value operations a keyed backend provides for one state, for the current key.
pub(crate) trait ValueAccess<V> {
    fn value(&self) -> Result<Option<V>, StateError>;
    fn update(&self, value: V) -> Result<(), StateError>;
    fn clear(&self) -> Result<(), StateError>;
}

/// A handle to one value per key. Every call reads or writes the value of the key of the record
/// being processed, so a handle obtained in `open()` serves all keys.
pub struct ValueState<V> {
    access: Rc<dyn ValueAccess<V>>,
}

impl<V> Clone for ValueState<V> {
    fn clone(&self) -> Self {
        ValueState { access: Rc::clone(&self.access) }
    }
}

impl<V> ValueState<V> {
    pub(crate) fn new(access: Rc<dyn ValueAccess<V>>) -> Self {
        ValueState { access }
    }

    /// The current key's value, or `None` if it has none.
    ///
    /// # Panics
    /// If called where no key is current (outside processing of a keyed record); use
    /// [`ValueState::try_value`] to get that as an error instead.
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

    /// The current key's value, or an error if no key is current.
    pub fn try_value(&self) -> Result<Option<V>, StateError> {
        self.access.value()
    }

    /// Sets the current key's value, or fails if no key is current.
    pub fn try_update(&self, value: V) -> Result<(), StateError> {
        self.access.update(value)
    }

    /// Removes the current key's value, or fails if no key is current.
    pub fn try_clear(&self) -> Result<(), StateError> {
        self.access.clear()
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
        let (group, key) = current.as_ref().ok_or_else(|| self.no_key())?;
        Ok(self.table.borrow().get(*group, key).cloned())
    }

    fn update(&self, value: V) -> Result<(), StateError> {
        let current = self.key.get();
        let (group, key) = current.as_ref().ok_or_else(|| self.no_key())?;
        let mut table = self.table.borrow_mut();
        match table.get_mut(*group, key) {
            Some(slot) => *slot = value,
            None => {
                table.insert(*group, key.clone(), value);
            }
        }
        Ok(())
    }

    fn clear(&self) -> Result<(), StateError> {
        let current = self.key.get();
        let (group, key) = current.as_ref().ok_or_else(|| self.no_key())?;
        self.table.borrow_mut().remove(*group, key);
        Ok(())
    }
}
