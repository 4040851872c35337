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
//! - [`environment`]: `TableEnvironment`, `Table`; SQL statements run by `execute_sql`
//!   (`CREATE TABLE` with computed columns, `WATERMARK`, `PRIMARY KEY` and `WITH` options, views,
//!   `SHOW`, `DESCRIBE`, `EXPLAIN`, queries, `INSERT INTO`) and [`StatementSet`]s.
//! - [`connectors`]: the `connector` a table names (`datagen`, `print`, `blackhole` built in).
//! - [`result`]: `TableResult`, printed as Flink prints it.
//!
//! - [`expressions`], [`table_api`] and [`window`]: the Table API, whose operations are written
//!   out as SQL over the table they start from; [`schema`]: the columns of tables made from
//!   DataStreams (`from_data_stream`).
//!
//! Queries run as DataStreams of Arrow batches with change kinds (`batch`), built one plan node
//! at a time. Tables with a `WATERMARK` (or a schema's watermark) have event time, and the
//! window table functions `TUMBLE`, `HOP`, `CUMULATE` and `SESSION` with window aggregates, and
//! OVER aggregates, run on it; so do interval joins. Regular joins, Top-N and deduplication,
//! and table functions (`LATERAL TABLE`) run in both modes; [`explain`] shows the plan of any
//! of them.

pub mod batch;
mod catalog;
mod connector_table;
pub mod connectors;
mod constructors;
mod ddl;
pub mod environment;
pub mod error;
mod exec;
pub mod explain;
pub mod expressions;
mod functions;
mod plan;
pub mod print;
pub mod result;
mod row_functions;
pub mod schema;
mod statements;
mod stream_table;
pub mod table_api;
mod temporal_join;
pub mod types;
pub mod window;
mod windows;

pub use statements::StatementSet;
pub use table_api::GroupedTable;

/// The DataFusion this crate plans with, for programs that build on its types.
pub use datafusion;
pub use error::{Result, TableError};
pub use explain::ExplainDetail;
pub use functions::aggregate_function::{AccumulatorObject, UserAggregateFunction};
/// The per-operator-instance objects of user functions (see the module).
pub use functions::instances as function_instances;
