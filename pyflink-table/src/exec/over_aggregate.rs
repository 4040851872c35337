//! OVER aggregates in streaming mode (`SUM(x) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 2
//! PRECEDING AND CURRENT ROW)`), as Flink runs them: ordered by an event-time attribute, each
//! row waits in keyed state until the watermark passes its time, then the rows of its
//! partition are taken in time order and each goes on with the aggregates of its frame. Rows
//! that come after the watermark passed their time are late and dropped.
//!
//! Frames end at the current row. `ROWS n PRECEDING` holds the row and the `n` before it;
//! `RANGE INTERVAL .. PRECEDING` the rows whose time is at most that much earlier, and every
//! row of the same time (its peers); `UNBOUNDED PRECEDING` every row so far, kept as
//! accumulators rather than rows.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::expr::WindowFunction;
use datafusion::logical_expr::{
    Expr, Window, WindowFrame, WindowFrameBound, WindowFrameUnits, WindowFunctionDefinition,
};
use datafusion::physical_expr::PhysicalExpr;
use pyflink_core::api::functions::{KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext};
use pyflink_core::{ListState, ListStateDescriptor, ValueState, ValueStateDescriptor};
use serde::{Deserialize, Serialize};

use crate::batch::{take_rows, ChangeBatch};
use crate::error::{Result, TableError};
use crate::exec::accumulators::AggregateCall;
use crate::exec::group_aggregate::{apply_row, flink, GroupState};
use crate::exec::key_split::{rows_by_key, GroupKey, KeyColumns, KeySplit, KeyedChanges};
use crate::exec::time_attributes::{time_attribute, unaliased, TimeAttribute};
use crate::exec::watermarks::{millis, row_times};
use crate::exec::with_functions::with_functions;
use crate::exec::{aggregate_call, physical, unsupported, CallSpec, Compiler, Planned};
use crate::functions::aggregate_function::UserAggregate;

/// The rows a frame holds before the current row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// `ROWS n PRECEDING` (`None`: unbounded).
    Rows(Option<u64>),
    /// `RANGE .. PRECEDING`, in milliseconds (`None`: unbounded).
    Range(Option<i64>),
}

impl Frame {
    fn is_bounded(self) -> bool {
        matches!(self, Frame::Rows(Some(_)) | Frame::Range(Some(_)))
    }
}

/// What an OVER aggregate computes.
struct OverSpec {
    /// Keys: the `PARTITION BY` columns; then the input's columns, the time, and the calls'
    /// arguments.
    columns: Arc<KeyColumns>,
    /// How many columns the input has (the output's first columns).
    input_count: usize,
    /// The position of the time column in the keyed batches.
    time: usize,
    calls: Vec<AggregateCall>,
    frame: Frame,
    /// The input's columns, then one per call.
    output: SchemaRef,
}

/// What a partition keeps between watermarks: the last rows a bounded frame may still reach,
/// or the accumulators of an unbounded one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum History {
    Rows(ChangeBatch),
    Accumulated(GroupState),
}

/// The keyed operator of an OVER aggregate.
pub(crate) struct OverAggregate {
    spec: Arc<OverSpec>,
    waiting: Option<ListState<ChangeBatch>>,
    history: Option<ValueState<History>>,
    late_rows: Option<pyflink_core::metrics::Counter>,
}

