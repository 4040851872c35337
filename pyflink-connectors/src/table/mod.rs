//! Table connectors of this crate (cargo feature `table`): what SQL tables name in their
//! `'connector'` option, for `pyflink-table`'s environments. Register them all with
//! [`register_connectors`], or one by one with `TableEnvironment::register_connector`.
//!
//! - `filesystem` ([`FileSystemConnector`]): rows as lines of files, in `csv`, `json` or
//!   `raw`, read once or watched, written into rolling part files exactly once.

mod filesystem;
mod line_format;

use std::sync::Arc;

use pyflink_table::environment::TableEnvironment;

pub use filesystem::FileSystemConnector;

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
}
