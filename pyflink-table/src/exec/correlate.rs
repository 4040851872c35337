//! `Correlate`: each row joined with the rows a table function gives for it (Flink's
//! `Correlate`, what `LATERAL TABLE(f(..))` and `Table.flat_map` / `join_lateral` run as).
//!
//! DataFusion plans `t, LATERAL TABLE(f(x))` as a join of `t` with a scan of the function's
//! rows, a scan that reads nothing of `t` as far as the optimizer can tell, so it would prune
//! `x` away. Before optimizing, [`plan_lateral_joins`] replaces such a join with a [`Correlate`]
//! node: its one input is `t`, all of whose columns it keeps; the call and the plan over the
//! function's rows (aliases, projections, filters) stay inside it. The operator calls the
//! function on each batch, applies that plan to the rows it gave, pairs them with their rows of
//! `t` and, for a `LEFT JOIN .. ON TRUE`, pads the rows that got none with NULLs.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, RecordBatchOptions, UInt32Array};
use datafusion::arrow::compute::{filter, filter_record_batch, take};
use datafusion::arrow::datatypes::{SchemaRef, UInt32Type};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, DFSchemaRef};
use datafusion::logical_expr::{Expr, Extension, JoinType, LogicalPlan, TableScan, UserDefinedLogicalNodeCore};
use datafusion::physical_expr::PhysicalExpr;
use pyflink_core::{ProcessContext, ProcessFunction};

use crate::batch::ChangeBatch;
use crate::error::{Result, TableError};
use crate::exec::calc::Step;
use crate::exec::evaluate;
use crate::exec::group_aggregate::flink;
use crate::functions::table_function::LateralSource;

/// A join of each row of `input` with the rows of a table function call on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Correlate {
    /// The rows the function is called on.
    pub(crate) input: LogicalPlan,
    /// The plan over the function's rows: a scan of a [`LateralSource`] under aliases,
    /// projections and filters.
    pub(crate) lateral: LogicalPlan,
    /// Whether rows that the function gives no rows for are kept, padded with NULLs.
    pub(crate) left_outer: bool,
    /// A condition on the pairs, over the input's columns and then the lateral plan's.
    pub(crate) condition: Option<Expr>,
    /// The input's columns, then the lateral plan's.
    pub(crate) schema: DFSchemaRef,
}

/// Plans compare only as equal or not.
impl PartialOrd for Correlate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (self == other).then_some(Ordering::Equal)
    }
}

impl Correlate {
    /// The function call, over the input's columns.
    pub(crate) fn call(&self) -> Result<&Expr> {
        Ok(&lateral_scan(&self.lateral)
            .and_then(|scan| scan.source.downcast_ref::<LateralSource>())
            .ok_or_else(|| TableError::Execution("a Correlate without a table function call".into()))?
            .call)
    }
}

impl UserDefinedLogicalNodeCore for Correlate {
    fn name(&self) -> &str {
        "Correlate"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    /// None the optimizer may rewrite: the call and the condition read the function's
    /// columns, which the input does not have.
    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let call = self.call().map_or_else(|_| "?".to_string(), ToString::to_string);
        write!(f, "Correlate: invocation=[{call}], joinType=[{}]", if self.left_outer { "LEFT" } else { "INNER" })
    }

    fn with_exprs_and_inputs(&self, _exprs: Vec<Expr>, inputs: Vec<LogicalPlan>) -> datafusion::common::Result<Self> {
        let mut inputs = inputs;
        let input = inputs.pop().unwrap_or_else(|| self.input.clone());
        Ok(Correlate { input, ..self.clone() })
    }
}

/// The scan of a table function's rows under `plan`'s aliases, projections and filters, if
/// `plan` is one.
fn lateral_scan(plan: &LogicalPlan) -> Option<&TableScan> {
    match plan {
        LogicalPlan::TableScan(scan) if scan.source.is::<LateralSource>() => Some(scan),
        LogicalPlan::SubqueryAlias(alias) => lateral_scan(&alias.input),
        LogicalPlan::Projection(projection) => lateral_scan(&projection.input),
        LogicalPlan::Filter(filter) => lateral_scan(&filter.input),
        _ => None,
    }
}

