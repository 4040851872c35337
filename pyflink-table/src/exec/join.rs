//! Regular joins (`JOIN`, `LEFT`/`RIGHT`/`FULL [OUTER] JOIN`, and the semi and anti joins that
//! `EXISTS` and `IN` subqueries become), as Flink's streaming join runs them: both inputs are
//! split by their equi-join keys ([`KeySplit`](crate::exec::key_split::KeySplit)), meet in one
//! keyed operator, [`StreamingJoin`], and each side keeps its rows in keyed state, with how many
//! copies of each and how many rows of the other side each matches.
//!
//! In streaming mode every change of either input is joined at once against the other side's
//! state and emitted as a change of the result: an inner join passes each input row's kind on
//! to its joined rows; an outer join emits a row padded with nulls while it has no match and
//! retracts it (`-D`) when its first match comes, and emits it again when its last match is
//! retracted. Retractions of either input retract the rows they joined. A row whose key is
//! NULL matches nothing (unless the condition is `IS NOT DISTINCT FROM`).
//!
//! An interval join ([`IntervalBounds`]) joins the same way, but each row is forgotten when the
//! watermark passes the time after which no row of the other side can match it (an event-time
//! timer of its key), and an outer join emits a row padded with nulls only then, if it never
//! matched: its result only inserts, as Flink's time-interval join.
//!
//! In batch mode the operator keeps the rows in memory and joins them once, when its input
//! ends, so the result holds only final rows.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, UInt32Array};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::physical_expr::PhysicalExpr;
use pyflink_core::api::functions::{KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext};
use pyflink_core::table::RowKind;
use pyflink_core::{StateTtlConfig, ValueState, ValueStateDescriptor};
use serde::{Deserialize, Serialize};

use crate::batch::ChangeBatch;
use crate::error::{Result, TableError};
use crate::exec::group_aggregate::flink;
use crate::exec::interval::IntervalBounds;
use crate::exec::key_split::{GroupKey, KeyColumns, KeyedChanges};

/// Which input of a join a batch comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum JoinSide {
    Left,
    Right,
}

impl JoinSide {
    fn index(self) -> usize {
        match self {
            JoinSide::Left => 0,
            JoinSide::Right => 1,
        }
    }

    fn other(self) -> JoinSide {
        match self {
            JoinSide::Left => JoinSide::Right,
            JoinSide::Right => JoinSide::Left,
        }
    }
}

/// A batch of one input of a join, split by key: the record type of the join's exchange.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct JoinInput {
    pub(crate) side: JoinSide,
    pub(crate) changes: KeyedChanges,
}

/// The kinds of join the operator runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
    /// The left rows that have a match (`EXISTS`, `IN`).
    Semi,
    /// The left rows that have none (`NOT EXISTS`).
    Anti,
}

impl JoinKind {
    /// Whether rows of `side` without a match are in the result (padded with nulls).
    fn preserves(self, side: JoinSide) -> bool {
        matches!(
            (self, side),
            (JoinKind::Full, _) | (JoinKind::Left, JoinSide::Left) | (JoinKind::Right, JoinSide::Right)
        )
    }

    /// Whether the result has the columns of both sides (not a semi or anti join).
    fn pairs(self) -> bool {
        !matches!(self, JoinKind::Semi | JoinKind::Anti)
    }

    /// Flink's name of the join type, for operator names.
    pub(crate) fn flink_name(self) -> &'static str {
        match self {
            JoinKind::Inner => "InnerJoin",
            JoinKind::Left => "LeftOuterJoin",
            JoinKind::Right => "RightOuterJoin",
            JoinKind::Full => "FullOuterJoin",
            JoinKind::Semi => "LeftSemiJoin",
            JoinKind::Anti => "LeftAntiJoin",
        }
    }
}

