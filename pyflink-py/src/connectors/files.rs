//! Files from Python: `FileSource` lines become Python strings (or rows, read by a CSV or JSON
//! format: `CsvReaderFormat`), and a `FileSink` writes each record as a line (its `str`, its
//! Java text for typed records, or a row encoded by a format: `CsvBulkWriters`), with
//! pyflink-connectors' file connector.

use std::sync::Arc;
use std::time::Duration;

use pyflink_connectors::file::{
    BasePathBucketAssigner, DateTimeBucketAssigner, FileCompactStrategy, FileCompactor, FileSink, FileSinkBuilder,
    FileSource, FileSourceBuilder, LineFormat, OutputFileConfig, RollingPolicy, SimpleStringEncoder, TextLineFormat,
};
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{DataStream, DataStreamSink, ProcessContext, ProcessFunction, StreamExecutionEnvironment};
use pyo3::prelude::*;

use crate::connectors::formats::{csv_deserializer, json_deserializer, Encoder, RecordFormat};
use crate::function::python_error;
use crate::interpreter::with_interpreter;
use crate::plan::{stream, Environment, SinkKind, Step, Stream, StreamSink};
use crate::python_rows::RowsToPython;
use crate::types::{BasicType, TypeInfo};
use crate::value::PyValue;
use crate::JobError;

/// A file sink as PyFlink's `FileSink.for_row_format(...)` (or `for_bulk_format` with
/// `CsvBulkWriters`) configures it.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSinkSpec {
    /// The directory the part files go under.
    pub base_path: String,
    /// The start of part file names.
    pub part_prefix: String,
    /// The end of part file names.
    pub part_suffix: String,
    /// The size at which a part file ends, in bytes.
    pub max_part_size: u64,
    /// The age at which a part file ends, in milliseconds.
    pub rollover_interval_ms: u64,
    /// The time without writes after which a part file ends, in milliseconds.
    pub inactivity_interval_ms: u64,
    /// The Java date pattern of bucket directories; none writes into the base path.
    pub bucket_format: Option<String>,
    /// How a record becomes a line: none, its text; a CSV or JSON format, the row encoded.
    pub format: Option<RecordFormat>,
    /// Part files of a bulk format instead of lines.
    pub bulk: Option<crate::connectors::bulk_files::BulkFileFormat>,
    /// Committed part files merged per bucket when a trigger fires.
    pub compaction: Option<FileCompaction>,
}

/// A file sink's compaction, as `FileCompactStrategy` and `FileCompactor` configure it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCompaction {
    /// The bytes of a bucket's waiting files that trigger its compaction.
    pub size_threshold: Option<u64>,
    /// The checkpoints since a bucket's oldest waiting file that trigger its compaction.
    pub checkpoints: Option<u64>,
    /// The threads compacting buckets at the same time.
    pub threads: u32,
    /// Bytes between joined files.
    pub delimiter: Option<Vec<u8>>,
    /// Whether each file is copied as it is rather than joined with the others.
    pub identical: bool,
}

impl FileCompaction {
    /// The connector's strategy and compactor of this compaction.
    fn connector(&self) -> pyflink_core::Result<(FileCompactStrategy, FileCompactor)> {
        let mut strategy = FileCompactStrategy::builder().set_num_compact_threads(self.threads as usize);
        if let Some(bytes) = self.size_threshold {
            strategy = strategy.set_size_threshold(bytes);
        }
        if let Some(checkpoints) = self.checkpoints {
            strategy = strategy.enable_compaction_on_checkpoint(checkpoints);
        }
        let compactor = match self.identical {
            true => FileCompactor::Identical,
            false => FileCompactor::Concat { delimiter: self.delimiter.clone() },
        };
        Ok((strategy.build()?, compactor))
    }
}

