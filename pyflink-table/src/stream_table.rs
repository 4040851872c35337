//! Tables of DataStreams (Flink's `fromDataStream`): the rows of a `DataStream<Row>` become a
//! table whose columns a [`Schema`] declares, with computed columns and a watermark as a
//! `CREATE TABLE` has them, so event-time windows run over a stream built with the DataStream
//! API.
//!
//! ```
//! use pyflink_core::table::{Row, Value};
//! use pyflink_table::environment::TableEnvironment;
//! use pyflink_table::schema::Schema;
//! use pyflink_table::types::DataType;
//!
//! let env = pyflink_core::StreamExecutionEnvironment::get_execution_environment();
//! env.set_parallelism(1);
//! let t_env = TableEnvironment::from_stream_environment(&env);
//! let clicks = env.from_collection(vec![
//!     Row::of(vec![Value::TimestampLtz(1_000), Value::String("Alice".into())]),
//!     Row::of(vec![Value::TimestampLtz(6_000), Value::String("Bob".into())]),
//! ]);
//! let fields = [("f0", DataType::parse("TIMESTAMP_LTZ(3)").unwrap()), ("f1", DataType::parse("STRING").unwrap())];
//! let schema = Schema::new_builder()
//!     .column_by_expression("ts", "CAST(f0 AS TIMESTAMP(3))")
//!     .column("f1", DataType::parse("STRING").unwrap())
//!     .watermark("ts", "ts - INTERVAL '1' SECOND")
//!     .build();
//! let table = t_env.from_data_stream(&clicks, &fields, &schema).unwrap();
//! assert_eq!(table.column_names(), ["ts", "f1"]);
//! ```

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{Schema as ArrowSchema, SchemaRef};
use pyflink_core::table::Row;
use pyflink_core::{DataStream, ProcessContext, ProcessFunction};

use crate::batch::{rows_to_batch, ChangeBatch};
use crate::catalog::Catalog;
use crate::connector_table::ConnectorTable;
use crate::ddl::{ColumnDefinition, ColumnKind, TableDefinition, WatermarkDefinition};
use crate::error::{Result, TableError};
use crate::exec::group_aggregate::flink;
use crate::schema::{Schema, SchemaColumn};
use crate::types::DataType;

/// A table whose rows a DataStream gives: the stream as batches of the columns it reads, and
/// the table resolved as a connector's table is (computed columns, event time).
#[derive(Clone)]
pub(crate) struct StreamTable {
    pub(crate) table: Arc<ConnectorTable>,
    pub(crate) rows: DataStream<ChangeBatch>,
}

impl fmt::Debug for StreamTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamTable").field("table", &self.table.definition.name).finish_non_exhaustive()
    }
}

