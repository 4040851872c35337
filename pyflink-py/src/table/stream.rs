//! Tables of Python DataStreams (`StreamTableEnvironment.from_data_stream`): the stream's
//! program is built into the table environment's job, its records (PyFlink `Row`s or tuples)
//! become table rows of the field types Python names, and [`pyflink_table`] makes the table
//! the `Schema` declares (computed columns, watermark).

use std::sync::Arc;

use pyflink_core::table::{Row, Value};
use pyflink_core::{ProcessContext, ProcessFunction};
use pyflink_table::datafusion::arrow::datatypes::{DataType as ArrowType, TimeUnit};
use pyflink_table::schema::Schema;
use pyflink_table::types::DataType;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::function::python_error;
use crate::interpreter::with_interpreter;
use crate::plan::Stream;
use crate::table::sql::{python_value, SqlTable, TableEnv, TableScope};
use crate::value::PyValue;
use crate::JobError;

/// A column of a `Schema` as Python's describes it: a physical column has a type, a computed
/// one an expression.
#[derive(Debug, Clone)]
pub struct SchemaColumnSpec {
    /// The column's name.
    pub name: String,
    /// A physical column's Flink SQL type.
    pub data_type: Option<String>,
    /// A computed column's Flink SQL expression.
    pub expression: Option<String>,
}

/// A `Schema` for `from_data_stream`: its columns and watermark.
#[derive(Debug, Clone)]
pub struct StreamSchemaSpec {
    /// The declared columns, in order.
    pub columns: Vec<SchemaColumnSpec>,
    /// The event-time column of the watermark, if any.
    pub watermark_column: Option<String>,
    /// The watermark's Flink SQL expression.
    pub watermark_expression: Option<String>,
}

impl StreamSchemaSpec {
    fn schema(&self) -> Result<Schema, JobError> {
        let mut builder = Schema::new_builder();
        for column in &self.columns {
            builder = match (&column.data_type, &column.expression) {
                (Some(data_type), None) => builder.column(&column.name, DataType::parse(data_type)?),
                (None, Some(expression)) => builder.column_by_expression(&column.name, expression),
                _ => {
                    return Err(JobError::InvalidProgram(format!(
                        "the column '{}' needs either a type or an expression",
                        column.name
                    )))
                }
            };
        }
        if let (Some(column), Some(expression)) = (&self.watermark_column, &self.watermark_expression) {
            builder = builder.watermark(column, expression);
        }
        Ok(builder.build())
    }
}

impl TableEnv {
    /// The records of `stream`, rows of the fields `field_names` of Flink SQL types
    /// `field_types`, as the table `schema` declares.
    pub fn from_data_stream(
        &self,
        stream: Arc<Stream>,
        field_names: Vec<String>,
        field_types: Vec<String>,
        schema: StreamSchemaSpec,
    ) -> Result<Arc<SqlTable>, JobError> {
        if field_names.len() != field_types.len() {
            return Err(JobError::InvalidProgram(format!(
                "{} field names for {} field types",
                field_names.len(),
                field_types.len()
            )));
        }
        let types = field_types.iter().map(|text| DataType::parse(text)).collect::<Result<Vec<_>, _>>()?;
        let schema = schema.schema()?;
        let (plan, step) = stream.program();
        let thread = self.thread();
        let owner = Arc::clone(thread);
        thread.table(move |owned| {
            let env = owned.env.stream_environment().clone();
            let records = crate::compile::stream_in(&env, &plan, step, &TableScope { thread: &owner, owned })?;
            let to_rows = PythonRows { names: Arc::new(field_names.clone()), types: Arc::new(types.clone()) };
            let rows = records.process(to_rows).name("Python rows to table rows");
            let row_type: Vec<(&str, DataType)> = field_names.iter().map(String::as_str).zip(types).collect();
            Ok(owned.env.from_data_stream(&rows, &row_type, &schema)?)
        })
    }
}

impl crate::plan::Environment {
    /// The rows of the query `table` (its changes, with their kinds, when `changelog`), as
    /// PyFlink `Row`s named by its columns. Jobs that read the stream run in the query's table
    /// environment.
    pub fn from_query(&self, table: Arc<SqlTable>, changelog: bool) -> Result<Arc<Stream>, JobError> {
        let columns = table.columns()?;
        let row_type = crate::types::TypeInfo::Row {
            names: columns.iter().map(|(name, _)| name.clone()).collect(),
            fields: columns.iter().map(|(_, data_type)| field_type(data_type)).collect(),
        };
        crate::plan::stream(&self.plan, crate::plan::Step::Query { table, changelog }, Some(row_type))
    }
}

