//! Table connectors of this crate (cargo feature `table`): what SQL tables name in their
//! `'connector'` option, for `pyflink-table`'s environments. Register them all with
//! [`register_connectors`], or one by one with `TableEnvironment::register_connector`.
//!
//! - `filesystem` ([`FileSystemConnector`]): rows as lines of files, in `csv`, `json` or
//!   `raw`, read once or watched, written into rolling part files exactly once.
//! - `kafka` ([`KafkaTableConnector`]): rows as the values of a topic's records, in `csv`,
//!   `json`, `avro` or `raw`, read from chosen offsets and written at least or exactly once.
//! - `upsert-kafka` ([`UpsertKafkaConnector`]): a changelog written to a topic by primary key,
//!   the latest row of each key a record and each deletion a tombstone, and such a topic read
//!   back as the changelog of its keys.
//! - `jdbc` ([`JdbcConnector`]): tables of MySQL / MariaDB and PostgreSQL databases, scanned,
//!   and written by appending or, with a primary key, by upserting a changelog.

mod avro_format;
mod filesystem;
mod jdbc;
mod kafka;
mod kafka_record;
mod line_format;
mod record_format;
mod upsert_kafka;

use std::sync::Arc;
use std::time::Duration;

use pyflink_core::configuration::parse_duration;
use pyflink_table::connectors::TableContext;
use pyflink_table::environment::TableEnvironment;
use pyflink_table::{Result, TableError};

pub use filesystem::FileSystemConnector;
pub use jdbc::statement::{statement_sink as jdbc_statement_sink, StatementSinkOptions as JdbcStatementSinkOptions};
pub use jdbc::JdbcConnector;
pub use kafka::KafkaTableConnector;
pub use upsert_kafka::UpsertKafkaConnector;

/// Registers every table connector of this crate with `t_env`.
///
/// ```
/// use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
///
/// let t_env = TableEnvironment::create(EnvironmentSettings::in_streaming_mode());
/// pyflink_connectors::table::register_connectors(&t_env);
/// let out = tempfile::tempdir().unwrap();
/// let created = t_env.execute_sql(&format!(
///     "CREATE TABLE out (n INT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json')",
///     out.path().display()
/// ));
/// assert!(created.is_ok());
/// ```
pub fn register_connectors(t_env: &TableEnvironment) {
    t_env.register_connector(Arc::new(FileSystemConnector));
    t_env.register_connector(Arc::new(JdbcConnector));
    t_env.register_connector(Arc::new(KafkaTableConnector));
    t_env.register_connector(Arc::new(UpsertKafkaConnector));
}

/// The duration option `key` (Flink's notation: `1 s`, `500ms`, `2min`), if the table sets it.
fn duration_option(context: &TableContext<'_>, key: &str) -> Result<Option<Duration>> {
    let Some(text) = context.options.get(key) else { return Ok(None) };
    parse_duration(key, text)
        .map(Some)
        .map_err(|e| TableError::Validation(format!("table '{}': {e}", context.table_name)))
}