/// What a join computes.
pub(crate) struct JoinSpec {
    /// Per side (left, right): the equi-join keys, then all the side's columns.
    pub(crate) sides: [Arc<KeyColumns>; 2],
    /// The condition beyond the equi-join keys, over a left row followed by a right row
    /// (`pair_schema`).
    pub(crate) filter: Option<Arc<dyn PhysicalExpr>>,
    pub(crate) pair_schema: SchemaRef,
    pub(crate) kind: JoinKind,
    pub(crate) output: SchemaRef,
    /// Whether NULL keys equal each other (`IS NOT DISTINCT FROM`).
    pub(crate) nulls_equal: bool,
    pub(crate) streaming: bool,
    /// `table.exec.state.ttl`: how long a key's rows stay in state after they were last written.
    pub(crate) state_ttl: Option<Duration>,
    /// The time bounds of an interval join, whose rows expire with the watermark.
    pub(crate) interval: Option<IntervalBounds>,
}

/// One distinct row of one side, as it stands in the join's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StoredRow {
    /// The row's columns in Arrow's row format.
    row: Vec<u8>,
    /// How many copies of the row the side has.
    count: i64,
    /// How many rows of the other side (with their copies) it matches.
    matches: i64,
    /// In an interval join, the watermark at which the row is forgotten (`i64::MAX` otherwise).
    expires: i64,
}

/// The rows of one side under one key.
type SideRows = Vec<StoredRow>;

/// Adds a copy of `row`, which matches `matches` rows of the other side and expires at
/// `expires`.
fn store(rows: &mut SideRows, row: &[u8], matches: i64, expires: i64) {
    match rows.iter_mut().find(|stored| stored.row == row) {
        Some(stored) => stored.count += 1,
        None => rows.push(StoredRow { row: row.to_vec(), count: 1, matches, expires }),
    }
}

/// Takes away a copy of `row`; false when the side has none (its state expired).
fn unstore(rows: &mut SideRows, row: &[u8]) -> bool {
    let Some(position) = rows.iter().position(|stored| stored.row == row) else {
        return false;
    };
    rows[position].count -= 1;
    if rows[position].count == 0 {
        rows.swap_remove(position);
    }
    true
}

/// The rows a batch makes, before they become one output batch: each side's part of each row
/// in Arrow's row format (the side's all-null row where it is padded).
#[derive(Default)]
struct Emitted {
    kinds: Vec<RowKind>,
    left: Vec<Vec<u8>>,
    right: Vec<Vec<u8>>,
}

/// The rows of an input batch in the form the join keeps them.
struct Decoded {
    /// Each row's encoded key.
    keys: Vec<GroupKey>,
    /// Each row's columns in Arrow's row format.
    rows: Vec<Vec<u8>>,
    /// Whether each row's key has a NULL (and so matches nothing).
    null_key: Vec<bool>,
    /// In an interval join, each row's event time (`i64::MIN` for NULL); empty otherwise.
    times: Vec<i64>,
}

/// Batch mode: the rows of both sides under one key.
#[derive(Default)]
struct BatchGroup {
    /// Whether the key has a NULL in it, so that nothing matches.
    unmatchable: bool,
    sides: [SideRows; 2],
}

/// The keyed operator of a join.
pub(crate) struct StreamingJoin {
    spec: Arc<JoinSpec>,
    /// Per side: converters of the key columns and of the rows.
    keys: Vec<RowConverter>,
    rows: Vec<RowConverter>,
    /// Per side: the row format of a row of nulls, for padding.
    null_rows: Vec<Vec<u8>>,
    /// Streaming: per side, the rows under each key.
    state: Vec<ValueState<SideRows>>,
    /// Batch mode: all rows, joined at the end.
    groups: HashMap<GroupKey, BatchGroup>,
    emitted: Emitted,
}

impl StreamingJoin {
    pub(crate) fn new(spec: Arc<JoinSpec>) -> Self {
        StreamingJoin {
            spec,
            keys: Vec::new(),
            rows: Vec::new(),
            null_rows: Vec::new(),
            state: Vec::new(),
            groups: HashMap::new(),
            emitted: Emitted::default(),
        }
    }

