//! The Table API's row-function operations on a Python-held table: `map`, `flat_map`,
//! `join_lateral`, `left_outer_join_lateral`, `aggregate` and `flat_aggregate` (see
//! pyflink-table's `row_functions`).

use std::sync::Arc;

use pyflink_table::expressions::Expression;

use crate::table::sql::{expressions, SqlTable};
use crate::{ExpressionSpec, JobError};

impl SqlTable {
    /// One row of all the table's columns as SQL, the argument `map` and `flat_map` give.
    pub fn row_sql(&self) -> Result<String, JobError> {
        self.with(|table| Ok(table.row().to_sql()))
    }

    /// The rows the table function call `call` gives for each row, alone.
    pub fn flat_map(&self, call: ExpressionSpec) -> Result<Arc<SqlTable>, JobError> {
        self.derive(move |table| table.flat_map(Expression::from(call)))
    }

    /// Each row with each row the table function call `call` gives for it.
    pub fn join_lateral(&self, call: ExpressionSpec) -> Result<Arc<SqlTable>, JobError> {
        self.derive(move |table| table.join_lateral(Expression::from(call)))
    }

    /// Like `join_lateral`, rows without any kept and padded with NULLs.
    pub fn left_outer_join_lateral(
        &self,
        call: ExpressionSpec,
        condition: Option<ExpressionSpec>,
    ) -> Result<Arc<SqlTable>, JobError> {
        self.derive(move |table| table.left_outer_join_lateral(Expression::from(call), condition.map(Expression::from)))
    }

    /// The value of the scalar function call `call` for each row, its fields as columns.
    pub fn map(&self, call: ExpressionSpec) -> Result<Arc<SqlTable>, JobError> {
        self.derive(move |table| table.map(Expression::from(call)))
    }

    /// Each group of `keys` with the fields of the aggregate function call `call`'s value.
    pub fn group_aggregate(&self, keys: Vec<ExpressionSpec>, call: ExpressionSpec) -> Result<Arc<SqlTable>, JobError> {
        self.derive(move |table| table.group_by(expressions(keys)).aggregate(Expression::from(call)))
    }

    /// Each group of `keys` with each row the table aggregate function call `call` gives for it.
    pub fn group_flat_aggregate(
        &self,
        keys: Vec<ExpressionSpec>,
        call: ExpressionSpec,
    ) -> Result<Arc<SqlTable>, JobError> {
        self.derive(move |table| table.group_by(expressions(keys)).flat_aggregate(Expression::from(call)))
    }
}
