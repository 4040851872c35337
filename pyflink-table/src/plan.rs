//! From SQL to what runs: DataFusion parses and plans a statement against the [`Catalog`],
//! its analyzer checks and coerces types and its optimizer simplifies the plan; the plan then
//! becomes a [`Pipeline`] of steps over Arrow batches, which evaluate DataFusion's physical
//! expressions.
//!
//! So far a pipeline reads one table and filters and projects its rows; the plans of other
//! operators (aggregates, joins, windows, sorting) are refused with an error that names them.

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::DFSchema;
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::execution_props::ExecutionProps;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::optimizer::{Analyzer, Optimizer, OptimizerContext};
use datafusion::physical_expr::{create_physical_expr, PhysicalExpr};
use datafusion::sql::parser::DFParserBuilder;
use datafusion::sql::planner::{ParserOptions, SqlToRel};
use datafusion::sql::sqlparser::dialect::GenericDialect;

use crate::catalog::Catalog;
use crate::error::{Result, TableError};

/// The logical plan of the one SQL statement in `sql`, analyzed (types checked and coerced,
/// views inlined).
pub(crate) fn plan_sql(catalog: &Catalog, sql: &str) -> Result<LogicalPlan> {
    // A panic in the parser or planner is a bug of theirs; the caller gets an error.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse_and_plan(catalog, sql))) {
        Ok(planned) => planned,
        Err(payload) => {
            let cause = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_string());
            Err(TableError::Validation(format!("the SQL planner failed on this statement: {cause}")))
        }
    }
}

fn parse_and_plan(catalog: &Catalog, sql: &str) -> Result<LogicalPlan> {
    let dialect = GenericDialect {};
    let mut parser =
        DFParserBuilder::new(sql).with_dialect(&dialect).build().map_err(|e| TableError::Validation(e.to_string()))?;
    let mut statements = parser.parse_statements().map_err(|e| TableError::Validation(e.to_string()))?;
    let statement = match (statements.pop_front(), statements.is_empty()) {
        (Some(statement), true) => statement,
        (None, _) => return Err(TableError::Validation("no SQL statement was given".into())),
        (Some(_), false) => {
            return Err(TableError::Validation(
                "only one statement may be executed at a time; run each one by itself".into(),
            ))
        }
    };
    let context = catalog.planning_context();
    // Flink keeps the case of unquoted names and matches them case-sensitively.
    let options = ParserOptions::new().with_enable_ident_normalization(false);
    let plan = SqlToRel::new_with_options(&context, options)
        .statement_to_plan(statement)
        .map_err(|e| TableError::Validation(e.strip_backtrace()))?;
    analyze(plan)
}

/// `plan` with its types checked and coerced and its views inlined.
pub(crate) fn analyze(plan: LogicalPlan) -> Result<LogicalPlan> {
    Analyzer::new()
        .execute_and_check(plan, &ConfigOptions::default(), |_, _| {})
        .map_err(|e| TableError::Validation(e.strip_backtrace()))
}

/// A query's steps over the batches of the table it reads.
#[derive(Clone)]
pub(crate) struct Pipeline {
    /// The table read.
    pub(crate) source: String,
    steps: Vec<Step>,
    /// The schema of the batches the pipeline makes.
    pub(crate) output: SchemaRef,
}

#[derive(Clone)]
enum Step {
    /// Keeps the rows for which the predicate is true.
    Filter(Arc<dyn PhysicalExpr>),
    /// Computes the output columns.
    Project { expressions: Vec<Arc<dyn PhysicalExpr>>, schema: SchemaRef },
}

impl Pipeline {
    /// The pipeline of an analyzed plan, optimized first.
    pub(crate) fn compile(plan: &LogicalPlan) -> Result<Pipeline> {
        let optimized = Optimizer::new()
            .optimize(plan.clone(), &OptimizerContext::new(), |_, _| {})
            .map_err(|e| TableError::Validation(e.strip_backtrace()))?;
        let mut steps = Vec::new();
        let source = compile_node(&optimized, &mut steps)?;
        let output = Arc::new(optimized.schema().as_arrow().clone());
        Ok(Pipeline { source, steps, output })
    }

