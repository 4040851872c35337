//! A statement of the program's own, run for each row: the sink of the DataStream API's
//! `JdbcSink.sink(sql, ...)`. The statement's `?` placeholders take the row's values in order,
//! as SQL literals of the database's dialect; rows are written in batches as the table sink
//! writes them (when `batch_size` rows wait, every `batch_interval`, before a checkpoint
//! completes and at the end), each batch in one transaction, tried again `max_retries` times.
//!
//! ```
//! use std::time::Duration;
//! use pyflink_connectors::table::{jdbc_statement_sink, JdbcStatementSinkOptions};
//!
//! let options = |statement: &str| JdbcStatementSinkOptions {
//!     url: "jdbc:postgresql://localhost:5432/shop".into(),
//!     username: Some("flink".into()),
//!     password: None,
//!     statement: statement.into(),
//!     columns: vec!["id".into(), "item".into()],
//!     batch_size: 5000,
//!     batch_interval: Some(Duration::from_secs(1)),
//!     max_retries: 3,
//! };
//! assert!(jdbc_statement_sink(options("INSERT INTO orders (id, item) VALUES (?, ?)")).is_ok());
//! let error = jdbc_statement_sink(options("INSERT INTO orders VALUES (?)")).err().unwrap();
//! assert!(error.to_string().contains("1 placeholder"), "{error}");
//! ```

use std::sync::Arc;
use std::time::Duration;

use pyflink_core::sinks::Sink;
use pyflink_core::FlinkError;
use pyflink_table::batch::ChangeBatch;

use super::client::ConnectionSettings;
use super::sink::{JdbcSink, SinkSettings};
use super::url::JdbcUrl;

/// How a statement sink connects and writes.
#[derive(Debug, Clone)]
pub struct StatementSinkOptions {
    /// A JDBC URL: `jdbc:mysql://`, `jdbc:mariadb://` or `jdbc:postgresql://`.
    pub url: String,
    /// The user (else the URL's `user` property).
    pub username: Option<String>,
    /// The password (else the URL's `password` property).
    pub password: Option<String>,
    /// The statement, with one `?` per column.
    pub statement: String,
    /// The names of the rows' fields, for errors.
    pub columns: Vec<String>,
    /// How many rows are written together (Flink's `JdbcExecutionOptions` batch size).
    pub batch_size: usize,
    /// How often waiting rows are written; `None`: only when a batch is full, at checkpoints and
    /// at the end.
    pub batch_interval: Option<Duration>,
    /// How many times a failed batch is tried again before the job fails.
    pub max_retries: u32,
}

/// The sink running `options.statement` for each row of the batches it is given.
pub fn statement_sink(options: StatementSinkOptions) -> Result<impl Sink<ChangeBatch>, FlinkError> {
    let url = JdbcUrl::parse(&options.url).map_err(FlinkError::InvalidProgram)?;
    let parts = split_placeholders(&options.statement);
    if parts.len() != options.columns.len() + 1 {
        return Err(FlinkError::InvalidProgram(format!(
            "the statement '{}' has {} placeholder(s) (?), but the rows have {} fields ({})",
            options.statement,
            parts.len() - 1,
            options.columns.len(),
            options.columns.join(", ")
        )));
    }
    let settings = SinkSettings {
        connection: ConnectionSettings {
            url,
            username: options.username,
            password: options.password,
            max_retry_timeout: Duration::from_secs(60),
        },
        table: options.statement.clone(),
        columns: options.columns,
        key: None,
        max_rows: options.batch_size.max(1),
        interval: options.batch_interval.filter(|interval| !interval.is_zero()),
        max_retries: options.max_retries,
        statement: Some(parts),
    };
    Ok(JdbcSink { settings: Arc::new(settings) })
}

/// The text of `statement` around its `?` placeholders; a `?` inside quotes (`'..'`, `".."`,
/// `` `..` ``) is text.
fn split_placeholders(statement: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quote: Option<char> = None;
    for c in statement.chars() {
        match (quote, c) {
            (None, '?') => {
                parts.push(String::new());
                continue;
            }
            (None, '\'' | '"' | '`') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            _ => {}
        }
        parts.last_mut().expect("never empty").push(c);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::split_placeholders;

    #[test]
    fn placeholders_inside_quotes_are_text() {
        assert_eq!(split_placeholders("INSERT INTO t VALUES (?, '?', ?)"), ["INSERT INTO t VALUES (", ", '?', ", ")"]);
        assert_eq!(split_placeholders("DELETE FROM t"), ["DELETE FROM t"]);
        assert_eq!(split_placeholders("SELECT \"a?\" FROM t WHERE x = ?"), ["SELECT \"a?\" FROM t WHERE x = ", ""]);
    }
}
