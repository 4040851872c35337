//! Table connectors: what a table's `'connector'` option names. A connector makes the stream
//! of a table's rows when a query reads the table, and writes a query's changelog when an
//! `INSERT INTO` names it.
//!
//! Built in: `datagen` (generated rows), `print` (rows to standard output, as `+I[...]`) and
//! `blackhole` (rows dropped, for benchmarks). Other crates add theirs with
//! [`crate::environment::TableEnvironment::register_connector`].

mod blackhole;
mod datagen;
pub mod lookup;
mod print;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use pyflink_core::{DataStream, StreamExecutionEnvironment};

pub use blackhole::BlackholeConnector;
pub use datagen::DatagenConnector;
pub use print::PrintConnector;

pub use crate::exec::changelog_normalize::normalize_changelog;
pub use crate::exec::key_split::exchange_by_key;

use crate::batch::ChangeBatch;
use crate::error::{Result, TableError};

/// What a connector is told about the table it reads or writes.
pub struct TableContext<'a> {
    /// The environment the job is built in.
    pub env: &'a StreamExecutionEnvironment,
    /// The table's name.
    pub table_name: &'a str,
    /// The columns the connector reads or writes: the table's physical columns and its
    /// metadata columns (those not `VIRTUAL`, when writing), in the order declared.
    pub schema: SchemaRef,
    /// The table's `WITH` options, `connector` among them.
    pub options: &'a BTreeMap<String, String>,
    /// The positions of the primary key's columns in `schema`, if the table has one.
    pub primary_key: Option<Vec<usize>>,
    /// The positions of the columns the table is `PARTITIONED BY` in `schema`, in order.
    pub partition_keys: Vec<usize>,
    /// The metadata columns among `schema`'s: their positions and metadata keys.
    pub metadata: Vec<(usize, String)>,
    /// Whether the job runs in streaming mode (batch mode reads bounded input only).
    pub streaming: bool,
}

impl TableContext<'_> {
    /// Fails on options this connector does not know (`known` besides `connector`), as Flink's
    /// factories do, listing the options it takes.
    pub fn check_options(&self, connector: &str, known: &dyn Fn(&str) -> bool, supported: &[&str]) -> Result<()> {
        let unsupported: BTreeSet<&str> =
            self.options.keys().map(String::as_str).filter(|key| *key != "connector" && !known(key)).collect();
        if unsupported.is_empty() {
            return Ok(());
        }
        Err(TableError::Validation(format!(
            "Unsupported options found for '{connector}' (table '{}').\n\nUnsupported options:\n\n{}\n\nSupported options:\n\n{}",
            self.table_name,
            unsupported.into_iter().collect::<Vec<_>>().join("\n"),
            std::iter::once("connector").chain(supported.iter().copied()).collect::<Vec<_>>().join("\n")
        )))
    }

    /// Fails, as Flink's factories do, naming every one of `required` the table does not set.
    pub fn require_options(&self, required: &[&str]) -> Result<()> {
        let missing: Vec<&str> = required.iter().copied().filter(|key| !self.options.contains_key(*key)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(TableError::Validation(format!(
            "One or more required options are missing.\n\nMissing required options are:\n\n{}\n\n(table '{}')",
            missing.join("\n"),
            self.table_name
        )))
    }

    /// Fails if the table has metadata columns, for connectors that have no metadata.
    pub fn reject_metadata(&self, connector: &str) -> Result<()> {
        match self.metadata.first() {
            None => Ok(()),
            Some((position, key)) => Err(TableError::Validation(format!(
                "Invalid metadata key '{key}' in column '{}' of table '{}'. The '{connector}' connector has no metadata \
                 to read or write; remove the METADATA column",
                self.schema.field(*position).name(),
                self.table_name
            ))),
        }
    }

    /// The option `key` read as a `T`, or `default` if the table does not set it.
    pub fn option<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T> {
        match self.options.get(key) {
            None => Ok(default),
            Some(text) => text.trim().parse().map_err(|_| {
                TableError::Validation(format!(
                    "Could not parse value '{text}' for key '{key}' of table '{}'",
                    self.table_name
                ))
            }),
        }
    }
}

