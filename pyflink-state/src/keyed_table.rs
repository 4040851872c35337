//! A heap table of per-key values, stored by key group.

use std::sync::Arc;

use hashbrown::HashTable;
use serde::Serialize;

use crate::key_group::{stable_hash, KeyHash};
use crate::KeyGroupRange;

/// The hash a group's table uses for its buckets. The key group is taken from the low bits of
/// the stable hash, so every key of one group shares them; the table must not pick buckets from
/// those bits, or all keys of a group would collide.
#[inline]
fn bucket_hash(hash: u64) -> u64 {
    hash.rotate_left(32)
}

/// Values by key, held in one hash table per key group of the owning instance's range, so that
/// the table can be split by key group when a job is restored at another parallelism.
///
/// Lookups take the key's [`KeyHash`], computed once per record by the caller.
///
/// Cloning a table is cheap and is how a checkpoint freezes it: the clone shares every group's
/// hash table, and whichever side writes to a shared group first copies that group alone (copy
/// on write, by key group). The task goes on processing at once, and the frozen clone can be
/// encoded on another thread.
///
/// ```
/// use pyflink_state::key_group::KeyGroupAssigner;
/// use pyflink_state::{KeyGroupRange, KeyedTable};
/// let assigner = KeyGroupAssigner::new(128);
/// let mut table = KeyedTable::<&str, i64>::new(KeyGroupRange::new(0, 127));
/// let at = assigner.hash_key(&"a");
/// *table.get_or_insert_with(at, "a", || 0) += 3;
/// assert_eq!(table.get(at, &"a"), Some(&3));
/// assert_eq!(table.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct KeyedTable<K, V> {
    range: KeyGroupRange,
    groups: Vec<Arc<HashTable<(K, V)>>>,
}

impl<K: Serialize + Eq + Clone, V: Clone> KeyedTable<K, V> {
    /// An empty table for the key groups of `range`.
    pub fn new(range: KeyGroupRange) -> Self {
        KeyedTable { range, groups: (0..range.len()).map(|_| Arc::new(HashTable::new())).collect() }
    }

    /// The key groups this table holds.
    pub fn range(&self) -> KeyGroupRange {
        self.range
    }

    #[inline]
    fn group(&self, key_group: usize) -> &HashTable<(K, V)> {
        debug_assert!(self.range.contains(key_group), "key group {key_group} outside {:?}", self.range);
        &self.groups[key_group - self.range.start]
    }

    /// The table of `key_group`, for writing: copied first if a frozen clone still shares it.
    #[inline]
    fn group_mut(&mut self, key_group: usize) -> &mut HashTable<(K, V)> {
        debug_assert!(self.range.contains(key_group), "key group {key_group} outside {:?}", self.range);
        Arc::make_mut(&mut self.groups[key_group - self.range.start])
    }

