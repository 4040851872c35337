//! Top-N and deduplication: `ROW_NUMBER() OVER (PARTITION BY .. ORDER BY ..)` under a filter
//! that bounds it (`WHERE rn <= N`, `rn < N`, `rn = 1`), as Flink's rank operator runs them.
//! Each partition keeps its rows in keyed state in the order the `ORDER BY` gives them (rows
//! that sort alike in the order they came); after each batch the first N are compared with
//! the first N before it, and each position whose row changed is updated: `-U`/`+U` when a
//! row takes another's place, `+I` when a position fills, `-D` when it empties. Over a table
//! that only grows, rows past the first N can never come back, so only N are kept.
//!
//! Deduplication is the same with N = 1: `ORDER BY` a time ascending keeps each key's first
//! row, descending its last. In batch mode each partition's first N rows are emitted once, at
//! the end of the input.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, UInt64Array};
use datafusion::arrow::compute::{cast, SortOptions};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::expr::WindowFunction;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{BinaryExpr, Expr, Filter, LogicalPlan, Operator, Projection, Window};
use datafusion::physical_expr::expressions::Column as ColumnExpr;
use datafusion::physical_expr::PhysicalExpr;
use pyflink_core::api::functions::{KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext};
use pyflink_core::table::RowKind;
use pyflink_core::{StateTtlConfig, ValueState, ValueStateDescriptor};
use serde::{Deserialize, Serialize};

use crate::batch::ChangeBatch;
use crate::error::{Result, TableError};
use crate::exec::calc::Step;
use crate::exec::group_aggregate::flink;
use crate::exec::key_split::{rows_by_key, GroupKey, KeyColumns, KeySplit, KeyedChanges};
use crate::exec::time_attributes::unaliased;
use crate::exec::with_functions::with_functions;
use crate::exec::{calc, physical, unsupported, Compiler, Planned};

/// What a rank computes.
struct RankSpec {
    /// Keys: the `PARTITION BY` columns; then the input's columns, then the `ORDER BY` values.
    columns: Arc<KeyColumns>,
    input_count: usize,
    /// How the `ORDER BY` values sort.
    order: Vec<SortOptions>,
    /// The most rows ranked (the `N` of Top-N).
    limit: usize,
    /// Whether rows of the input may be retracted (then every row is kept, not only N).
    retracting: bool,
    streaming: bool,
    /// The input's columns, then the row number.
    output: SchemaRef,
    state_ttl: Option<std::time::Duration>,
}

/// One row of a partition: where it sorts, and its columns (both in Arrow's row format).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RankedRow {
    sort: Vec<u8>,
    row: Vec<u8>,
}

/// A partition's rows in rank order.
type Ranked = Vec<RankedRow>;

