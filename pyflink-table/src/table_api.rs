//! The relational operations of the Table API on a [`Table`] (Flink's `Table.select`, `filter`,
//! `group_by`, `add_columns`, ...). Each one is a query over the table it starts from, which SQL
//! reads under the name `UnnamedTable$n` (as Flink names a table it prints), so the Table API
//! and SQL share one planner and one set of rules.
//!
//! ```
//! use pyflink_core::table::{Row, Value};
//! use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
//! use pyflink_table::expressions::{col, lit};
//! use pyflink_table::types::DataType;
//!
//! let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
//! let rows = vec![
//!     Row::of(vec![Value::String("a".into()), Value::BigInt(1)]),
//!     Row::of(vec![Value::String("b".into()), Value::BigInt(5)]),
//!     Row::of(vec![Value::String("a".into()), Value::BigInt(2)]),
//! ];
//! let orders = t_env
//!     .from_elements(rows, &[("item", DataType::parse("STRING").unwrap()), ("amount", DataType::parse("BIGINT").unwrap())])
//!     .unwrap();
//! let totals = orders
//!     .filter(col("amount").is_less(lit(5)))
//!     .unwrap()
//!     .group_by([col("item")])
//!     .select([col("item"), col("amount").sum().alias("total")])
//!     .unwrap();
//! let rows: Vec<String> = totals.execute().unwrap().collect().unwrap().iter().map(|row| row.to_string()).collect();
//! assert_eq!(rows, vec!["+I[a, 3]"]);
//! ```

use std::fmt;

use datafusion::logical_expr::LogicalPlanBuilder;

use crate::environment::Table;
use crate::error::{Result, TableError};
use crate::expressions::{quote_identifier, Expression};

impl Table {
    /// The name SQL reads this table by: registers it as the view `UnnamedTable$n` the first
    /// time it is asked for, as Flink does when a table is printed into SQL text.
    ///
    /// ```
    /// use pyflink_core::table::{Row, Value};
    /// use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
    /// use pyflink_table::types::DataType;
    ///
    /// let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    /// let rows = vec![Row::of(vec![Value::BigInt(1)])];
    /// let table = t_env.from_elements(rows, &[("one", DataType::parse("BIGINT").unwrap())]).unwrap();
    /// let sql = format!("SELECT one + 1 AS two FROM {table}");
    /// assert_eq!(t_env.execute_sql(&sql).unwrap().collect().unwrap()[0].to_string(), "+I[2]");
    /// ```
    pub fn sql_name(&self) -> Result<String> {
        if let Some(name) = self.name.get() {
            return Ok(name.clone());
        }
        let name = self.env.next_unnamed();
        self.env.create_temporary_view(&name, self)?;
        Ok(self.name.get_or_init(|| name).clone())
    }

    /// `SELECT {select} FROM this {rest}`.
    fn query(&self, select: &str, rest: &str) -> Result<Table> {
        let name = quote_identifier(&self.sql_name()?);
        self.env.sql_query(&format!("SELECT {select} FROM {name}{rest}"))
    }

    /// The names of the table's columns.
    pub fn column_names(&self) -> Vec<String> {
        self.plan.schema().fields().iter().map(|field| field.name().clone()).collect()
    }

    /// The table of `fields`, computed from this table's columns (`SELECT`).
    pub fn select<E: Into<Expression>>(&self, fields: impl IntoIterator<Item = E>) -> Result<Table> {
        let fields = select_list(fields)?;
        self.query(&fields, "")
    }

    /// The rows for which `predicate` holds (`WHERE`).
    pub fn filter(&self, predicate: impl Into<Expression>) -> Result<Table> {
        self.query("*", &format!(" WHERE {}", predicate.into().to_sql()))
    }

    /// The rows for which `predicate` holds; the same as [`Table::filter`].
    pub fn where_(&self, predicate: impl Into<Expression>) -> Result<Table> {
        self.filter(predicate)
    }

