//! The Table API and SQL of pyflink-rs: Flink SQL planned with Apache DataFusion over Arrow
//! record batches, run by the operators and runtime of [`pyflink_core`].
//!
//! This crate sits above `pyflink-core` so that DataStream-only programs never build DataFusion:
//! `pyflink-connectors` and `pyflink-py` depend on it, it depends on `pyflink-core`, and nothing
//! below depends on it.
//!
//! The layers, bottom up:
//! - [`types`]: column types with Flink SQL's names and parameters (`DECIMAL(10, 2)`,
//!   `TIMESTAMP_LTZ(3)`, `ROW<...>`), read from SQL text and mapped to Arrow types, in which
//!   tables hold their columns.
//! - [`print`]: the tableau format of `TableResult.print()`.
//!
//! Still to come (issue 20): the catalog and `TableEnvironment`, planning SQL and Table API
//! expressions with DataFusion, and the streaming operators (aggregates with retractions, window
//! table functions, OVER, joins) on keyed state and checkpoints.

pub mod batch;
mod catalog;
pub mod environment;
pub mod error;
mod exec;
mod functions;
mod plan;
pub mod print;
pub mod types;

/// The DataFusion this crate plans with, for programs that build on its types.
pub use datafusion;
pub use error::{Result, TableError};
