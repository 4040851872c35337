//! `GROUP BY` in streaming and batch mode: [`KeySplit`] evaluates the group keys and
//! aggregate arguments of each batch and sends each row to the instance that owns its key, where
//! [`GroupAggregate`] keeps one [`GroupState`] per key in keyed state and emits the changelog of
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

use datafusion::arrow::array::{ArrayRef, RecordBatch, UInt32Array};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::ScalarValue;
use datafusion::physical_expr::PhysicalExpr;
use pyflink_core::api::functions::{KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext};
use pyflink_core::table::RowKind;
use pyflink_core::{FlinkError, ProcessContext, ProcessFunction, RuntimeContext, ValueState, ValueStateDescriptor};
use pyflink_state::key_group::{operator_index_for_key_group, stable_hash};
use pyflink_state::KeyGroupAssigner;
use serde::{Deserialize, Serialize};

use crate::batch::ChangeBatch;
use crate::error::{Result, TableError};
use crate::exec::accumulators::{Accumulator, AggregateCall, Argument};
use crate::exec::evaluate;

/// The encoded group key of a row (Arrow's row format of the group columns): equal keys are
/// equal bytes, so it is the key of the aggregate's keyed state.
pub(crate) type GroupKey = Vec<u8>;

/// A batch of rows whose keys all belong to one aggregate instance, with one of those keys,
/// by which the exchange routes the batch to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KeyedChanges {
    pub(crate) route: GroupKey,
    pub(crate) changes: ChangeBatch,
}

/// What a group aggregate computes, shared by its two halves.
#[derive(Clone)]
pub(crate) struct GroupAggregateSpec {
    /// The group keys, over the aggregate's input.
    pub(crate) keys: Vec<Arc<dyn PhysicalExpr>>,
    /// The arguments and filters of the calls, over the aggregate's input; in the batches that
    /// reach [`GroupAggregate`] they follow the keys.
    pub(crate) arguments: Vec<Arc<dyn PhysicalExpr>>,
    /// The schema of those batches: keys, then arguments.
    pub(crate) keyed_schema: SchemaRef,
    pub(crate) calls: Vec<AggregateCall>,
    /// The result's schema: keys, then one column per call.
    pub(crate) output: SchemaRef,
    /// Whether rows of the input may be retracted.
    pub(crate) retracting: bool,
    /// Streaming (emit a changelog as rows come) or batch (emit final results at the end).
    pub(crate) streaming: bool,
    /// For a window aggregate, the position among the keys of the `window_end` column.
    pub(crate) window_end: Option<usize>,
}

impl GroupAggregateSpec {
    fn key_count(&self) -> usize {
        self.keys.len()
    }

    fn converter(&self) -> Result<RowConverter> {
        let fields = self.keyed_schema.fields()[..self.key_count()]
            .iter()
            .map(|field| SortField::new(field.data_type().clone()))
            .collect();
        RowConverter::new(fields).map_err(|e| TableError::Execution(e.to_string()))
    }

    /// The group keys of the rows of `batch` (keys first, then arguments).
    fn group_keys(&self, converter: &mut RowConverter, batch: &RecordBatch) -> Result<GroupKeys> {
        if self.key_count() == 0 {
            return Ok(GroupKeys::Global);
        }
        converter
            .convert_columns(&batch.columns()[..self.key_count()])
            .map(GroupKeys::Encoded)
            .map_err(|e| TableError::Execution(e.to_string()))
    }
}

/// The group key of each row of a batch.
enum GroupKeys {
    /// Keys encoded in Arrow's row format.
    Encoded(Rows),
    /// No GROUP BY keys: every row is in the one group, whose key is empty.
    Global,
}

impl GroupKeys {
    #[inline]
    fn key(&self, row: usize) -> &[u8] {
        match self {
            GroupKeys::Encoded(rows) => rows.row(row).data(),
            GroupKeys::Global => &[],
        }
    }
}