impl Compiler<'_> {
    /// An OVER aggregate: rows split by their partition and aggregated over their frames.
    pub(super) fn over(&self, window: &Window) -> Result<Planned> {
        if !self.streaming {
            return Err(unsupported("OVER aggregates in batch mode"));
        }
        let input_schema = window.input.schema();
        let mut shape: Option<(&[Expr], &[datafusion::logical_expr::SortExpr], &WindowFrame)> = None;
        let mut specs = Vec::new();
        for (position, expression) in window.window_expr.iter().enumerate() {
            let Expr::WindowFunction(function) = unaliased(expression) else {
                return Err(TableError::Validation(format!("{expression} is not a window function call")));
            };
            let WindowFunction { fun, params } = function.as_ref();
            if fun.name() == "row_number" {
                return Err(crate::exec::rank::unbounded_row_number());
            }
            let WindowFunctionDefinition::AggregateUDF(aggregate) = fun else {
                return Err(unsupported(&format!(
                    "the window function {fun} (only aggregates run OVER windows so far)"
                )));
            };
            let this = (params.partition_by.as_slice(), params.order_by.as_slice(), &params.window_frame);
            match shape {
                None => shape = Some(this),
                Some(first) if first == this => {}
                Some(_) => {
                    return Err(TableError::Validation(
                        "All aggregates must be computed on the same window: OVER windows of one query need the same \
                         PARTITION BY, ORDER BY and frame"
                            .into(),
                    ))
                }
            }
            let output = window.schema.field(input_schema.fields().len() + position).data_type().clone();
            specs.push((
                aggregate.name().to_string(),
                UserAggregate::of(aggregate),
                params.distinct,
                params.args.clone(),
                params.filter.clone(),
                output,
            ));
        }
        let Some((partition_by, order_by, frame)) = shape else {
            return Err(TableError::Validation("an OVER window without aggregates".into()));
        };
        let time_position = self.over_time(window, order_by)?;
        let frame = frame_of(frame)?;
        let input = self.build(&window.input)?;
        if input.updates {
            return Err(unsupported("OVER aggregates over a table that is updated (a changelog)"));
        }
        let keys = partition_by.iter().map(|key| physical(key, input_schema)).collect::<Result<Vec<_>>>()?;
        let input_count = input_schema.fields().len();
        let mut arguments: Vec<Arc<dyn PhysicalExpr>> = (0..input_count)
            .map(|position| {
                let (qualifier, field) = input_schema.qualified_field(position);
                physical(&Expr::Column((qualifier, field).into()), input_schema)
            })
            .collect::<Result<_>>()?;
        arguments.push(Arc::clone(&arguments[time_position]));
        let time = keys.len() + input_count;
        let offset = keys.len();
        let mut calls = Vec::new();
        for (name, function, distinct, args, filter, output) in &specs {
            let call = CallSpec {
                name,
                function: function.clone(),
                distinct: *distinct,
                args,
                filter: filter.as_deref(),
                output: output.clone(),
            };
            calls.push(aggregate_call(&call, input_schema, offset, &mut arguments)?);
        }
        let columns = Arc::new(KeyColumns::new(keys, arguments, input_schema.as_arrow())?);
        let output = Arc::new(window.schema.as_arrow().clone());
        let spec =
            OverSpec { columns: Arc::clone(&columns), input_count, time, calls, frame, output: Arc::clone(&output) };
        let name = format!(
            "OverAggregate(partitionBy=[{}], orderBy=[{}], window=[{}])",
            partition_by.iter().map(|e| e.schema_name().to_string()).collect::<Vec<_>>().join(", "),
            order_by.iter().map(|e| e.expr.schema_name().to_string()).collect::<Vec<_>>().join(", "),
            frame_text(frame)
        );
        let stream = input
            .stream
            .process(with_functions(KeySplit::new(columns)))
            .name("KeySplit")
            .key_by(|changes: &KeyedChanges| changes.route.clone())
            .process(with_functions(OverAggregate::new(Arc::new(spec))))
            .name(&name);
        Ok(Planned { stream, schema: output, updates: false })
    }

    /// The position in the input of the OVER window's `ORDER BY` column, which must be one
    /// event-time attribute, ascending, as Flink requires in streaming mode.
    fn over_time(&self, window: &Window, order_by: &[datafusion::logical_expr::SortExpr]) -> Result<usize> {
        let requirement = || {
            TableError::Validation(
                "OVER windows' ordering in stream mode must be defined on a time attribute: ORDER BY one event-time \
                 column (one with a WATERMARK), ascending"
                    .into(),
            )
        };
        let [order] = order_by else { return Err(requirement()) };
        let Expr::Column(column) = &order.expr else { return Err(requirement()) };
        let position = window.input.schema().index_of_column(column).map_err(|_| requirement())?;
        match time_attribute(self.catalog, &window.input, position) {
            Some(TimeAttribute::Rowtime) if order.asc => Ok(position),
            Some(TimeAttribute::Proctime) => Err(unsupported("OVER windows ordered by processing time")),
            _ => Err(requirement()),
        }
    }
}