/// Checks the paths and discovery interval of a file source: at least one path, a positive
/// interval if any; returns the interval.
pub(crate) fn file_discovery(paths: &[String], monitor_interval_ms: Option<i64>) -> Result<Option<Duration>, JobError> {
    if paths.is_empty() {
        return Err(JobError::InvalidProgram("a FileSource needs at least one path to read".into()));
    }
    match monitor_interval_ms {
        Some(ms) if ms <= 0 => {
            Err(JobError::InvalidProgram(format!("the discovery interval must be positive, not {ms} ms")))
        }
        other => Ok(other.map(|ms| Duration::from_millis(ms as u64))),
    }
}

impl Environment {
    /// The lines of the files at or under `paths`, as Python strings; with
    /// `monitor_interval_ms`, the source keeps looking for new files.
    pub fn from_text_files(
        &self,
        paths: Vec<String>,
        monitor_interval_ms: Option<i64>,
        format: Option<RecordFormat>,
        skip_header: bool,
    ) -> Result<Arc<Stream>, JobError> {
        let monitor = file_discovery(&paths, monitor_interval_ms)?;
        let record_type = match &format {
            None | Some(RecordFormat::SimpleString) => TypeInfo::Basic { kind: BasicType::String },
            Some(RecordFormat::Csv { row_type, dialect, .. }) => {
                csv_deserializer(row_type, dialect, false, false)?;
                row_type.clone()
            }
            Some(RecordFormat::Json { row_type, .. }) => {
                json_deserializer(row_type, false, false)?;
                row_type.clone()
            }
            Some(other) => {
                return Err(JobError::InvalidProgram(format!(
                    "files are read as text lines, or as CSV or JSON rows, not as {other:?}"
                )))
            }
        };
        stream(&self.plan, Step::TextFiles { paths, monitor, format, skip_header }, Some(record_type))
    }
}

impl Stream {
    /// Writes every record as a line of part files when the environment executes.
    pub fn sink_to_files(&self, sink: FileSinkSpec) -> Result<Arc<StreamSink>, JobError> {
        if let Some(pattern) = &sink.bucket_format {
            DateTimeBucketAssigner::with_format_string(pattern)?;
        }
        if let Some(format) = &sink.format {
            Encoder::of(format)?;
        }
        if let Some(format) = &sink.bulk {
            format.row_type()?;
        }
        if let Some(compaction) = &sink.compaction {
            compaction.connector()?;
            if sink.bulk.is_some() && !compaction.identical {
                return Err(JobError::InvalidProgram(
                    "Parquet and Avro part files cannot be joined: compact them with \
                     FileCompactor.identical_file_compactor()"
                        .into(),
                ));
            }
        }
        Ok(self.add_sink(SinkKind::Files(Box::new(sink))))
    }
}

/// The lines of text files in the job of `env`, as Python strings, or as rows of `format`
/// (the first line of each file skipped with `skip_header`).
pub(crate) fn text_files(
    env: &StreamExecutionEnvironment,
    paths: &[String],
    monitor: Option<Duration>,
    format: Option<&RecordFormat>,
    skip_header: bool,
) -> pyflink_core::Result<DataStream<PyValue>> {
    let invalid = |e: JobError| pyflink_core::FlinkError::InvalidProgram(e.to_string());
    Ok(match format {
        Some(RecordFormat::Csv { row_type, dialect, ignore_parse_errors, allow_comments }) => {
            let (row_type, schema) =
                csv_deserializer(row_type, dialect, *ignore_parse_errors, *allow_comments).map_err(invalid)?;
            let lines = LineFormat::new(schema).with_header(skip_header);
            read(env, FileSource::for_record_stream_format(lines, paths), monitor)?
                .process(RowsToPython::named(&row_type))
                .name("Rows to Python")
        }
        Some(RecordFormat::Json { row_type, fail_on_missing_field, ignore_parse_errors }) => {
            let (row_type, schema) =
                json_deserializer(row_type, *fail_on_missing_field, *ignore_parse_errors).map_err(invalid)?;
            let lines = LineFormat::new(schema).with_header(skip_header);
            read(env, FileSource::for_record_stream_format(lines, paths), monitor)?
                .process(RowsToPython::named(&row_type))
                .name("Rows to Python")
        }
        _ => read(env, FileSource::for_record_stream_format(TextLineFormat, paths), monitor)?
            .process(StringsToPython)
            .name("Lines to Python"),
    })
}

