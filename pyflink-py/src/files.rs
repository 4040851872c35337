//! Files from Python: `FileSource` lines become Python strings, and a `FileSink` writes each
//! record as a line (its `str`, or its Java text for typed records), with pyflink-connectors'
//! file connector.

use std::sync::Arc;
use std::time::Duration;

use pyflink_connectors::file::{
    BasePathBucketAssigner, DateTimeBucketAssigner, FileSink, FileSource, OutputFileConfig, RollingPolicy,
    SimpleStringEncoder, TextLineFormat,
};
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{DataStream, DataStreamSink, ProcessContext, ProcessFunction, StreamExecutionEnvironment};
use pyo3::prelude::*;

use crate::interpreter::with_interpreter;
use crate::plan::{stream, Environment, SinkKind, Step, Stream, StreamSink};
use crate::types::{BasicType, TypeInfo};
use crate::value::PyValue;
use crate::JobError;

/// A row-format file sink as PyFlink's `FileSink.for_row_format(...)` configures it.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

impl Environment {
    /// The lines of the files at or under `paths`, as Python strings; with
    /// `monitor_interval_ms`, the source keeps looking for new files.
    pub fn from_text_files(
        &self,
        paths: Vec<String>,
        monitor_interval_ms: Option<i64>,
    ) -> Result<Arc<Stream>, JobError> {
        if paths.is_empty() {
            return Err(JobError::InvalidProgram("a FileSource needs at least one path to read".into()));
        }
        let monitor = match monitor_interval_ms {
            Some(ms) if ms <= 0 => {
                return Err(JobError::InvalidProgram(format!("the discovery interval must be positive, not {ms} ms")))
            }
            other => other.map(|ms| Duration::from_millis(ms as u64)),
        };
        let string = TypeInfo::Basic { kind: BasicType::String };
        stream(&self.plan, Step::TextFiles { paths, monitor }, Some(string))
    }
}

impl Stream {
    /// Writes every record as a line of part files when the environment executes.
    pub fn sink_to_files(&self, sink: FileSinkSpec) -> Result<Arc<StreamSink>, JobError> {
        if let Some(pattern) = &sink.bucket_format {
            DateTimeBucketAssigner::with_format_string(pattern)?;
        }
        Ok(self.add_sink(SinkKind::Files(sink)))
    }
}

/// The lines of text files in the job of `env`, as Python strings.
pub(crate) fn text_files(
    env: &StreamExecutionEnvironment,
    paths: &[String],
    monitor: Option<Duration>,
) -> pyflink_core::Result<DataStream<PyValue>> {
    let mut source = FileSource::for_record_stream_format(TextLineFormat, paths);
    if let Some(interval) = monitor {
        source = source.monitor_continuously(interval);
    }
    let lines = env.from_source(source.build()?, WatermarkStrategy::no_watermarks(), "FileSource");
    Ok(lines.process(StringsToPython).name("Lines to Python"))
}

/// Sends the lines `lines` (records already turned into text) to the file sink `spec`.
pub(crate) fn write_files(lines: &DataStream<String>, spec: &FileSinkSpec) -> pyflink_core::Result<DataStreamSink> {
    let config = OutputFileConfig::default().with_part_prefix(&spec.part_prefix).with_part_suffix(&spec.part_suffix);
    let rolling = RollingPolicy::default_rolling_policy()
        .with_max_part_size(spec.max_part_size)
        .with_rollover_interval(Duration::from_millis(spec.rollover_interval_ms))
        .with_inactivity_interval(Duration::from_millis(spec.inactivity_interval_ms));
    let builder = FileSink::for_row_format(&spec.base_path, SimpleStringEncoder)
        .with_output_file_config(config)
        .with_rolling_policy(rolling);
    let sink = match &spec.bucket_format {
        Some(pattern) => builder.with_bucket_assigner(DateTimeBucketAssigner::with_format_string(pattern)?).build(),
        None => builder.with_bucket_assigner(BasePathBucketAssigner).build(),
    };
    Ok(lines.sink_to(sink).name("FileSink"))
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
