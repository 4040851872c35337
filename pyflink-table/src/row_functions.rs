//! The Table API's operations that call a function on rows (Flink's `Table.map`,
//! `flat_map`, `join_lateral` and `left_outer_join_lateral`): each is a query whose table
//! functions run as `LATERAL TABLE(..)` joins, as in SQL.
//!
//! `map` and `flat_map` give the function each whole row as one argument, a row of the
//! table's columns ([`Table::row`]); the results' fields are the new table's columns.

use datafusion::arrow::datatypes::DataType as ArrowType;

use crate::environment::Table;
use crate::error::{Result, TableError};
use crate::expressions::{quote_identifier, quote_string, Expression};

impl Table {
    /// One row of all this table's columns, named as they are (the argument `map` and
    /// `flat_map` give their functions).
    pub fn row(&self) -> Expression {
        let fields: Vec<String> = self
            .column_names()
            .iter()
            .map(|name| format!("{}, {}", quote_string(name), quote_identifier(name)))
            .collect();
        Expression::of_sql(format!("named_struct({})", fields.join(", ")))
    }

    /// The rows the table function call `call` gives for each row of this table, without the
    /// row's own columns (Flink's `flat_map`); `call`'s aliases name the columns.
    pub fn flat_map(&self, call: Expression) -> Result<Table> {
        let this = quote_identifier(&self.sql_name()?);
        self.env.sql_query(&format!("SELECT T.* FROM {this}, LATERAL TABLE({}) AS {}", call.to_sql(), alias(&call)))
    }

    /// Each row of this table with each row the table function call `call` gives for it; rows
    /// it gives none for are left out (Flink's `join_lateral`).
    pub fn join_lateral(&self, call: Expression) -> Result<Table> {
        let this = quote_identifier(&self.sql_name()?);
        self.env.sql_query(&format!("SELECT * FROM {this}, LATERAL TABLE({}) AS {}", call.to_sql(), alias(&call)))
    }

    /// Like [`Table::join_lateral`], but rows the call gives no row for (that meets
    /// `condition`, if given) are kept, padded with NULLs (Flink's `left_outer_join_lateral`).
    pub fn left_outer_join_lateral(&self, call: Expression, condition: Option<Expression>) -> Result<Table> {
        let this = quote_identifier(&self.sql_name()?);
        let condition = condition.map_or_else(|| "TRUE".to_string(), |condition| condition.to_sql());
        self.env.sql_query(&format!(
            "SELECT * FROM {this} LEFT JOIN LATERAL TABLE({}) AS {} ON {condition}",
            call.to_sql(),
            alias(&call)
        ))
    }

    /// The value the scalar function call `call` gives for each row (Flink's `map`): a row
    /// result's fields are the columns (named by `call`'s aliases, else as the row type names
    /// them); any other result is the one column `f0`, or `call`'s alias.
    pub fn map(&self, call: Expression) -> Result<Table> {
        let this = quote_identifier(&self.sql_name()?);
        let mapped = self.env.sql_query(&format!("SELECT {} AS `__mapped` FROM {this}", call.to_sql()))?;
        let result_type = mapped.plan.schema().field(0).data_type().clone();
        let inner = quote_identifier(&mapped.sql_name()?);
        let names = call.names();
        let items: Vec<String> = match result_type {
            ArrowType::Struct(fields) => {
                if !names.is_empty() && names.len() != fields.len() {
                    return Err(TableError::Validation(format!(
                        "map's function gives {} columns, but {} names were given: {names:?}",
                        fields.len(),
                        names.len()
                    )));
                }
                fields
                    .iter()
                    .enumerate()
                    .map(|(i, field)| {
                        let name = names.get(i).unwrap_or(field.name());
                        format!("get_field(`__mapped`, {}) AS {}", quote_string(field.name()), quote_identifier(name))
                    })
                    .collect()
            }
            _ => vec![format!("`__mapped` AS {}", quote_identifier(names.first().map_or("f0", String::as_str)))],
        };
        self.env.sql_query(&format!("SELECT {} FROM {inner}", items.join(", ")))
    }
}

/// `T`, or `T(a, b, ..)` with the names `call`'s aliases give the function's columns.
fn alias(call: &Expression) -> String {
    match call.names() {
        [] => "T".to_string(),
        names => format!("T({})", names.iter().map(|name| quote_identifier(name)).collect::<Vec<_>>().join(", ")),
    }
}
