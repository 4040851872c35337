//! `GROUP BY` in streaming and batch mode: a [`KeySplit`](crate::exec::key_split::KeySplit)
//! evaluates the group keys and aggregate arguments of each batch and sends each row to the
//! instance that owns its key, where [`GroupAggregate`] keeps one [`GroupState`] per key in keyed state and emits the changelog of
//! the results, as Flink's group aggregate does: `+I` for a new group, `-U`/`+U` when its result
//! changes, `-D` when its last row is retracted. In batch mode it emits each group's final
//! result once, at the end of the input.
//!
//! A window aggregate (grouped by the `window_start` and `window_end` of a window function) is
//! the same operator with the window in the group key: in streaming mode it drops rows of
//! windows the watermark has passed, sets an event-time timer at each window's last
//! millisecond, and emits the window's results once, as insertions, when the timer fires.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::row::RowConverter;
use datafusion::common::ScalarValue;
use pyflink_core::api::functions::{KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext};
use pyflink_core::table::RowKind;
use pyflink_core::{FlinkError, ProcessContext, ValueState, ValueStateDescriptor};
use pyflink_state::key_group::{operator_index_for_key_group, stable_hash};
use pyflink_state::KeyGroupAssigner;
use serde::{Deserialize, Serialize};

use crate::batch::ChangeBatch;
use crate::error::{Result, TableError};
use crate::exec::accumulators::{Accumulator, AggregateCall, Argument};
use crate::exec::key_split::{GroupKey, GroupKeys, KeyColumns, KeyedChanges};

/// What a group aggregate computes, shared by its two halves.
#[derive(Clone)]
pub(crate) struct GroupAggregateSpec {
    /// The group keys and the arguments and filters of the calls, over the aggregate's input;
    /// in the batches that reach [`GroupAggregate`] the arguments follow the keys.
    pub(crate) columns: Arc<KeyColumns>,
    pub(crate) calls: Vec<AggregateCall>,
    /// The result's schema: keys, then one column per call.
    pub(crate) output: SchemaRef,
    /// Whether rows of the input may be retracted.
    pub(crate) retracting: bool,
    /// Streaming (emit a changelog as rows come) or batch (emit final results at the end).
    pub(crate) streaming: bool,
    /// For a window aggregate, the position among the keys of the `window_end` column.
    pub(crate) window_end: Option<usize>,
    /// `table.exec.state.ttl`: how long a group's state stays after it was last written
    /// (window aggregates clean theirs up when their windows fire).
    pub(crate) state_ttl: Option<std::time::Duration>,
}

/// The most window groups a window aggregate adds rows to in memory before it writes them to
/// keyed state.
const MAX_PENDING_GROUPS: usize = 100_000;

/// The aggregate's state for one group: how many rows it has, and each call's accumulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct GroupState {
    rows: i64,
    pub(crate) accumulators: Vec<Accumulator>,
}

impl GroupState {
    /// The state of a group without rows, whose calls are `calls` (their input is never
    /// retracted).
    pub(crate) fn new(calls: &[AggregateCall]) -> Result<Self> {
        let accumulators = calls.iter().map(|call| call.create_accumulator(false)).collect::<Result<_>>()?;
        Ok(GroupState { rows: 0, accumulators })
    }

    /// Makes the accumulators read from state live again (see [`Accumulator::restore`]).
    fn restore(&mut self, calls: &[AggregateCall]) -> Result<()> {
        self.accumulators.iter_mut().zip(calls).try_for_each(|(accumulator, call)| accumulator.restore(call))
    }

    /// The state as it is written to keyed state (see [`Accumulator::stored`]).
    pub(crate) fn stored(self) -> Result<GroupState> {
        let accumulators = self.accumulators.into_iter().map(Accumulator::stored).collect::<Result<_>>()?;
        Ok(GroupState { rows: self.rows, accumulators })
    }

    /// Adds the rows of `other`, a state of the same group over other rows.
    fn merge(&mut self, calls: &[AggregateCall], other: GroupState) -> Result<()> {
        self.rows += other.rows;
        for ((accumulator, call), more) in self.accumulators.iter_mut().zip(calls).zip(other.accumulators) {
            accumulator.merge(call, more)?;
        }
        Ok(())
    }
}

/// A group touched by the batch being processed: its key and state (`None` once it is gone).
struct Touched {
    key: GroupKey,
    state: Option<GroupState>,
}

