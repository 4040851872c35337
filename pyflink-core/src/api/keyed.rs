//! `KeyedStream<T, K>`: a stream partitioned by key, with keyed aggregations and keyed process
//! functions.

use std::ops::Add;

use crate::api::datastream::DataStream;
use crate::api::functions::KeyedProcessFunction;
use crate::api::windowed::WindowedStream;
use crate::operators::keyed_process::KeyedProcessOperator;
use crate::operators::keyed_reduce::{KeySelector, KeyedReduceOperator};
use crate::window::{CountEvictor, CountTrigger, GlobalWindows, PurgingTrigger, WindowAssigner};
use crate::{Data, Key};

/// A stream partitioned by the key of each record.
///
/// Aggregations take the aggregated field as an accessor closure, for example `|t| &mut t.1`. Keyed operators see all records of a key on
/// one instance, and their state is scoped to the record's key.
pub struct KeyedStream<T: Data, K: Key> {
    stream: DataStream<T>,
    key: KeySelector<T, K>,
}

impl<T: Data, K: Key> Clone for KeyedStream<T, K> {
    fn clone(&self) -> Self {
        KeyedStream { stream: self.stream.clone(), key: self.key.clone() }
    }
}

impl<T: Data, K: Key> KeyedStream<T, K> {
    pub(crate) fn new(stream: DataStream<T>, key: KeySelector<T, K>) -> Self {
        KeyedStream { stream, key }
    }

    /// The partitioned stream and the key selector.
    pub(crate) fn parts(&self) -> (&DataStream<T>, &KeySelector<T, K>) {
        (&self.stream, &self.key)
    }

