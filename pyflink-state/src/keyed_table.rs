//! A heap table of per-key values, stored by key group.

use std::collections::HashMap;
use std::hash::Hash;

use crate::{KeyGroupRange, StableBuildHasher};

/// Values by key, held in one hash map per key group of the owning instance's range, so that the
/// table can be split by key group when a job is restored at another parallelism.
///
/// ```
/// use pyflink_state::{KeyGroupRange, KeyedTable};
/// let mut table = KeyedTable::<&str, i64>::new(KeyGroupRange::new(0, 127));
/// *table.get_or_insert_with(5, "a", || 0) += 3;
/// assert_eq!(table.get(5, &"a"), Some(&3));
/// assert_eq!(table.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct KeyedTable<K, V> {
    range: KeyGroupRange,
    groups: Vec<HashMap<K, V, StableBuildHasher>>,
}

impl<K: Hash + Eq, V> KeyedTable<K, V> {
    /// An empty table for the key groups of `range`.
    pub fn new(range: KeyGroupRange) -> Self {
        KeyedTable { range, groups: (0..range.len()).map(|_| HashMap::default()).collect() }
    }

    /// The key groups this table holds.
    pub fn range(&self) -> KeyGroupRange {
        self.range
    }

    #[inline]
    fn group(&self, key_group: usize) -> &HashMap<K, V, StableBuildHasher> {
        debug_assert!(self.range.contains(key_group), "key group {key_group} outside {:?}", self.range);
        &self.groups[key_group - self.range.start]
    }

    #[inline]
    fn group_mut(&mut self, key_group: usize) -> &mut HashMap<K, V, StableBuildHasher> {
        debug_assert!(self.range.contains(key_group), "key group {key_group} outside {:?}", self.range);
        &mut self.groups[key_group - self.range.start]
    }

    /// The value of `key` in `key_group`, if any.
    #[inline]
    pub fn get(&self, key_group: usize, key: &K) -> Option<&V> {
        self.group(key_group).get(key)
    }

    /// The value of `key`, mutably, if any.
    #[inline]
    pub fn get_mut(&mut self, key_group: usize, key: &K) -> Option<&mut V> {
        self.group_mut(key_group).get_mut(key)
    }

    /// The value of `key`, inserting `make()` first if there is none.
    #[inline]
    pub fn get_or_insert_with(&mut self, key_group: usize, key: K, make: impl FnOnce() -> V) -> &mut V {
        self.group_mut(key_group).entry(key).or_insert_with(make)
    }

    /// Sets the value of `key`, returning the previous one.
    #[inline]
    pub fn insert(&mut self, key_group: usize, key: K, value: V) -> Option<V> {
        self.group_mut(key_group).insert(key, value)
    }

    /// Removes the value of `key`, returning it.
    #[inline]
    pub fn remove(&mut self, key_group: usize, key: &K) -> Option<V> {
        self.group_mut(key_group).remove(key)
    }

    /// The number of keys with a value.
    pub fn len(&self) -> usize {
        self.groups.iter().map(HashMap::len).sum()
    }

    /// Whether no key has a value.
    pub fn is_empty(&self) -> bool {
        self.groups.iter().all(HashMap::is_empty)
    }

    /// Every `(key_group, key, value)`, group by group.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &K, &V)> {
        let start = self.range.start;
        self.groups
            .iter()
            .enumerate()
            .flat_map(move |(offset, map)| map.iter().map(move |(k, v)| (start + offset, k, v)))
    }
}