/// The records of the file source `source`, watched for new files every `monitor`.
pub(crate) fn read<T: pyflink_core::Data>(
    env: &StreamExecutionEnvironment,
    source: FileSourceBuilder<T>,
    monitor: Option<Duration>,
) -> pyflink_core::Result<DataStream<T>> {
    let source = match monitor {
        Some(interval) => source.monitor_continuously(interval),
        None => source,
    };
    Ok(env.from_source(source.build()?, WatermarkStrategy::no_watermarks(), "FileSource"))
}

/// Python rows encoded as lines by a format (`CsvBulkWriters`, whose records have no line
/// ending: the file sink ends each line).
#[derive(Clone)]
pub(crate) struct EncodedLines(Encoder);

impl EncodedLines {
    /// Lines of records encoded by `format`.
    pub(crate) fn new(format: &RecordFormat) -> Result<Self, JobError> {
        Ok(EncodedLines(Encoder::of(format)?))
    }
}

impl ProcessFunction<PyValue, String> for EncodedLines {
    fn within_batch(batch: &mut dyn FnMut() -> pyflink_core::Result<()>) -> pyflink_core::Result<()> {
        with_interpreter(batch)
    }

    fn process_element(&mut self, value: PyValue, ctx: &mut ProcessContext<'_, String>) -> pyflink_core::Result<()> {
        let bytes = Python::attach(|py| self.0.encode(value.bind(py)).map_err(|e| python_error(py, e)))?;
        let line = String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        ctx.collect(line);
        Ok(())
    }
}

/// Sends the lines `lines` (records already turned into text) to the file sink `spec`.
pub(crate) fn write_files(lines: &DataStream<String>, spec: &FileSinkSpec) -> pyflink_core::Result<DataStreamSink> {
    let rolling = RollingPolicy::default_rolling_policy()
        .with_max_part_size(spec.max_part_size)
        .with_rollover_interval(Duration::from_millis(spec.rollover_interval_ms))
        .with_inactivity_interval(Duration::from_millis(spec.inactivity_interval_ms));
    let builder = FileSink::for_row_format(&spec.base_path, SimpleStringEncoder).with_rolling_policy(rolling);
    Ok(lines.sink_to(configured(builder, spec)?).name("FileSink"))
}

/// The sink of `builder` with the part file names and buckets of `spec`.
pub(crate) fn configured<T: pyflink_core::Data>(
    builder: FileSinkBuilder<T>,
    spec: &FileSinkSpec,
) -> pyflink_core::Result<FileSink<T>> {
    let config = OutputFileConfig::default().with_part_prefix(&spec.part_prefix).with_part_suffix(&spec.part_suffix);
    let mut builder = builder.with_output_file_config(config);
    if let Some(compaction) = &spec.compaction {
        let (strategy, compactor) = compaction.connector()?;
        builder = builder.enable_compact(strategy, compactor);
    }
    Ok(match &spec.bucket_format {
        Some(pattern) => builder.with_bucket_assigner(DateTimeBucketAssigner::with_format_string(pattern)?).build(),
        None => builder.with_bucket_assigner(BasePathBucketAssigner).build(),
    })
}

/// Turns texts (lines, messages) into Python strings.
#[derive(Clone)]
pub(crate) struct StringsToPython;

impl ProcessFunction<String, PyValue> for StringsToPython {
    fn within_batch(batch: &mut dyn FnMut() -> pyflink_core::Result<()>) -> pyflink_core::Result<()> {
        with_interpreter(batch)
    }

    fn process_element(&mut self, line: String, ctx: &mut ProcessContext<'_, PyValue>) -> pyflink_core::Result<()> {
        let value = Python::attach(|py| line.into_pyobject(py).map(|s| s.into_any().unbind()));
        match value {
            Ok(value) => ctx.collect(PyValue(value)),
            Err(never) => match never {},
        }
        Ok(())
    }
}