    /// The keys, rows and NULL-ness of the keys of one input batch.
    fn decode(&mut self, side: JoinSide, batch: &RecordBatch) -> Result<Decoded> {
        let columns = &self.spec.sides[side.index()];
        let key_count = columns.key_count();
        let keys = columns.group_keys(&mut self.keys[side.index()], batch)?;
        let rows = self.rows[side.index()]
            .convert_columns(&batch.columns()[key_count..])
            .map_err(|e| TableError::Execution(e.to_string()))?;
        let mut null_key = vec![false; batch.num_rows()];
        if !self.spec.nulls_equal {
            for column in &batch.columns()[..key_count] {
                if let Some(nulls) = column.logical_nulls() {
                    for (row, flag) in null_key.iter_mut().enumerate() {
                        *flag |= nulls.is_null(row);
                    }
                }
            }
        }
        let keys = (0..batch.num_rows()).map(|row| keys.key(row).to_vec()).collect();
        let rows = rows.iter().map(|row| row.data().to_vec()).collect();
        let times = match &self.spec.interval {
            Some(interval) => event_times(batch.column(key_count + interval.time_column(side)).as_ref())?,
            None => Vec::new(),
        };
        Ok(Decoded { keys, rows, null_key, times })
    }

    /// Which pairs of `left` and `right` rows meet the join's condition, left-major (pair
    /// `l * right.len() + r`); `None` when every pair does (the keys are the whole condition).
    fn matching(&self, left: &[&[u8]], right: &[&[u8]]) -> Result<Option<BooleanArray>> {
        let Some(filter) = &self.spec.filter else {
            return Ok(None);
        };
        if left.is_empty() || right.is_empty() {
            return Ok(Some(BooleanArray::from(Vec::<bool>::new())));
        }
        let width = right.len() as u32;
        let left_take: UInt32Array = (0..left.len() as u32).flat_map(|l| std::iter::repeat_n(l, right.len())).collect();
        let right_take: UInt32Array = (0..left.len()).flat_map(|_| 0..width).collect();
        let mut columns = self.columns_of(JoinSide::Left, left, &left_take)?;
        columns.extend(self.columns_of(JoinSide::Right, right, &right_take)?);
        let pairs = RecordBatch::try_new(Arc::clone(&self.spec.pair_schema), columns)
            .map_err(|e| TableError::Execution(format!("the join's rows do not fit its schema: {e}")))?;
        let value = filter.evaluate(&pairs).and_then(|value| value.into_array(pairs.num_rows()));
        let mask = value.map_err(|e| TableError::Execution(e.strip_backtrace()))?;
        let mask = mask
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| TableError::Execution("the join condition is not a boolean".into()))?;
        // NULL is not true.
        Ok(Some(mask.iter().map(|value| Some(value == Some(true))).collect()))
    }

    /// The columns of `rows` of `side`, taken in the order `indices`.
    fn columns_of(&self, side: JoinSide, rows: &[&[u8]], indices: &UInt32Array) -> Result<Vec<ArrayRef>> {
        let converter = &self.rows[side.index()];
        let parser = converter.parser();
        let columns = converter
            .convert_rows(rows.iter().map(|row| parser.parse(row)))
            .map_err(|e| TableError::Execution(e.to_string()))?;
        columns
            .iter()
            .map(|column| take(column.as_ref(), indices, None).map_err(|e| TableError::Execution(e.to_string())))
            .collect()
    }

    /// Records a result row of `left` and `right` (`None` for padding), `copies` times.
    fn emit(&mut self, kind: RowKind, left: Option<&[u8]>, right: Option<&[u8]>, copies: i64) {
        for _ in 0..copies {
            self.emitted.kinds.push(kind);
            self.emitted.left.push(left.unwrap_or(&self.null_rows[0]).to_vec());
            if self.spec.kind.pairs() {
                self.emitted.right.push(right.unwrap_or(&self.null_rows[1]).to_vec());
            }
        }
    }

    /// Streaming: joins a batch of `side` against the other side's state and updates both.
    fn process_changes(
        &mut self,
        side: JoinSide,
        changes: &ChangeBatch,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> Result<()> {
        let decoded = self.decode(side, &changes.rows)?;
        let keys = &decoded.keys;
        let mut order: Vec<usize> = (0..keys.len()).collect();
        // Rows of one key meet in a run, in their order.
        order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
        let mut start = 0;
        while start < order.len() {
            let key = &keys[order[start]];
            let end = start + order[start..].iter().take_while(|&&row| &keys[row] == key).count();
            ctx.set_current_key(key.clone());
            let this_state = &self.state[side.index()];
            let other_state = &self.state[side.other().index()];
            let read =
                |state: &ValueState<SideRows>| state.try_value().map_err(|e| TableError::Execution(e.to_string()));
            let mut mine = read(this_state)?.unwrap_or_default();
            let mut others = read(other_state)?.unwrap_or_default();
            let batch_rows: Vec<usize> = order[start..end].to_vec();
            let watermark = ctx.current_watermark();
            let expiries = self.join_rows(side, changes, &batch_rows, &decoded, &mut mine, &mut others, watermark)?;
            for expiry in expiries {
                ctx.timer_service().register_event_time_timer(expiry);
            }
            let write = |state: &ValueState<SideRows>, rows: SideRows| {
                if rows.is_empty() { state.try_clear() } else { state.try_update(rows) }
                    .map_err(|e| TableError::Execution(e.to_string()))
            };
            write(&self.state[side.index()], mine)?;
            write(&self.state[side.other().index()], others)?;
            start = end;
        }
        let emitted = std::mem::take(&mut self.emitted);
        self.send(emitted, ctx)
    }

    /// Streaming: applies `batch_rows`, the rows of `side` under one key, to `mine` (that side's
    /// rows under the key) and joins them with `others` (the other side's). In an interval
    /// join, returns when the rows kept expire, for timers.
    #[allow(clippy::too_many_arguments)]
    fn join_rows(
        &mut self,
        side: JoinSide,
        changes: &ChangeBatch,
        batch_rows: &[usize],
        decoded: &Decoded,
        mine: &mut SideRows,
        others: &mut SideRows,
        watermark: i64,
    ) -> Result<Vec<i64>> {
        let mut expiries = Vec::new();
        let (rows, null_key) = (&decoded.rows, &decoded.null_key);
        let incoming: Vec<&[u8]> = batch_rows.iter().map(|&row| rows[row].as_slice()).collect();
        let stored: Vec<&[u8]> = others.iter().map(|other| other.row.as_slice()).collect();
        let mask = match side {
            JoinSide::Left => self.matching(&incoming, &stored)?,
            JoinSide::Right => {
                self.matching(&stored, &incoming)?.map(|mask| transpose(&mask, stored.len(), incoming.len()))
            }
        };
        let kind = self.spec.kind;
        let width = others.len();
        for (position, &row) in batch_rows.iter().enumerate() {
            let matchable = !null_key[row];
            let matched: Vec<usize> = if matchable {
                (0..width)
                    .filter(|&other| mask.as_ref().is_none_or(|mask| mask.value(position * width + other)))
                    .collect()
            } else {
                Vec::new()
            };
            let matches: i64 = matched.iter().map(|&other| others[other].count).sum();
            let this = rows[row].as_slice();
            let accumulate = matches!(changes.kind(row), RowKind::Insert | RowKind::UpdateAfter);
            if let Some(interval) = self.spec.interval {
                // Interval joins read rows that only insert.
                let expires = interval.expiry(side, decoded.times[row]);
                if matchable && expires > watermark {
                    store(mine, this, matches, expires);
                    expiries.push(expires);
                } else if matches == 0 && self.spec.kind.preserves(side) {
                    // Already expired: what could match it has passed.
                    self.emit_padded(side, RowKind::Insert, this, 1);
                }
                for &other in &matched {
                    others[other].matches += 1;
                    let (copies, other_bytes) = (others[other].count, others[other].row.as_slice());
                    let (left, right) = match side {
                        JoinSide::Left => (this, other_bytes),
                        JoinSide::Right => (other_bytes, this),
                    };
                    self.emit(RowKind::Insert, Some(left), Some(right), copies);
                }
                continue;
            }
            // Rows with a NULL key never match, so they are not kept.
            let present = match (matchable, accumulate) {
                (false, _) => true,
                (true, true) => {
                    store(mine, this, matches, i64::MAX);
                    true
                }
                (true, false) => unstore(mine, this),
            };
            if !present {
                continue;
            }
            if !kind.pairs() {
                self.semi_or_anti(side, accumulate, this, matches, &matched, others);
                continue;
            }
            let (pair_kind, padded_kind) = match (kind, accumulate) {
                (JoinKind::Inner, _) => (changes.kind(row), RowKind::Insert),
                (_, true) => (RowKind::Insert, RowKind::Insert),
                (_, false) => (RowKind::Delete, RowKind::Delete),
            };
            if matches == 0 && kind.preserves(side) {
                self.emit_padded(side, padded_kind, this, 1);
            }
            let other_preserved = kind.preserves(side.other());
            for &other in &matched {
                let other_row = &mut others[other];
                let padded_before = other_row.matches == 0;
                other_row.matches += if accumulate { 1 } else { -1 };
                let padded_after = other_row.matches == 0;
                let (copies, other_bytes) = (other_row.count, others[other].row.as_slice());
                if other_preserved && accumulate && padded_before {
                    self.emit_padded(side.other(), RowKind::Delete, other_bytes, copies);
                }
                let (left, right) = match side {
                    JoinSide::Left => (this, other_bytes),
                    JoinSide::Right => (other_bytes, this),
                };
                self.emit(pair_kind, Some(left), Some(right), copies);
                if other_preserved && !accumulate && padded_after {
                    self.emit_padded(side.other(), RowKind::Insert, other_bytes, copies);
                }
            }
        }
        Ok(expiries)
    }

    /// Interval joins: forgets the rows of the current key that expire by `watermark`, emitting
    /// those of an outer side that never matched, padded with nulls.
    fn expire(&mut self, watermark: i64, ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>) -> Result<()> {
        for side in [JoinSide::Left, JoinSide::Right] {
            let state = &self.state[side.index()];
            let Some(rows) = state.try_value().map_err(|e| TableError::Execution(e.to_string()))? else {
                continue;
            };
            let (expired, kept): (SideRows, SideRows) = rows.into_iter().partition(|row| row.expires <= watermark);
            if expired.is_empty() {
                continue;
            }
            if kept.is_empty() { state.try_clear() } else { state.try_update(kept) }
                .map_err(|e| TableError::Execution(e.to_string()))?;
            if self.spec.kind.preserves(side) {
                for row in expired.iter().filter(|row| row.matches == 0) {
                    self.emit_padded(side, RowKind::Insert, &row.row, row.count);
                }
            }
        }
        let emitted = std::mem::take(&mut self.emitted);
        self.send(emitted, ctx)
    }

    /// A row of `side` padded with nulls for the other side's columns, `copies` times.
    fn emit_padded(&mut self, side: JoinSide, kind: RowKind, row: &[u8], copies: i64) {
        match side {
            JoinSide::Left => self.emit(kind, Some(row), None, copies),
            JoinSide::Right => self.emit(kind, None, Some(row), copies),
        }
    }

    /// Streaming semi and anti joins: a left row is in the result while it has a match (semi)
    /// or while it has none (anti); `this` is a row of `side` that comes or goes and matches
    /// `matched` of `others`, whose counts it changes.
    fn semi_or_anti(
        &mut self,
        side: JoinSide,
        accumulate: bool,
        this: &[u8],
        matches: i64,
        matched: &[usize],
        others: &mut SideRows,
    ) {
        let semi = self.spec.kind == JoinKind::Semi;
        if side == JoinSide::Left {
            // The left row itself comes or goes, if it is in the result.
            if (matches > 0) == semi {
                self.emit(if accumulate { RowKind::Insert } else { RowKind::Delete }, Some(this), None, 1);
            }
            return;
        }
        // A right row changes whether the left rows it matches have a match.
        for &other in matched {
            let left = &mut others[other];
            let in_result_before = (left.matches > 0) == semi;
            left.matches += if accumulate { 1 } else { -1 };
            let in_result_after = (left.matches > 0) == semi;
            let copies = left.count;
            if in_result_before != in_result_after {
                let kind = if in_result_after { RowKind::Insert } else { RowKind::Delete };
                self.emit(kind, Some(&others[other].row), None, copies);
            }
        }
    }

    /// Batch mode: keeps the rows of a batch of `side` until the input ends.
    fn keep(&mut self, side: JoinSide, changes: &ChangeBatch) -> Result<()> {
        let Decoded { keys, rows, null_key, .. } = self.decode(side, &changes.rows)?;
        for (row, key) in keys.into_iter().enumerate() {
            let group = self.groups.entry(key).or_default();
            group.unmatchable |= null_key[row];
            let side_rows = &mut group.sides[side.index()];
            if matches!(changes.kind(row), RowKind::Insert | RowKind::UpdateAfter) {
                store(side_rows, &rows[row], 0, i64::MAX);
            } else {
                unstore(side_rows, &rows[row]);
            }
        }
        Ok(())
    }

    /// Batch mode: the join of the rows of one key, both sides complete.
    fn join_group(&mut self, group: &BatchGroup) -> Result<()> {
        let [left, right] = &group.sides;
        let left_rows: Vec<&[u8]> = left.iter().map(|row| row.row.as_slice()).collect();
        let right_rows: Vec<&[u8]> = right.iter().map(|row| row.row.as_slice()).collect();
        let mask = self.matching(&left_rows, &right_rows)?;
        let kind = self.spec.kind;
        let mut right_matched = vec![false; right.len()];
        for (l, left_row) in left.iter().enumerate() {
            let mut matched = false;
            for (r, right_row) in right.iter().enumerate() {
                if group.unmatchable || !mask.as_ref().is_none_or(|mask| mask.value(l * right.len() + r)) {
                    continue;
                }
                matched = true;
                right_matched[r] = true;
                if kind.pairs() {
                    let copies = left_row.count * right_row.count;
                    self.emit(RowKind::Insert, Some(&left_row.row), Some(&right_row.row), copies);
                }
            }
            let keep_unmatched = kind.preserves(JoinSide::Left) || kind == JoinKind::Anti;
            if (matched && kind == JoinKind::Semi) || (!matched && keep_unmatched) {
                self.emit(RowKind::Insert, Some(&left_row.row), None, left_row.count);
            }
        }
        if kind.preserves(JoinSide::Right) {
            for (right_row, _) in right.iter().zip(&right_matched).filter(|(_, matched)| !**matched) {
                self.emit(RowKind::Insert, None, Some(&right_row.row), right_row.count);
            }
        }
        Ok(())
    }

    /// The rows of `emitted` as one batch, sent on.
    fn send(&self, emitted: Emitted, out: &mut pyflink_core::ProcessContext<'_, ChangeBatch>) -> Result<()> {
        if emitted.kinds.is_empty() {
            return Ok(());
        }
        let mut columns = self.decoded(JoinSide::Left, &emitted.left)?;
        if self.spec.kind.pairs() {
            columns.extend(self.decoded(JoinSide::Right, &emitted.right)?);
        }
        let rows = RecordBatch::try_new(Arc::clone(&self.spec.output), columns)
            .map_err(|e| TableError::Execution(format!("the join's result does not fit its schema: {e}")))?;
        let all_inserts = emitted.kinds.iter().all(|kind| *kind == RowKind::Insert);
        out.collect(ChangeBatch { rows, kinds: if all_inserts { None } else { Some(emitted.kinds) } });
        Ok(())
    }

    /// The columns of `rows` of `side`, in Arrow's row format.
    fn decoded(&self, side: JoinSide, rows: &[Vec<u8>]) -> Result<Vec<ArrayRef>> {
        let converter = &self.rows[side.index()];
        let parser = converter.parser();
        converter
            .convert_rows(rows.iter().map(|row| parser.parse(row)))
            .map_err(|e| TableError::Execution(e.to_string()))
    }
}

