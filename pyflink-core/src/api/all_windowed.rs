//! `AllWindowedStream`: a non-keyed stream cut into windows (`window_all`). Its window operator
//! runs as a single instance, as in Flink.

use std::marker::PhantomData;
use std::time::Duration;

use crate::api::datastream::DataStream;
use crate::api::functions::OutputTag;
use crate::api::windowed::WindowedStream;
use crate::window::contents::{Aggregating, Listing, Reducing};
use crate::window::functions::{AllWindows, PassThrough, ProcessAllWindowFunction, TryAggregateFunction};
use crate::window::{Evictor, Trigger, WindowAssigner};
use crate::Data;

/// All records of a stream grouped into windows, evaluated by one operator instance.
pub struct AllWindowedStream<T: Data, A: WindowAssigner<T>, TR: Trigger<T, A::Window>> {
    pub(crate) inner: WindowedStream<T, (), A, TR>,
}

impl<T: Data, A: WindowAssigner<T>, TR: Trigger<T, A::Window>> AllWindowedStream<T, A, TR> {
    /// Fires windows with `trigger` instead of the assigner's default trigger.
    pub fn trigger<TR2: Trigger<T, A::Window>>(self, trigger: TR2) -> AllWindowedStream<T, A, TR2> {
        AllWindowedStream { inner: self.inner.trigger(trigger) }
    }

    /// Removes elements from windows when they fire.
    pub fn evictor(self, evictor: impl Evictor<T, A::Window>) -> Self {
        AllWindowedStream { inner: self.inner.evictor(evictor) }
    }

    /// Keeps event-time windows for `lateness` after their end.
    pub fn allowed_lateness(self, lateness: Duration) -> Self {
        AllWindowedStream { inner: self.inner.allowed_lateness(lateness) }
    }

    /// Sends elements too late for their windows to the side output `tag`.
    pub fn side_output_late_data(self, tag: &OutputTag<T>) -> Self {
        AllWindowedStream { inner: self.inner.side_output_late_data(tag) }
    }

    /// Folds each window's elements with `f`.
    pub fn reduce<F: FnMut(T, T) -> T + Clone + Send + Sync + 'static>(self, mut f: F) -> DataStream<T> {
        self.inner.build("AllWindow(Reduce)", Reducing(move |a, b| Ok(f(a, b))), PassThrough)
    }

    /// Aggregates each window's elements incrementally with `aggregate`.
    pub fn aggregate<AG: TryAggregateFunction<T>>(self, aggregate: AG) -> DataStream<AG::Output> {
        self.inner.build("AllWindow(Aggregate)", Aggregating(aggregate), PassThrough)
    }

    /// Aggregates each window incrementally, then passes the result to `function`.
    pub fn aggregate_with_process<AG, OUT, P>(self, aggregate: AG, function: P) -> DataStream<OUT>
    where
        AG: TryAggregateFunction<T>,
        OUT: Data,
        P: ProcessAllWindowFunction<AG::Output, OUT, A::Window>,
    {
        self.inner.build("AllWindow(Aggregate, Process)", Aggregating(aggregate), AllWindows(function))
    }

    /// Evaluates each window with all its elements.
    pub fn process<OUT: Data, P: ProcessAllWindowFunction<T, OUT, A::Window>>(self, function: P) -> DataStream<OUT> {
        self.inner.build("AllWindow(Process)", Listing(PhantomData), AllWindows(function))
    }

    /// Evaluates each window with `f(window, elements)`, emitting what it returns.
    pub fn apply<OUT, I, F>(self, mut f: F) -> DataStream<OUT>
    where
        OUT: Data,
        I: IntoIterator<Item = OUT>,
        F: FnMut(&A::Window, &[T]) -> I + Clone + Send + Sync + 'static,
    {
        self.inner.apply(move |_: &(), window: &A::Window, elements: &[T]| f(window, elements))
    }
}