/// A table connector: the source of its tables' rows and the sink of what is inserted into them.
pub trait TableConnector: Send + Sync {
    /// The value of the `connector` option that names this connector.
    fn identifier(&self) -> &str;

    /// The stream of the table's rows: batches of `context.schema`, all insertions unless the
    /// connector reads a changelog.
    fn source(&self, context: &TableContext<'_>) -> Result<DataStream<ChangeBatch>> {
        Err(TableError::Validation(format!(
            "Connector '{}' can only be used as a sink. It cannot be used as a source (table '{}').",
            self.identifier(),
            context.table_name
        )))
    }

    /// Whether the table's source reads a changelog (`-U`, `+U`, `-D` besides `+I`), as an
    /// upsert source made a full changelog by [`normalize_changelog`] does; the query's
    /// operators then retract what the changes retract.
    fn produces_updates(&self, context: &TableContext<'_>) -> bool {
        let _ = context;
        false
    }

    /// Whether the table's sink takes a changelog (`-U`, `+U`, `-D` besides `+I`), as from a
    /// GROUP BY; an append-only sink (files, for one) says no, and a query that updates its
    /// rows is refused before it runs.
    fn consumes_updates(&self, context: &TableContext<'_>) -> bool {
        let _ = context;
        true
    }

    /// The table as the right side of a lookup join, its rows found by the values of the
    /// columns at `key_columns` (positions in `context.schema`), with the lookup options the
    /// table sets; connectors that cannot look rows up say so.
    fn lookup(
        &self,
        context: &TableContext<'_>,
        key_columns: &[usize],
    ) -> Result<(Arc<dyn lookup::LookupTable>, lookup::LookupOptions)> {
        let _ = key_columns;
        Err(TableError::Unsupported(format!(
            "a lookup join on table '{}': the '{}' connector cannot look rows up by key (the 'jdbc' connector can)",
            context.table_name,
            self.identifier()
        )))
    }

    /// Writes `rows`, batches of `context.schema`, to the table: adds the job's sink.
    fn sink(&self, context: &TableContext<'_>, rows: DataStream<ChangeBatch>) -> Result<()> {
        let _ = rows;
        Err(TableError::Validation(format!(
            "Connector '{}' can only be used as a source. It cannot be used as a sink (table '{}').",
            self.identifier(),
            context.table_name
        )))
    }
}

/// The connectors an environment knows, by identifier.
#[derive(Clone)]
pub(crate) struct Connectors {
    by_identifier: BTreeMap<String, Arc<dyn TableConnector>>,
}

impl Connectors {
    /// The connectors built into this crate.
    pub(crate) fn built_in() -> Self {
        let mut connectors = Connectors { by_identifier: BTreeMap::new() };
        connectors.register(Arc::new(DatagenConnector));
        connectors.register(Arc::new(PrintConnector));
        connectors.register(Arc::new(BlackholeConnector));
        connectors
    }

    /// Adds `connector`, in place of one with the same identifier.
    pub(crate) fn register(&mut self, connector: Arc<dyn TableConnector>) {
        self.by_identifier.insert(connector.identifier().to_string(), connector);
    }

    /// The connector the options of table `table` name.
    pub(crate) fn of_table(&self, table: &str, options: &BTreeMap<String, String>) -> Result<Arc<dyn TableConnector>> {
        let Some(identifier) = options.get("connector") else {
            return Err(TableError::Validation(format!(
                "Table options do not contain an option key 'connector' for discovering a connector (table '{table}'); \
                 add WITH ('connector' = '...'), one of: {}",
                self.identifiers().join(", ")
            )));
        };
        self.by_identifier.get(identifier).cloned().ok_or_else(|| {
            TableError::Validation(format!(
                "Could not find any factory for identifier '{identifier}' (table '{table}').\n\n\
                 Available factory identifiers are:\n\n{}",
                self.identifiers().join("\n")
            ))
        })
    }

    fn identifiers(&self) -> Vec<&str> {
        self.by_identifier.keys().map(String::as_str).collect()
    }
}

impl std::fmt::Debug for Connectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_identifier.keys()).finish()
    }
}
