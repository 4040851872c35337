//! `WindowedStream`: a keyed stream cut into windows, and the functions that evaluate them.
//!
//! ```
//! use std::time::Duration;
//! use pyflink_core::time::WatermarkStrategy;
//! use pyflink_core::window::TumblingEventTimeWindows;
//! use pyflink_core::StreamExecutionEnvironment;
//!
//! let env = StreamExecutionEnvironment::get_execution_environment();
//! let clicks = env
//!     .from_collection(vec![("a".to_string(), 1i64), ("a".into(), 4), ("b".into(), 6), ("a".into(), 7)])
//!     .assign_timestamps_and_watermarks(
//!         WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|e: &(String, i64), _| e.1),
//!     );
//! let counts = clicks
//!     .map(|(user, _)| (user, 1i64))
//!     .key_by(|(user, _)| user.clone())
//!     .window(TumblingEventTimeWindows::of(Duration::from_millis(5)))
//!     .reduce(|a, b| (a.0, a.1 + b.1));
//! let mut out: Vec<_> = counts.execute_and_collect().unwrap().map(Result::unwrap).collect();
//! out.sort();
//! assert_eq!(out, vec![("a".to_string(), 1), ("a".into(), 2), ("b".into(), 1)]);
//! ```

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::api::datastream::DataStream;
use crate::api::functions::OutputTag;
use crate::operators::keyed_reduce::KeySelector;
use crate::time::duration_millis;
use crate::window::contents::{Aggregating, Evicting, Listing, Reducing, WindowContents};
use crate::window::functions::{Apply, PassThrough, ProcessWindowFunction, TryAggregateFunction};
use crate::window::operator::{WindowOperator, WindowSpec};
use crate::window::{Evictor, Trigger, WindowAssigner};
use crate::{Data, Key, Result};

/// A keyed stream whose records are grouped into windows by a [`WindowAssigner`], fired by a
/// [`Trigger`], and evaluated by a window function (`reduce`, `aggregate`, `process`, `apply`).
pub struct WindowedStream<T: Data, K: Key, A: WindowAssigner<T>, TR: Trigger<T, A::Window>> {
    pub(crate) stream: DataStream<T>,
    pub(crate) spec: WindowSpec<T, K, A, TR>,
    pub(crate) evictor: Option<Arc<dyn Evictor<T, A::Window>>>,
    /// Whether the window operator runs as a single instance (`window_all`).
    pub(crate) non_parallel: bool,
    /// A parameter problem, reported when the job is planned.
    pub(crate) invalid: Option<String>,
}

impl<T: Data, K: Key, A: WindowAssigner<T>> WindowedStream<T, K, A, A::DefaultTrigger> {
    pub(crate) fn new(stream: DataStream<T>, key: KeySelector<T, K>, assigner: A) -> Self {
        let invalid = assigner.validate().err();
        let trigger = assigner.default_trigger();
        WindowedStream {
            stream,
            spec: WindowSpec { key, assigner, trigger, allowed_lateness: 0, late_tag: None },
            evictor: None,
            non_parallel: false,
            invalid,
        }
    }
}

impl<T: Data, K: Key, A: WindowAssigner<T>, TR: Trigger<T, A::Window>> WindowedStream<T, K, A, TR> {
    /// Fires windows with `trigger` instead of the assigner's default trigger.
    pub fn trigger<TR2: Trigger<T, A::Window>>(self, trigger: TR2) -> WindowedStream<T, K, A, TR2> {
        let mut invalid = self.invalid;
        if self.spec.assigner.is_merging() && !trigger.can_merge() {
            invalid.get_or_insert_with(|| "the trigger cannot be used with merging (session) windows".into());
        }
        let WindowSpec { key, assigner, allowed_lateness, late_tag, .. } = self.spec;
        WindowedStream {
            stream: self.stream,
            spec: WindowSpec { key, assigner, trigger, allowed_lateness, late_tag },
            evictor: self.evictor,
            non_parallel: self.non_parallel,
            invalid,
        }
    }

    /// Removes elements from windows when they fire; windows then keep all their elements.
    pub fn evictor(mut self, evictor: impl Evictor<T, A::Window>) -> Self {
        self.evictor = Some(Arc::new(evictor));
        self
    }

    /// Keeps event-time windows for `lateness` after their end: late elements within it update
    /// the window and fire it again. Later elements are dropped or sent to the late-data side
    /// output.
    pub fn allowed_lateness(mut self, lateness: Duration) -> Self {
        self.spec.allowed_lateness = duration_millis(lateness);
        self
    }

