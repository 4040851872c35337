//! The timers of a keyed operator instance: one queue per time domain, ordered by time.
//!
//! A timer is a (timestamp, key, namespace) triple; registering the same triple twice keeps one
//! timer (Flink's coalescing), and deleting it cancels it. Timers with equal timestamps fire in
//! the order they were registered.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;
use pyflink_state::key_group::StableBuildHasher;

/// Which clock a timer follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeDomain {
    /// The timer fires when the watermark reaches its timestamp.
    EventTime,
    /// The timer fires when the wall clock reaches its timestamp.
    ProcessingTime,
}

/// A queue entry: a timer and its registration order, ordered by (timestamp, order).
struct Queued<K, N> {
    timestamp: i64,
    order: u64,
    key: K,
    namespace: N,
}

impl<K, N> PartialEq for Queued<K, N> {
    fn eq(&self, other: &Self) -> bool {
        (self.timestamp, self.order) == (other.timestamp, other.order)
    }
}
impl<K, N> Eq for Queued<K, N> {}
impl<K, N> PartialOrd for Queued<K, N> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K, N> Ord for Queued<K, N> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.timestamp, self.order).cmp(&(other.timestamp, other.order))
    }
}

/// The timers of one time domain. Deleted timers stay in the heap until they reach its top and
/// are then skipped, so deletion costs one hash-table removal.
pub(crate) struct TimerQueue<K, N> {
    heap: BinaryHeap<Reverse<Queued<K, N>>>,
    registered: HashTable<(i64, K, N)>,
    next_order: u64,
}

impl<K, N> Default for TimerQueue<K, N> {
    fn default() -> Self {
        TimerQueue { heap: BinaryHeap::new(), registered: HashTable::new(), next_order: 0 }
    }
}

#[inline]
fn timer_hash<K: Hash, N: Hash>(timestamp: i64, key: &K, namespace: &N) -> u64 {
    StableBuildHasher.hash_one((timestamp, key, namespace))
}

impl<K: Hash + Eq + Clone, N: Hash + Eq + Clone> TimerQueue<K, N> {
    /// Registers a timer; returns false if the same timer was already registered.
    #[inline]
    pub(crate) fn register(&mut self, timestamp: i64, key: &K, namespace: &N) -> bool {
        let hash = timer_hash(timestamp, key, namespace);
        let eq = |e: &(i64, K, N)| e.0 == timestamp && e.1 == *key && e.2 == *namespace;
        if self.registered.find(hash, eq).is_some() {
            return false;
        }
        self.registered
            .insert_unique(hash, (timestamp, key.clone(), namespace.clone()), |e| timer_hash(e.0, &e.1, &e.2));
        let order = self.next_order;
        self.next_order += 1;
        self.heap.push(Reverse(Queued { timestamp, order, key: key.clone(), namespace: namespace.clone() }));
        true
    }

    /// Cancels a timer; returns whether it was registered.
    pub(crate) fn delete(&mut self, timestamp: i64, key: &K, namespace: &N) -> bool {
        let hash = timer_hash(timestamp, key, namespace);
        let eq = |e: &(i64, K, N)| e.0 == timestamp && e.1 == *key && e.2 == *namespace;
        match self.registered.find_entry(hash, eq) {
            Ok(entry) => {
                entry.remove();
                true
            }
            Err(_) => false,
        }
    }

    /// Removes and returns the earliest timer at or before `time`, if any.
    pub(crate) fn pop_due(&mut self, time: i64) -> Option<(i64, K, N)> {
        while let Some(Reverse(top)) = self.heap.peek() {
            if top.timestamp > time {
                return None;
            }
            let Reverse(timer) = self.heap.pop().expect("peeked");
            if self.delete(timer.timestamp, &timer.key, &timer.namespace) {
                return Some((timer.timestamp, timer.key, timer.namespace));
            }
        }
        None
    }

    /// The timestamp of the earliest registered timer.
    pub(crate) fn next_timestamp(&mut self) -> Option<i64> {
        while let Some(Reverse(top)) = self.heap.peek() {
            let hash = timer_hash(top.timestamp, &top.key, &top.namespace);
            let live = self
                .registered
                .find(hash, |e| e.0 == top.timestamp && e.1 == top.key && e.2 == top.namespace)
                .is_some();
            if live {
                return Some(top.timestamp);
            }
            self.heap.pop();
        }
        None
    }

    /// Every registered timer, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &(i64, K, N)> {
        self.registered.iter()
    }

    /// The number of registered timers.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.registered.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn coalesces_orders_and_deletes() {
        let mut q = TimerQueue::<&str, ()>::default();
        assert!(q.register(20, &"a", &()));
        assert!(q.register(10, &"b", &()));
        assert!(!q.register(20, &"a", &()), "the same timer is registered once");
        assert!(q.register(20, &"c", &()));
        assert_eq!(q.len(), 3);
        assert!(q.delete(10, &"b", &()));
        assert!(!q.delete(10, &"b", &()));
        assert_eq!(q.next_timestamp(), Some(20));
        assert_eq!(q.pop_due(19), None);
        assert_eq!(q.pop_due(25), Some((20, "a", ())));
        assert_eq!(q.pop_due(25), Some((20, "c", ())));
        assert_eq!(q.pop_due(i64::MAX), None);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn a_deleted_and_reregistered_timer_fires_once() {
        let mut q = TimerQueue::<u8, u8>::default();
        q.register(5, &1, &0);
        q.delete(5, &1, &0);
        q.register(5, &1, &0);
        assert_eq!(q.pop_due(5), Some((5, 1, 0)));
        assert_eq!(q.pop_due(5), None);
    }

    proptest! {
        /// Against a sorted set of live timers: every live timer fires once, in timestamp order.
        #[test]
        fn fires_live_timers_once_in_order(ops in proptest::collection::vec((any::<bool>(), 0i64..20, 0u8..4), 0..80)) {
            let mut q = TimerQueue::<u8, ()>::default();
            let mut oracle = std::collections::BTreeSet::new();
            for (register, ts, key) in ops {
                if register {
                    prop_assert_eq!(q.register(ts, &key, &()), oracle.insert((ts, key)));
                } else {
                    prop_assert_eq!(q.delete(ts, &key, &()), oracle.remove(&(ts, key)));
                }
            }
            let mut fired = Vec::new();
            while let Some((ts, key, ())) = q.pop_due(i64::MAX) {
                fired.push((ts, key));
            }
            let timestamps: Vec<i64> = fired.iter().map(|t| t.0).collect();
            let mut sorted_fired = fired.clone();
            sorted_fired.sort();
            prop_assert!(timestamps.windows(2).all(|w| w[0] <= w[1]));
            prop_assert_eq!(sorted_fired, oracle.into_iter().collect::<Vec<_>>());
        }
    }
}
