//! The `jdbc` connector as a lookup table: each key a `SELECT` of the rows whose key columns
//! equal it, on a connection of the join instance's own (opened again after a failure).

use std::sync::Arc;

use pyflink_table::connectors::lookup::{LookupFunction, LookupTable};
use pyflink_table::datafusion::arrow::array::RecordBatch;
use pyflink_table::datafusion::arrow::datatypes::SchemaRef;
use pyflink_table::{Result, TableError};

use super::client::{Connection, ConnectionSettings, TextValue};
use super::source::to_batch;

/// A database table whose rows are found by the values of some of its columns.
pub(super) struct JdbcLookupTable {
    settings: Arc<LookupSettings>,
}

struct LookupSettings {
    connection: ConnectionSettings,
    table: String,
    /// The table's columns, read for every row found.
    schema: SchemaRef,
    /// The columns a key's values are compared with, in the key's order.
    keys: Vec<String>,
}

impl JdbcLookupTable {
    pub(super) fn new(connection: ConnectionSettings, table: String, schema: SchemaRef, keys: Vec<String>) -> Self {
        JdbcLookupTable { settings: Arc::new(LookupSettings { connection, table, schema, keys }) }
    }
}

impl LookupTable for JdbcLookupTable {
    fn open(&self) -> Result<Box<dyn LookupFunction>> {
        let connection = self.settings.connection.connect().map_err(|error| {
            TableError::Execution(format!("the lookup of table '{}' cannot connect: {error}", self.settings.table))
        })?;
        Ok(Box::new(JdbcLookup { settings: Arc::clone(&self.settings), connection }))
    }
}

/// A join instance's lookups, on its connection.
struct JdbcLookup {
    settings: Arc<LookupSettings>,
    connection: Connection,
}

impl JdbcLookup {
    /// `SELECT <columns> FROM <table> WHERE <key> = <value> AND ...` for the key in `key`.
    fn query(&self, key: &RecordBatch) -> std::result::Result<String, String> {
        let settings = &self.settings;
        let dialect = settings.connection.url.dialect;
        let columns: Vec<String> = settings.schema.fields().iter().map(|field| dialect.quote(field.name())).collect();
        let mut query = format!("SELECT {} FROM {} WHERE ", columns.join(", "), dialect.quote(&settings.table));
        for (position, (name, value)) in settings.keys.iter().zip(key.columns()).enumerate() {
            if position > 0 {
                query.push_str(" AND ");
            }
            query.push_str(&dialect.quote(name));
            query.push_str(" = ");
            dialect.literal(value.as_ref(), 0, &mut query)?;
        }
        Ok(query)
    }
}

impl LookupFunction for JdbcLookup {
    fn lookup(&mut self, key: &RecordBatch) -> Result<RecordBatch> {
        let table = self.settings.table.clone();
        let failed = |error: String| TableError::Execution(format!("the lookup in table '{table}' failed: {error}"));
        let query = self.query(key).map_err(failed)?;
        let mut rows: Vec<Vec<TextValue>> = Vec::new();
        self.connection
            .query_in_batches(&query, 1000, &mut |batch| {
                rows.extend(batch);
                true
            })
            .map_err(failed)?;
        to_batch(self.settings.connection.url.dialect, &self.settings.schema, rows).map_err(failed)
    }
}