/// The downstream half: the keyed operator that aggregates.
pub(crate) struct GroupAggregate {
    spec: Arc<GroupAggregateSpec>,
    converter: Option<RowConverter>,
    state: Option<ValueState<GroupState>>,
    /// Streaming: the groups of the batch being processed, by key, written back at its end.
    touched: Vec<Touched>,
    touched_index: HashMap<GroupKey, usize>,
    /// Batch mode: every group, emitted at the end of the input.
    groups: HashMap<GroupKey, GroupState>,
    /// Whether this instance owns the key of a global aggregate (one without GROUP BY keys).
    owns_global_key: bool,
    /// Window aggregates: the results of the windows whose timers fired, emitted together.
    fired: Emitted,
    /// Window aggregates: what rows added to each group since it was last written to keyed
    /// state, which happens before checkpoints, when its window fires, and when this holds
    /// more than [`MAX_PENDING_GROUPS`]. A window's group takes many rows of many batches, and
    /// adding them here costs a fraction of a keyed state access.
    pending: HashMap<GroupKey, GroupState, foldhash::fast::RandomState>,
    /// Window aggregates: rows dropped because their window had already fired.
    late_rows: Option<pyflink_core::metrics::Counter>,
}

/// The rows a batch makes, gathered before they become one output batch.
#[derive(Default)]
struct Emitted {
    /// The group key of each row.
    keys: Vec<GroupKey>,
    kinds: Vec<RowKind>,
    /// The results of each call, one per row.
    values: Vec<Vec<ScalarValue>>,
}

impl Emitted {
    /// The rows that say a group's results went from `before` to `after` (`None`: the group had
    /// no rows): `+I` for a new group, `-U`/`+U` for changed results, `-D` for a group that
    /// lost its last row; unchanged results are not emitted again.
    fn change(&mut self, key: &[u8], before: Option<Vec<ScalarValue>>, after: Option<Vec<ScalarValue>>) {
        match (before, after) {
            (None, Some(after)) => self.push(RowKind::Insert, key, after),
            (Some(before), Some(after)) if before != after => {
                self.push(RowKind::UpdateBefore, key, before);
                self.push(RowKind::UpdateAfter, key, after);
            }
            (Some(before), None) => self.push(RowKind::Delete, key, before),
            _ => {}
        }
    }

    fn push(&mut self, kind: RowKind, key: &[u8], values: Vec<ScalarValue>) {
        self.keys.push(key.to_vec());
        self.kinds.push(kind);
        for (column, value) in self.values.iter_mut().zip(values) {
            column.push(value);
        }
    }
}

impl GroupAggregate {
    pub(crate) fn new(spec: Arc<GroupAggregateSpec>) -> Self {
        GroupAggregate {
            spec,
            converter: None,
            state: None,
            touched: Vec::new(),
            touched_index: HashMap::new(),
            groups: HashMap::new(),
            owns_global_key: false,
            fired: Emitted::default(),
            pending: HashMap::default(),
            late_rows: None,
        }
    }

    fn no_results(&self) -> Emitted {
        Emitted { values: vec![Vec::new(); self.spec.calls.len()], ..Emitted::default() }
    }

    fn new_group(&self) -> Result<GroupState> {
        let accumulators =
            self.spec.calls.iter().map(|call| call.create_accumulator(self.spec.retracting)).collect::<Result<_>>()?;
        Ok(GroupState { rows: 0, accumulators })
    }

    fn results(&self, group: &GroupState) -> Result<Vec<ScalarValue>> {
        self.spec.calls.iter().zip(&group.accumulators).map(|(call, accumulator)| call.value(accumulator)).collect()
    }

    fn arguments(&self, columns: &[ArrayRef]) -> Result<Vec<Argument>> {
        self.spec.calls.iter().map(|call| call.argument(columns)).collect()
    }

    /// The index in `touched` of the group `key`, read from keyed state on first touch.
    fn touch(&mut self, key: &[u8], ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>) -> Result<usize> {
        if let Some(&index) = self.touched_index.get(key) {
            return Ok(index);
        }
        let state = self.state.as_ref().ok_or_else(|| TableError::Execution("GroupAggregate not opened".into()))?;
        ctx.set_current_key(key.to_vec());
        let loaded = state.try_value().map_err(|e| TableError::Execution(e.to_string()))?;
        self.touched.push(Touched { key: key.to_vec(), state: loaded });
        self.touched_index.insert(key.to_vec(), self.touched.len() - 1);
        Ok(self.touched.len() - 1)
    }