    /// Sends elements that arrive after their windows were removed to the side output `tag`;
    /// read it with `get_side_output(&tag)` on the windowed result.
    pub fn side_output_late_data(mut self, tag: &OutputTag<T>) -> Self {
        self.spec.late_tag = Some(tag.id().to_string());
        self
    }

    /// Folds each window's elements with `f`, incrementally, and emits the result per window.
    pub fn reduce<F: FnMut(T, T) -> T + Clone + Send + Sync + 'static>(self, mut f: F) -> DataStream<T> {
        self.build("Window(Reduce)", Reducing(move |a, b| Ok(f(a, b))), PassThrough)
    }

    /// Folds each window's elements with the fallible `f`; an error fails the task.
    pub fn try_reduce<F: FnMut(T, T) -> Result<T> + Clone + Send + Sync + 'static>(self, f: F) -> DataStream<T> {
        self.build("Window(Reduce)", Reducing(f), PassThrough)
    }

    /// Folds each window's elements with `f` and passes the result to `function`, which sees the
    /// window and key.
    pub fn reduce_with_process<OUT, F, P>(self, f: F, function: P) -> DataStream<OUT>
    where
        OUT: Data,
        F: FnMut(T, T) -> T + Clone + Send + Sync + 'static,
        P: ProcessWindowFunction<T, OUT, K, A::Window>,
    {
        let mut f = f;
        self.build("Window(Reduce, Process)", Reducing(move |a, b| Ok(f(a, b))), function)
    }

    /// Folds each window's elements with the fallible `f` and passes the result to
    /// `function`; an error of either fails the task.
    pub fn try_reduce_with_process<OUT, F, P>(self, f: F, function: P) -> DataStream<OUT>
    where
        OUT: Data,
        F: FnMut(T, T) -> Result<T> + Clone + Send + Sync + 'static,
        P: ProcessWindowFunction<T, OUT, K, A::Window>,
    {
        self.build("Window(Reduce, Process)", Reducing(f), function)
    }

    /// Aggregates each window's elements incrementally with `aggregate` (an
    /// [`AggregateFunction`](crate::window::AggregateFunction), or a [`TryAggregateFunction`]
    /// whose errors fail the task).
    pub fn aggregate<AG: TryAggregateFunction<T>>(self, aggregate: AG) -> DataStream<AG::Output> {
        self.build("Window(Aggregate)", Aggregating(aggregate), PassThrough)
    }

    /// Aggregates each window incrementally, then passes the result to `function`.
    pub fn aggregate_with_process<AG, OUT, P>(self, aggregate: AG, function: P) -> DataStream<OUT>
    where
        AG: TryAggregateFunction<T>,
        OUT: Data,
        P: ProcessWindowFunction<AG::Output, OUT, K, A::Window>,
    {
        self.build("Window(Aggregate, Process)", Aggregating(aggregate), function)
    }

    /// Evaluates each window with all its elements.
    pub fn process<OUT: Data, P: ProcessWindowFunction<T, OUT, K, A::Window>>(self, function: P) -> DataStream<OUT> {
        self.build("Window(Process)", Listing(PhantomData), function)
    }

    /// Evaluates each window with `f(key, window, elements)`, emitting what it returns (Flink's
    /// `WindowFunction`).
    pub fn apply<OUT, I, F>(self, f: F) -> DataStream<OUT>
    where
        OUT: Data,
        I: IntoIterator<Item = OUT>,
        F: FnMut(&K, &A::Window, &[T]) -> I + Clone + Send + Sync + 'static,
    {
        self.build("Window(Apply)", Listing(PhantomData), Apply(f))
    }

    /// Adds the window operator with `contents` (wrapped for the evictor, if any) and `function`.
    pub(crate) fn build<C, P, OUT>(self, name: &str, contents: C, function: P) -> DataStream<OUT>
    where
        C: WindowContents<T, A::Window> + Clone + Send + Sync,
        P: ProcessWindowFunction<C::Result, OUT, K, A::Window>,
        OUT: Data,
    {
        let spec = self.spec;
        let result = match self.evictor {
            Some(evictor) => self.stream.add_operator(name, move || {
                let evicting = Evicting { inner: contents.clone(), evictor: Arc::clone(&evictor) };
                WindowOperator::new(spec.clone(), evicting, function.clone())
            }),
            None => self
                .stream
                .add_operator(name, move || WindowOperator::new(spec.clone(), contents.clone(), function.clone())),
        };
        let env = result.get_execution_environment().clone();
        let (invalid, non_parallel) = (self.invalid, self.non_parallel);
        env.update_node(result.node_id(), |node| {
            node.invalid = invalid;
            if non_parallel {
                node.parallelism = Some(1);
                node.max_node_parallelism = Some(1);
            }
        });
        result
    }
}