impl Compiler<'_> {
    /// A Top-N query, if `filter` bounds a `ROW_NUMBER()` of a window below it (through
    /// projections): the rank operator, then what the filter and projections do besides.
    pub(super) fn top_n(&self, filter: &Filter) -> Result<Option<Planned>> {
        let mut projections: Vec<&Projection> = Vec::new();
        let mut node = filter.input.as_ref();
        let window = loop {
            node = match node {
                LogicalPlan::Projection(projection) => {
                    projections.push(projection);
                    &projection.input
                }
                LogicalPlan::SubqueryAlias(alias) => &alias.input,
                LogicalPlan::Window(window) => break window,
                _ => return Ok(None),
            };
        };
        if !is_row_number(window) {
            return Ok(None);
        }
        let row_number = window.input.schema().fields().len();
        let conjuncts = split_conjunction(&filter.predicate);
        let Some((bound, limit)) = conjuncts.iter().enumerate().find_map(|(index, conjunct)| {
            row_number_bound(conjunct, filter.input.schema(), &projections, row_number).map(|limit| (index, limit))
        }) else {
            return Ok(None);
        };
        let mut planned = self.rank(window, limit)?;
        for projection in projections.iter().rev() {
            let expressions = projection
                .expr
                .iter()
                .map(|expression| physical(expression, projection.input.schema()))
                .collect::<Result<Vec<_>>>()?;
            let schema = Arc::new(projection.schema.as_arrow().clone());
            let listed: Vec<String> = projection.expr.iter().map(ToString::to_string).collect();
            let name = format!("Calc(select=[{}])", listed.join(", "));
            planned = calc(planned, vec![Step::Project { expressions, schema: Arc::clone(&schema) }], schema, &name);
        }
        let rest: Vec<Expr> =
            conjuncts.iter().enumerate().filter(|(index, _)| *index != bound).map(|(_, e)| (*e).clone()).collect();
        if let Some(rest) = rest.into_iter().reduce(Expr::and) {
            let schema = Arc::clone(&planned.schema);
            let name = format!("Calc(where=[{rest}])");
            planned = calc(planned, vec![Step::Filter(physical(&rest, filter.input.schema())?)], schema, &name);
        }
        Ok(Some(planned))
    }

    /// The rank operator of `window` (a `ROW_NUMBER()`), ranking at most `limit` rows.
    fn rank(&self, window: &Window, limit: usize) -> Result<Planned> {
        let Expr::WindowFunction(function) = unaliased(&window.window_expr[0]) else {
            return Err(TableError::Validation("ROW_NUMBER() is not a window function call".into()));
        };
        let WindowFunction { params, .. } = function.as_ref();
        let input_schema = window.input.schema();
        let input = self.build(&window.input)?;
        let keys = params.partition_by.iter().map(|key| physical(key, input_schema)).collect::<Result<Vec<_>>>()?;
        let input_count = input_schema.fields().len();
        let mut arguments: Vec<Arc<dyn PhysicalExpr>> = input_schema
            .fields()
            .iter()
            .enumerate()
            .map(|(index, field)| Arc::new(ColumnExpr::new(field.name(), index)) as Arc<dyn PhysicalExpr>)
            .collect();
        let mut order = Vec::new();
        for key in &params.order_by {
            arguments.push(physical(&key.expr, input_schema)?);
            order.push(SortOptions { descending: !key.asc, nulls_first: key.nulls_first });
        }
        let columns = Arc::new(KeyColumns::new(keys, arguments, input_schema.as_arrow())?);
        let output = Arc::new(window.schema.as_arrow().clone());
        let spec = RankSpec {
            columns: Arc::clone(&columns),
            input_count,
            order,
            limit,
            retracting: input.updates,
            streaming: self.streaming,
            output: Arc::clone(&output),
            state_ttl: self.state_ttl,
        };
        let name = format!(
            "Rank(strategy=[{}], rankType=[ROW_NUMBER], rankRange=[rankStart=1, rankEnd={limit}], partitionBy=[{}], \
             orderBy=[{}])",
            if input.updates { "RetractStrategy" } else { "AppendFastStrategy" },
            params.partition_by.iter().map(|e| e.schema_name().to_string()).collect::<Vec<_>>().join(", "),
            params.order_by.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(", ")
        );
        let stream = input
            .stream
            .process(with_functions(KeySplit::new(columns)))
            .name("KeySplit")
            .key_by(|changes: &KeyedChanges| changes.route.clone())
            .process(with_functions(Rank::new(Arc::new(spec))))
            .name(&name);
        Ok(Planned { stream, schema: output, updates: self.streaming })
    }
}

/// Whether `window` computes one `ROW_NUMBER()`.
fn is_row_number(window: &Window) -> bool {
    match window.window_expr.as_slice() {
        [expression] => {
            matches!(unaliased(expression), Expr::WindowFunction(function) if function.fun.name() == "row_number")
        }
        _ => false,
    }
}