/// The event times of a timestamp column in milliseconds, `i64::MIN` for NULL.
fn event_times(column: &dyn Array) -> Result<Vec<i64>> {
    use datafusion::arrow::datatypes::{DataType as ArrowType, TimeUnit};
    let millis = datafusion::arrow::compute::cast(column, &ArrowType::Timestamp(TimeUnit::Millisecond, None))
        .map_err(|e| TableError::Execution(format!("the event times of an interval join: {e}")))?;
    let millis = millis
        .as_any()
        .downcast_ref::<datafusion::arrow::array::TimestampMillisecondArray>()
        .ok_or_else(|| TableError::Execution("the event times of an interval join are not timestamps".into()))?;
    Ok(millis.iter().map(|time| time.unwrap_or(i64::MIN)).collect())
}

/// `mask`, pairs of `rows` x `columns` in row-major order, in column-major order.
fn transpose(mask: &BooleanArray, rows: usize, columns: usize) -> BooleanArray {
    (0..columns).flat_map(|column| (0..rows).map(move |row| Some(mask.value(row * columns + column)))).collect()
}

/// Each parallel instance starts from the spec alone; `open` makes the rest.
impl Clone for StreamingJoin {
    fn clone(&self) -> Self {
        StreamingJoin::new(Arc::clone(&self.spec))
    }
}

