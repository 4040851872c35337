//! From SQL to a logical plan: DataFusion parses and plans a statement against the
//! [`Catalog`], and its analyzer checks and coerces types and inlines views. What runs the plan
//! is built by [`crate::exec`].

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::{Column, DFSchemaRef};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::builder::LogicalTableSource;
use datafusion::logical_expr::{col, Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::optimizer::Analyzer;
use datafusion::sql::parser::{DFParserBuilder, Statement as DFStatement};
use datafusion::sql::planner::{ParserOptions, PlannerContext, SqlToRel};
use datafusion::sql::sqlparser::ast::{
    Expr as SqlExpr, Ident, SelectItem, SetExpr, Statement as SqlStatement, Value as SqlValue,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

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
    let sql = crate::windows::rewrite_group_window(sql)?;
    let sql = crate::windows::rewrite_window_calls(&sql)?;
    let sql = crate::constructors::rewrite_map_constructors(&sql)?;
    let sql = crate::constructors::rewrite_binary_casts(&sql)?;
    let sql = crate::temporal_join::rewrite_temporal_joins(&sql)?;
    let sql = sql.as_ref();
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
    let mut statement = statement;
    if let DFStatement::Statement(inner) = &mut statement {
        if let SqlStatement::Query(query) = inner.as_mut() {
            name_unnamed_columns(&mut query.body);
        }
    }
    let context = catalog.planning_context();
    // Flink keeps the case of unquoted names and matches them case-sensitively.
    let options = ParserOptions::new().with_enable_ident_normalization(false);
    let plan = SqlToRel::new_with_options(&context, options)
        .statement_to_plan(statement)
        .map_err(|e| TableError::Validation(e.strip_backtrace()))?;
    analyze(plan)
}

/// Names the columns of a query's result as Flink does: a column read as it is keeps its name,
/// an expression without `AS` is `EXPR$n`, where `n` is its position in the select list.
fn name_unnamed_columns(body: &mut SetExpr) {
    match body {
        SetExpr::Select(select) => {
            for (position, item) in select.projection.iter_mut().enumerate() {
                match item {
                    // Past a `*` the positions depend on the tables' columns: leave the names.
                    SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => return,
                    SelectItem::UnnamedExpr(SqlExpr::Identifier(_) | SqlExpr::CompoundIdentifier(_)) => {}
                    SelectItem::UnnamedExpr(expr) => {
                        let expr = std::mem::replace(expr, SqlExpr::value(SqlValue::Null));
                        *item = SelectItem::ExprWithAlias { expr, alias: Ident::new(format!("EXPR${position}")) };
                    }
                    _ => {}
                }
            }
        }
        SetExpr::Query(query) => name_unnamed_columns(&mut query.body),
        // The first query of a set operation names the result's columns.
        SetExpr::SetOperation { left, .. } => name_unnamed_columns(left),
        _ => {}
    }
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

/// Where a column of [`plan_columns`] comes from.
pub(crate) enum ColumnSource<'a> {
    /// The input column of this name.
    Input(&'a str),
    /// The SQL expression of this text, over the input's columns.
    Expression(&'a str),
}

/// The columns `columns` (name and source) over rows of `input`, the columns of table `table`:
/// each as a planned, type-coerced expression, and the schema they make.
pub(crate) fn plan_columns(
    catalog: &Catalog,
    table: &str,
    input: SchemaRef,
    columns: &[(String, ColumnSource<'_>)],
) -> Result<(Vec<Expr>, DFSchemaRef)> {
    let planned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let scan = LogicalPlanBuilder::scan(table, Arc::new(LogicalTableSource::new(input)), None)?;
        let input_schema = Arc::clone(scan.schema());
        let context = catalog.planning_context();
        let planner = SqlToRel::new_with_options(&context, ParserOptions::new().with_enable_ident_normalization(false));
        let expressions = columns
            .iter()
            .map(|(name, source)| {
                let expression = match source {
                    ColumnSource::Input(column) => col(Column::new(Some(table), *column)),
                    ColumnSource::Expression(text) => {
                        let dialect = GenericDialect {};
                        let parsed =
                            Parser::new(&dialect).try_with_sql(text).and_then(|mut p| p.parse_expr()).map_err(|e| {
                                TableError::Validation(format!("the expression of column '{name}' ('{text}'): {e}"))
                            })?;
                        planner.sql_to_expr(parsed, &input_schema, &mut PlannerContext::new()).map_err(|e| {
                            TableError::Validation(format!(
                                "the expression of column '{name}' ('{text}'): {}",
                                e.strip_backtrace()
                            ))
                        })?
                    }
                };
                Ok(expression.alias(name))
            })
            .collect::<Result<Vec<_>>>()?;
        let plan = analyze(scan.project(expressions)?.build()?)?;
        match plan {
            LogicalPlan::Projection(projection) => Ok((projection.expr, projection.schema)),
            other => Err(TableError::Validation(format!("the columns of '{table}' planned as {}", other.display()))),
        }
    }));
    match planned {
        Ok(planned) => planned,
        Err(payload) => Err(TableError::Validation(format!(
            "the SQL planner failed on the columns of '{table}': {}",
            pyflink_core::runtime::panic_message(payload.as_ref())
        ))),
    }
}
