//! From a query's logical plan to the operators that run it: each node of DataFusion's
//! optimized plan becomes a step of a DataStream of [`ChangeBatch`]es on pyflink-core's
//! runtime, so table jobs have the keyed state, checkpoints and parallelism that DataStream
//! jobs have.
//!
//! [`Compiler::build`] takes one plan node at a time, bottom up: a table scan becomes a source,
//! filters and projections a [`calc::Calc`], an aggregate a key split, an exchange by group key
//! and a [`group_aggregate::GroupAggregate`]; rows written in the query (`VALUES`) a source of
//! one batch. A node of any other kind is refused with an error that names it.

pub(crate) mod accumulators;
mod calc;
pub(crate) mod changelog_normalize;
mod correlate;
pub(crate) mod group_aggregate;
mod interval;
mod join;
pub(crate) mod key_split;
mod limit;
mod literal_rows;
mod lookup_join;
mod over_aggregate;
mod rank;
mod session_assign;
mod sort;
mod time_attributes;
mod values;
mod watermarks;
mod window_assign;
mod with_functions;

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::DFSchema;
use datafusion::logical_expr::execution_props::ExecutionProps;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{
    Aggregate, Expr, Filter, Join, JoinType, Limit as LimitPlan, LogicalPlan, LogicalPlanBuilder, Projection,
    Sort as SortPlan, TableScan, Union,
};
use datafusion::logical_expr::{FetchType, SkipType};
use datafusion::optimizer::{Optimizer, OptimizerContext};
use datafusion::physical_expr::expressions::Column as ColumnExpr;
use datafusion::physical_expr::{create_physical_expr, PhysicalExpr};
use datafusion::physical_expr_common::physical_expr::fmt_sql;
use pyflink_core::api::functions::KeyedProcessFunction;
use pyflink_core::{DataStream, StreamExecutionEnvironment};

use crate::batch::ChangeBatch;
use crate::catalog::{Catalog, TableData};
use crate::connector_table::ConnectorTable;
use crate::error::{Result, TableError};
use crate::exec::accumulators::{AggregateCall, AggregateKind, UserCall};
use crate::exec::calc::{Calc, Step};
use crate::exec::correlate::{Correlate, CorrelateOperator};
use crate::exec::group_aggregate::{GroupAggregate, GroupAggregateSpec};
use crate::exec::interval::IntervalBounds;
use crate::exec::join::{JoinInput, JoinKind, JoinSide, JoinSpec, StreamingJoin};
use crate::exec::key_split::{GroupKey, KeyColumns, KeySplit, KeyedChanges};
use crate::exec::limit::Limit;
use crate::exec::session_assign::SessionAssign;
use crate::exec::sort::{Sort, SortKey};
use crate::exec::time_attributes::{check_time_attribute, unaliased};
use crate::exec::window_assign::WindowAssign;
use crate::exec::with_functions::with_functions;
use crate::functions::aggregate_function::{UserAggregate, UserAggregateFunction};
use crate::windows::{WindowKind, WindowSource, WindowTvf};

/// A planned part of a query: the stream of its rows, their schema, and whether rows of it can
/// be updated or retracted later (a changelog) or only ever inserted.
pub(crate) struct Planned {
    pub(crate) stream: DataStream<ChangeBatch>,
    pub(crate) schema: SchemaRef,
    pub(crate) updates: bool,
}

/// `plan` optimized by DataFusion's rules, its lateral joins planned first (see
/// [`correlate`]).
pub(crate) fn optimize(plan: &LogicalPlan) -> Result<LogicalPlan> {
    Optimizer::new()
        .optimize(correlate::plan_lateral_joins(plan.clone())?, &OptimizerContext::new(), |_, _| {})
        .map_err(|e| TableError::Validation(e.strip_backtrace()))
}