/// `plan` with its joins of a table and a table function's rows as [`Correlate`] nodes.
pub(crate) fn plan_lateral_joins(plan: LogicalPlan) -> Result<LogicalPlan> {
    let rewritten = plan.transform_up_with_subqueries(|node| {
        let LogicalPlan::Join(join) = &node else { return Ok(Transformed::no(node)) };
        if lateral_scan(&join.right).is_none() {
            return Ok(Transformed::no(node));
        }
        let left_outer = match join.join_type {
            JoinType::Inner => false,
            JoinType::Left => true,
            other => {
                return datafusion::common::plan_err!(
                    "a table function's rows join their table in a CROSS, INNER or LEFT join, not a {other} join"
                )
            }
        };
        let condition = join
            .on
            .iter()
            .map(|(left, right)| left.clone().eq(right.clone()))
            .chain(join.filter.clone())
            .reduce(Expr::and);
        let correlate = Correlate {
            input: (*join.left).clone(),
            lateral: (*join.right).clone(),
            left_outer,
            condition,
            schema: Arc::clone(&join.schema),
        };
        Ok(Transformed::yes(LogicalPlan::Extension(Extension { node: Arc::new(correlate) })))
    });
    rewritten.map(|transformed| transformed.data).map_err(|e| TableError::Validation(e.strip_backtrace()))
}

/// The operator of a [`Correlate`].
#[derive(Clone)]
pub(crate) struct CorrelateOperator {
    /// The function call, over the input's columns.
    pub(crate) call: Arc<dyn PhysicalExpr>,
    /// The columns of the rows the function gives.
    pub(crate) function_schema: SchemaRef,
    /// The lateral plan's filters and projections over those rows.
    pub(crate) steps: Vec<Step>,
    pub(crate) condition: Option<Arc<dyn PhysicalExpr>>,
    pub(crate) left_outer: bool,
    /// The output's columns: the input's, then the lateral plan's.
    pub(crate) schema: SchemaRef,
}

/// Rows the function gave, each with the position of the input row it was called on.
struct Pairs {
    parents: Vec<u32>,
    rows: RecordBatch,
}

impl Pairs {
    /// The pairs where `mask` is true.
    fn filter(self, mask: &ArrayRef) -> Result<Pairs> {
        let mask = mask.as_boolean();
        let parents = UInt32Array::from(self.parents);
        let parents = filter(&parents, mask).map_err(arrow_error)?.as_primitive::<UInt32Type>().values().to_vec();
        Ok(Pairs { parents, rows: filter_record_batch(&self.rows, mask).map_err(arrow_error)? })
    }
}

fn arrow_error(error: datafusion::arrow::error::ArrowError) -> TableError {
    TableError::Execution(error.to_string())
}

impl CorrelateOperator {
    /// The rows the function gives for each row of `input`, through the lateral plan.
    fn function_rows(&self, input: &RecordBatch) -> Result<Pairs> {
        let result = evaluate(std::slice::from_ref(&self.call), input)?.remove(0);
        let Some(lists) = result.as_list_opt::<i32>() else {
            return Err(TableError::Execution(format!(
                "a table function gave {}, not a list of rows",
                result.data_type()
            )));
        };
        let Some(rows) = lists.values().as_struct_opt() else {
            return Err(TableError::Execution("a table function gave a list of other things than rows".into()));
        };
        let (mut parents, mut positions) = (Vec::new(), Vec::new());
        let offsets = lists.value_offsets();
        for row in 0..lists.len() {
            if lists.is_valid(row) {
                for position in offsets[row]..offsets[row + 1] {
                    parents.push(row as u32);
                    positions.push(position as u32);
                }
            }
        }
        let columns = rows
            .columns()
            .iter()
            .map(|column| take(column, &UInt32Array::from(positions.clone()), None))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(arrow_error)?;
        let options = RecordBatchOptions::new().with_row_count(Some(parents.len()));
        let rows = RecordBatch::try_new_with_options(Arc::clone(&self.function_schema), columns, &options)
            .map_err(|e| TableError::Execution(format!("the rows of a table function: {e}")))?;
        let mut pairs = Pairs { parents, rows };
        for step in &self.steps {
            pairs = match step {
                Step::Filter(predicate) => {
                    let mask = evaluate(std::slice::from_ref(predicate), &pairs.rows)?.remove(0);
                    pairs.filter(&mask)?
                }
                Step::Project { expressions, schema } => {
                    let columns = evaluate(expressions, &pairs.rows)?;
                    let options = RecordBatchOptions::new().with_row_count(Some(pairs.parents.len()));
                    let rows = RecordBatch::try_new_with_options(Arc::clone(schema), columns, &options)
                        .map_err(arrow_error)?;
                    Pairs { parents: pairs.parents, rows }
                }
            };
        }
        Ok(pairs)
    }