    /// The table with `fields` added after its columns; a name that is taken is an error.
    pub fn add_columns<E: Into<Expression>>(&self, fields: impl IntoIterator<Item = E>) -> Result<Table> {
        let fields: Vec<Expression> = fields.into_iter().map(Into::into).collect();
        let existing = self.column_names();
        for field in &fields {
            let name = output_name(field);
            if let Some(taken) = name.filter(|name| existing.contains(name)) {
                return Err(TableError::Validation(format!(
                    "Column name '{taken}' is used already; add_or_replace_columns replaces a column"
                )));
            }
        }
        self.query(&format!("*, {}", select_list(fields)?), "")
    }

    /// The table with `fields` in place of the columns of their names, and the others added.
    pub fn add_or_replace_columns<E: Into<Expression>>(&self, fields: impl IntoIterator<Item = E>) -> Result<Table> {
        let mut fields: Vec<Expression> = fields.into_iter().map(Into::into).collect();
        let mut items = Vec::new();
        for column in self.column_names() {
            match fields.iter().rposition(|field| output_name(field).as_deref() == Some(column.as_str())) {
                Some(position) => {
                    let field = fields.remove(position);
                    fields.retain(|other| output_name(other).as_deref() != Some(column.as_str()));
                    items.push(field);
                }
                None => items.push(crate::expressions::col(&column)),
            }
        }
        items.extend(fields);
        self.select(items)
    }

    /// The table with columns renamed: each field is a column with an alias (`col("a").alias("b")`).
    pub fn rename_columns<E: Into<Expression>>(&self, fields: impl IntoIterator<Item = E>) -> Result<Table> {
        let renames: Vec<(String, String)> = fields
            .into_iter()
            .map(Into::into)
            .map(|field| match (field.column(), field.name()) {
                (Some(column), Some(name)) => Ok((column.to_string(), name.to_string())),
                _ => Err(TableError::Validation(format!(
                    "rename_columns takes columns with new names, such as col('a').alias('b'), not {field}"
                ))),
            })
            .collect::<Result<_>>()?;
        let columns = self.column_names();
        if let Some((missing, _)) = renames.iter().find(|(column, _)| !columns.contains(column)) {
            return Err(unknown_column(missing, &columns));
        }
        let items = columns.iter().map(|column| {
            let field = crate::expressions::col(column);
            match renames.iter().find(|(from, _)| from == column) {
                Some((_, to)) => field.alias(to),
                None => field,
            }
        });
        self.select(items)
    }

    /// The table without the columns `fields`.
    pub fn drop_columns<E: Into<Expression>>(&self, fields: impl IntoIterator<Item = E>) -> Result<Table> {
        let columns = self.column_names();
        let mut dropped = Vec::new();
        for field in fields.into_iter().map(Into::into) {
            match field.column() {
                Some(column) if columns.iter().any(|c| c == column) => dropped.push(column.to_string()),
                Some(column) => return Err(unknown_column(column, &columns)),
                None => {
                    return Err(TableError::Validation(format!(
                        "drop_columns takes columns, such as col('a'), not {field}"
                    )))
                }
            }
        }
        let kept: Vec<Expression> =
            columns.iter().filter(|column| !dropped.contains(column)).map(|c| crate::expressions::col(c)).collect();
        if kept.is_empty() {
            return Err(TableError::Validation("drop_columns would drop every column of the table".into()));
        }
        self.select(kept)
    }

    /// The table with its columns called `names`, in order (Flink's `Table.alias`).
    pub fn alias<S: AsRef<str>>(&self, names: impl IntoIterator<Item = S>) -> Result<Table> {
        let names: Vec<String> = names.into_iter().map(|name| name.as_ref().to_string()).collect();
        let columns = self.column_names();
        if names.len() > columns.len() {
            return Err(TableError::Validation(format!(
                "Aliasing more fields than we actually have: {} names for the {} columns {columns:?}",
                names.len(),
                columns.len()
            )));
        }
        let items = columns.iter().enumerate().map(|(i, column)| match names.get(i) {
            Some(name) => crate::expressions::col(column).alias(name),
            None => crate::expressions::col(column),
        });
        self.select(items)
    }

    /// The table without duplicate rows (`SELECT DISTINCT`).
    pub fn distinct(&self) -> Result<Table> {
        self.query("DISTINCT *", "")
    }

