//! `TableDescriptor`: a table's connector, schema and options, as Flink's
//! `TableDescriptor.for_connector(…)` describes a table without SQL.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::table::Schema;
use crate::{FlinkError, Result};

/// What a table reads from: a connector with its options, and the table's schema.
///
/// ```
/// use pyflink_core::table::{DataType, Schema, TableDescriptor};
/// let schema = Schema::new_builder().column("id", DataType::BigInt).build().unwrap();
/// let descriptor = TableDescriptor::for_connector("datagen")
///     .schema(schema)
///     .option("rows-per-second", "5")
///     .build()
///     .unwrap();
/// assert_eq!(descriptor.connector(), "datagen");
/// assert_eq!(descriptor.options()["rows-per-second"], "5");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDescriptor {
    connector: String,
    schema: Schema,
    options: BTreeMap<String, String>,
}

impl TableDescriptor {
    /// A builder of a table read through the connector named `connector`.
    pub fn for_connector(connector: impl Into<String>) -> TableDescriptorBuilder {
        TableDescriptorBuilder { connector: connector.into(), schema: None, options: BTreeMap::new() }
    }

    /// The connector's name (the `connector` option of SQL DDL).
    pub fn connector(&self) -> &str {
        &self.connector
    }

    /// The table's columns.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The connector's options.
    pub fn options(&self) -> &BTreeMap<String, String> {
        &self.options
    }
}

/// Builds a [`TableDescriptor`].
#[derive(Debug, Clone)]
pub struct TableDescriptorBuilder {
    connector: String,
    schema: Option<Schema>,
    options: BTreeMap<String, String>,
}

impl TableDescriptorBuilder {
    /// Sets the table's schema.
    pub fn schema(mut self, schema: Schema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Sets the connector option `key` to `value`.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.insert(key.into(), value.into());
        self
    }

    /// The descriptor; fails without a schema.
    pub fn build(self) -> Result<TableDescriptor> {
        let schema = self.schema.ok_or_else(|| {
            FlinkError::InvalidProgram(format!("the table of connector '{}' needs a schema", self.connector))
        })?;
        Ok(TableDescriptor { connector: self.connector, schema, options: self.options })
    }
}