/// The PyFlink type of the values of a column of `data_type`.
fn field_type(data_type: &DataType) -> crate::types::TypeInfo {
    use crate::types::BasicType;
    let kind = match data_type.to_arrow() {
        ArrowType::Boolean => BasicType::Boolean,
        ArrowType::Int8 => BasicType::Byte,
        ArrowType::Int16 => BasicType::Short,
        ArrowType::Int32 => BasicType::Int,
        ArrowType::Int64 => BasicType::Long,
        ArrowType::Float32 => BasicType::Float,
        ArrowType::Float64 => BasicType::Double,
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View => BasicType::String,
        ArrowType::Decimal128(..) | ArrowType::Decimal256(..) => BasicType::BigDec,
        ArrowType::Timestamp(..)
        | ArrowType::Date32
        | ArrowType::Date64
        | ArrowType::Time32(_)
        | ArrowType::Time64(_) => BasicType::Temporal,
        _ => return crate::types::TypeInfo::Pickled,
    };
    crate::types::TypeInfo::Basic { kind }
}

/// Python records (tuples or `Row`s) into table rows of given field types.
#[derive(Clone)]
struct PythonRows {
    names: Arc<Vec<String>>,
    types: Arc<Vec<DataType>>,
}

impl PythonRows {
    fn row(&self, record: &Bound<'_, PyAny>) -> PyResult<Row> {
        let fields = record.cast::<PyTuple>().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(format!(
                "from_data_stream reads streams of Rows or tuples (Types.ROW(...)), not {}",
                record.get_type().name().map(|name| name.to_string()).unwrap_or_default()
            ))
        })?;
        if fields.len() != self.types.len() {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "the record {record} has {} fields, but the stream's type has {}",
                fields.len(),
                self.types.len()
            )));
        }
        let mut values = Vec::with_capacity(self.types.len());
        for (position, data_type) in self.types.iter().enumerate() {
            let item = fields.get_item(position)?;
            values.push(typed_value(&item, data_type).map_err(|error| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "the field '{}' of {record}: {}",
                    self.names[position],
                    error.value(record.py())
                ))
            })?);
        }
        Ok(Row::of(values))
    }
}

/// `item` as a value of `data_type`.
pub(crate) fn typed_value(item: &Bound<'_, PyAny>, data_type: &DataType) -> PyResult<Value> {
    if item.is_none() {
        return Ok(Value::Null);
    }
    let value = match data_type.to_arrow() {
        ArrowType::Boolean => Value::Boolean(item.extract()?),
        ArrowType::Int8 | ArrowType::Int16 | ArrowType::Int32 | ArrowType::Int64 => Value::BigInt(item.extract()?),
        ArrowType::Float32 => Value::Float(item.extract()?),
        ArrowType::Float64 => Value::Double(item.extract()?),
        ArrowType::Utf8 => Value::String(item.extract()?),
        ArrowType::Timestamp(TimeUnit::Millisecond, time_zone) => {
            // An Instant gives its epoch milliseconds; a datetime its time.
            let millis = match item.getattr("to_epoch_milli") {
                Ok(method) => Some(method.call0()?.extract::<i64>()?),
                Err(_) => None,
            };
            let millis = match millis {
                Some(millis) => millis,
                None => match python_value(item)? {
                    Value::Timestamp(millis) | Value::TimestampLtz(millis) => millis,
                    other => {
                        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                            "a timestamp needs a datetime or an Instant, not {other:?}"
                        )))
                    }
                },
            };
            if time_zone.is_some() {
                Value::TimestampLtz(millis)
            } else {
                Value::Timestamp(millis)
            }
        }
        other => {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "fields of type {other} are not read from data streams yet (BOOLEAN, integers, FLOAT, DOUBLE, STRING \
                 and TIMESTAMP(3)/TIMESTAMP_LTZ(3) are)"
            )))
        }
    };
    Ok(value)
}

impl ProcessFunction<PyValue, Row> for PythonRows {
    fn within_batch(batch: &mut dyn FnMut() -> pyflink_core::Result<()>) -> pyflink_core::Result<()> {
        with_interpreter(batch)
    }

    fn process_element(&mut self, value: PyValue, ctx: &mut ProcessContext<'_, Row>) -> pyflink_core::Result<()> {
        let row = Python::attach(|py| self.row(value.bind(py)).map_err(|e| python_error(py, e)))?;
        ctx.collect(row);
        Ok(())
    }
}
