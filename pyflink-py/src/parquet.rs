//! Parquet files from Python: `FileSource.for_bulk_file_format(ParquetColumnarRowInputFormat)`
//! and `AvroParquetReaders` read them as `Row`s or dicts, `FileSink.for_bulk_format` with
//! `ParquetBulkWriters` or `AvroParquetWriters` writes them, through the connectors' Parquet
//! format (`pyflink_connectors::formats::parquet`).

use std::sync::Arc;
use std::time::Duration;

use pyflink_connectors::file::{FileSink, FileSource};
use pyflink_connectors::formats::avro::AvroRowDeserializationSchema;
use pyflink_connectors::formats::parquet::{ParquetRowFormat, ParquetWriterFactory};
use pyflink_connectors::formats::RowType;
use pyflink_core::table::Row;
use pyflink_core::{DataStream, DataStreamSink, ProcessContext, ProcessFunction, StreamExecutionEnvironment};
use pyo3::prelude::*;

use crate::files::{configured, read, FileSinkSpec};
use crate::formats::python_row_type;
use crate::function::python_error;
use crate::interpreter::with_interpreter;
use crate::plan::{stream, Environment, Step, Stream};
use crate::python_rows::{python_mapping_to_row, python_to_row, RowsToPython};
use crate::types::TypeInfo;
use crate::value::PyValue;
use crate::JobError;

/// How Python records and the rows of Parquet files correspond.
#[derive(Debug, Clone, PartialEq)]
pub enum ParquetRecords {
    /// `Row`s of `row_type`, a `TypeInfo::Row` of basic fields.
    Rows {
        /// The rows' type.
        row_type: TypeInfo,
    },
    /// dicts of the fields of an Avro record schema (flat, of primitive fields).
    GenericRecords {
        /// Avro's JSON form of the record schema.
        avro_schema: String,
    },
}

impl ParquetRecords {
    /// The row type of the files' rows.
    pub(crate) fn row_type(&self) -> Result<RowType, JobError> {
        match self {
            ParquetRecords::Rows { row_type } => python_row_type(row_type),
            ParquetRecords::GenericRecords { avro_schema } => {
                Ok(AvroRowDeserializationSchema::new(avro_schema)?.row_type().clone())
            }
        }
    }

    fn dicts(&self) -> bool {
        matches!(self, ParquetRecords::GenericRecords { .. })
    }
}

/// How a Parquet source reads its files.
#[derive(Debug, Clone, PartialEq)]
pub struct ParquetRead {
    records: ParquetRecords,
    batch_size: u32,
    case_sensitive: bool,
}

impl Environment {
    /// The records of the Parquet files at or under `paths`.
    pub fn from_parquet_files(
        &self,
        paths: Vec<String>,
        monitor_interval_ms: Option<i64>,
        records: ParquetRecords,
        batch_size: u32,
        case_sensitive: bool,
    ) -> Result<Arc<Stream>, JobError> {
        if paths.is_empty() {
            return Err(JobError::InvalidProgram("a FileSource needs at least one path to read".into()));
        }
        if batch_size == 0 {
            return Err(JobError::InvalidProgram("the Parquet batch size must be positive, not 0".into()));
        }
        let monitor = match monitor_interval_ms {
            Some(ms) if ms <= 0 => {
                return Err(JobError::InvalidProgram(format!("the discovery interval must be positive, not {ms} ms")))
            }
            other => other.map(|ms| Duration::from_millis(ms as u64)),
        };
        let record_type = match &records {
            ParquetRecords::Rows { row_type } => Some(row_type.clone()),
            ParquetRecords::GenericRecords { .. } => None,
        };
        records.row_type()?;
        let read = ParquetRead { records, batch_size, case_sensitive };
        stream(&self.plan, Step::ParquetFiles { paths, monitor, read }, record_type)
    }
}

/// The records of the Parquet files at `paths` in the job of `env`, as `Row`s or dicts.
pub(crate) fn parquet_files(
    env: &StreamExecutionEnvironment,
    paths: &[String],
    monitor: Option<Duration>,
    spec: &ParquetRead,
) -> pyflink_core::Result<DataStream<PyValue>> {
    let row_type = spec.records.row_type().map_err(|e| pyflink_core::FlinkError::InvalidProgram(e.to_string()))?;
    let format = ParquetRowFormat::new(row_type.clone())
        .with_batch_size(spec.batch_size as usize)
        .with_case_sensitive(spec.case_sensitive);
    let rows = read(env, FileSource::for_bulk_file_format(format, paths), monitor)?;
    let to_python = if spec.records.dicts() { RowsToPython::dicts(&row_type) } else { RowsToPython::named(&row_type) };
    Ok(rows.process(to_python).name("Rows to Python"))
}

/// Sends the Python records of `records` to Parquet part files as `spec` says.
pub(crate) fn write_parquet(
    records: &DataStream<PyValue>,
    spec: &FileSinkSpec,
) -> pyflink_core::Result<DataStreamSink> {
    let invalid = |e: JobError| pyflink_core::FlinkError::InvalidProgram(e.to_string());
    let parquet =
        spec.parquet.as_ref().ok_or_else(|| invalid(JobError::InvalidProgram("not a Parquet sink".into())))?;
    let row_type = parquet.row_type().map_err(invalid)?;
    let rows = records
        .process(PythonToRows { row_type: Arc::new(row_type.clone()), dicts: parquet.dicts() })
        .name("Python to rows");
    let sink =
        configured(FileSink::for_bulk_format(&spec.base_path, ParquetWriterFactory::for_row_type(row_type)), spec)?;
    Ok(rows.sink_to(sink).name("FileSink"))
}

/// Turns Python records (`Row`s, tuples or lists; or dicts by field name) into rows to write.
#[derive(Clone)]
struct PythonToRows {
    row_type: Arc<RowType>,
    dicts: bool,
}

impl ProcessFunction<PyValue, Row> for PythonToRows {
    fn within_batch(batch: &mut dyn FnMut() -> pyflink_core::Result<()>) -> pyflink_core::Result<()> {
        with_interpreter(batch)
    }

    fn process_element(&mut self, record: PyValue, ctx: &mut ProcessContext<'_, Row>) -> pyflink_core::Result<()> {
        let row = Python::attach(|py| {
            let record = record.bind(py);
            let row = if self.dicts {
                python_mapping_to_row(record, &self.row_type)
            } else {
                python_to_row(record, &self.row_type)
            };
            row.map_err(|e| python_error(py, e))
        })?;
        ctx.collect(row);
        Ok(())
    }
}
