//! The engine side of the Python package `pyflink-rs`.
//!
//! `api.udl` at the repository root defines what Python sees; uniffi generates the low-level
//! module `pyflink_rs._native` from it, and the pure-Python layer (`python/pyflink_rs`) gives it
//! PyFlink's names. This crate implements that API on `pyflink-core`:
//!
//! - [`plan`]: the objects Python holds (environment, streams) record a program as a plan of
//!   steps, plain data that any Python thread may extend;
//! - [`compile`]: a plan becomes a `pyflink-core` job when it executes, on the calling thread;
//! - [`job`]: the running job as Python controls it: waiting in steps that let Ctrl-C cancel
//!   it, and collected records streamed in batches;
//! - [`thread`]: the operators that run Python functions, through pyo3, in the job's worker
//!   threads (thread mode, the default: records stay Python objects from operator to
//!   operator): maps and filters, `ProcessFunction`s, `KeyedProcessFunction`s with keyed state
//!   and timers, async I/O; [`context`] holds the contexts and state handles Python functions
//!   see, and [`side_output`] results yielded as `(output_tag, value)`;
//! - [`window`]: windows from Python, with the engine's window operator (time and global
//!   windows, with Python assigners and triggers too) or PyFlink's count windows;
//! - [`broadcast`]: broadcast process functions and their broadcast state;
//! - [`connectors`]: the connectors and record formats Python reaches (files, Kafka, JDBC);
//! - [`process`] and [`window::bundled`]: process mode (`python.execution-mode: process`),
//!   where worker processes run chains of functions over bundles of records;
//! - [`table`]: the Table API and SQL from Python, with Python UDFs;
//! - [`logging`]: the engine's `tracing` events as records of Python's `logging`;
//! - [`metrics`]: counters, gauges, meters and distributions from Python functions;
//! - [`bridge`]: the classes and functions of the package's Python the engine uses (PyFlink's
//!   rows and windows, the contexts around native ones), all named in `pyflink_rs.bridge`;
//! - [`value`]: Python objects as records and keys of the engine;
//! - [`types`]: record types (PyFlink's `Types`): conversion of typed records and their Java
//!   text for the print sink.
//!
//! Functions cross the interface once, cloudpickled, when the program is built; records never
//! cross it one by one, so no uniffi call is on the per-record path.

pub mod bridge;
pub mod broadcast;
pub mod compile;
pub mod connectors;
pub mod context;
pub mod function;
pub mod interpreter;
pub mod job;
pub mod logging;
pub mod metrics;
pub mod operator_state;
pub mod plan;
pub mod process;
pub mod python_rows;
pub mod side_output;
pub mod table;
pub mod thread;
pub mod types;
pub mod value;
pub mod window;

pub use connectors::bulk_files::BulkFileFormat;
pub use connectors::files::{FileCompaction, FileSinkSpec};
pub use connectors::formats::{CsvDialect, RecordFormat};
pub use connectors::jdbc::JdbcSinkSpec;
pub use connectors::kafka::{
    DeliveryGuarantee, KafkaOffsets, KafkaSinkSpec, KafkaSourceSpec, OffsetReset, PartitionOffset, TopicPartitionSpec,
};
pub use job::{CollectedRecords, JobResult, RunningJob};
pub use metrics::MetricSnapshot;
pub use plan::{
    Environment, EvictorSpec, KeyedStream, RuntimeMode, Stream, StreamSink, WatermarkAlignmentSpec,
    WatermarkGeneration, WatermarkStrategySpec, WindowContentsSpec, WindowSpec,
};
pub use table::sql::{ExpressionSpec, SqlResult, SqlStatementSet, SqlTable, TableEnv};
pub use table::stream::{SchemaColumnSpec, StreamSchemaSpec};
pub use table::windows::{GroupWindowSpec, OverWindowSpec};
pub use table::{ColumnSpec, ColumnType, TableSpec};
pub use types::{BasicType, TypeInfo};
pub use window::assign::{TriggerSpec, WindowAssignerSpec};

uniffi::include_scaffolding!("api");

/// Why a call of the Python API failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The program cannot run as built; the message says what to change.
    #[error("invalid program: {0}")]
    InvalidProgram(String),
    /// The job failed while running; a Python exception carries its traceback.
    #[error("{0}")]
    JobFailed(String),
}

impl From<pyflink_core::FlinkError> for JobError {
    fn from(error: pyflink_core::FlinkError) -> Self {
        match error {
            pyflink_core::FlinkError::InvalidProgram(message) => JobError::InvalidProgram(message),
            other => JobError::JobFailed(other.to_string()),
        }
    }
}

/// The version of the engine.
pub fn engine_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