/// The schema of `expressions` evaluated over `input`, named `names`.
pub(crate) fn schema_of(
    expressions: &[Arc<dyn PhysicalExpr>],
    names: impl Iterator<Item = String>,
    input: &Schema,
) -> Result<SchemaRef> {
    let fields = expressions
        .iter()
        .zip(names)
        .map(|(expression, name)| {
            let data_type = expression.data_type(input).map_err(|e| TableError::Validation(e.strip_backtrace()))?;
            Ok(Field::new(name, data_type, true))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// The upstream half: evaluates keys and arguments and splits each batch by the aggregate
/// instance that owns each row's key.
pub(crate) struct KeySplit {
    spec: Arc<GroupAggregateSpec>,
    converter: Option<RowConverter>,
    /// The aggregate instance that owns each key group.
    owners: Vec<usize>,
    assigner: KeyGroupAssigner,
    /// The rows bound for each instance, reused between batches.
    by_owner: Vec<Vec<u32>>,
    scratch: Vec<u8>,
}

impl KeySplit {
    pub(crate) fn new(spec: Arc<GroupAggregateSpec>) -> Self {
        KeySplit {
            spec,
            converter: None,
            owners: Vec::new(),
            assigner: KeyGroupAssigner::new(1),
            by_owner: Vec::new(),
            scratch: Vec::new(),
        }
    }

    fn split(&mut self, input: ChangeBatch, ctx: &mut ProcessContext<'_, KeyedChanges>) -> Result<()> {
        let mut expressions = self.spec.keys.clone();
        expressions.extend(self.spec.arguments.iter().cloned());
        let columns = evaluate(&expressions, &input.rows)?;
        let keyed = RecordBatch::try_new(Arc::clone(&self.spec.keyed_schema), columns)
            .map_err(|e| TableError::Execution(e.to_string()))?;
        let converter = self.converter.as_mut().ok_or_else(|| TableError::Execution("KeySplit not opened".into()))?;
        let rows = self.spec.group_keys(converter, &keyed)?;
        if self.by_owner.len() == 1 {
            // One aggregate instance owns every key.
            if keyed.num_rows() > 0 {
                let route = rows.key(0).to_vec();
                ctx.collect(KeyedChanges { route, changes: ChangeBatch { rows: keyed, kinds: input.kinds } });
            }
            return Ok(());
        }
        for owner in &mut self.by_owner {
            owner.clear();
        }
        for index in 0..keyed.num_rows() {
            self.scratch.clear();
            self.scratch.extend_from_slice(rows.key(index));
            let owner = self.owners[self.assigner.group_of(stable_hash(&self.scratch))];
            self.by_owner[owner].push(index as u32);
        }
        for indices in self.by_owner.iter().filter(|indices| !indices.is_empty()) {
            let route = rows.key(indices[0] as usize).to_vec();
            let changes = if indices.len() == keyed.num_rows() {
                ChangeBatch { rows: keyed.clone(), kinds: input.kinds.clone() }
            } else {
                let positions = UInt32Array::from(indices.clone());
                let columns = keyed
                    .columns()
                    .iter()
                    .map(|column| take(column.as_ref(), &positions, None))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| TableError::Execution(e.to_string()))?;
                let rows =
                    RecordBatch::try_new(keyed.schema(), columns).map_err(|e| TableError::Execution(e.to_string()))?;
                let kinds = input.kinds.as_ref().map(|kinds| indices.iter().map(|&i| kinds[i as usize]).collect());
                ChangeBatch { rows, kinds }
            };
            ctx.collect(KeyedChanges { route, changes });
        }
        Ok(())
    }
}

/// Each parallel instance starts from the spec alone; `open` makes the rest.
impl Clone for KeySplit {
    fn clone(&self) -> Self {
        KeySplit::new(Arc::clone(&self.spec))
    }
}

impl ProcessFunction<ChangeBatch, KeyedChanges> for KeySplit {
    fn open(&mut self, context: &RuntimeContext) -> pyflink_core::Result<()> {
        // The aggregate runs at this operator's parallelism and max parallelism.
        let parallelism = context.get_number_of_parallel_subtasks();
        let max_parallelism = context.get_max_number_of_parallel_subtasks();
        self.owners = (0..max_parallelism)
            .map(|group| operator_index_for_key_group(group, max_parallelism, parallelism))
            .collect();
        self.assigner = KeyGroupAssigner::new(max_parallelism);
        self.by_owner = vec![Vec::new(); parallelism];
        self.converter = Some(self.spec.converter().map_err(flink)?);
        Ok(())
    }

    fn process_element(
        &mut self,
        value: ChangeBatch,
        ctx: &mut ProcessContext<'_, KeyedChanges>,
    ) -> pyflink_core::Result<()> {
        self.split(value, ctx).map_err(flink)
    }
}

/// The most window groups a window aggregate adds rows to in memory before it writes them to
/// keyed state.
const MAX_PENDING_GROUPS: usize = 100_000;

/// The aggregate's state for one group: how many rows it has, and each call's accumulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct GroupState {
    rows: i64,
    accumulators: Vec<Accumulator>,
}

impl GroupState {
    /// Adds the rows of `other`, a state of the same group over other rows.
    fn merge(&mut self, calls: &[AggregateCall], other: GroupState) -> Result<()> {
        self.rows += other.rows;
        for ((accumulator, call), more) in self.accumulators.iter_mut().zip(calls).zip(other.accumulators) {
            accumulator.merge(call.kind, more)?;
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

    fn new_group(&self) -> GroupState {
        let accumulators = self.spec.calls.iter().map(|call| call.create_accumulator(self.spec.retracting)).collect();
        GroupState { rows: 0, accumulators }
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
                None => (self.new_group(), true),
            };
            let before = if first { None } else { Some(self.results(&group)?) };
            apply_row(&self.spec.calls, &mut group, &arguments, row, if accumulate { 1 } else { -1 })?;
            if group.rows > 0 {
                let after = self.results(&group)?;
                match before {
                    None => emitted.push(RowKind::Insert, key, after),
                    // An unchanged result is not emitted again.
                    Some(before) if before == after => {}
                    Some(before) => {
                        emitted.push(RowKind::UpdateBefore, key, before);
                        emitted.push(RowKind::UpdateAfter, key, after);
                    }
                }
                self.touched[index].state = Some(group);
            } else if let Some(before) = before {
                emitted.push(RowKind::Delete, key, before);
            }
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
                    let mut group = self.new_group();
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
            state.try_update(merged).map_err(|e| TableError::Execution(e.to_string()))?;
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
                Some(group) => state.try_update(group),
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
                None => self.new_group(),
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
        self.converter = Some(self.spec.converter().map_err(flink)?);
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
            self.state = Some(context.get_state(&ValueStateDescriptor::new("groupAggregate"))?);
        }
        Ok(())
    }

    fn process_element(
        &mut self,
        value: KeyedChanges,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        let converter = self.converter.as_mut().ok_or_else(|| flink(TableError::Execution("not opened".into())))?;
        let rows = self.spec.group_keys(converter, &value.changes.rows).map_err(flink)?;
        if let (true, Some(window_end)) = (self.spec.streaming, self.spec.window_end) {
            self.accumulate_windows(&value.changes, &rows, window_end, ctx).map_err(flink)
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
        if emitted.kinds.is_empty() && self.spec.key_count() == 0 && self.owns_global_key {
            let results = self.results(&self.new_group()).map_err(flink)?;
            emitted.push(RowKind::Insert, &[], results);
        }
        self.emit(emitted, ctx).map_err(flink)
    }
}

/// Adds or retracts row `row` of `arguments` in `group`, a group of `calls`.
#[inline]
fn apply_row(
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
