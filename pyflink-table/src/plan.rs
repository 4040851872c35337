//! From SQL to a logical plan: DataFusion parses and plans a statement against the
//! [`Catalog`], and its analyzer checks and coerces types and inlines views. What runs the plan
//! is built by [`crate::exec`].

use datafusion::config::ConfigOptions;
use datafusion::logical_expr::LogicalPlan;
use datafusion::optimizer::Analyzer;
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
        Err(payload) => Err(TableError::Validation(format!(
            "the SQL planner failed on this statement: {}",
            pyflink_core::runtime::panic_message(payload.as_ref())
        ))),
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

impl From<datafusion::error::DataFusionError> for TableError {
    fn from(error: datafusion::error::DataFusionError) -> Self {
        TableError::Validation(error.strip_backtrace())
    }
}
