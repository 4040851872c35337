//! Operator state: state of a parallel operator instance that is not keyed, as Flink's
//! `OperatorStateStore`. A list state's elements are redistributed when the parallelism changes:
//! split round robin over the new instances (`get_list_state`), or given whole to every instance
//! (`get_union_list_state`).
//!
//! ```
//! use pyflink_state::{ListStateDescriptor, OperatorStateStore};
//!
//! let store = OperatorStateStore::default();
//! let offsets = store.get_list_state(&ListStateDescriptor::<u64>::new("offsets")).unwrap();
//! offsets.add(7);
//! offsets.add(9);
//! let snapshot = store.snapshot().unwrap();
//!
//! // Two new instances share the elements of the one old instance.
//! let first = OperatorStateStore::restore(&[snapshot.clone()], 0, 2).unwrap();
//! let second = OperatorStateStore::restore(&[snapshot], 1, 2).unwrap();
//! assert_eq!(first.get_list_state(&ListStateDescriptor::<u64>::new("offsets")).unwrap().get(), vec![7]);
//! assert_eq!(second.get_list_state(&ListStateDescriptor::<u64>::new("offsets")).unwrap().get(), vec![9]);
//! ```

use std::any::{type_name, Any};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{codec, ListStateDescriptor, StateError};

/// How a list's elements are redistributed on restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Distribution {
    /// Elements are split round robin over the new instances.
    Split,
    /// Every new instance gets every element.
    Union,
}

/// One list state in a snapshot: its elements, each encoded on its own so that lists can be
/// redistributed without knowing their type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ListSnapshot {
    name: String,
    distribution: Distribution,
    elements: Vec<Vec<u8>>,
}

/// Encoded elements of restored lists by name, with how they are distributed.
type RestoredLists = HashMap<String, (Distribution, Vec<Vec<u8>>)>;

/// A registered list: its elements behind a lock (operator state is touched rarely, mostly when
/// a function opens and when a checkpoint is taken), and how to encode them.
struct Registered {
    distribution: Distribution,
    value_type: &'static str,
    list: Arc<dyn Any + Send + Sync>,
    encode: Box<dyn Fn() -> Result<Vec<Vec<u8>>, StateError> + Send + Sync>,
}

/// The operator state of one operator instance.
#[derive(Default)]
pub struct OperatorStateStore {
    states: Mutex<Vec<(String, Registered)>>,
    /// Restored elements of lists not registered yet, kept in snapshots until they are.
    restored: Mutex<RestoredLists>,
}

impl std::fmt::Debug for OperatorStateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = lock(&self.states).iter().map(|(n, _)| n.clone()).collect();
        f.debug_struct("OperatorStateStore").field("states", &names).finish()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl OperatorStateStore {
    /// The list state `descriptor` names, split over instances on restore.
    pub fn get_list_state<V>(&self, descriptor: &ListStateDescriptor<V>) -> Result<OperatorListState<V>, StateError>
    where
        V: Clone + Send + Serialize + DeserializeOwned + 'static,
    {
        self.register(descriptor.name(), Distribution::Split)
    }

    /// The list state `descriptor` names, given whole to every instance on restore.
    pub fn get_union_list_state<V>(
        &self,
        descriptor: &ListStateDescriptor<V>,
    ) -> Result<OperatorListState<V>, StateError>
    where
        V: Clone + Send + Serialize + DeserializeOwned + 'static,
    {
        self.register(descriptor.name(), Distribution::Union)
    }

    fn register<V>(&self, name: &str, distribution: Distribution) -> Result<OperatorListState<V>, StateError>
    where
        V: Clone + Send + Serialize + DeserializeOwned + 'static,
    {
        let mut states = lock(&self.states);
        let requested = type_name::<V>();
        if let Some((_, existing)) = states.iter().find(|(n, _)| n == name) {
            let list = Arc::clone(&existing.list).downcast::<Mutex<Vec<V>>>();
            return match (existing.distribution == distribution, list) {
                (true, Ok(list)) => Ok(OperatorListState { list, _value: PhantomData }),
                _ => Err(StateError::TypeMismatch { name: name.to_string(), existing: existing.value_type, requested }),
            };
        }
        let mut elements = Vec::new();
        if let Some((_, restored)) = lock(&self.restored).remove(name) {
            for bytes in restored {
                elements.push(codec::decode::<V>(&bytes, name)?);
            }
        }
        let list = Arc::new(Mutex::new(elements));
        let encoded = Arc::clone(&list);
        let encode = Box::new(move || lock(&encoded).iter().map(|v| codec::encode(v)).collect());
        let registered = Registered { distribution, value_type: requested, list: list.clone(), encode };
        states.push((name.to_string(), registered));
        Ok(OperatorListState { list, _value: PhantomData })
    }

    /// The store's bytes for a checkpoint.
    pub fn snapshot(&self) -> Result<Vec<u8>, StateError> {
        let mut lists = Vec::new();
        for (name, state) in lock(&self.states).iter() {
            lists.push(ListSnapshot {
                name: name.clone(),
                distribution: state.distribution,
                elements: (state.encode)()?,
            });
        }
        for (name, (distribution, elements)) in lock(&self.restored).iter() {
            lists.push(ListSnapshot { name: name.clone(), distribution: *distribution, elements: elements.clone() });
        }
        codec::encode(&lists)
    }

    /// Whether the store holds no state at all.
    pub fn is_empty(&self) -> bool {
        lock(&self.states).is_empty() && lock(&self.restored).is_empty()
    }

    /// The store of instance `index` of `parallelism`, from the snapshots of all old instances
    /// (in instance order).
    pub fn restore(snapshots: &[Vec<u8>], index: usize, parallelism: usize) -> Result<Self, StateError> {
        let mut merged = RestoredLists::new();
        for bytes in snapshots {
            for list in codec::decode::<Vec<ListSnapshot>>(bytes, "operator state")? {
                let entry = merged.entry(list.name).or_insert((list.distribution, Vec::new()));
                entry.1.extend(list.elements);
            }
        }
        for (distribution, elements) in merged.values_mut() {
            if *distribution == Distribution::Split {
                let all = std::mem::take(elements);
                elements.extend(all.into_iter().enumerate().filter(|(i, _)| i % parallelism == index).map(|(_, e)| e));
            }
        }
        Ok(OperatorStateStore { states: Mutex::new(Vec::new()), restored: Mutex::new(merged) })
    }
}

