//! `ValueState`: one value per key, as Flink's `ValueState<T>`.

use std::marker::PhantomData;

use crate::state::{clear_cell, read_stamped, write_stamped, DescriptorBase, StateRef};
use crate::ttl::{Stamped, StateTtlConfig};
use crate::StateError;

/// Describes a value state: its name, unique within an operator, its value type and its
/// time-to-live.
#[derive(Debug, Clone)]
pub struct ValueStateDescriptor<V> {
    pub(crate) base: DescriptorBase,
    _value: PhantomData<fn() -> V>,
}

impl<V> ValueStateDescriptor<V> {
    /// A descriptor for the state called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        ValueStateDescriptor { base: DescriptorBase::new(name.into()), _value: PhantomData }
    }

    /// The state's name.
    pub fn name(&self) -> &str {
        &self.base.name
    }

    /// Lets entries expire as `config` says.
    pub fn enable_time_to_live(&mut self, config: StateTtlConfig) -> &mut Self {
        self.base.enable_ttl(config);
        self
    }

    /// The state's time-to-live, if enabled.
    pub fn ttl(&self) -> Option<&StateTtlConfig> {
        self.base.ttl.as_ref()
    }
}

/// A handle to one value per key. Every call reads or writes the value of the key of the record
/// being processed, so a handle obtained in `open()` serves all keys.
///
/// `value`, `update` and `clear` panic outside a keyed context or on a storage failure, which
/// fails the task; the `try_` forms return those as errors.
pub struct ValueState<V> {
    pub(crate) state: StateRef,
    _value: PhantomData<fn() -> V>,
}

impl<V> Clone for ValueState<V> {
    fn clone(&self) -> Self {
        ValueState { state: self.state.clone(), _value: PhantomData }
    }
}

impl<V> std::fmt::Debug for ValueState<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueState").field("name", &self.state.name).finish()
    }
}

impl<V: Clone + 'static> ValueState<V> {
    pub(crate) fn new(state: StateRef) -> Self {
        ValueState { state, _value: PhantomData }
    }

    /// The current key's value, or `None` if it has none.
    pub fn value(&self) -> Option<V> {
        self.try_value().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Sets the current key's value.
    pub fn update(&self, value: V) {
        self.try_update(value).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Removes the current key's value.
    pub fn clear(&self) {
        self.try_clear().unwrap_or_else(|e| panic!("{e}"))
    }

    /// The current key's value, or an error outside a keyed context.
    pub fn try_value(&self) -> Result<Option<V>, StateError> {
        self.state.cells::<Stamped<V>, _>(read_stamped)
    }

    /// Sets the current key's value, or fails outside a keyed context.
    pub fn try_update(&self, value: V) -> Result<(), StateError> {
        self.state.cells::<Stamped<V>, _>(|cells| write_stamped(cells, value))
    }

    /// Removes the current key's value, or fails outside a keyed context.
    pub fn try_clear(&self) -> Result<(), StateError> {
        self.state.cells::<Stamped<V>, _>(clear_cell)
    }
}