/// The most rows `conjunct` lets through, if it bounds the column at `row_number` of the
/// window's output (`rn <= N`, `rn < N`, `rn = 1`, or the same mirrored), read through
/// `projections` (the topmost first).
fn row_number_bound(
    conjunct: &Expr,
    schema: &datafusion::common::DFSchema,
    projections: &[&Projection],
    row_number: usize,
) -> Option<usize> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = conjunct else { return None };
    let (column, op, literal) = match (left.as_ref(), right.as_ref()) {
        (Expr::Column(column), Expr::Literal(value, _)) => (column, *op, value),
        (Expr::Literal(value, _), Expr::Column(column)) => (column, op.swap()?, value),
        _ => return None,
    };
    let mut position = schema.index_of_column(column).ok()?;
    for projection in projections {
        let Expr::Column(column) = unaliased(&projection.expr[position]) else { return None };
        position = projection.input.schema().index_of_column(column).ok()?;
    }
    if position != row_number {
        return None;
    }
    let value = match literal.cast_to(&datafusion::arrow::datatypes::DataType::Int64).ok()? {
        ScalarValue::Int64(Some(value)) => value,
        _ => return None,
    };
    let limit = match op {
        Operator::LtEq => value,
        Operator::Lt => value - 1,
        Operator::Eq if value == 1 => 1,
        _ => return None,
    };
    usize::try_from(limit).ok().filter(|limit| *limit > 0)
}

/// The keyed operator of a Top-N.
struct Rank {
    spec: Arc<RankSpec>,
    keys: Option<RowConverter>,
    sort: Option<RowConverter>,
    rows: Option<RowConverter>,
    state: Option<ValueState<Ranked>>,
    /// Batch mode: every partition, ranked at the end.
    partitions: HashMap<GroupKey, Ranked>,
    /// The rows to emit: kind, row, row number.
    emitted: Vec<(RowKind, Vec<u8>, u64)>,
}

impl Rank {
    fn new(spec: Arc<RankSpec>) -> Self {
        Rank { spec, keys: None, sort: None, rows: None, state: None, partitions: HashMap::new(), emitted: Vec::new() }
    }

    fn opened(converter: &mut Option<RowConverter>) -> Result<&mut RowConverter> {
        converter.as_mut().ok_or_else(|| TableError::Execution("Rank not opened".into()))
    }

