//! `Schema`: the columns of a table, built as Flink's `Schema.new_builder()` builds them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::table::DataType;
use crate::{FlinkError, Result};

/// A column: its name and type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// The column's type.
    pub data_type: DataType,
}

/// The columns of a table, in order.
///
/// ```
/// use pyflink_core::table::{DataType, Schema};
/// let schema = Schema::new_builder().column("word_id", DataType::Int).column("word", DataType::String).build().unwrap();
/// assert_eq!(schema.column_names(), ["word_id", "word"]);
/// assert!(Schema::new_builder().column("a", DataType::Int).column("a", DataType::Int).build().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Schema {
    columns: Vec<Column>,
}

impl Schema {
    /// A builder of a schema.
    pub fn new_builder() -> SchemaBuilder {
        SchemaBuilder::default()
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The names of the columns, in order.
    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }
}

impl fmt::Display for Schema {
    /// The schema as Flink's `print_schema` shows it: `(\n  `word_id` INT\n)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "(")?;
        for (i, column) in self.columns.iter().enumerate() {
            let separator = if i + 1 < self.columns.len() { "," } else { "" };
            writeln!(f, "  `{}` {}{separator}", column.name, column.data_type)?;
        }
        write!(f, ")")
    }
}

/// Builds a [`Schema`] column by column.
#[derive(Debug, Clone, Default)]
pub struct SchemaBuilder {
    columns: Vec<Column>,
}

impl SchemaBuilder {
    /// Adds a column.
    pub fn column(mut self, name: impl Into<String>, data_type: DataType) -> Self {
        self.columns.push(Column { name: name.into(), data_type });
        self
    }

    /// The schema; fails when it has no column or two columns share a name.
    pub fn build(self) -> Result<Schema> {
        if self.columns.is_empty() {
            return Err(FlinkError::InvalidProgram("a schema needs at least one column".into()));
        }
        for (i, column) in self.columns.iter().enumerate() {
            if self.columns[..i].iter().any(|c| c.name == column.name) {
                return Err(FlinkError::InvalidProgram(format!(
                    "the schema has two columns named '{}'; column names must be unique",
                    column.name
                )));
            }
        }
        Ok(Schema { columns: self.columns })
    }
}
