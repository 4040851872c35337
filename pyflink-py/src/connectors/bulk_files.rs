//! Files of bulk formats from Python: Parquet (`ParquetColumnarRowInputFormat`,
//! `AvroParquetReaders`, `ParquetBulkWriters`, `AvroParquetWriters`), Avro container files
//! (`AvroInputFormat`, `AvroBulkWriters`) and ORC (`OrcBulkWriters`), read with
//! `FileSource.for_bulk_file_format` (or `env.create_input`) and written with
//! `FileSink.for_bulk_format`, through the connectors' formats
//! (`pyflink_connectors::formats::{parquet, avro_file, orc}`). Records are `Row`s of a row
//! type, or dicts of an Avro record schema's fields (generic records).

use std::sync::Arc;
use std::time::Duration;

use pyflink_connectors::file::{FileSink, FileSource};
use pyflink_connectors::formats::avro::AvroRowDeserializationSchema;
use pyflink_connectors::formats::avro_file::{AvroFileFormat, AvroFileWriterFactory};
use pyflink_connectors::formats::orc::{OrcRowFormat, OrcWriterFactory};
use pyflink_connectors::formats::parquet::{ParquetRowFormat, ParquetWriterFactory};
use pyflink_connectors::formats::RowType;
use pyflink_core::table::Row;
use pyflink_core::{
    DataStream, DataStreamSink, FlinkError, ProcessContext, ProcessFunction, StreamExecutionEnvironment,
};
use pyo3::prelude::*;

use crate::connectors::files::{configured, file_discovery, read, FileSinkSpec};
use crate::connectors::formats::python_row_type;
use crate::function::python_error;
use crate::interpreter::with_interpreter;
use crate::plan::{stream, Environment, Step, Stream};
use crate::python_rows::{python_mapping_to_row, python_to_row, RowsToPython};
use crate::types::TypeInfo;
use crate::value::PyValue;
use crate::JobError;

/// Files written and read whole by a format, and how their rows are Python records.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkFileFormat {
    /// Parquet files of `Row`s of `row_type`, a `TypeInfo::Row` of basic fields.
    ParquetRows {
        /// The rows' type.
        row_type: TypeInfo,
    },
    /// Parquet files of dicts of the fields of an Avro record schema (flat, of primitives).
    ParquetGenericRecords {
        /// Avro's JSON form of the record schema.
        avro_schema: String,
    },
    /// Avro container files of dicts of the fields of a record schema (flat, of primitives).
    AvroGenericRecords {
        /// Avro's JSON form of the record schema.
        avro_schema: String,
    },
    /// ORC files of `Row`s of `row_type`, a `TypeInfo::Row` of basic fields.
    OrcRows {
        /// The rows' type.
        row_type: TypeInfo,
    },
}

impl BulkFileFormat {
    /// The row type of the files' rows.
    pub(crate) fn row_type(&self) -> Result<RowType, JobError> {
        match self {
            BulkFileFormat::ParquetRows { row_type } | BulkFileFormat::OrcRows { row_type } => {
                python_row_type(row_type)
            }
            BulkFileFormat::ParquetGenericRecords { avro_schema }
            | BulkFileFormat::AvroGenericRecords { avro_schema } => {
                Ok(AvroRowDeserializationSchema::new(avro_schema)?.row_type().clone())
            }
        }
    }

    /// Whether the Python records are dicts (generic records) rather than `Row`s.
    fn dicts(&self) -> bool {
        !matches!(self, BulkFileFormat::ParquetRows { .. } | BulkFileFormat::OrcRows { .. })
    }
}

/// How a source reads files of a bulk format.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRead {
    format: BulkFileFormat,
    batch_size: u32,
    case_sensitive: bool,
}

impl Environment {
    /// The records of the files of a bulk format at or under `paths`.
    pub fn from_bulk_files(
        &self,
        paths: Vec<String>,
        monitor_interval_ms: Option<i64>,
        format: BulkFileFormat,
        batch_size: u32,
        case_sensitive: bool,
    ) -> Result<Arc<Stream>, JobError> {
        let monitor = file_discovery(&paths, monitor_interval_ms)?;
        if batch_size == 0 {
            return Err(JobError::InvalidProgram("the batch size must be positive, not 0".into()));
        }
        let record_type = match &format {
            BulkFileFormat::ParquetRows { row_type } | BulkFileFormat::OrcRows { row_type } => Some(row_type.clone()),
            _ => None,
        };
        format.row_type()?;
        let read = BulkRead { format, batch_size, case_sensitive };
        stream(&self.plan, Step::BulkFiles { paths, monitor, read }, record_type)
    }
}

/// The records of the files at `paths` in the job of `env`, as `Row`s or dicts.
pub(crate) fn bulk_files(
    env: &StreamExecutionEnvironment,
    paths: &[String],
    monitor: Option<Duration>,
    spec: &BulkRead,
) -> pyflink_core::Result<DataStream<PyValue>> {
    let invalid = |e: JobError| FlinkError::InvalidProgram(e.to_string());
    let row_type = spec.format.row_type().map_err(invalid)?;
    let rows = match &spec.format {
        BulkFileFormat::AvroGenericRecords { avro_schema } => {
            read(env, FileSource::for_bulk_file_format(AvroFileFormat::new(avro_schema)?, paths), monitor)?
        }
        BulkFileFormat::OrcRows { .. } => {
            let format = OrcRowFormat::new(row_type.clone())
                .with_batch_size(spec.batch_size as usize)
                .with_case_sensitive(spec.case_sensitive);
            read(env, FileSource::for_bulk_file_format(format, paths), monitor)?
        }
        _ => {
            let format = ParquetRowFormat::new(row_type.clone())
                .with_batch_size(spec.batch_size as usize)
                .with_case_sensitive(spec.case_sensitive);
            read(env, FileSource::for_bulk_file_format(format, paths), monitor)?
        }
    };
    let to_python = if spec.format.dicts() { RowsToPython::dicts(&row_type) } else { RowsToPython::named(&row_type) };
    Ok(rows.process(to_python).name("Rows to Python"))
}

/// Sends the Python records of `records` to part files of the bulk format of `spec`.
pub(crate) fn write_bulk_files(
    records: &DataStream<PyValue>,
    spec: &FileSinkSpec,
) -> pyflink_core::Result<DataStreamSink> {
    let invalid = |e: JobError| FlinkError::InvalidProgram(e.to_string());
    let format = spec.bulk.as_ref().ok_or_else(|| FlinkError::InvalidProgram("not a sink of a bulk format".into()))?;
    let row_type = format.row_type().map_err(invalid)?;
    let rows = records
        .process(PythonToRows { row_type: Arc::new(row_type.clone()), dicts: format.dicts() })
        .name("Python to rows");
    let sink = match format {
        BulkFileFormat::AvroGenericRecords { avro_schema } => {
            configured(FileSink::for_bulk_format(&spec.base_path, AvroFileWriterFactory::new(avro_schema)?), spec)?
        }
        BulkFileFormat::OrcRows { .. } => {
            configured(FileSink::for_bulk_format(&spec.base_path, OrcWriterFactory::for_row_type(row_type)), spec)?
        }
        _ => {
            configured(FileSink::for_bulk_format(&spec.base_path, ParquetWriterFactory::for_row_type(row_type)), spec)?
        }
    };
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
