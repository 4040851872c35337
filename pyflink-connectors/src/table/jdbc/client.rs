//! Connections of the `jdbc` connector, through native Rust drivers (no JVM): `mysql` for MySQL
//! and MariaDB, `postgres` for PostgreSQL. Both are used through SQL text only, which keeps
//! the two alike: statements in, rows of text out.

use std::time::{Duration, Instant};

use mysql::prelude::Queryable;

use super::dialect::Dialect;
use super::url::JdbcUrl;

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionSettings {
    pub(crate) url: JdbcUrl,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    /// How long to keep trying to connect (`connection.max-retry-timeout`).
    pub(crate) max_retry_timeout: Duration,
}

/// One value of a result row as the server sent it in text form (`None` for NULL); binary
/// values are the raw bytes (MySQL) or hexadecimal text after `\x` (PostgreSQL).
pub(crate) type TextValue = Option<Vec<u8>>;

/// An open connection.
pub(crate) enum Connection {
    MySql(Box<mysql::Conn>),
    Postgres(Box<postgres::Client>),
}

impl ConnectionSettings {
    /// The user: the `username` option, else the URL's `user` property.
    fn user(&self) -> Option<&str> {
        self.username.as_deref().or(self.url.properties.get("user").map(String::as_str))
    }

    fn password(&self) -> Option<&str> {
        self.password.as_deref().or(self.url.properties.get("password").map(String::as_str))
    }

    /// Connects, trying again for up to `max_retry_timeout` while the server cannot be reached;
    /// a refused login fails at once. Sessions use UTC and, in MySQL, backslash escapes.
    pub(crate) fn connect(&self) -> Result<Connection, String> {
        let deadline = Instant::now() + self.max_retry_timeout;
        loop {
            match self.connect_once() {
                Ok(connection) => return Ok(connection),
                Err((error, retry)) => {
                    if !retry || Instant::now() >= deadline {
                        return Err(format!(
                            "cannot connect to {}:{} as {}: {error}",
                            self.url.host,
                            self.url.port,
                            self.user().unwrap_or("(no user)")
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }

    /// One attempt: the error, and whether trying again could help.
    fn connect_once(&self) -> Result<Connection, (String, bool)> {
        match self.url.dialect {
            Dialect::MySql => {
                let opts = mysql::OptsBuilder::new()
                    .ip_or_hostname(Some(self.url.host.as_str()))
                    .tcp_port(self.url.port)
                    .user(self.user())
                    .pass(self.password())
                    .db_name(self.url.database.as_deref())
                    .prefer_socket(false)
                    .init(vec![
                        "SET time_zone = '+00:00'",
                        "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')",
                    ]);
                mysql::Conn::new(opts).map(|conn| Connection::MySql(Box::new(conn))).map_err(|e| {
                    let retry = matches!(e, mysql::Error::IoError(_) | mysql::Error::DriverError(_));
                    (e.to_string(), retry)
                })
            }
            Dialect::Postgres => {
                let mut config = postgres::Config::new();
                config.host(&self.url.host).port(self.url.port).connect_timeout(Duration::from_secs(10));
                if let Some(database) = &self.url.database {
                    config.dbname(database);
                }
                if let Some(user) = self.user() {
                    config.user(user);
                }
                if let Some(password) = self.password() {
                    config.password(password);
                }
                config.options("-c TimeZone=UTC -c standard_conforming_strings=on");
                config.connect(postgres::NoTls).map(|client| Connection::Postgres(Box::new(client))).map_err(|e| {
                    // A server that answered with an error (a wrong password) will answer the same again.
                    let retry = e.as_db_error().is_none();
                    (e.to_string(), retry)
                })
            }
        }
    }
}

impl Connection {
    /// Runs `statements` in one transaction.
    pub(crate) fn execute_in_transaction(&mut self, statements: &[String]) -> Result<(), String> {
        match self {
            Connection::MySql(conn) => {
                let mut transaction = conn.start_transaction(mysql::TxOpts::default()).map_err(|e| e.to_string())?;
                for statement in statements {
                    transaction.query_drop(statement).map_err(|e| e.to_string())?;
                }
                transaction.commit().map_err(|e| e.to_string())
            }
            Connection::Postgres(client) => {
                let mut transaction = client.transaction().map_err(|e| e.to_string())?;
                for statement in statements {
                    transaction.batch_execute(statement).map_err(|e| e.to_string())?;
                }
                transaction.commit().map_err(|e| e.to_string())
            }
        }
    }

    /// The rows of `query`, `batch` rows at a time, each batch given to `each` (which returns
    /// false to stop reading).
    pub(crate) fn query_in_batches(
        &mut self,
        query: &str,
        batch: usize,
        each: &mut dyn FnMut(Vec<Vec<TextValue>>) -> bool,
    ) -> Result<(), String> {
        let batch = batch.max(1);
        match self {
            Connection::MySql(conn) => {
                // Rows stream from the server as the iterator is read.
                let result = conn.query_iter(query).map_err(|e| e.to_string())?;
                let mut rows = Vec::with_capacity(batch);
                for row in result {
                    let row = row.map_err(|e| e.to_string())?;
                    rows.push(row.unwrap().into_iter().map(mysql_text).collect());
                    if rows.len() == batch && !each(std::mem::replace(&mut rows, Vec::with_capacity(batch))) {
                        return Ok(());
                    }
                }
                if !rows.is_empty() {
                    each(rows);
                }
                Ok(())
            }
            Connection::Postgres(client) => {
                // A cursor, so that a big table is not held in memory at once.
                let mut transaction = client.transaction().map_err(|e| e.to_string())?;
                transaction
                    .batch_execute(&format!("DECLARE pyflink_scan NO SCROLL CURSOR FOR {query}"))
                    .map_err(|e| e.to_string())?;
                loop {
                    let messages = transaction
                        .simple_query(&format!("FETCH FORWARD {batch} FROM pyflink_scan"))
                        .map_err(|e| e.to_string())?;
                    let rows: Vec<Vec<TextValue>> = messages
                        .iter()
                        .filter_map(|message| match message {
                            postgres::SimpleQueryMessage::Row(row) => {
                                Some((0..row.len()).map(|i| row.get(i).map(|text| text.as_bytes().to_vec())).collect())
                            }
                            _ => None,
                        })
                        .collect();
                    let last = rows.len() < batch;
                    if (!rows.is_empty() && !each(rows)) || last {
                        break;
                    }
                }
                transaction.commit().map_err(|e| e.to_string())
            }
        }
    }
}

/// A MySQL text-protocol value: every value comes as bytes.
fn mysql_text(value: mysql::Value) -> TextValue {
    match value {
        mysql::Value::NULL => None,
        mysql::Value::Bytes(bytes) => Some(bytes),
        other => Some(other.as_sql(true).trim_matches('\'').as_bytes().to_vec()),
    }
}
