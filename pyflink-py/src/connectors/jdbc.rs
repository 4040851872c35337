//! The DataStream API's JDBC sink (PyFlink's `JdbcSink.sink(sql, type_info, ...)`): each
//! input batch of Python rows becomes an Arrow batch of the row type's columns, which the
//! connector's statement sink writes by running `sql` for each row (its `?` placeholders take
//! the row's fields in order), in batches and at every checkpoint.

use std::sync::Arc;
use std::time::Duration;

use pyflink_connectors::table::{jdbc_statement_sink, JdbcStatementSinkOptions};
use pyflink_core::{DataStream, DataStreamSink, FlinkError, ProcessContext, ProcessFunction};
use pyflink_table::batch::ChangeBatch;
use pyflink_table::datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use pyflink_table::datafusion::arrow::record_batch::RecordBatch;
use pyflink_table::types::DataType;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::function::python_error;
use crate::interpreter::with_interpreter;
use crate::plan::{SinkKind, Stream, StreamSink};
use crate::table::arrow_python::arrow_array;
use crate::value::PyValue;
use crate::JobError;

/// A JDBC sink as `JdbcSink.sink` and its options describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JdbcSinkSpec {
    pub sql: String,
    pub field_names: Vec<String>,
    /// Flink SQL types of the fields.
    pub field_types: Vec<String>,
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub batch_size: u64,
    pub batch_interval_ms: u64,
    pub max_retries: u32,
}

impl JdbcSinkSpec {
    fn options(&self) -> JdbcStatementSinkOptions {
        JdbcStatementSinkOptions {
            url: self.url.clone(),
            username: self.username.clone(),
            password: self.password.clone(),
            statement: self.sql.clone(),
            columns: self.field_names.clone(),
            batch_size: self.batch_size as usize,
            batch_interval: Some(Duration::from_millis(self.batch_interval_ms)),
            max_retries: self.max_retries,
        }
    }

    fn schema(&self) -> Result<SchemaRef, JobError> {
        if self.field_names.len() != self.field_types.len() {
            return Err(JobError::InvalidProgram(format!(
                "{} field names for {} field types",
                self.field_names.len(),
                self.field_types.len()
            )));
        }
        let fields = self
            .field_names
            .iter()
            .zip(&self.field_types)
            .map(|(name, text)| Ok(Field::new(name, DataType::parse(text)?.to_arrow(), true)))
            .collect::<Result<Vec<_>, JobError>>()?;
        Ok(Arc::new(Schema::new(fields)))
    }
}

impl Stream {
    /// Writes every record (a `Row` or tuple of the spec's fields) with the spec's statement.
    pub fn sink_to_jdbc(&self, sink: JdbcSinkSpec) -> Result<Arc<StreamSink>, JobError> {
        sink.schema()?;
        jdbc_statement_sink(sink.options())?;
        Ok(self.add_sink(SinkKind::Jdbc(Box::new(sink))))
    }
}

/// The sink of `records` that `spec` describes.
pub(crate) fn write_jdbc(records: &DataStream<PyValue>, spec: &JdbcSinkSpec) -> pyflink_core::Result<DataStreamSink> {
    let invalid = |e: JobError| FlinkError::InvalidProgram(e.to_string());
    let schema = spec.schema().map_err(invalid)?;
    let batches = records.process(RowsToBatch { schema, pending: Vec::new() }).name("Rows to JDBC batches");
    Ok(batches.sink_to(jdbc_statement_sink(spec.options())?).name("JdbcSink"))
}

/// Python rows into Arrow batches of inserts, one per input batch.
struct RowsToBatch {
    schema: SchemaRef,
    pending: Vec<PyValue>,
}

impl Clone for RowsToBatch {
    fn clone(&self) -> Self {
        RowsToBatch { schema: Arc::clone(&self.schema), pending: Vec::new() }
    }
}

impl RowsToBatch {
    fn batch(&self, py: Python<'_>) -> PyResult<RecordBatch> {
        let width = self.schema.fields().len();
        let mut columns: Vec<Vec<Bound<'_, PyAny>>> = vec![Vec::with_capacity(self.pending.len()); width];
        for record in &self.pending {
            let record = record.bind(py);
            let fields = record.cast::<PyTuple>().map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(format!("a JDBC sink writes Rows or tuples, not {record}"))
            })?;
            if fields.len() != width {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "the record {record} has {} fields, but the sink's row type has {width}",
                    fields.len()
                )));
            }
            for (column, field) in columns.iter_mut().zip(fields.iter()) {
                column.push(field);
            }
        }
        let arrays = columns
            .iter()
            .zip(self.schema.fields())
            .map(|(values, field)| {
                arrow_array(values, field.data_type()).map_err(|bad| {
                    pyo3::exceptions::PyValueError::new_err(format!(
                        "the field '{}' of {}: {}",
                        field.name(),
                        self.pending[bad.row].bind(py),
                        bad.reason
                    ))
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        RecordBatch::try_new(Arc::clone(&self.schema), arrays)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
    }
}

impl ProcessFunction<PyValue, ChangeBatch> for RowsToBatch {
    fn within_batch(batch: &mut dyn FnMut() -> pyflink_core::Result<()>) -> pyflink_core::Result<()> {
        with_interpreter(batch)
    }

    fn process_element(
        &mut self,
        value: PyValue,
        _ctx: &mut ProcessContext<'_, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        self.pending.push(value);
        Ok(())
    }

    fn finish_batch(&mut self, ctx: &mut ProcessContext<'_, ChangeBatch>) -> pyflink_core::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = Python::attach(|py| self.batch(py).map_err(|e| python_error(py, e)));
        self.pending.clear();
        ctx.set_timestamp(None);
        ctx.collect(ChangeBatch::inserts(batch?));
        Ok(())
    }
}