/// The frame of a window function, which must end at the current row.
fn frame_of(frame: &WindowFrame) -> Result<Frame> {
    if !matches!(frame.end_bound, WindowFrameBound::CurrentRow) {
        return Err(unsupported("OVER windows that end after the current row (Flink's end at CURRENT ROW)"));
    }
    let WindowFrameBound::Preceding(preceding) = &frame.start_bound else {
        return Err(unsupported("OVER windows that start at or after the current row"));
    };
    let unbounded = preceding.is_null();
    match frame.units {
        WindowFrameUnits::Rows if unbounded => Ok(Frame::Rows(None)),
        WindowFrameUnits::Rows => match preceding {
            ScalarValue::UInt64(Some(n)) => Ok(Frame::Rows(Some(*n))),
            other => match other.cast_to(&datafusion::arrow::datatypes::DataType::UInt64) {
                Ok(ScalarValue::UInt64(Some(n))) => Ok(Frame::Rows(Some(n))),
                _ => Err(TableError::Validation(format!("ROWS {other} PRECEDING needs a count of rows"))),
            },
        },
        WindowFrameUnits::Range if unbounded => Ok(Frame::Range(None)),
        WindowFrameUnits::Range => match preceding {
            ScalarValue::IntervalMonthDayNano(Some(interval)) if interval.months == 0 => {
                Ok(Frame::Range(Some(i64::from(interval.days) * 86_400_000 + interval.nanoseconds / 1_000_000)))
            }
            ScalarValue::IntervalDayTime(Some(interval)) => {
                Ok(Frame::Range(Some(i64::from(interval.days) * 86_400_000 + i64::from(interval.milliseconds))))
            }
            other => Err(TableError::Validation(format!(
                "RANGE {other} PRECEDING over a time attribute needs an interval of days or less, such as INTERVAL \
                 '10' SECOND"
            ))),
        },
        WindowFrameUnits::Groups => Err(unsupported("GROUPS frames in OVER windows")),
    }
}

fn frame_text(frame: Frame) -> String {
    match frame {
        Frame::Rows(None) => "ROWS UNBOUNDED PRECEDING".into(),
        Frame::Rows(Some(n)) => format!("ROWS {n} PRECEDING"),
        Frame::Range(None) => "RANGE UNBOUNDED PRECEDING".into(),
        Frame::Range(Some(millis)) => format!("RANGE {millis} ms PRECEDING"),
    }
}

impl OverAggregate {
    fn new(spec: Arc<OverSpec>) -> Self {
        OverAggregate { spec, waiting: None, history: None, late_rows: None }
    }

    fn state(&self) -> Result<(&ListState<ChangeBatch>, &ValueState<History>)> {
        match (&self.waiting, &self.history) {
            (Some(waiting), Some(history)) => Ok((waiting, history)),
            _ => Err(TableError::Execution("OverAggregate not opened".into())),
        }
    }