    /// Combines each record with the key's previous result: in streaming mode every record
    /// emits the key's new result, in batch mode each key's final result is emitted at the end.
    ///
    /// ```
    /// # use pyflink_core::StreamExecutionEnvironment;
    /// let env = StreamExecutionEnvironment::get_execution_environment();
    /// let words = env.from_collection(vec![("a".to_string(), 1i64), ("b".into(), 1), ("a".into(), 1)]);
    /// let counts = words.key_by(|w| w.0.clone()).reduce(|a, b| (a.0, a.1 + b.1));
    /// let mut out: Vec<_> = counts.execute_and_collect().unwrap().map(Result::unwrap).collect();
    /// out.sort();
    /// assert_eq!(out, vec![("a".to_string(), 1), ("a".to_string(), 2), ("b".to_string(), 1)]);
    /// ```
    pub fn reduce<F: FnMut(T, T) -> T + Clone + Send + Sync + 'static>(&self, f: F) -> DataStream<T> {
        let key = self.key.clone();
        self.stream.add_operator("Keyed Reduce", move || KeyedReduceOperator::new(key.clone(), f.clone()))
    }

    /// The running sum of `field` per key; other fields keep the key's first record's values.
    pub fn sum<N, F>(&self, field: F) -> DataStream<T>
    where
        N: Add<Output = N> + Copy + 'static,
        F: Fn(&mut T) -> &mut N + Clone + Send + Sync + 'static,
    {
        self.aggregate("Keyed Sum", move |mut acc: T, mut next: T| {
            let added = *field(&mut next);
            let slot = field(&mut acc);
            *slot = *slot + added;
            acc
        })
    }

    /// The running minimum of `field` per key; other fields keep the first record's values.
    pub fn min<N, F>(&self, field: F) -> DataStream<T>
    where
        N: PartialOrd + Copy + 'static,
        F: Fn(&mut T) -> &mut N + Clone + Send + Sync + 'static,
    {
        self.aggregate("Keyed Min", move |mut acc: T, mut next: T| {
            let candidate = *field(&mut next);
            let slot = field(&mut acc);
            if candidate < *slot {
                *slot = candidate;
            }
            acc
        })
    }

    /// The running maximum of `field` per key; other fields keep the first record's values.
    pub fn max<N, F>(&self, field: F) -> DataStream<T>
    where
        N: PartialOrd + Copy + 'static,
        F: Fn(&mut T) -> &mut N + Clone + Send + Sync + 'static,
    {
        self.aggregate("Keyed Max", move |mut acc: T, mut next: T| {
            let candidate = *field(&mut next);
            let slot = field(&mut acc);
            if candidate > *slot {
                *slot = candidate;
            }
            acc
        })
    }

    /// The record with the smallest `field` per key so far (the first one among equals).
    pub fn min_by<N, F>(&self, field: F) -> DataStream<T>
    where
        N: PartialOrd + Copy + 'static,
        F: Fn(&mut T) -> &mut N + Clone + Send + Sync + 'static,
    {
        self.aggregate(
            "Keyed MinBy",
            move |mut acc: T, mut next: T| if *field(&mut next) < *field(&mut acc) { next } else { acc },
        )
    }

    /// The record with the largest `field` per key so far (the first one among equals).
    pub fn max_by<N, F>(&self, field: F) -> DataStream<T>
    where
        N: PartialOrd + Copy + 'static,
        F: Fn(&mut T) -> &mut N + Clone + Send + Sync + 'static,
    {
        self.aggregate(
            "Keyed MaxBy",
            move |mut acc: T, mut next: T| if *field(&mut next) > *field(&mut acc) { next } else { acc },
        )
    }

    fn aggregate<F: FnMut(T, T) -> T + Clone + Send + Sync + 'static>(&self, name: &str, f: F) -> DataStream<T> {
        let key = self.key.clone();
        self.stream.add_operator(name, move || KeyedReduceOperator::new(key.clone(), f.clone()))
    }

    /// The key selector.
    pub(crate) fn key_selector(&self) -> KeySelector<T, K> {
        self.key.clone()
    }

    /// The stream partitioned by key.
    pub(crate) fn stream(&self) -> &DataStream<T> {
        &self.stream
    }

    /// Runs a [`KeyedProcessFunction`] with keyed state on every record.
    pub fn process<O: Data, F: KeyedProcessFunction<K, T, O>>(&self, function: F) -> DataStream<O> {
        let key = self.key.clone();
        self.stream.add_operator("KeyedProcess", move || KeyedProcessOperator::new(key.clone(), function.clone()))
    }

    /// Groups each key's records into the windows `assigner` gives them.
    pub fn window<A: WindowAssigner<T>>(&self, assigner: A) -> WindowedStream<T, K, A, A::DefaultTrigger> {
        WindowedStream::new(self.stream.clone(), self.key.clone(), assigner)
    }

    /// Tumbling count windows: each key's records in groups of `size`, evaluated when a group is
    /// full (global windows, a count trigger, purged on firing).
    pub fn count_window(&self, size: u64) -> WindowedStream<T, K, GlobalWindows, PurgingTrigger<CountTrigger>> {
        let mut windowed = self.window(GlobalWindows::create()).trigger(PurgingTrigger::of(CountTrigger::of(size)));
        if size == 0 {
            windowed.invalid = Some("count windows need a size above 0".into());
        }
        windowed
    }

    /// Sliding count windows: every `slide` records of a key, the last `size` of them.
    pub fn count_window_sliding(&self, size: u64, slide: u64) -> WindowedStream<T, K, GlobalWindows, CountTrigger> {
        let mut windowed = self
            .window(GlobalWindows::create())
            .evictor(CountEvictor::of(size as usize))
            .trigger(CountTrigger::of(slide));
        if size == 0 || slide == 0 {
            windowed.invalid = Some(format!("count windows need a size and slide above 0, not {size} and {slide}"));
        }
        windowed
    }

    /// Applies `f` to every record, after partitioning by key.
    pub fn map<O: Data, F: FnMut(T) -> O + Clone + Send + Sync + 'static>(&self, f: F) -> DataStream<O> {
        self.stream.map(f)
    }

    /// Flat-maps every record, after partitioning by key.
    pub fn flat_map<O: Data, I, F>(&self, f: F) -> DataStream<O>
    where
        I: IntoIterator<Item = O>,
        F: FnMut(T) -> I + Clone + Send + Sync + 'static,
    {
        self.stream.flat_map(f)
    }

    /// Keeps the records for which `f` is true, after partitioning by key.
    pub fn filter<F: FnMut(&T) -> bool + Clone + Send + Sync + 'static>(&self, f: F) -> DataStream<T> {
        self.stream.filter(f)
    }
}
