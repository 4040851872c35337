//! `AggregatingState`: one accumulator per key that every added value updates through an
//! [`AggregateFunction`], read as the function's result, as Flink's `AggregatingState<IN, OUT>`.

use std::marker::PhantomData;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::cells::CellAccess;
use crate::state::{clear_cell, fold_stamped, read_stamped, DescriptorBase, StateRef};
use crate::ttl::{Stamped, StateTtlConfig};
use crate::StateError;

/// Incremental aggregation, as Flink's `AggregateFunction`: values are added one by one to an
/// accumulator, which gives the result. Used by `AggregatingState` and window `aggregate`.
///
/// ```
/// use pyflink_state::AggregateFunction;
///
/// /// The average of i64 values.
/// #[derive(Clone)]
/// struct Average;
/// impl AggregateFunction<i64> for Average {
///     type Accumulator = (i64, u64);
///     type Output = f64;
///     fn create_accumulator(&self) -> (i64, u64) { (0, 0) }
///     fn add(&self, v: i64, (sum, n): (i64, u64)) -> (i64, u64) { (sum + v, n + 1) }
///     fn get_result(&self, (sum, n): &(i64, u64)) -> f64 { *sum as f64 / *n as f64 }
///     fn merge(&self, a: (i64, u64), b: (i64, u64)) -> (i64, u64) { (a.0 + b.0, a.1 + b.1) }
/// }
/// let acc = [1, 2, 6].into_iter().fold(Average.create_accumulator(), |acc, v| Average.add(v, acc));
/// assert_eq!(Average.get_result(&acc), 3.0);
/// ```
pub trait AggregateFunction<IN>: Clone + Send + Sync + 'static {
    /// The accumulator type; it is part of checkpoints, so it is serializable.
    type Accumulator: Clone + Send + Sync + Serialize + DeserializeOwned + 'static;
    /// The result type.
    type Output: Clone + Send + Sync + Serialize + DeserializeOwned + 'static;

    /// A new, empty accumulator.
    fn create_accumulator(&self) -> Self::Accumulator;
    /// Adds `value` to `accumulator` and returns the updated accumulator.
    fn add(&self, value: IN, accumulator: Self::Accumulator) -> Self::Accumulator;
    /// The result of an accumulator.
    fn get_result(&self, accumulator: &Self::Accumulator) -> Self::Output;
    /// Combines two accumulators (when session windows merge).
    fn merge(&self, a: Self::Accumulator, b: Self::Accumulator) -> Self::Accumulator;
}

/// Describes an aggregating state: its name, its aggregate function and its time-to-live.
#[derive(Clone)]
pub struct AggregatingStateDescriptor<IN, F> {
    pub(crate) base: DescriptorBase,
    pub(crate) function: F,
    _input: PhantomData<fn(IN)>,
}

impl<IN, F: AggregateFunction<IN>> AggregatingStateDescriptor<IN, F> {
    /// A descriptor for the state called `name` that aggregates with `function`.
    pub fn new(name: impl Into<String>, function: F) -> Self {
        AggregatingStateDescriptor { base: DescriptorBase::new(name.into()), function, _input: PhantomData }
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

/// The operations of an aggregating state with its accumulator type hidden.
pub(crate) trait AggregatingAccess<IN, OUT> {
    fn get(&self) -> Result<Option<OUT>, StateError>;
    fn add(&self, value: IN) -> Result<(), StateError>;
    fn clear(&self) -> Result<(), StateError>;
}

/// An aggregate function over the accumulator cells of a state.
pub(crate) struct AggregatingCells<IN, F: AggregateFunction<IN>> {
    pub(crate) cells: Rc<dyn CellAccess<Stamped<F::Accumulator>>>,
    pub(crate) function: F,
    pub(crate) _input: PhantomData<fn(IN)>,
}

impl<IN, F: AggregateFunction<IN>> AggregatingAccess<IN, F::Output> for AggregatingCells<IN, F> {
    fn get(&self) -> Result<Option<F::Output>, StateError> {
        Ok(read_stamped(self.cells.as_ref())?.map(|acc| self.function.get_result(&acc)))
    }

    fn add(&self, value: IN) -> Result<(), StateError> {
        let function = &self.function;
        fold_stamped(self.cells.as_ref(), value, |acc, value| {
            function.add(value, acc.unwrap_or_else(|| function.create_accumulator()))
        })
    }

    fn clear(&self) -> Result<(), StateError> {
        clear_cell(self.cells.as_ref())
    }
}

/// A handle to one aggregate per key.
pub struct AggregatingState<IN, OUT> {
    pub(crate) state: StateRef,
    _types: PhantomData<fn(IN) -> OUT>,
}

impl<IN, OUT> Clone for AggregatingState<IN, OUT> {
    fn clone(&self) -> Self {
        AggregatingState { state: self.state.clone(), _types: PhantomData }
    }
}

impl<IN: 'static, OUT: 'static> AggregatingState<IN, OUT> {
    pub(crate) fn new(state: StateRef) -> Self {
        AggregatingState { state, _types: PhantomData }
    }

    /// The current key's aggregate, or `None` if nothing was added.
    pub fn get(&self) -> Result<Option<OUT>, StateError> {
        self.state.with::<dyn AggregatingAccess<IN, OUT>, _>(|a| a.get())
    }

    /// Adds `value` to the current key's aggregate.
    pub fn add(&self, value: IN) -> Result<(), StateError> {
        self.state.with::<dyn AggregatingAccess<IN, OUT>, _>(|a| a.add(value))
    }

    /// Removes the current key's aggregate.
    pub fn clear(&self) -> Result<(), StateError> {
        self.state.with::<dyn AggregatingAccess<IN, OUT>, _>(|a| a.clear())
    }
}
