//! The timer service of a keyed operator instance: event-time and processing-time timers per key
//! and namespace, and the user-facing [`TimerService`] of keyed process functions.

use std::hash::Hash;

use pyflink_state::{KeyGroupAssigner, KeyGroupRange, KeyedStateBackend, KeyedStateSnapshot, StateError, StateSection};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::time::processing_time::ProcessingTimeService;
use crate::time::timer_queue::TimerQueue;
use crate::Key;

/// The snapshot section of event-time timers.
const EVENT_TIMERS: &str = "_timers/event";
/// The snapshot section of processing-time timers.
const PROCESSING_TIMERS: &str = "_timers/processing";

/// Both timer queues of an operator instance and the event time it has reached.
pub(crate) struct InternalTimerService<K, N> {
    pub(crate) event: TimerQueue<K, N>,
    pub(crate) processing: TimerQueue<K, N>,
    processing_time: ProcessingTimeService,
    watermark: i64,
}

impl<K: Hash + Eq + Clone, N: Hash + Eq + Clone> InternalTimerService<K, N> {
    pub(crate) fn new(processing_time: ProcessingTimeService) -> Self {
        InternalTimerService {
            event: TimerQueue::default(),
            processing: TimerQueue::default(),
            processing_time,
            watermark: i64::MIN,
        }
    }

    /// The operator's current event time: the last combined input watermark.
    #[inline]
    pub(crate) fn current_watermark(&self) -> i64 {
        self.watermark
    }

    /// The current processing time.
    pub(crate) fn current_processing_time(&self) -> i64 {
        self.processing_time.current_processing_time()
    }

    /// Advances event time; due event-time timers are then taken with `event.pop_due`.
    pub(crate) fn advance_watermark(&mut self, watermark: i64) {
        self.watermark = watermark;
    }

    #[inline]
    pub(crate) fn register_event_time_timer(&mut self, timestamp: i64, key: &K, namespace: &N) {
        self.event.register(timestamp, key, namespace);
    }

    pub(crate) fn register_processing_time_timer(&mut self, timestamp: i64, key: &K, namespace: &N) {
        if self.processing.register(timestamp, key, namespace) {
            self.processing_time.request_callback(timestamp);
        }
    }

    pub(crate) fn delete_event_time_timer(&mut self, timestamp: i64, key: &K, namespace: &N) {
        self.event.delete(timestamp, key, namespace);
    }

    pub(crate) fn delete_processing_time_timer(&mut self, timestamp: i64, key: &K, namespace: &N) {
        self.processing.delete(timestamp, key, namespace);
    }

    /// The timers as two key-grouped sections of a keyed snapshot (event and processing time).
    pub(crate) fn snapshot(&self, assigner: &KeyGroupAssigner) -> Result<[StateSection; 2], StateError>
    where
        K: Serialize,
        N: Serialize,
    {
        let section = |name: &str, queue: &TimerQueue<K, N>| -> Result<StateSection, StateError> {
            let mut timers: Vec<(usize, &(i64, K, N))> =
                queue.iter().map(|timer| (assigner.hash_key(&timer.1).group, timer)).collect();
            timers.sort_by_key(|(group, timer)| (*group, timer.0));
            let mut section = StateSection::raw(name);
            for (group, (timestamp, key, namespace)) in timers {
                section.add(group, key, &(*timestamp, namespace))?;
            }
            Ok(section)
        };
        Ok([section(EVENT_TIMERS, &self.event)?, section(PROCESSING_TIMERS, &self.processing)?])
    }

    /// Registers the timers of the key groups `range` in restored snapshots.
    pub(crate) fn restore(&mut self, snapshots: &[KeyedStateSnapshot], range: KeyGroupRange) -> Result<(), StateError>
    where
        K: DeserializeOwned,
        N: DeserializeOwned,
    {
        for snapshot in snapshots {
            if let Some(section) = snapshot.section(EVENT_TIMERS) {
                for (_, key, (timestamp, namespace)) in section.entries::<K, (i64, N)>(range)? {
                    self.event.register(timestamp, &key, &namespace);
                }
            }
            if let Some(section) = snapshot.section(PROCESSING_TIMERS) {
                for (_, key, (timestamp, namespace)) in section.entries::<K, (i64, N)>(range)? {
                    self.register_processing_time_timer(timestamp, &key, &namespace);
                }
            }
        }
        Ok(())
    }

    /// Asks for the next processing-time callback after due timers were taken.
    pub(crate) fn rearm_processing_time(&mut self) {
        if let Some(next) = self.processing.next_timestamp() {
            self.processing_time.request_callback(next);
        }
    }
}

/// Timers and time of a keyed function, scoped to the key of the record (or timer) being
/// processed, as Flink's `TimerService`.
///
/// Registering a timer that exists for the key and time again keeps one timer; a timer for a
/// time already passed fires at the next watermark (event time) or right away (processing time).
pub struct TimerService<'a, K: Key> {
    pub(crate) timers: &'a mut InternalTimerService<K, ()>,
    pub(crate) backend: &'a KeyedStateBackend<K>,
}

impl<K: Key> TimerService<'_, K> {
    /// The current processing time in milliseconds.
    pub fn current_processing_time(&self) -> i64 {
        self.timers.current_processing_time()
    }

    /// The current event time: the operator's last input watermark (`i64::MIN` before the first).
    pub fn current_watermark(&self) -> i64 {
        self.timers.current_watermark()
    }

    /// Calls `on_timer` for the current key when the watermark reaches `timestamp`.
    pub fn register_event_time_timer(&mut self, timestamp: i64) {
        let timers = &mut *self.timers;
        self.backend.with_current_key(|key| timers.register_event_time_timer(timestamp, key, &()));
    }

    /// Calls `on_timer` for the current key when processing time reaches `timestamp`.
    pub fn register_processing_time_timer(&mut self, timestamp: i64) {
        let timers = &mut *self.timers;
        self.backend.with_current_key(|key| timers.register_processing_time_timer(timestamp, key, &()));
    }

    /// Cancels the current key's event-time timer at `timestamp`, if there is one.
    pub fn delete_event_time_timer(&mut self, timestamp: i64) {
        let timers = &mut *self.timers;
        self.backend.with_current_key(|key| timers.delete_event_time_timer(timestamp, key, &()));
    }

    /// Cancels the current key's processing-time timer at `timestamp`, if there is one.
    pub fn delete_processing_time_timer(&mut self, timestamp: i64) {
        let timers = &mut *self.timers;
        self.backend.with_current_key(|key| timers.delete_processing_time_timer(timestamp, key, &()));
    }
}