    /// The pipeline's output for one input batch.
    pub(crate) fn apply(&self, mut batch: RecordBatch) -> Result<RecordBatch> {
        for step in &self.steps {
            batch = match step {
                Step::Filter(predicate) => {
                    let mask = predicate
                        .evaluate(&batch)
                        .and_then(|value| value.into_array(batch.num_rows()))
                        .map_err(|e| TableError::Execution(e.strip_backtrace()))?;
                    filter_record_batch(&batch, mask.as_boolean()).map_err(|e| TableError::Execution(e.to_string()))?
                }
                Step::Project { expressions, schema } => {
                    let columns = expressions
                        .iter()
                        .map(|expression| {
                            expression.evaluate(&batch).and_then(|value| value.into_array(batch.num_rows()))
                        })
                        .collect::<datafusion::common::Result<Vec<_>>>()
                        .map_err(|e| TableError::Execution(e.strip_backtrace()))?;
                    RecordBatch::try_new(Arc::clone(schema), columns)
                        .map_err(|e| TableError::Execution(e.to_string()))?
                }
            };
        }
        Ok(batch)
    }
}

/// Adds the steps of `plan` (after those of its input) and returns the table it reads.
fn compile_node(plan: &LogicalPlan, steps: &mut Vec<Step>) -> Result<String> {
    match plan {
        LogicalPlan::TableScan(scan) => {
            let source = scan.table_name.table().to_string();
            let table_schema =
                Arc::new(DFSchema::try_from_qualified_schema(scan.table_name.clone(), &scan.source.schema())?);
            if let Some(predicate) = scan.filters.iter().cloned().reduce(Expr::and) {
                steps.push(Step::Filter(physical(&predicate, &table_schema)?));
            }
            if let Some(projection) = &scan.projection {
                let expressions = projection
                    .iter()
                    .map(|&index| {
                        let (qualifier, field) = table_schema.qualified_field(index);
                        physical(&Expr::Column((qualifier, field).into()), &table_schema)
                    })
                    .collect::<Result<Vec<_>>>()?;
                let schema = Arc::new(scan.projected_schema.as_arrow().clone());
                steps.push(Step::Project { expressions, schema });
            }
            Ok(source)
        }
        LogicalPlan::Projection(projection) => {
            let source = compile_node(&projection.input, steps)?;
            let expressions = projection
                .expr
                .iter()
                .map(|expression| physical(expression, projection.input.schema()))
                .collect::<Result<Vec<_>>>()?;
            let schema = Arc::new(projection.schema.as_arrow().clone());
            steps.push(Step::Project { expressions, schema });
            Ok(source)
        }
        LogicalPlan::Filter(filter) => {
            let source = compile_node(&filter.input, steps)?;
            steps.push(Step::Filter(physical(&filter.predicate, filter.input.schema())?));
            Ok(source)
        }
        LogicalPlan::SubqueryAlias(alias) => compile_node(&alias.input, steps),
        LogicalPlan::Aggregate(_) => Err(unsupported("GROUP BY and aggregate functions")),
        LogicalPlan::Window(_) => Err(unsupported("OVER windows")),
        LogicalPlan::Join(_) => Err(unsupported("joins")),
        LogicalPlan::Union(_) => Err(unsupported("UNION")),
        LogicalPlan::Sort(_) => Err(unsupported("ORDER BY")),
        LogicalPlan::Limit(_) => Err(unsupported("LIMIT and FETCH")),
        LogicalPlan::Distinct(_) => Err(unsupported("DISTINCT")),
        other => Err(unsupported(&format!("the query plan {}", other.display()))),
    }
}

fn physical(expression: &Expr, schema: &DFSchema) -> Result<Arc<dyn PhysicalExpr>> {
    create_physical_expr(expression, schema, &ExecutionProps::new())
        .map_err(|e| TableError::Validation(e.strip_backtrace()))
}

fn unsupported(what: &str) -> TableError {
    TableError::Unsupported(format!("{what} in queries"))
}

impl From<datafusion::error::DataFusionError> for TableError {
    fn from(error: datafusion::error::DataFusionError) -> Self {
        TableError::Validation(error.strip_backtrace())
    }
}