    /// Applies the rows of a batch to their partitions and emits the changes of their first N.
    fn process(
        &mut self,
        changes: &ChangeBatch,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> Result<()> {
        let batch = &changes.rows;
        let key_count = self.spec.columns.key_count();
        let keys = self.spec.columns.group_keys(Self::opened(&mut self.keys)?, batch)?;
        let row_columns = &batch.columns()[key_count..key_count + self.spec.input_count];
        let rows = Self::opened(&mut self.rows)?.convert_columns(row_columns).map_err(TableError::execution)?;
        let sort_columns = &batch.columns()[key_count + self.spec.input_count..];
        let sorts = Self::opened(&mut self.sort)?.convert_columns(sort_columns).map_err(TableError::execution)?;
        for (key, positions) in rows_by_key(&keys, 0..batch.num_rows()) {
            let mut ranked = if self.spec.streaming {
                ctx.set_current_key(key.clone());
                let state = self.state.as_ref().ok_or_else(|| TableError::Execution("Rank not opened".into()))?;
                state.try_value().map_err(TableError::execution)?.unwrap_or_default()
            } else {
                self.partitions.remove(&key).unwrap_or_default()
            };
            let before: Vec<Vec<u8>> = ranked.iter().take(self.spec.limit).map(|row| row.row.clone()).collect();
            for position in positions {
                let position = position as usize;
                let (sort, row) = (sorts.row(position).data(), rows.row(position).data());
                if matches!(changes.kind(position), RowKind::Insert | RowKind::UpdateAfter) {
                    // Rows that sort alike keep the order they came in.
                    let at = ranked.partition_point(|held| held.sort.as_slice() <= sort);
                    ranked.insert(at, RankedRow { sort: sort.to_vec(), row: row.to_vec() });
                } else if let Some(at) = ranked.iter().position(|held| held.row == row) {
                    ranked.remove(at);
                }
            }
            if !self.spec.retracting {
                ranked.truncate(self.spec.limit);
            }
            if !self.spec.streaming {
                self.partitions.insert(key, ranked);
                continue;
            }
            self.emit_changes(&before, &ranked);
            let state = self.state.as_ref().ok_or_else(|| TableError::Execution("Rank not opened".into()))?;
            if ranked.is_empty() { state.try_clear() } else { state.try_update(ranked) }
                .map_err(TableError::execution)?;
        }
        self.send(ctx)
    }

    /// The changes that take a partition's first N rows from `before` to those of `after`.
    fn emit_changes(&mut self, before: &[Vec<u8>], after: &Ranked) {
        for position in 0..self.spec.limit {
            let number = position as u64 + 1;
            match (before.get(position), after.get(position).map(|row| &row.row)) {
                (Some(old), Some(new)) if old == new => {}
                (Some(old), Some(new)) => {
                    self.emitted.push((RowKind::UpdateBefore, old.clone(), number));
                    self.emitted.push((RowKind::UpdateAfter, new.clone(), number));
                }
                (Some(old), None) => self.emitted.push((RowKind::Delete, old.clone(), number)),
                (None, Some(new)) => self.emitted.push((RowKind::Insert, new.clone(), number)),
                (None, None) => break,
            }
        }
    }

    /// The emitted rows as one batch, sent on.
    fn send(&mut self, out: &mut pyflink_core::ProcessContext<'_, ChangeBatch>) -> Result<()> {
        if self.emitted.is_empty() {
            return Ok(());
        }
        let emitted = std::mem::take(&mut self.emitted);
        let converter = self.rows.as_ref().ok_or_else(|| TableError::Execution("Rank not opened".into()))?;
        let parser = converter.parser();
        let mut columns: Vec<ArrayRef> = converter
            .convert_rows(emitted.iter().map(|(_, row, _)| parser.parse(row)))
            .map_err(TableError::execution)?;
        let numbers = UInt64Array::from_iter_values(emitted.iter().map(|(_, _, number)| *number));
        let number_type = self.spec.output.field(self.spec.input_count).data_type();
        columns.push(cast(&numbers, number_type).map_err(TableError::execution)?);
        let rows = RecordBatch::try_new(Arc::clone(&self.spec.output), columns)
            .map_err(|e| TableError::Execution(format!("the rank's result does not fit its schema: {e}")))?;
        let kinds: Vec<RowKind> = emitted.iter().map(|(kind, _, _)| *kind).collect();
        let all_inserts = kinds.iter().all(|kind| *kind == RowKind::Insert);
        out.collect(ChangeBatch { rows, kinds: if all_inserts { None } else { Some(kinds) } });
        Ok(())
    }
}

/// Each parallel instance starts from the spec alone; `open` makes the rest.
impl Clone for Rank {
    fn clone(&self) -> Self {
        Rank::new(Arc::clone(&self.spec))
    }
}

impl KeyedProcessFunction<GroupKey, KeyedChanges, ChangeBatch> for Rank {
    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, GroupKey>) -> pyflink_core::Result<()> {
        let fields = self.spec.columns.keyed_schema.fields();
        let key_count = self.spec.columns.key_count();
        let rows = &fields[key_count..key_count + self.spec.input_count];
        let sorts = &fields[key_count + self.spec.input_count..];
        let converter = |fields: Vec<SortField>| RowConverter::new(fields).map_err(|e| flink(TableError::execution(e)));
        self.keys = Some(self.spec.columns.converter().map_err(flink)?);
        self.rows = Some(converter(rows.iter().map(|f| SortField::new(f.data_type().clone())).collect())?);
        self.sort = Some(converter(
            sorts
                .iter()
                .zip(&self.spec.order)
                .map(|(field, options)| SortField::new_with_options(field.data_type().clone(), *options))
                .collect(),
        )?);
        if self.spec.streaming {
            let mut descriptor = ValueStateDescriptor::new("rankedRows");
            if let Some(ttl) = self.spec.state_ttl {
                descriptor.enable_time_to_live(StateTtlConfig::new_builder(ttl).build());
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
        self.process(&value.changes, ctx).map_err(flink)
    }

    fn end_input(&mut self, ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>) -> pyflink_core::Result<()> {
        if self.spec.streaming {
            return Ok(());
        }
        for (_, ranked) in std::mem::take(&mut self.partitions) {
            self.emit_changes(&[], &ranked);
        }
        self.send(ctx).map_err(flink)
    }
}

/// ROW_NUMBER() without a filter that bounds it.
pub(super) fn unbounded_row_number() -> TableError {
    unsupported(
        "ROW_NUMBER() without a filter on it that bounds it (WHERE rn <= N), which Flink runs as Top-N; other \
         ranking over streams",
    )
}
