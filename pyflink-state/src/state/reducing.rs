//! `ReducingState`: one value per key that folds every added value in with a reduce function,
//! as Flink's `ReducingState<T>`.

use std::sync::Arc;

use crate::state::{clear_cell, fold_stamped, read_stamped, DescriptorBase, StateRef};
use crate::ttl::{Stamped, StateTtlConfig};
use crate::StateError;

/// The reduce function of a [`ReducingStateDescriptor`].
pub type ReduceFn<V> = Arc<dyn Fn(V, V) -> V + Send + Sync>;

/// Describes a reducing state: its name, its reduce function and its time-to-live.
#[derive(Clone)]
pub struct ReducingStateDescriptor<V> {
    pub(crate) base: DescriptorBase,
    pub(crate) reduce: ReduceFn<V>,
}

impl<V> ReducingStateDescriptor<V> {
    /// A descriptor for the state called `name` that combines values with `reduce`.
    pub fn new(name: impl Into<String>, reduce: impl Fn(V, V) -> V + Send + Sync + 'static) -> Self {
        ReducingStateDescriptor { base: DescriptorBase::new(name.into()), reduce: Arc::new(reduce) }
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
}

/// A handle to one reduced value per key.
///
/// ```
/// use pyflink_state::{KeyGroupRange, KeyedStateBackend, ReducingStateDescriptor};
///
/// let mut backend = KeyedStateBackend::<u32>::new(KeyGroupRange::new(0, 127), 128);
/// let max = backend.get_reducing_state(&ReducingStateDescriptor::new("max", i64::max)).unwrap();
/// backend.set_current_key(1);
/// backend.enter(|| {
///     for v in [3, 9, 4] {
///         max.add(v).unwrap();
///     }
///     assert_eq!(max.get().unwrap(), Some(9));
/// });
/// ```
pub struct ReducingState<V> {
    pub(crate) state: StateRef,
    pub(crate) reduce: ReduceFn<V>,
}

impl<V> Clone for ReducingState<V> {
    fn clone(&self) -> Self {
        ReducingState { state: self.state.clone(), reduce: Arc::clone(&self.reduce) }
    }
}

impl<V: Clone + 'static> ReducingState<V> {
    /// The current key's reduced value, or `None` if nothing was added.
    pub fn get(&self) -> Result<Option<V>, StateError> {
        self.state.cells::<Stamped<V>, _>(read_stamped)
    }

    /// Reduces `value` into the current key's value.
    pub fn add(&self, value: V) -> Result<(), StateError> {
        let reduce = &self.reduce;
        self.state.cells::<Stamped<V>, _>(|cells| {
            fold_stamped(cells, value, |current, value| match current {
                Some(current) => reduce(current, value),
                None => value,
            })
        })
    }

    /// Removes the current key's value.
    pub fn clear(&self) -> Result<(), StateError> {
        self.state.cells::<Stamped<V>, _>(clear_cell)
    }
}
