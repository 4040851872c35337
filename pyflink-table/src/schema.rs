//! `Schema`: the columns a table made from a DataStream declares (Flink's `Schema`), built
//! column by column: physical columns (fields of the stream's rows, by name), computed columns
//! (SQL expressions over the others) and the watermark that makes a column the event time.
//!
//! ```
//! use pyflink_table::schema::Schema;
//! use pyflink_table::types::DataType;
//!
//! let schema = Schema::new_builder()
//!     .column("name", DataType::parse("STRING").unwrap())
//!     .column_by_expression("ts", "CAST(f0 AS TIMESTAMP(3))")
//!     .watermark("ts", "ts - INTERVAL '5' SECOND")
//!     .build();
//! assert_eq!(schema.column_names(), ["name", "ts"]);
//! ```

use crate::types::DataType;

/// A column a [`Schema`] declares.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SchemaColumn {
    /// A field of the rows, read by name and cast to `data_type`.
    Physical { name: String, data_type: DataType },
    /// A column computed from the others by a SQL expression.
    Computed { name: String, expression: String },
}

impl SchemaColumn {
    fn name(&self) -> &str {
        match self {
            SchemaColumn::Physical { name, .. } | SchemaColumn::Computed { name, .. } => name,
        }
    }
}

/// The declared columns of a table and its watermark.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    pub(crate) columns: Vec<SchemaColumn>,
    /// The event-time column and the SQL expression of its watermark.
    pub(crate) watermark: Option<(String, String)>,
}

impl Schema {
    /// A builder of a schema, empty: a table of a stream with an empty schema has the fields
    /// of the stream's rows as its columns.
    pub fn new_builder() -> SchemaBuilder {
        SchemaBuilder { schema: Schema::default() }
    }

    /// The names of the declared columns, in order.
    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(SchemaColumn::name).collect()
    }
}

/// Adds columns to a [`Schema`], in the order they are to have.
#[derive(Debug, Clone)]
pub struct SchemaBuilder {
    schema: Schema,
}

impl SchemaBuilder {
    /// A physical column: the field `name` of the rows, as `data_type`.
    pub fn column(mut self, name: impl Into<String>, data_type: DataType) -> Self {
        self.schema.columns.push(SchemaColumn::Physical { name: name.into(), data_type });
        self
    }

    /// A computed column: `expression` (Flink SQL) over the other columns.
    pub fn column_by_expression(mut self, name: impl Into<String>, expression: impl Into<String>) -> Self {
        self.schema.columns.push(SchemaColumn::Computed { name: name.into(), expression: expression.into() });
        self
    }

    /// Makes `column` the table's event time, with watermarks of `expression` (such as
    /// `ts - INTERVAL '5' SECOND`).
    pub fn watermark(mut self, column: impl Into<String>, expression: impl Into<String>) -> Self {
        self.schema.watermark = Some((column.into(), expression.into()));
        self
    }

    /// The schema.
    pub fn build(self) -> Schema {
        self.schema
    }
}