/// Builds the operators of queries over the tables of `catalog`, as jobs of `env`.
pub(crate) struct Compiler<'a> {
    pub(crate) env: &'a StreamExecutionEnvironment,
    pub(crate) catalog: &'a Catalog,
    /// Streaming mode (results are changelogs) or batch mode (results are final).
    pub(crate) streaming: bool,
    /// `table.exec.state.ttl` for the keyed state of aggregates and joins.
    pub(crate) state_ttl: Option<std::time::Duration>,
}

impl Compiler<'_> {
    /// The operators of an analyzed plan, which is optimized first.
    pub(crate) fn compile(&self, plan: &LogicalPlan) -> Result<Planned> {
        self.build(&optimize(plan)?)
    }

    /// The operators of `plan` and its inputs.
    fn build(&self, plan: &LogicalPlan) -> Result<Planned> {
        match plan {
            LogicalPlan::TableScan(scan) => self.scan(scan),
            LogicalPlan::Projection(projection) => self.projection(projection),
            LogicalPlan::Filter(filter) => self.filter(filter),
            LogicalPlan::Aggregate(aggregate) => self.aggregate(aggregate),
            // An alias renames the table, not its columns.
            LogicalPlan::SubqueryAlias(alias) => self.build(&alias.input),
            LogicalPlan::Window(window) => self.over(window),
            LogicalPlan::Join(join) => self.join(join),
            LogicalPlan::Union(union) => self.union(union),
            LogicalPlan::Sort(sort) => self.sort(sort),
            LogicalPlan::Limit(limit) => self.limit(limit),
            LogicalPlan::Distinct(_) => Err(unsupported("DISTINCT")),
            LogicalPlan::Values(values) => self.values(values),
            LogicalPlan::EmptyRelation(empty) => self.empty_relation(empty),
            LogicalPlan::Extension(extension) => match extension.node.as_any().downcast_ref::<Correlate>() {
                Some(correlate) => self.correlate(correlate),
                None => Err(unsupported(&format!("the query plan {}", plan.display()))),
            },
            other => Err(unsupported(&format!("the query plan {}", other.display()))),
        }
    }

    /// A table's rows, filtered and projected as the scan asks.
    fn scan(&self, scan: &TableScan) -> Result<Planned> {
        let name = scan.table_name.table();
        let table_schema =
            Arc::new(DFSchema::try_from_qualified_schema(scan.table_name.clone(), &scan.source.schema())?);
        if let Some(lookup) = scan.source.downcast_ref::<crate::temporal_join::LookupSource>() {
            return Err(TableError::Unsupported(format!(
                "reading '{}' FOR SYSTEM_TIME AS OF outside a join: a lookup table is the right side of a JOIN \
                 ON its key",
                lookup.table
            )));
        }
        if let Some(window) = scan.source.downcast_ref::<WindowSource>() {
            let source = self.window_function(window)?;
            return self.scan_steps(scan, &table_schema, source);
        }
        let source = match self.catalog.table(name).map(|table| &table.data) {
            Some(TableData::Elements(batches)) => Planned {
                stream: self
                    .env
                    .from_collection(batches.clone())
                    .name(&format!("Source: TableSourceScan(table=[[{name}]])")),
                schema: Arc::new(table_schema.as_arrow().clone()),
                updates: false,
            },
            Some(TableData::Connector(table)) => self.connector_source(table)?,
            Some(TableData::Stream(stream)) => {
                let read = Planned {
                    stream: stream.rows.clone(),
                    schema: Arc::clone(&stream.table.read_schema),
                    updates: false,
                };
                self.derived_columns(&stream.table, read)?
            }
            Some(TableData::View(_)) => {
                return Err(TableError::Execution(format!("the view '{name}' was not inlined into the query")))
            }
            None => return Err(crate::catalog::table_not_found(name)),
        };
        self.scan_steps(scan, &table_schema, source)
    }

    /// `source`, the rows of the table `scan` reads (whose columns are `table_schema`), filtered
    /// and projected as the scan asks.
    fn scan_steps(&self, scan: &TableScan, table_schema: &DFSchema, source: Planned) -> Result<Planned> {
        let mut steps = Vec::new();
        if let Some(predicate) = scan.filters.iter().cloned().reduce(Expr::and) {
            steps.push(Step::Filter(physical(&predicate, table_schema)?));
        }
        if let Some(projection) = &scan.projection {
            let expressions = projection
                .iter()
                .map(|&index| {
                    let (qualifier, field) = table_schema.qualified_field(index);
                    physical(&Expr::Column((qualifier, field).into()), table_schema)
                })
                .collect::<Result<Vec<_>>>()?;
            let schema = Arc::new(scan.projected_schema.as_arrow().clone());
            steps.push(Step::Project { expressions, schema });
        }
        let mut described = Vec::new();
        if let Some(predicate) = scan.filters.iter().cloned().reduce(Expr::and) {
            described.push(format!("where=[{predicate}]"));
        }
        if scan.projection.is_some() {
            let columns: Vec<&str> = scan.projected_schema.fields().iter().map(|field| field.name().as_str()).collect();
            described.push(format!("select=[{}]", columns.join(", ")));
        }
        let name = format!("Calc({})", described.join(", "));
        Ok(calc(source, steps, Arc::new(scan.projected_schema.as_arrow().clone()), &name))
    }

    /// The rows of a connector's table: what the connector reads, with the computed columns
    /// computed.
    fn connector_source(&self, table: &ConnectorTable) -> Result<Planned> {
        let name = &table.definition.name;
        let connector = self.catalog.connectors.of_table(name, &table.definition.options)?;
        let context = table.context(self.env, self.streaming, false);
        let read = Planned {
            stream: connector.source(&context)?,
            schema: Arc::clone(&table.read_schema),
            updates: connector.produces_updates(&context),
        };
        self.derived_columns(table, read)
    }

    /// `read`, the columns read of `table`, with its computed columns computed and, in
    /// streaming mode, its watermarks.
    fn derived_columns(&self, table: &ConnectorTable, read: Planned) -> Result<Planned> {
        let name = &table.definition.name;
        let mut rows = if table.read_schema == table.schema {
            read
        } else {
            let expressions =
                table.columns.iter().map(|column| physical(column, &table.read_columns)).collect::<Result<Vec<_>>>()?;
            let step = Step::Project { expressions, schema: Arc::clone(&table.schema) };
            calc(read, vec![step], Arc::clone(&table.schema), "Calc(computed columns)")
        };
        if let (Some(watermark), Some(rowtime), true) = (&table.watermark, table.rowtime, self.streaming) {
            let columns = DFSchema::try_from_qualified_schema(name.as_str(), &table.schema)?;
            rows.stream = watermarks::assign_watermarks(rows.stream, physical(watermark, &columns)?)
                .name(&format!("WatermarkAssigner(rowtime=[{}])", table.schema.field(rowtime).name()));
        }
        Ok(rows)
    }

    /// The rows of a window function call: its table's rows in their windows.
    fn window_function(&self, source: &WindowSource) -> Result<Planned> {
        let window = &source.window;
        let table = self.catalog.table(&window.input).ok_or_else(|| crate::catalog::table_not_found(&window.input))?;
        let scan = LogicalPlanBuilder::scan(window.input.as_str(), Catalog::source_of(table), None)?.build()?;
        let scan = crate::plan::analyze(scan)?;
        if self.streaming {
            check_time_attribute(self.catalog, &scan, window)?;
        }
        let input = self.compile(&scan)?;
        if let WindowKind::Session { gap } = window.kind {
            return self.session_window(input, window, gap, &source.schema);
        }
        let assign = WindowAssign { window: Arc::new(window.clone()), schema: Arc::clone(&source.schema) };
        let stream =
            input.stream.process(with_functions(assign)).name(&format!("WindowTableFunction({})", window.name()));
        Ok(Planned { stream, schema: Arc::clone(&source.schema), updates: input.updates })
    }

    /// The rows of a `SESSION` call: split by partition, held until their sessions end.
    fn session_window(&self, input: Planned, window: &WindowTvf, gap: i64, schema: &SchemaRef) -> Result<Planned> {
        let column = |position: usize| -> Arc<dyn PhysicalExpr> {
            Arc::new(ColumnExpr::new(input.schema.field(position).name(), position))
        };
        let keys = window.partition.iter().map(|&position| column(position)).collect();
        let arguments = (0..input.schema.fields().len()).map(column).collect();
        let columns = Arc::new(KeyColumns::new(keys, arguments, &input.schema)?);
        let assign = SessionAssign::new(Arc::clone(&columns), gap, window.time_column, Arc::clone(schema));
        let stream = input
            .stream
            .process(with_functions(KeySplit::new(columns)))
            .name("KeySplit")
            .key_by(|changes: &KeyedChanges| changes.route.clone())
            .process(with_functions(assign))
            .name("WindowTableFunction(SESSION)");
        Ok(Planned { stream, schema: Arc::clone(schema), updates: input.updates })
    }

    fn projection(&self, projection: &Projection) -> Result<Planned> {
        let input = self.build(&projection.input)?;
        let expressions = projection
            .expr
            .iter()
            .map(|expression| physical(expression, projection.input.schema()))
            .collect::<Result<Vec<_>>>()?;
        let schema = Arc::new(projection.schema.as_arrow().clone());
        let step = Step::Project { expressions, schema: Arc::clone(&schema) };
        let listed: Vec<String> = projection.expr.iter().map(ToString::to_string).collect();
        Ok(calc(input, vec![step], schema, &format!("Calc(select=[{}])", listed.join(", "))))
    }

    /// Each row with the rows a table function gives for it (`LATERAL TABLE(f(..))`).
    fn correlate(&self, correlate: &Correlate) -> Result<Planned> {
        let input = self.build(&correlate.input)?;
        let (source, steps) = correlate::lateral_steps(&correlate.lateral)?;
        let pairs = correlate.input.schema().join(correlate.lateral.schema())?;
        let operator = CorrelateOperator {
            call: physical(&source.call, correlate.input.schema())?,
            function_schema: Arc::clone(&source.schema),
            steps,
            condition: correlate.condition.as_ref().map(|condition| physical(condition, &pairs)).transpose()?,
            left_outer: correlate.left_outer,
            schema: Arc::new(correlate.schema.as_arrow().clone()),
        };
        let name = format!(
            "Correlate(invocation=[{}], joinType=[{}])",
            source.call,
            if correlate.left_outer { "LEFT" } else { "INNER" }
        );
        let schema = Arc::clone(&operator.schema);
        let stream = input.stream.process(with_functions(operator)).name(&name);
        Ok(Planned { stream, schema, updates: input.updates })
    }

    fn filter(&self, filter: &Filter) -> Result<Planned> {
        if let Some(top_n) = self.top_n(filter)? {
            return Ok(top_n);
        }
        let input = self.build(&filter.input)?;
        let step = Step::Filter(physical(&filter.predicate, filter.input.schema())?);
        let schema = Arc::clone(&input.schema);
        Ok(calc(input, vec![step], schema, &format!("Calc(where=[{}])", filter.predicate)))
    }

    /// The rows of all inputs, as they come (`UNION ALL`).
    fn union(&self, union: &Union) -> Result<Planned> {
        let inputs = union.inputs.iter().map(|input| self.build(input)).collect::<Result<Vec<_>>>()?;
        let updates = inputs.iter().any(|input| input.updates);
        let mut streams = inputs.into_iter().map(|input| input.stream);
        let first = streams.next().ok_or_else(|| TableError::Validation("a UNION without inputs".into()))?;
        let others: Vec<_> = streams.collect();
        let stream = first.union(&others);
        Ok(Planned { stream, schema: Arc::new(union.schema.as_arrow().clone()), updates })
    }

    /// A regular join: both inputs split by their equi-join keys into one keyed
    /// [`StreamingJoin`].
    fn join(&self, join: &Join) -> Result<Planned> {
        if let Some(side) = lookup_join::lookup_side(&join.right) {
            return self.lookup_join(join, side);
        }
        if lookup_join::lookup_side(&join.left).is_some() {
            return Err(TableError::Unsupported(
                "a table read FOR SYSTEM_TIME AS OF on the left of a join: put it on the right, \
                 `FROM stream JOIN table FOR SYSTEM_TIME AS OF stream.proc_time ON ...`"
                    .into(),
            ));
        }
        let kind = match join.join_type {
            JoinType::Inner => JoinKind::Inner,
            JoinType::Left => JoinKind::Left,
            JoinType::Right => JoinKind::Right,
            JoinType::Full => JoinKind::Full,
            JoinType::LeftSemi => JoinKind::Semi,
            JoinType::LeftAnti if !join.null_aware => JoinKind::Anti,
            JoinType::LeftAnti => {
                return Err(unsupported("NOT IN over a subquery whose column may be NULL (write NOT EXISTS)"))
            }
            other => return Err(unsupported(&format!("{other} joins"))),
        };
        let (left_schema, right_schema) = (join.left.schema(), join.right.schema());
        let mut left_keys = Vec::new();
        let mut right_keys = Vec::new();
        for (left, right) in &join.on {
            let (left_key, right_key) = (physical(left, left_schema)?, physical(right, right_schema)?);
            let type_of = |key: &Arc<dyn PhysicalExpr>, schema: &DFSchema| {
                key.data_type(schema.as_arrow()).map_err(|e| TableError::Validation(e.strip_backtrace()))
            };
            let (left_type, right_type) = (type_of(&left_key, left_schema)?, type_of(&right_key, right_schema)?);
            if left_type != right_type {
                return Err(TableError::Validation(format!(
                    "the join keys {left} ({left_type}) and {right} ({right_type}) have different types; CAST one \
                     of them"
                )));
            }
            left_keys.push(left_key);
            right_keys.push(right_key);
        }
        let all_columns = |schema: &DFSchema| -> Vec<Arc<dyn PhysicalExpr>> {
            schema
                .fields()
                .iter()
                .enumerate()
                .map(|(index, field)| Arc::new(ColumnExpr::new(field.name(), index)) as Arc<dyn PhysicalExpr>)
                .collect()
        };
        let left_columns = Arc::new(KeyColumns::new(left_keys, all_columns(left_schema), left_schema.as_arrow())?);
        let right_columns = Arc::new(KeyColumns::new(right_keys, all_columns(right_schema), right_schema.as_arrow())?);
        let pair_schema = left_schema.join(right_schema)?;
        let filter = join.filter.as_ref().map(|filter| physical(filter, &pair_schema)).transpose()?;
        let output = Arc::new(join.schema.as_arrow().clone());
        let left = self.build(&join.left)?;
        let right = self.build(&join.right)?;
        // A join that bounds the event times of its sides runs as an interval join, over inputs
        // that only insert; an outer one then only inserts too.
        let interval = (self.streaming
            && !left.updates
            && !right.updates
            && matches!(kind, JoinKind::Inner | JoinKind::Left | JoinKind::Right | JoinKind::Full))
        .then(|| IntervalBounds::of_join(self.catalog, join))
        .flatten();
        let spec = Arc::new(JoinSpec {
            sides: [Arc::clone(&left_columns), Arc::clone(&right_columns)],
            filter,
            pair_schema: Arc::new(pair_schema.as_arrow().clone()),
            kind,
            output: Arc::clone(&output),
            nulls_equal: join.null_equality == datafusion::common::NullEquality::NullEqualsNull,
            streaming: self.streaming,
            state_ttl: self.state_ttl,
            interval,
        });
        let updates = self.streaming
            && (left.updates
                || right.updates
                || (interval.is_none() && !matches!(kind, JoinKind::Inner | JoinKind::Semi)));
        let split = |input: Planned, columns: Arc<KeyColumns>, side: JoinSide| {
            input
                .stream
                .process(with_functions(KeySplit::new(columns)))
                .name("KeySplit")
                .map(move |changes: KeyedChanges| JoinInput { side, changes })
        };
        let left_stream = split(left, left_columns, JoinSide::Left);
        let right_stream = split(right, right_columns, JoinSide::Right);
        let condition = join
            .on
            .iter()
            .map(|(left, right)| format!("=({left}, {right})"))
            .chain(join.filter.iter().map(|filter| filter.to_string()))
            .collect::<Vec<_>>()
            .join(", ");
        let stream = left_stream
            .union(&[right_stream])
            .key_by(|input: &JoinInput| input.changes.route.clone())
            .process(with_functions(StreamingJoin::new(spec)));
        let stream = match interval {
            Some(bounds) => stream.name(&format!(
                "IntervalJoin(joinType=[{}], windowBounds=[isRowTime=true, leftLowerBound={}, leftUpperBound={}, \
                 leftTimeIndex={}, rightTimeIndex={}], where=[{condition}])",
                kind.flink_name(),
                bounds.lower,
                bounds.upper,
                bounds.left_time,
                bounds.right_time
            )),
            None => stream.name(&format!("Join(joinType=[{}], where=[{condition}])", kind.flink_name())),
        };
        Ok(Planned { stream, schema: output, updates })
    }

    /// `OFFSET` and `FETCH`: one instance counts the rows and passes those in range.
    fn limit(&self, limit: &LimitPlan) -> Result<Planned> {
        let input = self.build(&limit.input)?;
        let (skip, fetch) = match (limit.get_skip_type()?, limit.get_fetch_type()?) {
            (SkipType::Literal(skip), FetchType::Literal(fetch)) => (skip, fetch),
            _ => return Err(unsupported("LIMIT and OFFSET that are not constants")),
        };
        let name = format!("Limit(offset=[{skip}], fetch=[{}])", fetch.map_or("unlimited".into(), |f| f.to_string()));
        let stream = in_one_instance(&input.stream, Limit::new(skip, fetch), &name);
        Ok(Planned { stream, schema: input.schema, updates: false })
    }

    /// `ORDER BY` over bounded input: one instance sorts all rows at the end of input.
    fn sort(&self, sort: &SortPlan) -> Result<Planned> {
        if self.streaming {
            return Err(TableError::Unsupported(
                "ORDER BY in streaming mode (Flink sorts streams only by an ascending time attribute); run the \
                 query in batch mode"
                    .into(),
            ));
        }
        let input = self.build(&sort.input)?;
        let keys = sort
            .expr
            .iter()
            .map(|key| {
                let options = SortOptions { descending: !key.asc, nulls_first: key.nulls_first };
                Ok(SortKey { expression: physical(&key.expr, sort.input.schema())?, options })
            })
            .collect::<Result<Vec<_>>>()?;
        let stream = in_one_instance(&input.stream, Sort::new(keys, sort.fetch, Arc::clone(&input.schema)), "Sort");
        Ok(Planned { stream, schema: input.schema, updates: false })
    }

    fn aggregate(&self, aggregate: &Aggregate) -> Result<Planned> {
        let input = self.build(&aggregate.input)?;
        let window_end = window_end_key(aggregate);
        let input_schema = aggregate.input.schema();
        let keys = aggregate
            .group_expr
            .iter()
            .map(|expression| match expression {
                Expr::GroupingSet(_) => Err(unsupported("GROUPING SETS, ROLLUP and CUBE")),
                other => physical(other, input_schema),
            })
            .collect::<Result<Vec<_>>>()?;
        let mut arguments = Vec::new();
        let mut calls = Vec::new();
        let output_fields = aggregate.schema.fields();
        for (position, expression) in aggregate.aggr_expr.iter().enumerate() {
            let Expr::AggregateFunction(AggregateFunction { func, params }) = unaliased(expression) else {
                return Err(TableError::Validation(format!("{expression} is not an aggregate function call")));
            };
            if !params.order_by.is_empty() {
                return Err(unsupported("ORDER BY inside aggregate function calls"));
            }
            let call = CallSpec {
                name: func.name(),
                function: UserAggregate::of(func),
                distinct: params.distinct,
                args: &params.args,
                filter: params.filter.as_deref(),
                output: output_fields[keys.len() + position].data_type().clone(),
            };
            calls.push(aggregate_call(&call, input_schema, keys.len(), &mut arguments)?);
        }
        let output = Arc::new(aggregate.schema.as_arrow().clone());
        let columns = Arc::new(KeyColumns::new(keys, arguments, input_schema.as_arrow())?);
        let spec = Arc::new(GroupAggregateSpec {
            columns: Arc::clone(&columns),
            calls,
            output: Arc::clone(&output),
            retracting: input.updates,
            streaming: self.streaming,
            window_end,
            state_ttl: self.state_ttl,
        });
        let name = format!(
            "{}(groupBy=[{}], select=[{}])",
            if window_end.is_some() { "WindowAggregate" } else { "GroupAggregate" },
            aggregate.group_expr.iter().map(|e| e.schema_name().to_string()).collect::<Vec<_>>().join(", "),
            aggregate.aggr_expr.iter().map(|e| e.schema_name().to_string()).collect::<Vec<_>>().join(", ")
        );
        let stream = input
            .stream
            .process(with_functions(KeySplit::new(columns)))
            .name("KeySplit")
            .key_by(|changes: &KeyedChanges| changes.route.clone())
            .process(with_functions(GroupAggregate::new(spec)))
            .name(&name);
        // A window aggregate emits each window's results once, final.
        Ok(Planned { stream, schema: output, updates: self.streaming && window_end.is_none() })
    }
}