    /// The value of `key`, if any.
    #[inline]
    pub fn get(&self, at: KeyHash, key: &K) -> Option<&V> {
        self.group(at.group).find(bucket_hash(at.hash), |(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value of `key`, mutably, if any.
    #[inline]
    pub fn get_mut(&mut self, at: KeyHash, key: &K) -> Option<&mut V> {
        self.group_mut(at.group).find_mut(bucket_hash(at.hash), |(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value of `key`, inserting `make()` first if there is none.
    #[inline]
    pub fn get_or_insert_with(&mut self, at: KeyHash, key: K, make: impl FnOnce() -> V) -> &mut V {
        let entry = self.group_mut(at.group).entry(
            bucket_hash(at.hash),
            |(k, _)| *k == key,
            |(k, _)| bucket_hash(stable_hash(k)),
        );
        &mut entry.or_insert_with(|| (key, make())).into_mut().1
    }

    /// The value of `key`, inserting a copy of `key` with `make()` first if there is none: one
    /// probe of the table, and the key is cloned only when it is new.
    #[inline]
    pub fn get_or_insert_cloned(&mut self, at: KeyHash, key: &K, make: impl FnOnce() -> V) -> &mut V
    where
        K: Clone,
    {
        let entry = self.group_mut(at.group).entry(
            bucket_hash(at.hash),
            |(k, _)| k == key,
            |(k, _)| bucket_hash(stable_hash(k)),
        );
        &mut entry.or_insert_with(|| (key.clone(), make())).into_mut().1
    }

    /// Sets the value of `key`, returning the previous one.
    #[inline]
    pub fn insert(&mut self, at: KeyHash, key: K, value: V) -> Option<V> {
        match self.get_mut(at, &key) {
            Some(slot) => Some(std::mem::replace(slot, value)),
            None => {
                self.group_mut(at.group)
                    .insert_unique(bucket_hash(at.hash), (key, value), |(k, _)| bucket_hash(stable_hash(k)));
                None
            }
        }
    }

    /// Removes the value of `key`, returning it.
    #[inline]
    pub fn remove(&mut self, at: KeyHash, key: &K) -> Option<V> {
        // Removing a missing key must not copy a shared group.
        self.get(at, key)?;
        match self.group_mut(at.group).find_entry(bucket_hash(at.hash), |(k, _)| k == key) {
            Ok(entry) => Some(entry.remove().0 .1),
            Err(_) => None,
        }
    }

    /// The number of keys with a value.
    pub fn len(&self) -> usize {
        self.groups.iter().map(|group| group.len()).sum()
    }

    /// Whether no key has a value.
    pub fn is_empty(&self) -> bool {
        self.groups.iter().all(|group| group.is_empty())
    }

    /// The number of keys in `key_group`.
    pub fn group_len(&self, key_group: usize) -> usize {
        self.group(key_group).len()
    }

    /// Every `(key, value)` of `key_group`.
    pub fn iter_group(&self, key_group: usize) -> impl Iterator<Item = (&K, &V)> {
        self.group(key_group).iter().map(|(k, v)| (k, v))
    }

    /// Keeps only the entries of `key_group` for which `keep` returns true.
    pub fn retain_in_group(&mut self, key_group: usize, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.group_mut(key_group).retain(|(k, v)| keep(k, v));
    }

    /// Every `(key_group, key, value)`, group by group.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &K, &V)> {
        let start = self.range.start;
        self.groups
            .iter()
            .enumerate()
            .flat_map(move |(offset, table)| table.iter().map(move |(k, v)| (start + offset, k, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_group::KeyGroupAssigner;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        #[test]
        fn behaves_like_a_map(ops in proptest::collection::vec((0u8..5, 0u16..300, any::<i32>()), 0..400)) {
            let assigner = KeyGroupAssigner::new(128);
            let mut table = KeyedTable::<u16, i32>::new(KeyGroupRange::new(0, 127));
            let mut oracle = HashMap::new();
            // Clones taken along the way, as checkpoints take them, with what they held then.
            let mut frozen = Vec::new();
            for (op, key, value) in ops {
                let at = assigner.hash_key(&key);
                match op {
                    4 => frozen.push((table.clone(), oracle.clone())),
                    0 => prop_assert_eq!(table.insert(at, key, value), oracle.insert(key, value)),
                    1 => prop_assert_eq!(table.remove(at, &key), oracle.remove(&key)),
                    2 => {
                        *table.get_or_insert_with(at, key, || 0) += 1;
                        *oracle.entry(key).or_insert(0) += 1;
                    }
                    _ => {
                        *table.get_or_insert_cloned(at, &key, || 7) -= 1;
                        *oracle.entry(key).or_insert(7) -= 1;
                    }
                }
                prop_assert_eq!(table.get(at, &key), oracle.get(&key));
                prop_assert_eq!(table.len(), oracle.len());
            }
            frozen.push((table, oracle));
            for (table, oracle) in &frozen {
                prop_assert_eq!(table.len(), oracle.len());
                for (group, key, value) in table.iter() {
                    prop_assert_eq!(group, assigner.hash_key(key).group);
                    prop_assert_eq!(Some(value), oracle.get(key));
                }
            }
        }
    }

    #[test]
    fn a_write_after_a_clone_copies_only_its_own_group() {
        let assigner = KeyGroupAssigner::new(8);
        let mut table = KeyedTable::<u32, u32>::new(KeyGroupRange::new(0, 7));
        for key in 0..100 {
            table.insert(assigner.hash_key(&key), key, key);
        }
        let frozen = table.clone();
        let at = assigner.hash_key(&5);
        *table.get_mut(at, &5).unwrap() += 1;
        table.remove(assigner.hash_key(&1000), &1000);
        let copied: Vec<usize> =
            (0..8).filter(|&group| !Arc::ptr_eq(&table.groups[group], &frozen.groups[group])).collect();
        assert_eq!(copied, vec![at.group], "only the written group is copied; removing a missing key copies none");
        assert_eq!(frozen.get(at, &5), Some(&5));
        assert_eq!(table.get(at, &5), Some(&6));
    }
}
