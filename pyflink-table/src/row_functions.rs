//! The Table API's operations that call a function on rows (Flink's `Table.map`,
//! `flat_map`, `join_lateral`, `left_outer_join_lateral`, `aggregate` and `flat_aggregate`):
//! each is a query whose table functions run as `LATERAL TABLE(..)` joins, as in SQL.
//!
//! `map` and `flat_map` give the function each whole row as one argument, a row of the
//! table's columns ([`Table::row`]); the results' fields are the new table's columns.
//! `aggregate` and `flat_aggregate` group first: the group keys, then the fields of the
//! function's value (one row per group) or rows (any number per group) are the columns.

use datafusion::arrow::datatypes::DataType as ArrowType;

use crate::environment::Table;
use crate::error::{Result, TableError};
use crate::expressions::{quote_identifier, quote_string, Expression};
use crate::table_api::GroupedTable;

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
        expand_value(&mapped, 0, call.names())
    }

    /// The value of the aggregate function call `call` over all rows (Flink's `aggregate`
    /// without `group_by`), expanded as [`GroupedTable::aggregate`] expands it.
    pub fn aggregate(&self, call: Expression) -> Result<Table> {
        self.group_by(Vec::<Expression>::new()).aggregate(call)
    }

    /// The rows of the table aggregate function call `call` over all rows (Flink's
    /// `flat_aggregate` without `group_by`).
    pub fn flat_aggregate(&self, call: Expression) -> Result<Table> {
        self.group_by(Vec::<Expression>::new()).flat_aggregate(call)
    }
}

impl GroupedTable {
    /// Each group's keys and the value of the aggregate function call `call` over its rows
    /// (Flink's `GroupedTable.aggregate`): a row value's fields are columns (named by `call`'s
    /// aliases, else as the row type names them); any other value is the column `f0`, or
    /// `call`'s alias.
    pub fn aggregate(&self, call: Expression) -> Result<Table> {
        let aggregated = self.with_value(&call, "__aggregated")?;
        expand_value(&aggregated, self.keys.len(), call.names())
    }

    /// Each group's keys with each row the table aggregate function call `call` gives for the
    /// group (Flink's `GroupedTable.flat_aggregate`); `call`'s aliases name the rows' columns.
    /// When a group changes, the rows it gave before are retracted and its new ones added.
    pub fn flat_aggregate(&self, call: Expression) -> Result<Table> {
        let function = function_name(&call)?;
        let rows = rows_function(&function);
        if !self.table.env.catalog().functions.table.contains_key(&rows.to_ascii_lowercase()) {
            return Err(TableError::Validation(format!(
                "flat_aggregate takes a call of a table aggregate function, which {function} is not"
            )));
        }
        let aggregated = self.with_value(&call, "__rows")?;
        let inner = quote_identifier(&aggregated.sql_name()?);
        let keys: Vec<String> = aggregated.column_names()[..self.keys.len()]
            .iter()
            .map(|name| format!("G.{}", quote_identifier(name)))
            .collect();
        let selected = keys.into_iter().chain(["T.*".to_string()]).collect::<Vec<_>>().join(", ");
        self.table.env.sql_query(&format!(
            "SELECT {selected} FROM {inner} AS G, LATERAL TABLE({}(G.`__rows`)) AS {}",
            quote_identifier(&rows),
            alias(&call)
        ))
    }

    /// The group keys and `call`'s value per group, in the column `column`.
    fn with_value(&self, call: &Expression, column: &str) -> Result<Table> {
        let value = Expression::of_sql(call.to_sql()).alias(column);
        self.select(self.keys.iter().cloned().chain([value]))
    }
}

/// The table `table` with its column after the first `kept` expanded: a row value's fields
/// become columns, named `names` or as the row type names them; any other value is the column
/// `f0`, or `names`' one name.
fn expand_value(table: &Table, kept: usize, names: &[String]) -> Result<Table> {
    let inner = quote_identifier(&table.sql_name()?);
    let schema = table.plan.schema();
    let value = quote_identifier(schema.field(kept).name());
    let mut items: Vec<String> = table.column_names()[..kept].iter().map(|name| quote_identifier(name)).collect();
    match schema.field(kept).data_type() {
        ArrowType::Struct(fields) => {
            if !names.is_empty() && names.len() != fields.len() {
                return Err(TableError::Validation(format!(
                    "the function gives {} columns, but {} names were given: {names:?}",
                    fields.len(),
                    names.len()
                )));
            }
            items.extend(fields.iter().enumerate().map(|(i, field)| {
                let name = names.get(i).unwrap_or(field.name());
                format!("get_field({value}, {}) AS {}", quote_string(field.name()), quote_identifier(name))
            }));
        }
        _ => items.push(format!("{value} AS {}", quote_identifier(names.first().map_or("f0", String::as_str)))),
    }
    table.env.sql_query(&format!("SELECT {} FROM {inner}", items.join(", ")))
}

/// The name of the function `call` calls.
fn function_name(call: &Expression) -> Result<String> {
    let sql = call.to_sql();
    match sql.split_once('(') {
        Some((name, _)) if !name.trim().is_empty() => Ok(name.trim().trim_matches('`').to_string()),
        _ => Err(TableError::Validation(format!("a function call was expected, not {sql}"))),
    }
}

/// The name of the table function that gives the rows of the table aggregate `function`'s
/// values (registered with it).
pub(crate) fn rows_function(function: &str) -> String {
    format!("{function}$rows")
}

/// `T`, or `T(a, b, ..)` with the names `call`'s aliases give the function's columns.
fn alias(call: &Expression) -> String {
    match call.names() {
        [] => "T".to_string(),
        names => format!("T({})", names.iter().map(|name| quote_identifier(name)).collect::<Vec<_>>().join(", ")),
    }
}