/// For an aggregate grouped by the `window_start` and `window_end` of a window function below
/// it, the position of `window_end` among the group keys: it is a window aggregate.
fn window_end_key(aggregate: &Aggregate) -> Option<usize> {
    let mut input = aggregate.input.as_ref();
    loop {
        input = match input {
            LogicalPlan::Projection(projection) => &projection.input,
            LogicalPlan::Filter(filter) => &filter.input,
            LogicalPlan::SubqueryAlias(alias) => &alias.input,
            LogicalPlan::TableScan(scan) if scan.source.is::<WindowSource>() => break,
            _ => return None,
        };
    }
    let position = |name: &str| {
        aggregate
            .group_expr
            .iter()
            .position(|expression| matches!(expression, Expr::Column(column) if column.name == name))
    };
    position("window_start")?;
    position("window_end")
}

/// `stream` through `function` in one instance, which sees every row under one key (limits and
/// sorts, which count or order all rows).
fn in_one_instance(
    stream: &DataStream<ChangeBatch>,
    function: impl KeyedProcessFunction<GroupKey, ChangeBatch, ChangeBatch>,
    name: &str,
) -> DataStream<ChangeBatch> {
    stream.key_by(|_: &ChangeBatch| GroupKey::new()).process(with_functions(function)).name(name).set_parallelism(1)
}