    /// Groups the rows by `keys`, to aggregate each group with [`GroupedTable::select`].
    pub fn group_by<E: Into<Expression>>(&self, keys: impl IntoIterator<Item = E>) -> GroupedTable {
        GroupedTable { table: self.clone(), keys: keys.into_iter().map(Into::into).collect() }
    }

    /// The rows of this table and then of `other`, duplicates kept (`UNION ALL`).
    pub fn union_all(&self, other: &Table) -> Result<Table> {
        let (this, other) = (quote_identifier(&self.sql_name()?), quote_identifier(&other.sql_name()?));
        self.env.sql_query(&format!("SELECT * FROM {this} UNION ALL SELECT * FROM {other}"))
    }

    /// The rows of this table joined with those of `right` that meet `condition` (an inner
    /// join; every pair of rows without a condition). The two tables' column names must differ;
    /// the result has this table's columns, then `right`'s.
    ///
    /// ```
    /// use pyflink_core::table::{Row, Value};
    /// use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
    /// use pyflink_table::expressions::col;
    /// use pyflink_table::types::DataType;
    ///
    /// let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    /// let bigint = || DataType::parse("BIGINT").unwrap();
    /// let orders = t_env.from_elements(vec![Row::of(vec![Value::BigInt(1), Value::BigInt(30)])], &[("customer", bigint()), ("amount", bigint())]).unwrap();
    /// let customers = t_env.from_elements(vec![Row::of(vec![Value::BigInt(1), Value::BigInt(7)])], &[("id", bigint()), ("region", bigint())]).unwrap();
    /// let joined = orders.join(&customers, Some(col("customer").is_equal(col("id")))).unwrap();
    /// assert_eq!(joined.execute().unwrap().collect().unwrap()[0].to_string(), "+I[1, 30, 1, 7]");
    /// ```
    pub fn join(&self, right: &Table, condition: Option<Expression>) -> Result<Table> {
        self.join_with(right, "JOIN", condition)
    }

    /// Like [`Table::join`], and the rows of this table without a match, padded with nulls.
    pub fn left_outer_join(&self, right: &Table, condition: Option<Expression>) -> Result<Table> {
        self.join_with(right, "LEFT JOIN", condition)
    }

    /// Like [`Table::join`], and the rows of `right` without a match, padded with nulls.
    pub fn right_outer_join(&self, right: &Table, condition: Expression) -> Result<Table> {
        self.join_with(right, "RIGHT JOIN", Some(condition))
    }

    /// Like [`Table::join`], and the rows of either table without a match, padded with nulls.
    pub fn full_outer_join(&self, right: &Table, condition: Expression) -> Result<Table> {
        self.join_with(right, "FULL JOIN", Some(condition))
    }

    fn join_with(&self, right: &Table, join: &str, condition: Option<Expression>) -> Result<Table> {
        let left_names = self.column_names();
        let shared: Vec<String> = right.column_names().into_iter().filter(|name| left_names.contains(name)).collect();
        if !shared.is_empty() {
            return Err(TableError::Validation(format!(
                "join relations with ambiguous names: {}; rename the columns of one table first (rename_columns \
                 or alias)",
                shared.join(", ")
            )));
        }
        let condition = condition.map_or_else(|| "TRUE".to_string(), |condition| condition.to_sql());
        let (this, other) = (quote_identifier(&self.sql_name()?), quote_identifier(&right.sql_name()?));
        self.env.sql_query(&format!("SELECT * FROM {this} {join} {other} ON {condition}"))
    }

    /// The rows sorted by `fields` (each ascending unless [`Expression::desc`]).
    pub fn order_by<E: Into<Expression>>(&self, fields: impl IntoIterator<Item = E>) -> Result<Table> {
        let order: Vec<String> = fields
            .into_iter()
            .map(Into::into)
            .map(|field| format!("{} {}", field.to_sql(), if field.is_descending() { "DESC" } else { "ASC" }))
            .collect();
        self.query("*", &format!(" ORDER BY {}", order.join(", ")))
    }

    /// The rows after the first `offset` (`OFFSET`).
    pub fn offset(&self, offset: usize) -> Result<Table> {
        self.limited(offset, None)
    }

    /// The first `fetch` rows (`FETCH FIRST n ROWS ONLY`).
    pub fn fetch(&self, fetch: usize) -> Result<Table> {
        self.limited(0, Some(fetch))
    }

