//! Apache Flink's DataStream API and semantics in Rust, without a JVM.
//!
//! A program builds a graph of transformations on a [`StreamExecutionEnvironment`]; nothing runs
//! until `execute` turns the graph into a [timely dataflow](timely) and runs it on as many worker
//! threads as the widest operator's parallelism. Every worker builds the same dataflow; an
//! operator of parallelism *p* runs on workers `0 .. p`, and edges between operators move
//! batches of [`Element`]s: forward edges directly, all others through an exchange that routes
//! records by key group, round robin, at random, or by a custom partitioner, and broadcasts
//! watermarks so every instance can combine them.
//!
//! Operators follow an explicit life cycle (`open`, `process_element`, `process_watermark`,
//! `end_input`, `close`; see [`runtime::operator`]). A panic or error in a user function fails
//! the job with the operator's name and the cause.
//!
//! Keyed state lives on the heap by default; the RocksDB backend (`state.backend.type: rocksdb`,
//! [`RocksDbOptions`]) is built with the cargo feature `rocksdb`, which compiles RocksDB's C++
//! sources. A job that asks for RocksDB in a build without it fails when it is executed, with an
//! error that names the feature.
//!
//! Tables ([`table`]) are described by a connector and a schema, registered by name, and read
//! as streams of rows that the DataStream API processes.
//!
//! ```
//! use pyflink_core::StreamExecutionEnvironment;
//!
//! let env = StreamExecutionEnvironment::get_execution_environment();
//! env.set_parallelism(2);
//! let counts = env
//!     .from_collection(vec!["to be or not to be".to_string()])
//!     .flat_map(|line| line.split_whitespace().map(|w| (w.to_string(), 1i64)).collect::<Vec<_>>())
//!     .key_by(|(word, _)| word.clone())
//!     .sum(|(_, count)| count);
//! let mut out: Vec<(String, i64)> = counts.execute_and_collect().unwrap().map(Result::unwrap).collect();
//! out.sort();
//! assert_eq!(out.last(), Some(&("to".to_string(), 2)));
//! ```

#![deny(missing_docs)]

pub mod api;
pub mod checkpoint;
pub mod cluster;
mod config;
pub mod configuration;
mod data;
mod display;
mod element;
mod error;
pub mod metrics;
pub(crate) mod operators;
pub mod rest;
pub mod runtime;
pub mod sinks;
pub mod sources;
pub mod table;
pub mod time;
pub mod window;

pub use api::all_windowed::AllWindowedStream;
pub use api::connected::ConnectedStreams;
pub use api::datastream::{DataStream, DataStreamSink};
pub use api::environment::{StreamExecutionEnvironment, JOB_ID_KEY, JOB_ID_VAR};
pub use api::functions::{
    CoProcessFunction, KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext, OnTimerContext, OutputTag,
    ProcessContext, ProcessFunction,
};
pub use api::keyed::KeyedStream;
pub use api::windowed::WindowedStream;
pub use checkpoint::{CheckpointConfig, CheckpointingMode, ExternalizedCheckpointRetention, RestartStrategy};
pub use config::{BackpressureConfig, Boundedness, RuntimeExecutionMode};
pub use configuration::{Configuration, OPTIONS_VAR};
pub use data::{Data, Key};
pub use display::FlinkDisplay;
pub use element::{Element, StreamRecord, Watermark, WatermarkStatus};
pub use error::{FlinkError, Result};
pub use pyflink_state::{key_encoding, RocksDbOptions, StateBackendConfig};
pub use pyflink_state::{
    AggregatingState, AggregatingStateDescriptor, BroadcastState, ListState, ListStateDescriptor, MapState,
    MapStateDescriptor, OperatorListState, OperatorStateStore, ReadOnlyBroadcastState, ReducingState,
    ReducingStateDescriptor, StateTtlConfig, StateVisibility, UpdateType, ValueState, ValueStateDescriptor,
};
pub use runtime::client::{JobClient, JobId, JobStatus};
pub use runtime::job::JobExecutionResult;
pub use runtime::operator::{JobParameters, RuntimeContext, TaskInfo};

/// Compiles and runs the Rust examples of the README as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