/// `input` through a calc of `steps`, whose output has `schema`.
fn calc(input: Planned, steps: Vec<Step>, schema: SchemaRef, name: &str) -> Planned {
    if steps.is_empty() {
        return Planned { schema, ..input };
    }
    let stream = input.stream.process(with_functions(Calc { steps })).name(name);
    Planned { stream, schema, updates: input.updates }
}

/// An aggregate function call as a query writes it.
pub(crate) struct CallSpec<'a> {
    pub(crate) name: &'a str,
    /// The function, when it is one of the user's.
    pub(crate) function: Option<Arc<dyn UserAggregateFunction>>,
    pub(crate) distinct: bool,
    pub(crate) args: &'a [Expr],
    pub(crate) filter: Option<&'a Expr>,
    /// The result's type.
    pub(crate) output: datafusion::arrow::datatypes::DataType,
}

/// The [`AggregateCall`] of `call` over rows of `input`: its argument and filter join
/// `arguments`, the columns that follow `offset` others in the batches the call reads.
pub(crate) fn aggregate_call(
    call: &CallSpec<'_>,
    input: &DFSchema,
    offset: usize,
    arguments: &mut Vec<Arc<dyn PhysicalExpr>>,
) -> Result<AggregateCall> {
    if let Some(function) = &call.function {
        return user_call(call, function, input, offset, arguments);
    }
    let kind = AggregateKind::of(call.name, call.distinct)?;
    let mut column_of = |expression: &Expr| -> Result<(usize, Arc<dyn PhysicalExpr>)> {
        let physical = physical(expression, input)?;
        arguments.push(Arc::clone(&physical));
        Ok((offset + arguments.len() - 1, physical))
    };
    let (argument, argument_type) = match call.args {
        args if counts_rows(args) => (None, datafusion::arrow::datatypes::DataType::Null),
        [single] => {
            let (column, physical) = column_of(single)?;
            let data_type =
                physical.data_type(input.as_arrow()).map_err(|e| TableError::Validation(e.strip_backtrace()))?;
            (Some(column), data_type)
        }
        _ => return Err(unsupported(&format!("{} with more than one argument", call.name))),
    };
    let filter = match call.filter {
        Some(filter) => Some(column_of(filter)?.0),
        None => None,
    };
    Ok(AggregateCall { kind, argument, function: None, argument_type, filter, output: call.output.clone() })
}