    /// `fetch` rows after the first `offset` (Python's `limit(fetch, offset)`).
    pub fn limit(&self, fetch: usize, offset: usize) -> Result<Table> {
        self.limited(offset, Some(fetch))
    }

    fn limited(&self, skip: usize, fetch: Option<usize>) -> Result<Table> {
        let plan = LogicalPlanBuilder::from(self.plan.clone()).limit(skip, fetch)?.build()?;
        Ok(Table::new(self.env.clone(), crate::plan::analyze(plan)?))
    }

    /// The table's schema as Flink prints it: one backquoted column and its type per line.
    ///
    /// ```
    /// use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
    ///
    /// let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    /// let table = t_env.sql_query("SELECT CAST(1 AS BIGINT) AS id, 'a' AS word").unwrap();
    /// assert_eq!(table.schema_string().unwrap(), "(\n  `id` BIGINT NOT NULL,\n  `word` STRING NOT NULL\n)");
    /// ```
    pub fn schema_string(&self) -> Result<String> {
        let columns: Vec<String> = self
            .get_schema()?
            .iter()
            .map(|(name, data_type)| format!("  {} {data_type}", quote_identifier(name)))
            .collect();
        Ok(format!("(\n{}\n)", columns.join(",\n")))
    }

    /// Prints [`Table::schema_string`] (Flink's `print_schema`).
    pub fn print_schema(&self) -> Result<()> {
        println!("{}", self.schema_string()?);
        Ok(())
    }
}

impl fmt::Display for Table {
    /// The name SQL reads the table by (`UnnamedTable$n`), so that `format!("SELECT * FROM
    /// {table}")` is a query over it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.sql_name() {
            Ok(name) => f.write_str(&quote_identifier(&name)),
            Err(_) => Err(fmt::Error),
        }
    }
}

/// A table grouped by keys, waiting for the aggregates to compute per group.
#[derive(Clone)]
pub struct GroupedTable {
    pub(crate) table: Table,
    pub(crate) keys: Vec<Expression>,
}

impl GroupedTable {
    /// One row per group, of `fields`: the keys and aggregates over the group's rows.
    pub fn select<E: Into<Expression>>(&self, fields: impl IntoIterator<Item = E>) -> Result<Table> {
        let keys: Vec<String> = self.keys.iter().map(Expression::to_sql).collect();
        // No keys: one group of all rows (a global aggregate).
        let group_by = if keys.is_empty() { String::new() } else { format!(" GROUP BY {}", keys.join(", ")) };
        self.table.query(&select_list(fields)?, &group_by)
    }
}

/// The name a select item gives its column, if it gives one.
fn output_name(field: &Expression) -> Option<String> {
    field.name().or(field.column()).map(str::to_string)
}

/// The select list of `fields`: a column keeps its name, an aliased expression takes its alias,
/// and other expressions are `EXPR$0`, `EXPR$1`, ... in order, as in Flink's Table API.
pub(crate) fn select_list<E: Into<Expression>>(fields: impl IntoIterator<Item = E>) -> Result<String> {
    let mut unnamed = 0;
    let mut items = Vec::new();
    for field in fields.into_iter().map(Into::into) {
        let item = match (field.names(), field.column()) {
            ([], Some(_)) => field.to_sql(),
            ([], None) if field.to_sql().trim() == "*" => "*".to_string(),
            ([], None) => {
                unnamed += 1;
                format!("{} AS {}", field.to_sql(), quote_identifier(&format!("EXPR${}", unnamed - 1)))
            }
            ([name], _) => format!("{} AS {}", field.to_sql(), quote_identifier(name)),
            (names, _) => {
                return Err(TableError::Validation(format!(
                    "only a table function gives several columns, so {} cannot take the names {names:?}",
                    field.to_sql()
                )))
            }
        };
        items.push(item);
    }
    if items.is_empty() {
        return Err(TableError::Validation("select needs at least one field".into()));
    }
    Ok(items.join(", "))
}

fn unknown_column(column: &str, columns: &[String]) -> TableError {
    TableError::Validation(format!("Cannot resolve field [{column}], input field list:[{}].", columns.join(", ")))
}