    /// Streaming: applies each row and emits the changes of its group's result.
    fn process_changes(
        &mut self,
        changes: &ChangeBatch,
        rows: &GroupKeys,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> Result<()> {
        let arguments = self.arguments(changes.rows.columns())?;
        let mut emitted = self.no_results();
        for row in 0..changes.len() {
            let key = rows.key(row);
            let index = self.touch(key, ctx)?;
            let accumulate = matches!(changes.kind(row), RowKind::Insert | RowKind::UpdateAfter);
            let (mut group, first) = match self.touched[index].state.take() {
                Some(group) => (group, false),
                // A retraction of a group that has no state (expired, or never seen) is dropped.
                None if !accumulate => continue,
                None => (self.new_group()?, true),
            };
            let before = if first { None } else { Some(self.results(&group)?) };
            apply_row(&self.spec.calls, &mut group, &arguments, row, if accumulate { 1 } else { -1 })?;
            let after = if group.rows > 0 { Some(self.results(&group)?) } else { None };
            emitted.change(key, before, after);
            self.touched[index].state = (group.rows > 0).then_some(group);
        }
        self.write_back(ctx)?;
        self.emit(emitted, ctx)
    }

    /// Streaming, with a user's function among the calls: applies every row of the batch, then
    /// emits each group's change once (as PyFlink's Python aggregates do per bundle of rows),
    /// which also calls the functions' `get_value` twice per group and batch, not per row.
    fn process_batch_changes(
        &mut self,
        changes: &ChangeBatch,
        rows: &GroupKeys,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> Result<()> {
        let arguments = self.arguments(changes.rows.columns())?;
        // The results of each touched group before the batch, in the order of `touched`.
        let mut before: Vec<Option<Vec<ScalarValue>>> = Vec::new();
        for row in 0..changes.len() {
            let key = rows.key(row);
            let index = self.touch(key, ctx)?;
            if index == before.len() {
                if let Some(group) = self.touched[index].state.as_mut() {
                    group.restore(&self.spec.calls)?;
                }
                before.push(self.touched[index].state.as_ref().map(|group| self.results(group)).transpose()?);
            }
            let accumulate = matches!(changes.kind(row), RowKind::Insert | RowKind::UpdateAfter);
            let mut group = match self.touched[index].state.take() {
                Some(group) => group,
                None if !accumulate => continue,
                None => self.new_group()?,
            };
            apply_row(&self.spec.calls, &mut group, &arguments, row, if accumulate { 1 } else { -1 })?;
            self.touched[index].state = (group.rows > 0).then_some(group);
        }
        let mut emitted = self.no_results();
        for (touched, before) in self.touched.iter().zip(before) {
            let after = touched.state.as_ref().map(|group| self.results(group)).transpose()?;
            emitted.change(&touched.key, before, after);
        }
        self.write_back(ctx)?;
        self.emit(emitted, ctx)
    }

    /// Streaming window aggregate: adds each row to its window's group (in memory, see
    /// `pending`), which gets a timer at the window's last millisecond when it is new. Rows of
    /// windows that fired are dropped.
    fn accumulate_windows(
        &mut self,
        changes: &ChangeBatch,
        rows: &GroupKeys,
        window_end: usize,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> Result<()> {
        if changes.kinds.is_some() {
            return Err(TableError::Unsupported(
                "window aggregates over a table that is updated (a changelog) in queries".into(),
            ));
        }
        let arguments = self.arguments(changes.rows.columns())?;
        let ends = crate::exec::watermarks::millis(changes.rows.column(window_end))?;
        let watermark = ctx.timer_service().current_watermark();
        let mut late = 0i64;
        for (row, &end) in ends.values().iter().enumerate() {
            let window_time = end - 1;
            if window_time <= watermark {
                late += 1;
                continue;
            }
            let key = rows.key(row);
            match self.pending.get_mut(key) {
                Some(group) => apply_row(&self.spec.calls, group, &arguments, row, 1)?,
                None => {
                    // A group written to keyed state before has its timer already; the timer
                    // service keeps one timer per key and time.
                    ctx.set_current_key(key.to_vec());
                    ctx.timer_service().register_event_time_timer(window_time);
                    let mut group = self.new_group()?;
                    apply_row(&self.spec.calls, &mut group, &arguments, row, 1)?;
                    self.pending.insert(key.to_vec(), group);
                }
            }
        }
        if let Some(counter) = self.late_rows.as_ref().filter(|_| late > 0) {
            counter.inc_by(late);
        }
        if self.pending.len() > MAX_PENDING_GROUPS {
            self.write_pending(ctx)?;
        }
        Ok(())
    }

    /// Writes the window groups kept in memory into keyed state, merged with what it holds.
    fn write_pending(&mut self, ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>) -> Result<()> {
        let state = self.state.as_ref().ok_or_else(|| TableError::Execution("GroupAggregate not opened".into()))?;
        for (key, added) in self.pending.drain() {
            ctx.set_current_key(key);
            let merged = match state.try_value().map_err(|e| TableError::Execution(e.to_string()))? {
                Some(mut stored) => {
                    stored.merge(&self.spec.calls, added)?;
                    stored
                }
                None => added,
            };
            state.try_update(merged.stored()?).map_err(|e| TableError::Execution(e.to_string()))?;
        }
        Ok(())
    }

    /// A window's timer: its group's results join those emitted next, and its state goes.
    fn fire_window(&mut self, ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>) -> Result<()> {
        let state = self.state.as_ref().ok_or_else(|| TableError::Execution("GroupAggregate not opened".into()))?;
        let key = ctx.get_current_key();
        let stored = state.try_value().map_err(|e| TableError::Execution(e.to_string()))?;
        if stored.is_some() {
            state.try_clear().map_err(|e| TableError::Execution(e.to_string()))?;
        }
        let group = match (stored, self.pending.remove(&key)) {
            (Some(mut stored), Some(added)) => {
                stored.merge(&self.spec.calls, added)?;
                stored
            }
            (Some(group), None) | (None, Some(group)) => group,
            (None, None) => return Ok(()),
        };
        let results = self.results(&group)?;
        if self.fired.values.is_empty() {
            self.fired = self.no_results();
        }
        self.fired.push(RowKind::Insert, &key, results);
        Ok(())
    }

    /// Writes the touched groups back into keyed state.
    fn write_back(&mut self, ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>) -> Result<()> {
        let state = self.state.as_ref().ok_or_else(|| TableError::Execution("GroupAggregate not opened".into()))?;
        for touched in self.touched.drain(..) {
            ctx.set_current_key(touched.key);
            let written = match touched.state {
                Some(group) => state.try_update(group.stored()?),
                None => state.try_clear(),
            };
            written.map_err(|e| TableError::Execution(e.to_string()))?;
        }
        self.touched_index.clear();
        Ok(())
    }

    /// Batch mode: applies each row to its group, kept in memory until the end.
    fn accumulate_all(&mut self, changes: &ChangeBatch, rows: &GroupKeys) -> Result<()> {
        let arguments = self.arguments(changes.rows.columns())?;
        for row in 0..changes.len() {
            let key = rows.key(row);
            let sign = if matches!(changes.kind(row), RowKind::Insert | RowKind::UpdateAfter) { 1 } else { -1 };
            let mut group = match self.groups.remove(key) {
                Some(group) => group,
                None => self.new_group()?,
            };
            apply_row(&self.spec.calls, &mut group, &arguments, row, sign)?;
            self.groups.insert(key.to_vec(), group);
        }
        Ok(())
    }

    /// The rows of `emitted` as one batch, sent on.
    fn emit(&self, emitted: Emitted, out: &mut ProcessContext<'_, ChangeBatch>) -> Result<()> {
        if emitted.kinds.is_empty() {
            return Ok(());
        }
        let converter =
            self.converter.as_ref().ok_or_else(|| TableError::Execution("GroupAggregate not opened".into()))?;
        let parser = converter.parser();
        let mut columns = converter
            .convert_rows(emitted.keys.iter().map(|key| parser.parse(key)))
            .map_err(|e| TableError::Execution(e.to_string()))?;
        for values in emitted.values {
            columns.push(ScalarValue::iter_to_array(values).map_err(|e| TableError::Execution(e.strip_backtrace()))?);
        }
        let rows = RecordBatch::try_new(Arc::clone(&self.spec.output), columns)
            .map_err(|e| TableError::Execution(format!("the aggregate's result does not fit its schema: {e}")))?;
        let all_inserts = emitted.kinds.iter().all(|kind| *kind == RowKind::Insert);
        out.collect(ChangeBatch { rows, kinds: if all_inserts { None } else { Some(emitted.kinds) } });
        Ok(())
    }
}

/// Each parallel instance starts from the spec alone; `open` makes the rest.
impl Clone for GroupAggregate {
    fn clone(&self) -> Self {
        GroupAggregate::new(Arc::clone(&self.spec))
    }
}

impl KeyedProcessFunction<GroupKey, KeyedChanges, ChangeBatch> for GroupAggregate {
    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, GroupKey>) -> pyflink_core::Result<()> {
        self.converter = Some(self.spec.columns.converter().map_err(flink)?);
        let runtime = context.runtime();
        if self.spec.window_end.is_some() {
            self.late_rows = Some(runtime.get_metric_group().counter("numLateRecordsDropped"));
        }
        let max_parallelism = runtime.get_max_number_of_parallel_subtasks();
        let global_group = KeyGroupAssigner::new(max_parallelism).group_of(stable_hash(&GroupKey::new()));
        self.owns_global_key =
            operator_index_for_key_group(global_group, max_parallelism, runtime.get_number_of_parallel_subtasks())
                == runtime.get_index_of_this_subtask();
        if self.spec.streaming {
            let mut descriptor = ValueStateDescriptor::new("groupAggregate");
            if let (Some(ttl), None) = (self.spec.state_ttl, self.spec.window_end) {
                descriptor.enable_time_to_live(pyflink_core::StateTtlConfig::new_builder(ttl).build());
            }
            self.state = Some(context.get_state(&descriptor)?);
        }
        Ok(())
    }

    fn process_element(
        &mut self,
        value: KeyedChanges,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        let converter = self.converter.as_mut().ok_or_else(|| flink(TableError::Execution("not opened".into())))?;
        let rows = self.spec.columns.group_keys(converter, &value.changes.rows).map_err(flink)?;
        if let (true, Some(window_end)) = (self.spec.streaming, self.spec.window_end) {
            self.accumulate_windows(&value.changes, &rows, window_end, ctx).map_err(flink)
        } else if self.spec.streaming && self.spec.calls.iter().any(|call| call.function.is_some()) {
            self.process_batch_changes(&value.changes, &rows, ctx).map_err(flink)
        } else if self.spec.streaming {
            self.process_changes(&value.changes, &rows, ctx).map_err(flink)
        } else {
            self.accumulate_all(&value.changes, &rows).map_err(flink)
        }
    }

    fn on_timer(
        &mut self,
        _timestamp: i64,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        self.fire_window(ctx).map_err(flink)
    }

    fn prepare_snapshot(
        &mut self,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        self.write_pending(ctx).map_err(flink)
    }

    fn finish_batch(&mut self, ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>) -> pyflink_core::Result<()> {
        let fired = std::mem::take(&mut self.fired);
        self.emit(fired, ctx).map_err(flink)
    }

    fn end_input(&mut self, ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>) -> pyflink_core::Result<()> {
        if self.spec.streaming {
            return Ok(());
        }
        let mut emitted = self.no_results();
        for (key, group) in std::mem::take(&mut self.groups) {
            if group.rows > 0 {
                let results = self.results(&group).map_err(flink)?;
                emitted.push(RowKind::Insert, &key, results);
            }
        }
        // In batch mode a global aggregate has one result row even over no rows at all (a
        // count of 0), made by the instance that would have had its rows.
        if emitted.kinds.is_empty() && self.spec.columns.key_count() == 0 && self.owns_global_key {
            let results = self.new_group().and_then(|group| self.results(&group)).map_err(flink)?;
            emitted.push(RowKind::Insert, &[], results);
        }
        self.emit(emitted, ctx).map_err(flink)
    }
}

/// Adds or retracts row `row` of `arguments` in `group`, a group of `calls`.
#[inline]
pub(crate) fn apply_row(
    calls: &[AggregateCall],
    group: &mut GroupState,
    arguments: &[Argument],
    row: usize,
    sign: i64,
) -> Result<()> {
    group.rows += sign;
    for ((accumulator, call), argument) in group.accumulators.iter_mut().zip(calls).zip(arguments) {
        accumulator.apply(call.kind, argument, row, sign)?;
    }
    Ok(())
}

/// A table error as the runtime's error, failing the job with its message.
pub(crate) fn flink(error: TableError) -> FlinkError {
    FlinkError::Runtime(error.to_string())
}
