//! `ListState`: a list of values per key, as Flink's `ListState<T>`. With a time-to-live, every
//! element expires on its own.

use std::marker::PhantomData;

use crate::cells::CellAccess;
use crate::state::{clear_cell, write_stamp, DescriptorBase, StateRef};
use crate::ttl::{Stamped, StateTtlConfig};
use crate::StateError;

/// Describes a list state: its name, element type and time-to-live.
#[derive(Debug, Clone)]
pub struct ListStateDescriptor<V> {
    pub(crate) base: DescriptorBase,
    _value: PhantomData<fn() -> V>,
}

impl<V> ListStateDescriptor<V> {
    /// A descriptor for the state called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        ListStateDescriptor { base: DescriptorBase::new(name.into()), _value: PhantomData }
    }

    /// The state's name.
    pub fn name(&self) -> &str {
        &self.base.name
    }

    /// Lets elements expire as `config` says.
    pub fn enable_time_to_live(&mut self, config: StateTtlConfig) -> &mut Self {
        self.base.enable_ttl(config);
        self
    }
}

/// A handle to one list per key.
///
/// ```
/// use pyflink_state::{KeyGroupRange, KeyedStateBackend, ListStateDescriptor};
///
/// let mut backend = KeyedStateBackend::<String>::new(KeyGroupRange::new(0, 127), 128);
/// let seen = backend.get_list_state(&ListStateDescriptor::<u32>::new("seen")).unwrap();
/// backend.set_current_key("k".to_string());
/// backend.enter(|| {
///     seen.add(1).unwrap();
///     seen.add_all(vec![2, 3]).unwrap();
///     assert_eq!(seen.get().unwrap(), vec![1, 2, 3]);
///     seen.update(vec![9]).unwrap();
///     assert_eq!(seen.get().unwrap(), vec![9]);
/// });
/// ```
pub struct ListState<V> {
    pub(crate) state: StateRef,
    _value: PhantomData<fn() -> V>,
}

impl<V> Clone for ListState<V> {
    fn clone(&self) -> Self {
        ListState { state: self.state.clone(), _value: PhantomData }
    }
}

impl<V: Clone + 'static> ListState<V> {
    pub(crate) fn new(state: StateRef) -> Self {
        ListState { state, _value: PhantomData }
    }

    /// The current key's elements in insertion order (empty if none).
    pub fn get(&self) -> Result<Vec<V>, StateError> {
        self.state.cells::<Vec<Stamped<V>>, _>(|cells| read_list(cells))
    }

    /// Appends `value` to the current key's list.
    pub fn add(&self, value: V) -> Result<(), StateError> {
        self.add_all(vec![value])
    }

    /// Appends `values` to the current key's list.
    pub fn add_all(&self, values: Vec<V>) -> Result<(), StateError> {
        if values.is_empty() {
            return Ok(());
        }
        self.state.cells::<Vec<Stamped<V>>, _>(|cells| {
            let stamp = write_stamp(cells);
            let mut values = Some(values);
            cells.modify(&mut |cell| {
                let list = cell.get_or_insert_with(Vec::new);
                list.extend(values.take().into_iter().flatten().map(|value| Stamped { stamp, value }));
            })
        })
    }

    /// Replaces the current key's list with `values` (an empty list clears it).
    pub fn update(&self, values: Vec<V>) -> Result<(), StateError> {
        self.state.cells::<Vec<Stamped<V>>, _>(|cells| {
            let stamp = write_stamp(cells);
            let mut values = Some(values);
            cells.modify(&mut |cell| {
                let list: Vec<_> = values.take().into_iter().flatten().map(|value| Stamped { stamp, value }).collect();
                *cell = (!list.is_empty()).then_some(list);
            })
        })
    }

    /// Removes the current key's list.
    pub fn clear(&self) -> Result<(), StateError> {
        self.state.cells::<Vec<Stamped<V>>, _>(clear_cell)
    }
}

/// The live elements of the current key's list; expired elements are dropped from the state,
/// and the returned ones renewed if reads renew.
fn read_list<V: Clone + 'static>(cells: &dyn CellAccess<Vec<Stamped<V>>>) -> Result<Vec<V>, StateError> {
    let mut out = Vec::new();
    let Some(ttl) = cells.ttl() else {
        cells.read(&mut |cell| out.extend(cell.into_iter().flatten().map(|s| s.value.clone())))?;
        return Ok(out);
    };
    let (config, now) = (&ttl.config, ttl.now());
    let mut expired = 0;
    cells.read(&mut |cell| {
        for element in cell.into_iter().flatten() {
            if config.is_expired(element.stamp, now) {
                expired += 1;
                if config.returns_expired() {
                    out.push(element.value.clone());
                }
            } else {
                out.push(element.value.clone());
            }
        }
    })?;
    if expired > 0 || (!out.is_empty() && config.renews_on_read()) {
        let renew = config.renews_on_read();
        cells.modify(&mut |cell| {
            if let Some(list) = cell {
                list.retain(|e| !config.is_expired(e.stamp, now));
                if renew {
                    list.iter_mut().for_each(|e| e.stamp = now);
                }
                if list.is_empty() {
                    *cell = None;
                }
            }
        })?;
    }
    Ok(out)
}
