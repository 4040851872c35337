//! Time attributes through queries: whether a column of a plan is the event time (or the
//! processing time) of the table it comes from. A column keeps being its table's time
//! attribute through views, filters and projections that pass it on unchanged, as in Flink;
//! a computation over it is a plain timestamp.

use datafusion::logical_expr::{Expr, LogicalPlan};

use crate::catalog::{Catalog, TableData};
use crate::connector_table::ConnectorTable;
use crate::error::{Result, TableError};
use crate::windows::WindowTvf;

/// The kind of time a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeAttribute {
    /// The event time: the column of a `WATERMARK`.
    Rowtime,
    /// The processing time: a column `AS PROCTIME()`.
    Proctime,
}

/// The time attribute the column at `index` of `plan` is, if any.
pub(crate) fn time_attribute(catalog: &Catalog, plan: &LogicalPlan, index: usize) -> Option<TimeAttribute> {
    match plan {
        LogicalPlan::Projection(projection) => {
            let Expr::Column(column) = unaliased(projection.expr.get(index)?) else { return None };
            let input = projection.input.schema().index_of_column(column).ok()?;
            time_attribute(catalog, &projection.input, input)
        }
        LogicalPlan::Filter(filter) => time_attribute(catalog, &filter.input, index),
        LogicalPlan::SubqueryAlias(alias) => time_attribute(catalog, &alias.input, index),
        LogicalPlan::TableScan(scan) => {
            let position = scan.projection.as_ref().map_or(Some(index), |projection| projection.get(index).copied())?;
            let table = catalog.table(scan.table_name.table())?;
            let resolved: &ConnectorTable = match &table.data {
                TableData::Connector(connector) => connector,
                TableData::Stream(stream) => &stream.table,
                TableData::View(view) => return time_attribute(catalog, view, position),
                TableData::Elements(_) => return None,
            };
            if resolved.rowtime == Some(position) {
                Some(TimeAttribute::Rowtime)
            } else if resolved.proctime.contains(&position) {
                Some(TimeAttribute::Proctime)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Fails unless the time column of `window` is an event-time attribute of `input`, the
/// analyzed plan of the table it reads, which streaming window functions need.
pub(crate) fn check_time_attribute(catalog: &Catalog, input: &LogicalPlan, window: &WindowTvf) -> Result<()> {
    match time_attribute(catalog, input, window.time_column) {
        Some(TimeAttribute::Rowtime) => Ok(()),
        Some(TimeAttribute::Proctime) => {
            Err(TableError::Unsupported(format!("{} windows on processing time in queries", window.name())))
        }
        None => {
            let field = input.schema().field(window.time_column);
            Err(TableError::Validation(format!(
                "The window function requires the timecol is a time attribute type, but is {}; declare it with \
                 WATERMARK FOR {} AS ... in the table's CREATE TABLE",
                crate::types::flink_name_of_field(field),
                field.name()
            )))
        }
    }
}

/// The expression under any aliases.
pub(crate) fn unaliased(expression: &Expr) -> &Expr {
    match expression {
        Expr::Alias(alias) => unaliased(&alias.expr),
        other => other,
    }
}