/// The [`AggregateCall`] of `call`, a call of the user's `function` (see [`aggregate_call`]).
fn user_call(
    call: &CallSpec<'_>,
    function: &Arc<dyn UserAggregateFunction>,
    input: &DFSchema,
    offset: usize,
    arguments: &mut Vec<Arc<dyn PhysicalExpr>>,
) -> Result<AggregateCall> {
    if call.distinct {
        return Err(unsupported(&format!("{}(DISTINCT ..) of a user's aggregate function", call.name)));
    }
    let mut column_of = |expression: &Expr| -> Result<usize> {
        arguments.push(physical(expression, input)?);
        Ok(offset + arguments.len() - 1)
    };
    let user_arguments = call.args.iter().map(&mut column_of).collect::<Result<Vec<_>>>()?;
    let filter = call.filter.map(column_of).transpose()?;
    Ok(AggregateCall {
        kind: AggregateKind::User,
        argument: None,
        function: Some(UserCall { function: Arc::clone(function), arguments: user_arguments }),
        argument_type: datafusion::arrow::datatypes::DataType::Null,
        filter,
        output: call.output.clone(),
    })
}

/// Whether aggregate arguments `args` are those of `COUNT(*)`, which counts rows.
#[allow(deprecated)] // DataFusion 54's SQL planner still gives COUNT(*) a wildcard argument.
fn counts_rows(args: &[Expr]) -> bool {
    matches!(args, [] | [Expr::Wildcard { .. }])
}

/// `expression`, over rows of `schema`, as a physical expression that evaluates batches.
fn physical(expression: &Expr, schema: &DFSchema) -> Result<Arc<dyn PhysicalExpr>> {
    create_physical_expr(expression, schema, &ExecutionProps::new())
        .map_err(|e| TableError::Validation(e.strip_backtrace()))
}

/// The columns `expressions` make of `batch`.
/// A failure names the expression it came from (a Python function's call, say), as SQL.
pub(crate) fn evaluate(expressions: &[Arc<dyn PhysicalExpr>], batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
    expressions
        .iter()
        .map(|expression| {
            expression.evaluate(batch).and_then(|value| value.into_array(batch.num_rows())).map_err(|e| {
                TableError::Execution(format!(
                    "in the expression {}: {}",
                    fmt_sql(expression.as_ref()),
                    e.strip_backtrace()
                ))
            })
        })
        .collect()
}

fn unsupported(what: &str) -> TableError {
    TableError::Unsupported(format!("{what} in queries"))
}