    /// Puts each row of `changes` with its partition's waiting rows, with a timer at its time.
    fn add_rows(
        &mut self,
        changes: &ChangeBatch,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> Result<()> {
        let rows = &changes.rows;
        let times = row_times(rows.column(self.spec.time))?;
        let watermark = ctx.timer_service().current_watermark();
        let mut converter = self.spec.columns.converter()?;
        let keys = self.spec.columns.group_keys(&mut converter, rows)?;
        // Rows the watermark passed are late; each other row gets a timer at its time.
        let on_time: Vec<usize> = (0..rows.num_rows()).filter(|&row| times.value(row) > watermark).collect();
        let late = (rows.num_rows() - on_time.len()) as i64;
        let partitions = rows_by_key(&keys, on_time);
        for (key, positions) in &partitions {
            ctx.set_current_key(key.clone());
            for &row in positions {
                ctx.timer_service().register_event_time_timer(times.value(row as usize));
            }
        }
        for (key, positions) in partitions {
            ctx.set_current_key(key);
            let batch = if positions.len() == rows.num_rows() { rows.clone() } else { take_rows(rows, positions)? };
            self.state()?.0.add(ChangeBatch::inserts(batch)).map_err(TableError::execution)?;
        }
        if let Some(counter) = self.late_rows.as_ref().filter(|_| late > 0) {
            counter.inc_by(late);
        }
        Ok(())
    }

    /// The current partition's rows up to the watermark: aggregated over their frames in time
    /// order, and sent on.
    fn emit_ready(&mut self, ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>) -> Result<()> {
        let watermark = ctx.timer_service().current_watermark();
        let (waiting_state, history_state) = self.state()?;
        let waiting = waiting_state.get().map_err(TableError::execution)?;
        let Some(first) = waiting.first() else { return Ok(()) };
        let rows = concat_batches(&first.rows.schema(), waiting.iter().map(|batch| &batch.rows))
            .map_err(|e| TableError::Execution(e.to_string()))?;
        let times = millis(rows.column(self.spec.time))?;
        let (mut ready, mut later): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
        for (row, &time) in times.values().iter().enumerate() {
            if time <= watermark {
                ready.push(row as u32);
            } else {
                later.push(row as u32);
            }
        }
        if ready.is_empty() {
            return Ok(());
        }
        // In time order, rows of one time in the order they came.
        ready.sort_by_key(|&row| times.value(row as usize));
        let ready = take_rows(&rows, ready)?;
        if later.is_empty() {
            waiting_state.clear().map_err(TableError::execution)?;
        } else {
            waiting_state
                .update(vec![ChangeBatch::inserts(take_rows(&rows, later)?)])
                .map_err(TableError::execution)?;
        }
        let history = history_state.try_value().map_err(TableError::execution)?;
        let (results, history) = if self.spec.frame.is_bounded() {
            self.bounded(history, &ready)?
        } else {
            self.unbounded(history, &ready)?
        };
        match history {
            Some(history) => history_state.try_update(history).map_err(TableError::execution)?,
            None => history_state.try_clear().map_err(TableError::execution)?,
        }
        let mut columns: Vec<ArrayRef> =
            ready.columns()[self.spec.columns.key_count()..][..self.spec.input_count].to_vec();
        for values in results {
            columns.push(ScalarValue::iter_to_array(values).map_err(|e| TableError::Execution(e.strip_backtrace()))?);
        }
        let output = RecordBatch::try_new(Arc::clone(&self.spec.output), columns)
            .map_err(|e| TableError::Execution(format!("the OVER aggregate's result does not fit its schema: {e}")))?;
        ctx.collect(ChangeBatch::inserts(output));
        Ok(())
    }

    /// The results of each row of `ready` over a bounded frame, computed from the frame's rows
    /// (the history's, then the ready rows before it), and the rows later frames may reach.
    fn bounded(
        &self,
        history: Option<History>,
        ready: &RecordBatch,
    ) -> Result<(Vec<Vec<ScalarValue>>, Option<History>)> {
        let rows = match history {
            Some(History::Rows(history)) => concat_batches(&ready.schema(), [&history.rows, ready])
                .map_err(|e| TableError::Execution(e.to_string()))?,
            _ => ready.clone(),
        };
        let kept = rows.num_rows() - ready.num_rows();
        let times = millis(rows.column(self.spec.time))?;
        let arguments = self.spec.calls.iter().map(|call| call.argument(rows.columns())).collect::<Result<Vec<_>>>()?;
        let mut results = vec![Vec::with_capacity(ready.num_rows()); self.spec.calls.len()];
        for row in kept..rows.num_rows() {
            let (first, last) = match self.spec.frame {
                Frame::Rows(Some(preceding)) => (row.saturating_sub(preceding as usize), row),
                Frame::Range(Some(range)) => {
                    let time = times.value(row);
                    let first = (0..=row).find(|&other| times.value(other) >= time - range).unwrap_or(row);
                    let last =
                        (row..rows.num_rows()).take_while(|&other| times.value(other) == time).last().unwrap_or(row);
                    (first, last)
                }
                _ => (row, row),
            };
            let mut group = GroupState::new(&self.spec.calls)?;
            for other in first..=last {
                apply_row(&self.spec.calls, &mut group, &arguments, other, 1)?;
            }
            for (call, (column, accumulator)) in self.spec.calls.iter().zip(results.iter_mut().zip(&group.accumulators))
            {
                column.push(call.value(accumulator)?);
            }
        }
        // What the next rows' frames may reach: the last n rows, or the rows within the range
        // of the latest time.
        let total = rows.num_rows();
        let keep_from = match self.spec.frame {
            Frame::Rows(Some(preceding)) => total.saturating_sub(preceding as usize),
            Frame::Range(Some(range)) => {
                let latest = times.value(total - 1);
                (0..total).find(|&row| times.value(row) >= latest - range).unwrap_or(total)
            }
            _ => total,
        };
        let history =
            (keep_from < total).then(|| History::Rows(ChangeBatch::inserts(rows.slice(keep_from, total - keep_from))));
        Ok((results, history))
    }

    /// The results of each row of `ready` over an unbounded frame: the accumulators of every
    /// row so far, with each row (`ROWS`) or each time's rows (`RANGE`) added in turn.
    fn unbounded(
        &self,
        history: Option<History>,
        ready: &RecordBatch,
    ) -> Result<(Vec<Vec<ScalarValue>>, Option<History>)> {
        let mut group = match history {
            Some(History::Accumulated(group)) => group,
            _ => GroupState::new(&self.spec.calls)?,
        };
        let times = millis(ready.column(self.spec.time))?;
        let arguments =
            self.spec.calls.iter().map(|call| call.argument(ready.columns())).collect::<Result<Vec<_>>>()?;
        let mut results = vec![Vec::with_capacity(ready.num_rows()); self.spec.calls.len()];
        let mut row = 0;
        while row < ready.num_rows() {
            // A RANGE frame holds all rows of the current row's time.
            let end = match self.spec.frame {
                Frame::Range(_) => {
                    (row..ready.num_rows()).take_while(|&other| times.value(other) == times.value(row)).count() + row
                }
                _ => row + 1,
            };
            for other in row..end {
                apply_row(&self.spec.calls, &mut group, &arguments, other, 1)?;
            }
            for _ in row..end {
                for (call, (column, accumulator)) in
                    self.spec.calls.iter().zip(results.iter_mut().zip(&group.accumulators))
                {
                    column.push(call.value(accumulator)?);
                }
            }
            row = end;
        }
        Ok((results, Some(History::Accumulated(group))))
    }
}

/// Each parallel instance starts from the spec alone; `open` makes the rest.
impl Clone for OverAggregate {
    fn clone(&self) -> Self {
        OverAggregate::new(Arc::clone(&self.spec))
    }
}

impl KeyedProcessFunction<GroupKey, KeyedChanges, ChangeBatch> for OverAggregate {
    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, GroupKey>) -> pyflink_core::Result<()> {
        self.waiting = Some(context.get_list_state(&ListStateDescriptor::new("overWaiting"))?);
        self.history = Some(context.get_state(&ValueStateDescriptor::new("overHistory"))?);
        self.late_rows = Some(context.runtime().get_metric_group().counter("numLateRecordsDropped"));
        Ok(())
    }

    fn process_element(
        &mut self,
        value: KeyedChanges,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        self.add_rows(&value.changes, ctx).map_err(flink)
    }

    fn on_timer(
        &mut self,
        _timestamp: i64,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        self.emit_ready(ctx).map_err(flink)
    }
}