/// A handle to one list of operator state. It can be kept in a function (it is `Send` and
/// `Sync`); every clone refers to the same list of this instance.
pub struct OperatorListState<V> {
    list: Arc<Mutex<Vec<V>>>,
    _value: PhantomData<fn() -> V>,
}

impl<V> Clone for OperatorListState<V> {
    fn clone(&self) -> Self {
        OperatorListState { list: Arc::clone(&self.list), _value: PhantomData }
    }
}

impl<V: Clone> OperatorListState<V> {
    /// The elements.
    pub fn get(&self) -> Vec<V> {
        lock(&self.list).clone()
    }

    /// Appends an element.
    pub fn add(&self, value: V) {
        lock(&self.list).push(value);
    }

    /// Replaces the elements.
    pub fn update(&self, values: Vec<V>) {
        *lock(&self.list) = values;
    }

    /// Removes every element.
    pub fn clear(&self) {
        lock(&self.list).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_lists_go_whole_to_every_instance_and_split_lists_are_shared_out() {
        let old: Vec<Vec<u8>> = (0..2)
            .map(|i| {
                let store = OperatorStateStore::default();
                let split = store.get_list_state(&ListStateDescriptor::<u32>::new("split")).unwrap();
                let union = store.get_union_list_state(&ListStateDescriptor::<u32>::new("union")).unwrap();
                split.update(vec![i * 10, i * 10 + 1]);
                union.add(i);
                store.snapshot().unwrap()
            })
            .collect();
        let mut all_split = Vec::new();
        for index in 0..3 {
            let store = OperatorStateStore::restore(&old, index, 3).unwrap();
            let union = store.get_union_list_state(&ListStateDescriptor::<u32>::new("union")).unwrap();
            assert_eq!(union.get(), vec![0, 1]);
            all_split.extend(store.get_list_state(&ListStateDescriptor::<u32>::new("split")).unwrap().get());
        }
        all_split.sort();
        assert_eq!(all_split, vec![0, 1, 10, 11], "every element exactly once");
    }

    #[test]
    fn unregistered_restored_lists_are_kept_and_kinds_are_checked() {
        let store = OperatorStateStore::default();
        store.get_list_state(&ListStateDescriptor::<u32>::new("a")).unwrap().add(5);
        let restored = OperatorStateStore::restore(&[store.snapshot().unwrap()], 0, 1).unwrap();
        let again = OperatorStateStore::restore(&[restored.snapshot().unwrap()], 0, 1).unwrap();
        assert_eq!(again.get_list_state(&ListStateDescriptor::<u32>::new("a")).unwrap().get(), vec![5]);
        assert!(again.get_union_list_state(&ListStateDescriptor::<u32>::new("a")).is_err());
        assert!(again.get_list_state(&ListStateDescriptor::<String>::new("a")).is_err());
    }
}
