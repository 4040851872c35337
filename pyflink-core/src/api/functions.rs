//! The user function traits of the DataStream API and the contexts they receive.
//!
//! Simple transformations (`map`, `filter`, `flat_map`, `reduce`, `key_by`) take closures. The
//! process functions here are for logic that needs the life cycle (`open`/`close`), the record's
//! timestamp, side outputs or keyed state, as Flink's `ProcessFunction` family does.

use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use pyflink_state::{
    AggregateFunction, AggregatingState, AggregatingStateDescriptor, KeyedStateBackend, ListState, ListStateDescriptor,
    MapState, MapStateDescriptor, ReducingState, ReducingStateDescriptor, ValueState, ValueStateDescriptor,
};

use crate::runtime::operator::RuntimeContext;
use crate::runtime::output::Output;
use crate::time::timer_service::InternalTimerService;
use crate::time::{TimeDomain, TimerService};
use crate::{Data, Key, Result};

/// Names a side output of type `S`; emit with `ctx.output(&tag, value)` and read the side stream
/// with `get_side_output(&tag)`.
#[derive(Debug)]
pub struct OutputTag<S> {
    id: String,
    _type: PhantomData<fn() -> S>,
}

impl<S> Clone for OutputTag<S> {
    fn clone(&self) -> Self {
        OutputTag { id: self.id.clone(), _type: PhantomData }
    }
}

impl<S> OutputTag<S> {
    /// A tag named `id`; tags are equal when their ids are.
    pub fn new(id: impl Into<String>) -> Self {
        OutputTag { id: id.into(), _type: PhantomData }
    }

    /// The tag's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// What a [`ProcessFunction`] or [`CoProcessFunction`] can do while it processes a record.
pub struct ProcessContext<'a, OUT: Data> {
    pub(crate) out: &'a mut Output<OUT>,
}

impl<OUT: Data> ProcessContext<'_, OUT> {
    /// Emits `value` to the main output, with the input record's timestamp.
    #[inline]
    pub fn collect(&mut self, value: OUT) {
        self.out.collect(value);
    }

    /// Emits `value` to the side output `tag`.
    pub fn output<S: Data>(&mut self, tag: &OutputTag<S>, value: S) {
        self.out.side_output(tag.id(), value);
    }

    /// The timestamp of the record being processed, if it has one.
    pub fn timestamp(&self) -> Option<i64> {
        self.out.timestamp()
    }

    /// Sets the timestamp that records emitted from now on carry, until the next record: a
    /// function emitting the results of buffered records gives each its own record's timestamp.
    pub fn set_timestamp(&mut self, timestamp: Option<i64>) {
        self.out.timestamp = timestamp;
    }

    /// The operator's current watermark: the latest combined watermark of its inputs
    /// (`i64::MIN` before the first, as Flink's `Long.MIN_VALUE`).
    pub fn current_watermark(&self) -> i64 {
        self.out.input_watermark
    }
}

/// What a [`KeyedProcessFunction`] can do while it processes a record or a timer: everything a
/// [`ProcessContext`] offers (through `Deref`), plus the current key and the timer service.
pub struct KeyedProcessContext<'a, K: Key, OUT: Data> {
    pub(crate) context: ProcessContext<'a, OUT>,
    pub(crate) backend: &'a KeyedStateBackend<K>,
    pub(crate) timers: &'a mut InternalTimerService<K, ()>,
    pub(crate) time_domain: Option<TimeDomain>,
}

/// The context of [`KeyedProcessFunction::on_timer`]: the same as while processing a record,
/// with [`KeyedProcessContext::time_domain`] telling which kind of timer fired.
pub type OnTimerContext<'a, K, OUT> = KeyedProcessContext<'a, K, OUT>;

impl<K: Key, OUT: Data> KeyedProcessContext<'_, K, OUT> {
    /// The key of the record (or timer) being processed.
    pub fn get_current_key(&self) -> K {
        self.backend.current_key().expect("a keyed record is being processed")
    }

    /// Makes `key` the current key, for state and timers, until the next record: a function
    /// that processes buffered records of several keys at once (in
    /// [`KeyedProcessFunction::finish_batch`]) switches to each record's key.
    pub fn set_current_key(&mut self, key: K) {
        self.backend.set_current_key(key);
    }

    /// The timer service: the current times, and timers for the current key.
    pub fn timer_service(&mut self) -> TimerService<'_, K> {
        TimerService { timers: &mut *self.timers, backend: self.backend }
    }

    /// In `on_timer`, whether an event-time or a processing-time timer fired; `None` while
    /// processing a record.
    pub fn time_domain(&self) -> Option<TimeDomain> {
        self.time_domain
    }
}

