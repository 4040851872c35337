//! The `jdbc` table connector: tables of MySQL / MariaDB and PostgreSQL databases, named by a
//! JDBC URL as in Flink, read and written through native Rust drivers (no JVM).
//!
//! - As a sink, with a `PRIMARY KEY` the table takes a changelog and upserts
//!   (`INSERT .. ON DUPLICATE KEY UPDATE` / `ON CONFLICT .. DO UPDATE`, and `DELETE` for `-D`);
//!   without one it appends. Rows are written in batches ([`sink`]), never left unwritten when a
//!   checkpoint completes.
//! - As a source, a bounded scan of the table, optionally in parallel ranges ([`source`]).
//! - As the right side of a lookup join, its rows found by key with one query each ([`lookup`]).
//!
//! Options, with Flink's names and defaults: `url`, `table-name`, `username`, `password`,
//! `driver` (accepted; the URL decides), `connection.max-retry-timeout` (60 s),
//! `sink.buffer-flush.max-rows` (100), `sink.buffer-flush.interval` (1 s; 0 turns the timer
//! off), `sink.max-retries` (3), `sink.parallelism`, `scan.fetch-size`, `scan.auto-commit`,
//! `scan.partition.column` / `.num` / `.lower-bound` / `.upper-bound`, and the `lookup.*`
//! options of lookup joins.

mod client;
mod dialect;
mod lookup;
mod sink;
mod source;
pub(crate) mod statement;
mod url;

use std::sync::Arc;
use std::time::Duration;

use pyflink_core::time::WatermarkStrategy;
use pyflink_core::DataStream;
use pyflink_table::batch::ChangeBatch;
use pyflink_table::connectors::lookup::{LookupOptions, LookupTable, LOOKUP_OPTIONS};
use pyflink_table::connectors::{exchange_by_key, TableConnector, TableContext};
use pyflink_table::{Result, TableError};

use super::duration_option;
use client::ConnectionSettings;
use sink::{JdbcSink, SinkSettings};
use source::{JdbcScan, Partitioning, ScanSettings};
use url::JdbcUrl;

/// Reads and writes database tables (`'connector' = 'jdbc'`).
///
/// ```
/// use std::sync::Arc;
/// use pyflink_connectors::table::JdbcConnector;
/// use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
///
/// let t_env = TableEnvironment::create(EnvironmentSettings::in_streaming_mode());
/// t_env.register_connector(Arc::new(JdbcConnector));
/// t_env.execute_sql(
///     "CREATE TABLE by_province (province STRING, hits BIGINT, PRIMARY KEY (province) NOT ENFORCED) WITH (
///        'connector' = 'jdbc', 'url' = 'jdbc:mysql://localhost:3306/cdn', 'table-name' = 'by_province',
///        'username' = 'flink', 'password' = 'secret')",
/// ).unwrap();
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct JdbcConnector;

const OPTIONS: &[&str] = &[
    "url",
    "table-name",
    "driver",
    "username",
    "password",
    "connection.max-retry-timeout",
    "scan.partition.column",
    "scan.partition.num",
    "scan.partition.lower-bound",
    "scan.partition.upper-bound",
    "scan.fetch-size",
    "scan.auto-commit",
    "sink.buffer-flush.max-rows",
    "sink.buffer-flush.interval",
    "sink.max-retries",
    "sink.parallelism",
];

impl TableConnector for JdbcConnector {
    fn identifier(&self) -> &str {
        "jdbc"
    }

    fn source(&self, context: &TableContext<'_>) -> Result<DataStream<ChangeBatch>> {
        let (connection, table) = prepare(context)?;
        let fetch_size: usize = context.option("scan.fetch-size", 0)?;
        let partitioning = partitioning(context)?;
        let parallelism = partitioning.as_ref().map_or(1, |partitioning| partitioning.count as usize);
        let settings = ScanSettings {
            connection,
            table: table.clone(),
            schema: Arc::clone(&context.schema),
            fetch_size: if fetch_size == 0 { 1000 } else { fetch_size },
            partitioning,
        };
        let name = format!("TableSourceScan(table=[[default_catalog, default_database, {}]])", context.table_name);
        let scan = JdbcScan { settings: Arc::new(settings) };
        let rows = context.env.from_source(scan, WatermarkStrategy::no_watermarks(), &name);
        // An unpartitioned scan is one split: one reader is enough.
        Ok(rows.set_parallelism(parallelism.min(context.env.get_parallelism()).max(1)))
    }

    fn consumes_updates(&self, context: &TableContext<'_>) -> bool {
        context.primary_key.is_some()
    }