    /// Each row of `input` with the rows the function gave for it.
    pub(crate) fn apply(&self, input: ChangeBatch) -> Result<ChangeBatch> {
        let pairs = self.function_rows(&input.rows)?;
        let parents = UInt32Array::from(pairs.parents.clone());
        let joined = self.joined(&input.rows, &parents, pairs.rows.columns().to_vec())?;
        let mut pairs = Pairs { parents: pairs.parents, rows: joined };
        if let Some(condition) = &self.condition {
            let mask = evaluate(std::slice::from_ref(condition), &pairs.rows)?.remove(0);
            pairs = pairs.filter(&mask)?;
        }
        if self.left_outer {
            pairs = self.padded(&input.rows, pairs)?;
        }
        let kinds = input.kinds.map(|kinds| pairs.parents.iter().map(|&parent| kinds[parent as usize]).collect());
        Ok(ChangeBatch { rows: pairs.rows, kinds })
    }

    /// The rows of `input` at `parents`, each followed by the columns `lateral`.
    fn joined(&self, input: &RecordBatch, parents: &UInt32Array, lateral: Vec<ArrayRef>) -> Result<RecordBatch> {
        let mut columns = input
            .columns()
            .iter()
            .map(|column| take(column, parents, None))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(arrow_error)?;
        columns.extend(lateral);
        let options = RecordBatchOptions::new().with_row_count(Some(parents.len()));
        RecordBatch::try_new_with_options(Arc::clone(&self.schema), columns, &options).map_err(arrow_error)
    }

    /// `pairs` with a row of NULLs after each input row that has none, in input order.
    fn padded(&self, input: &RecordBatch, pairs: Pairs) -> Result<Pairs> {
        let (mut parents, mut positions) = (Vec::new(), Vec::new());
        let mut next = 0;
        for row in 0..input.num_rows() as u32 {
            let start = next;
            while next < pairs.parents.len() && pairs.parents[next] == row {
                parents.push(row);
                positions.push(Some(next as u32));
                next += 1;
            }
            if next == start {
                parents.push(row);
                positions.push(None);
            }
        }
        if positions.iter().all(Option::is_some) {
            return Ok(pairs);
        }
        let positions = UInt32Array::from(positions);
        let width = input.num_columns();
        let lateral = pairs.rows.columns()[width..]
            .iter()
            .map(|column| take(column, &positions, None))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(arrow_error)?;
        let rows = self.joined(input, &UInt32Array::from(parents.clone()), lateral)?;
        Ok(Pairs { parents, rows })
    }
}

impl ProcessFunction<ChangeBatch, ChangeBatch> for CorrelateOperator {
    fn process_element(
        &mut self,
        value: ChangeBatch,
        ctx: &mut ProcessContext<'_, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        let out = self.apply(value).map_err(flink)?;
        if !out.is_empty() {
            ctx.collect(out);
        }
        Ok(())
    }
}

/// The steps the lateral plan `plan` applies to the rows of its scan, and the scan's source.
pub(crate) fn lateral_steps(plan: &LogicalPlan) -> Result<(&LateralSource, Vec<Step>)> {
    let physical = |expression: &Expr, schema: &DFSchema| super::physical(expression, schema);
    match plan {
        LogicalPlan::TableScan(scan) => {
            let source = scan
                .source
                .downcast_ref::<LateralSource>()
                .ok_or_else(|| TableError::Execution("a lateral plan without a table function".into()))?;
            let schema = DFSchema::try_from_qualified_schema(scan.table_name.clone(), &source.schema)?;
            let mut steps = Vec::new();
            if let Some(predicate) = scan.filters.iter().cloned().reduce(Expr::and) {
                steps.push(Step::Filter(physical(&predicate, &schema)?));
            }
            if let Some(projection) = &scan.projection {
                let expressions = projection
                    .iter()
                    .map(|&index| physical(&Expr::Column(schema.qualified_field(index).into()), &schema))
                    .collect::<Result<Vec<_>>>()?;
                steps.push(Step::Project { expressions, schema: Arc::new(scan.projected_schema.as_arrow().clone()) });
            }
            Ok((source, steps))
        }
        LogicalPlan::SubqueryAlias(alias) => lateral_steps(&alias.input),
        LogicalPlan::Projection(projection) => {
            let (source, mut steps) = lateral_steps(&projection.input)?;
            let expressions = projection
                .expr
                .iter()
                .map(|expression| physical(expression, projection.input.schema()))
                .collect::<Result<Vec<_>>>()?;
            steps.push(Step::Project { expressions, schema: Arc::new(projection.schema.as_arrow().clone()) });
            Ok((source, steps))
        }
        LogicalPlan::Filter(filter) => {
            let (source, mut steps) = lateral_steps(&filter.input)?;
            steps.push(Step::Filter(physical(&filter.predicate, filter.input.schema())?));
            Ok((source, steps))
        }
        other => Err(TableError::Unsupported(format!("{} over a table function's rows", other.display()))),
    }
}