impl KeyedProcessFunction<GroupKey, JoinInput, ChangeBatch> for StreamingJoin {
    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, GroupKey>) -> pyflink_core::Result<()> {
        for (side, name) in self.spec.sides.iter().zip(["leftRows", "rightRows"]) {
            self.keys.push(side.converter().map_err(flink)?);
            let fields = &side.keyed_schema.fields()[side.key_count()..];
            let sort_fields = fields.iter().map(|field| SortField::new(field.data_type().clone())).collect();
            let converter = RowConverter::new(sort_fields).map_err(|e| flink(TableError::Execution(e.to_string())))?;
            let nulls: Vec<ArrayRef> =
                fields.iter().map(|field| datafusion::arrow::array::new_null_array(field.data_type(), 1)).collect();
            let null_row =
                converter.convert_columns(&nulls).map_err(|e| flink(TableError::Execution(e.to_string())))?;
            self.null_rows.push(null_row.row(0).data().to_vec());
            self.rows.push(converter);
            if self.spec.streaming {
                let mut descriptor = ValueStateDescriptor::new(name);
                if let Some(ttl) = self.spec.state_ttl {
                    descriptor.enable_time_to_live(StateTtlConfig::new_builder(ttl).build());
                }
                self.state.push(context.get_state(&descriptor)?);
            }
        }
        Ok(())
    }

    fn process_element(
        &mut self,
        input: JoinInput,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        let changes = &input.changes.changes;
        if self.spec.streaming {
            self.process_changes(input.side, changes, ctx).map_err(flink)
        } else {
            self.keep(input.side, changes).map_err(flink)
        }
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        self.expire(timestamp, ctx).map_err(flink)
    }

    fn end_input(&mut self, ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>) -> pyflink_core::Result<()> {
        for (_, group) in std::mem::take(&mut self.groups) {
            self.join_group(&group).map_err(flink)?;
        }
        let emitted = std::mem::take(&mut self.emitted);
        self.send(emitted, ctx).map_err(flink)
    }
}