    fn lookup(
        &self,
        context: &TableContext<'_>,
        key_columns: &[usize],
    ) -> Result<(Arc<dyn LookupTable>, LookupOptions)> {
        let (connection, table) = prepare(context)?;
        let options = LookupOptions::of(context.table_name, context.options)?;
        let keys = key_columns.iter().map(|&i| context.schema.field(i).name().clone()).collect();
        let lookup = lookup::JdbcLookupTable::new(connection, table, Arc::clone(&context.schema), keys);
        Ok((Arc::new(lookup), options))
    }

    fn sink(&self, context: &TableContext<'_>, rows: DataStream<ChangeBatch>) -> Result<()> {
        let (connection, table) = prepare(context)?;
        let max_rows: usize = context.option("sink.buffer-flush.max-rows", 100)?;
        let interval = duration_option(context, "sink.buffer-flush.interval")?.unwrap_or(Duration::from_secs(1));
        let settings = SinkSettings {
            connection,
            table: table.clone(),
            columns: context.schema.fields().iter().map(|field| field.name().clone()).collect(),
            key: context.primary_key.clone(),
            max_rows,
            interval: (!interval.is_zero()).then_some(interval),
            max_retries: context.option("sink.max-retries", 3)?,
            statement: None,
        };
        let parallelism: usize = context.option("sink.parallelism", 0)?;
        // An upserting sink gets every change of a key on one instance, in order, as Flink's
        // keyed shuffle before such sinks makes sure.
        let rows = match &context.primary_key {
            Some(key) if context.streaming => {
                let instances = if parallelism > 0 { parallelism } else { context.env.get_parallelism() };
                exchange_by_key(rows, &context.schema, key, instances)?
            }
            _ => rows,
        };
        let added = rows
            .sink_to(JdbcSink { settings: Arc::new(settings) })
            .name(&format!("Sink: {}[jdbc: {table}]", context.table_name));
        if parallelism > 0 {
            added.set_parallelism(parallelism);
        }
        Ok(())
    }
}

/// Checks the table's options; the connection settings and the database table's name.
fn prepare(context: &TableContext<'_>) -> Result<(ConnectionSettings, String)> {
    context.reject_metadata("jdbc")?;
    let supported: Vec<&str> = OPTIONS.iter().chain(LOOKUP_OPTIONS).copied().collect();
    context.check_options("jdbc", &|key| supported.contains(&key), &supported)?;
    context.require_options(&["url", "table-name"])?;
    let url = JdbcUrl::parse(&context.options["url"])
        .map_err(|e| TableError::Validation(format!("table '{}': {e}", context.table_name)))?;
    let (username, password) = (context.options.get("username"), context.options.get("password"));
    if password.is_some() && username.is_none() {
        return Err(TableError::Validation(format!(
            "Either all or none of the following options should be provided:\nusername\npassword\n(table '{}')",
            context.table_name
        )));
    }
    let connection = ConnectionSettings {
        url,
        username: username.cloned(),
        password: password.cloned(),
        max_retry_timeout: duration_option(context, "connection.max-retry-timeout")?.unwrap_or(Duration::from_secs(60)),
    };
    Ok((connection, context.options["table-name"].clone()))
}

/// The `scan.partition.*` options: all four or none.
fn partitioning(context: &TableContext<'_>) -> Result<Option<Partitioning>> {
    let keys =
        ["scan.partition.column", "scan.partition.num", "scan.partition.lower-bound", "scan.partition.upper-bound"];
    let given: Vec<&str> = keys.into_iter().filter(|key| context.options.contains_key(*key)).collect();
    if given.is_empty() {
        return Ok(None);
    }
    if given.len() < keys.len() {
        return Err(TableError::Validation(format!(
            "Either all or none of the following options should be provided:\n{}\n(table '{}')",
            keys.join("\n"),
            context.table_name
        )));
    }
    let partitioning = Partitioning {
        column: context.options["scan.partition.column"].clone(),
        count: context.option("scan.partition.num", 1)?,
        lower: context.option("scan.partition.lower-bound", 0)?,
        upper: context.option("scan.partition.upper-bound", 0)?,
    };
    if partitioning.lower > partitioning.upper || partitioning.count == 0 {
        return Err(TableError::Validation(format!(
            "'scan.partition.lower-bound' ({}) must not be larger than 'scan.partition.upper-bound' ({}), and \
             'scan.partition.num' must be positive (table '{}')",
            partitioning.lower, partitioning.upper, context.table_name
        )));
    }
    if context.schema.index_of(&partitioning.column).is_err() {
        return Err(TableError::Validation(format!(
            "'scan.partition.column' names '{}', which is not a column of table '{}'",
            partitioning.column, context.table_name
        )));
    }
    Ok(Some(partitioning))
}