impl<'a, K: Key, OUT: Data> Deref for KeyedProcessContext<'a, K, OUT> {
    type Target = ProcessContext<'a, OUT>;
    fn deref(&self) -> &Self::Target {
        &self.context
    }
}

impl<K: Key, OUT: Data> DerefMut for KeyedProcessContext<'_, K, OUT> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.context
    }
}

/// The runtime context of a keyed function's `open`: the [`RuntimeContext`] plus keyed state.
pub struct KeyedRuntimeContext<'a, K: Key> {
    pub(crate) runtime: &'a RuntimeContext,
    pub(crate) backend: &'a mut KeyedStateBackend<K>,
}

impl<K: Key> KeyedRuntimeContext<'_, K> {
    /// The value state described by `descriptor`, scoped to the key of each record.
    pub fn get_state<V: Data>(&mut self, descriptor: &ValueStateDescriptor<V>) -> Result<ValueState<V>> {
        Ok(self.backend.get_value_state(descriptor)?)
    }

    /// The list state described by `descriptor`, scoped to the key of each record.
    pub fn get_list_state<V: Data>(&mut self, descriptor: &ListStateDescriptor<V>) -> Result<ListState<V>> {
        Ok(self.backend.get_list_state(descriptor)?)
    }

    /// The map state described by `descriptor`, scoped to the key of each record.
    pub fn get_map_state<UK: Key, UV: Data>(
        &mut self,
        descriptor: &MapStateDescriptor<UK, UV>,
    ) -> Result<MapState<UK, UV>> {
        Ok(self.backend.get_map_state(descriptor)?)
    }

    /// The reducing state described by `descriptor`, scoped to the key of each record.
    pub fn get_reducing_state<V: Data>(&mut self, descriptor: &ReducingStateDescriptor<V>) -> Result<ReducingState<V>> {
        Ok(self.backend.get_reducing_state(descriptor)?)
    }

    /// The aggregating state described by `descriptor`, scoped to the key of each record.
    pub fn get_aggregating_state<IN: 'static, F: AggregateFunction<IN>>(
        &mut self,
        descriptor: &AggregatingStateDescriptor<IN, F>,
    ) -> Result<AggregatingState<IN, F::Output>> {
        Ok(self.backend.get_aggregating_state(descriptor)?)
    }

    /// The operator's runtime context.
    pub fn runtime(&self) -> &RuntimeContext {
        self.runtime
    }
}