/// The table `name` that a stream of rows of `row_type` makes under `schema`, resolved as Flink
/// resolves it: without physical columns in the schema, every field of the rows is a column,
/// followed by the schema's computed columns; with them, the schema's columns in its order,
/// each physical one a field of the rows by name (cast to the declared type). Computed columns
/// may read any field of the rows, declared or not.
pub(crate) fn resolve_stream_table(
    catalog: &Catalog,
    name: &str,
    row_type: &[(&str, DataType)],
    schema: &Schema,
) -> Result<ConnectorTable> {
    let declared_physical: Vec<&str> = schema
        .columns
        .iter()
        .filter_map(|column| match column {
            SchemaColumn::Physical { name, .. } => Some(name.as_str()),
            SchemaColumn::Computed { .. } => None,
        })
        .collect();
    let mut columns: Vec<ColumnDefinition> = Vec::new();
    let column = |name: &str, kind: ColumnKind| ColumnDefinition { name: name.to_string(), kind, comment: None };
    if declared_physical.is_empty() {
        columns.extend(row_type.iter().map(|(name, data_type)| column(name, ColumnKind::Physical(data_type.clone()))));
    }
    for declared in &schema.columns {
        match declared {
            SchemaColumn::Physical { name, data_type } => {
                if !row_type.iter().any(|(field, _)| field == name) {
                    return Err(TableError::Validation(format!(
                        "Unable to find a field named '{name}' in the physical data type derived from the given type \
                         information for schema declaration. Currently available fields are: [{}]",
                        row_type.iter().map(|(field, _)| *field).collect::<Vec<_>>().join(", ")
                    )));
                }
                columns.push(column(name, ColumnKind::Physical(data_type.clone())));
            }
            SchemaColumn::Computed { name, expression } => {
                columns.push(column(name, ColumnKind::Computed(expression.clone())));
            }
        }
    }
    // The fields the schema leaves out are read too, for computed columns, and then hidden.
    let visible = columns.len();
    if !declared_physical.is_empty() {
        let hidden = row_type.iter().filter(|(field, _)| !declared_physical.contains(field));
        columns.extend(hidden.map(|(name, data_type)| column(name, ColumnKind::Physical(data_type.clone()))));
    }
    let watermark = schema
        .watermark
        .as_ref()
        .map(|(column, expression)| WatermarkDefinition { column: column.clone(), expression: expression.clone() });
    let definition = TableDefinition {
        name: name.to_string(),
        columns,
        watermark,
        primary_key: None,
        comment: None,
        partition_keys: Vec::new(),
        options: Default::default(),
        temporary: true,
    };
    let mut table = ConnectorTable::resolve(catalog, definition)?;
    if table.rowtime.is_some_and(|rowtime| rowtime >= visible) {
        return Err(TableError::Validation(format!(
            "the watermark's column '{}' must be a column of the schema",
            table.schema.field(table.rowtime.unwrap_or_default()).name()
        )));
    }
    table.definition.columns.truncate(visible);
    table.columns.truncate(visible);
    table.schema = Arc::new(ArrowSchema::new(table.schema.fields()[..visible].to_vec()));
    Ok(table)
}

/// Rows of a stream into batches of the columns a table reads: the rows of each input batch
/// become one batch, each column taken from its field of the rows and cast to its declared type.
#[derive(Clone)]
pub(crate) struct RowsToBatches {
    /// The schema of the rows as they come.
    row_schema: SchemaRef,
    /// For each column read, the position of its field in the rows.
    fields: Vec<usize>,
    /// The columns read.
    read_schema: SchemaRef,
    buffer: Vec<Row>,
}

impl RowsToBatches {
    pub(crate) fn new(row_type: &[(&str, DataType)], read_schema: SchemaRef) -> Result<Self> {
        let row_schema = Arc::new(ArrowSchema::new(
            row_type.iter().map(|(name, data_type)| data_type.to_arrow_field(name)).collect::<Vec<_>>(),
        ));
        let fields = read_schema
            .fields()
            .iter()
            .map(|field| {
                row_type.iter().position(|(name, _)| name == field.name()).ok_or_else(|| {
                    TableError::Validation(format!("the rows of the stream have no field '{}'", field.name()))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RowsToBatches { row_schema, fields, read_schema, buffer: Vec::new() })
    }

    fn batch(&mut self) -> Result<RecordBatch> {
        let rows = rows_to_batch(&self.buffer, &self.row_schema)?;
        self.buffer.clear();
        let columns = self
            .fields
            .iter()
            .zip(self.read_schema.fields())
            .map(|(&position, field)| {
                let column = rows.column(position);
                if column.data_type() == field.data_type() {
                    return Ok(Arc::clone(column));
                }
                cast(column, field.data_type()).map_err(|e| {
                    TableError::Execution(format!(
                        "the field '{}' of the stream's rows as {}: {e}",
                        field.name(),
                        field.data_type()
                    ))
                })
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        RecordBatch::try_new(Arc::clone(&self.read_schema), columns).map_err(|e| TableError::Execution(e.to_string()))
    }
}

impl ProcessFunction<Row, ChangeBatch> for RowsToBatches {
    fn process_element(&mut self, value: Row, _ctx: &mut ProcessContext<'_, ChangeBatch>) -> pyflink_core::Result<()> {
        self.buffer.push(value);
        Ok(())
    }

    fn finish_batch(&mut self, ctx: &mut ProcessContext<'_, ChangeBatch>) -> pyflink_core::Result<()> {
        if !self.buffer.is_empty() {
            let rows = self.batch().map_err(flink)?;
            ctx.collect(ChangeBatch::inserts(rows));
        }
        Ok(())
    }
}