/// Processes each record of a stream, with a life cycle, timestamps and side outputs.
pub trait ProcessFunction<IN: Data, OUT: Data>: Clone + Send + Sync + 'static {
    /// Called once per parallel instance before the first record.
    fn open(&mut self, _context: &RuntimeContext) -> Result<()> {
        Ok(())
    }

    /// Processes one record; emit through `ctx`.
    fn process_element(&mut self, value: IN, ctx: &mut ProcessContext<'_, OUT>) -> Result<()>;

    /// Runs `batch`, the calls for one batch of input; a function whose every call needs one
    /// shared resource (the Python interpreter) takes it here once per batch. See
    /// [`OneInputOperator::within_batch`](crate::runtime::operator::OneInputOperator::within_batch).
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()>
    where
        Self: Sized,
    {
        batch()
    }

    /// Called before each watermark and whenever owed results must go out: a function that
    /// buffers records emits every result it still owes here (see
    /// [`OneInputOperator::finish_batch`](crate::runtime::operator::OneInputOperator::finish_batch)).
    fn finish_batch(&mut self, _ctx: &mut ProcessContext<'_, OUT>) -> Result<()> {
        Ok(())
    }

    /// Called after the last record of each input batch; the default finishes the batch. A
    /// function may leave results owed (see
    /// [`OneInputOperator::end_batch`](crate::runtime::operator::OneInputOperator::end_batch)).
    fn end_batch(&mut self, ctx: &mut ProcessContext<'_, OUT>) -> Result<()> {
        self.finish_batch(ctx)
    }

    /// Whether batches ended by `end_batch` have results not emitted yet.
    fn owes_results(&self) -> bool {
        false
    }

    /// Called as the checkpoint `checkpoint_id` is taken, before the operator state (the list
    /// states of [`RuntimeContext::get_operator_state_store`]) is written into it: put what the
    /// checkpoint must hold into those states here (Flink's `CheckpointedFunction.snapshotState`).
    fn snapshot_state(&mut self, _checkpoint_id: u64) -> Result<()> {
        Ok(())
    }

    /// Called once at the end: after the last record, or as the job stops early (cancelled, or
    /// failed elsewhere); an error then is logged, since the job is stopping anyway.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

impl<IN: Data, OUT: Data, F> ProcessFunction<IN, OUT> for F
where
    F: FnMut(IN, &mut ProcessContext<'_, OUT>) -> Result<()> + Clone + Send + Sync + 'static,
{
    fn process_element(&mut self, value: IN, ctx: &mut ProcessContext<'_, OUT>) -> Result<()> {
        self(value, ctx)
    }
}

/// Processes each record of a keyed stream, with keyed state.
pub trait KeyedProcessFunction<K: Key, IN: Data, OUT: Data>: Clone + Send + Sync + 'static {
    /// Called once per parallel instance before the first record; create state handles here.
    fn open(&mut self, _context: &mut KeyedRuntimeContext<'_, K>) -> Result<()> {
        Ok(())
    }

    /// Processes one record; state handles read and write this record's key.
    fn process_element(&mut self, value: IN, ctx: &mut KeyedProcessContext<'_, K, OUT>) -> Result<()>;

    /// Runs `batch`, the calls for one batch of input; a function whose every call needs one
    /// shared resource (the Python interpreter) takes it here once per batch. See
    /// [`OneInputOperator::within_batch`](crate::runtime::operator::OneInputOperator::within_batch).
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()>
    where
        Self: Sized,
    {
        batch()
    }

    /// Called when a timer of the current key fires. Records emitted from an event-time timer
    /// carry the timer's timestamp.
    fn on_timer(&mut self, _timestamp: i64, _ctx: &mut OnTimerContext<'_, K, OUT>) -> Result<()> {
        Ok(())
    }

    /// Called before each watermark, after timers fire, and whenever owed results must go
    /// out: a function that buffers records (and timer calls) emits every result it still
    /// owes here, switching to each record's key with [`KeyedProcessContext::set_current_key`].
    fn finish_batch(&mut self, _ctx: &mut KeyedProcessContext<'_, K, OUT>) -> Result<()> {
        Ok(())
    }

    /// Called after the last record of each input batch; the default finishes the batch. A
    /// function may leave results owed (see
    /// [`OneInputOperator::end_batch`](crate::runtime::operator::OneInputOperator::end_batch)).
    fn end_batch(&mut self, ctx: &mut KeyedProcessContext<'_, K, OUT>) -> Result<()> {
        self.finish_batch(ctx)
    }

    /// Whether batches ended by `end_batch` have results not emitted yet.
    fn owes_results(&self) -> bool {
        false
    }

    /// Called before the instance's keyed state is written for a checkpoint (Flink's
    /// `prepareSnapshotPreBarrier`): a function that keeps partial results in memory, to touch
    /// keyed state less often than once per record, writes them into keyed state here,
    /// switching to each key with [`KeyedProcessContext::set_current_key`]. It may not emit
    /// records.
    fn prepare_snapshot(&mut self, _ctx: &mut KeyedProcessContext<'_, K, OUT>) -> Result<()> {
        Ok(())
    }

    /// Called once when the input has ended (bounded input), after its final watermark: a
    /// function that holds its results back until the end, as a reduce does in batch mode,
    /// emits them here, setting each key with [`KeyedProcessContext::set_current_key`].
    fn end_input(&mut self, _ctx: &mut KeyedProcessContext<'_, K, OUT>) -> Result<()> {
        Ok(())
    }

    /// Called once at the end: after the last record, or as the job stops early (cancelled, or
    /// failed elsewhere); an error then is logged, since the job is stopping anyway.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Processes the records of two connected streams, with shared state between them.
pub trait CoProcessFunction<IN1: Data, IN2: Data, OUT: Data>: Clone + Send + Sync + 'static {
    /// Called once per parallel instance before the first record.
    fn open(&mut self, _context: &RuntimeContext) -> Result<()> {
        Ok(())
    }

    /// Processes one record of the first stream.
    fn process_element1(&mut self, value: IN1, ctx: &mut ProcessContext<'_, OUT>) -> Result<()>;

    /// Processes one record of the second stream.
    fn process_element2(&mut self, value: IN2, ctx: &mut ProcessContext<'_, OUT>) -> Result<()>;

    /// Called once at the end: after the last record, or as the job stops early (cancelled, or
    /// failed elsewhere); an error then is logged, since the job is stopping anyway.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}
