//! The `jdbc` connector's sink: a query's changes buffered and written to a database table in
//! batches, when the buffer holds `sink.buffer-flush.max-rows` rows, every
//! `sink.buffer-flush.interval`, before every checkpoint completes and at the end of input.
//!
//! With a key (the table's primary key) the buffer keeps the last change of each key, and a
//! flush upserts the rows inserted or updated and deletes the rows deleted; `-U` rows are
//! dropped, as the `+U` that follows replaces them. Without one, rows are appended. A flush
//! that fails is tried again `sink.max-retries` times on a new connection before the job fails.
//! Writes are at least once: after a failure, what followed the last checkpoint is written
//! again, which upserts make harmless.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pyflink_core::metrics::Counter;
use pyflink_core::sinks::{Sink, SinkWriter, SinkWriterContext};
use pyflink_core::table::RowKind;
use pyflink_core::FlinkError;
use pyflink_table::batch::ChangeBatch;
use pyflink_table::datafusion::arrow::array::Array;

use super::client::{Connection, ConnectionSettings};
use super::dialect::Dialect;

/// What every writer of one table's sink shares.
#[derive(Debug)]
pub(crate) struct SinkSettings {
    pub(crate) connection: ConnectionSettings,
    pub(crate) table: String,
    /// The columns written, in the order of the rows.
    pub(crate) columns: Vec<String>,
    /// The positions of the key columns among `columns`: rows are upserted by them.
    pub(crate) key: Option<Vec<usize>>,
    pub(crate) max_rows: usize,
    pub(crate) interval: Option<Duration>,
    pub(crate) max_retries: u32,
    /// A statement of the program's own to run for each row (`JdbcSink.sink` of the DataStream
    /// API): its text around the `?` placeholders, which take the row's values in order.
    pub(crate) statement: Option<Vec<String>>,
}

impl SinkSettings {
    fn dialect(&self) -> Dialect {
        self.connection.url.dialect
    }
}

/// The sink of a `jdbc` table.
pub(crate) struct JdbcSink {
    pub(crate) settings: Arc<SinkSettings>,
}

impl Sink<ChangeBatch> for JdbcSink {
    type Writer = JdbcWriter;

    fn create_writer(&self, context: &SinkWriterContext) -> pyflink_core::Result<JdbcWriter> {
        let settings = Arc::clone(&self.settings);
        let changes = match settings.key {
            Some(_) => Changes::Upsert(HashMap::new()),
            None => Changes::Append(Vec::new()),
        };
        let buffer = Arc::new(Mutex::new(Buffer {
            changes,
            connection: None,
            failure: None,
            written: context.metric_group.counter("numRecordsFlushed"),
            settings: Arc::clone(&settings),
        }));
        let stopped = Arc::new(AtomicBool::new(false));
        let flusher = settings.interval.map(|interval| {
            let buffer = Arc::downgrade(&buffer);
            let stopped = Arc::clone(&stopped);
            std::thread::Builder::new()
                .name(format!("jdbc flusher {} ({})", settings.table, context.subtask_index + 1))
                .spawn(move || flush_every(interval, buffer, stopped))
                .expect("a thread to flush the JDBC buffer")
        });
        Ok(JdbcWriter { buffer, stopped, flusher, row: String::new(), key: String::new() })
    }
}

/// Writes one parallel instance's changes.
pub(crate) struct JdbcWriter {
    buffer: Arc<Mutex<Buffer>>,
    stopped: Arc<AtomicBool>,
    flusher: Option<JoinHandle<()>>,
    /// Scratch text of the row and key being encoded.
    row: String,
    key: String,
}

/// The changes not yet written, and the connection they are written through.
struct Buffer {
    changes: Changes,
    connection: Option<Connection>,
    /// Why the interval flusher failed: the writer fails the job with it.
    failure: Option<String>,
    written: Counter,
    settings: Arc<SinkSettings>,
}

enum Changes {
    /// Rows to insert, each the text `(v1, v2, ..)`.
    Append(Vec<String>),
    /// By key text `(k1, ..)`: the row to upsert, or `None` to delete the key's row.
    Upsert(HashMap<String, Option<String>>),
}

impl Changes {
    fn len(&self) -> usize {
        match self {
            Changes::Append(rows) => rows.len(),
            Changes::Upsert(rows) => rows.len(),
        }
    }

    fn clear(&mut self) {
        match self {
            Changes::Append(rows) => rows.clear(),
            Changes::Upsert(rows) => rows.clear(),
        }
    }
}

/// The buffer, locked. A panic while the lock was held leaves nothing half-written that
/// matters here.
fn lock(buffer: &Mutex<Buffer>) -> MutexGuard<'_, Buffer> {
    buffer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SinkWriter<ChangeBatch> for JdbcWriter {
    fn write(&mut self, batch: ChangeBatch, _timestamp: Option<i64>) -> pyflink_core::Result<()> {
        let mut buffer = lock(&self.buffer);
        if let Some(failure) = buffer.failure.take() {
            return Err(FlinkError::Connector(failure));
        }
        let settings = Arc::clone(&buffer.settings);
        let dialect = settings.dialect();
        let columns = batch.rows.columns();
        for row in 0..batch.len() {
            let kind = batch.kind(row);
            if kind == RowKind::UpdateBefore && settings.key.is_some() {
                continue;
            }
            self.row.clear();
            match &settings.statement {
                Some(parts) => {
                    fill_placeholders(dialect, parts, columns.iter().map(|c| c.as_ref()), row, &mut self.row)
                }
                None => encode(dialect, columns.iter().map(|column| column.as_ref()), row, &mut self.row),
            }
            .map_err(|(column, e)| column_error(&settings, column, e))?;
            match (&mut buffer.changes, &settings.key) {
                (Changes::Upsert(rows), Some(key)) => {
                    self.key.clear();
                    encode(dialect, key.iter().map(|&i| columns[i].as_ref()), row, &mut self.key)
                        .map_err(|(column, e)| column_error(&settings, key[column], e))?;
                    let change = (kind != RowKind::Delete).then(|| self.row.clone());
                    rows.insert(self.key.clone(), change);
                }
                (Changes::Append(rows), _) if matches!(kind, RowKind::Insert | RowKind::UpdateAfter) => {
                    rows.push(self.row.clone())
                }
                _ => {
                    return Err(FlinkError::Connector(format!(
                        "the JDBC table '{}' has no primary key, so it cannot apply the change {} {}; declare \
                         PRIMARY KEY (..) NOT ENFORCED on it to upsert",
                        settings.table,
                        kind.short_string(),
                        self.row
                    )))
                }
            }
        }
        if buffer.changes.len() >= settings.max_rows.max(1) {
            buffer.flush().map_err(FlinkError::Connector)?;
        }
        Ok(())
    }

    fn prepare_commit(&mut self, _checkpoint_id: u64) -> pyflink_core::Result<Vec<Vec<u8>>> {
        // Nothing acknowledged by a checkpoint may stay in the buffer.
        self.flush(false)?;
        Ok(Vec::new())
    }

    fn flush(&mut self, _end_of_input: bool) -> pyflink_core::Result<()> {
        let mut buffer = lock(&self.buffer);
        if let Some(failure) = buffer.failure.take() {
            return Err(FlinkError::Connector(failure));
        }
        buffer.flush().map_err(FlinkError::Connector)
    }

    fn close(&mut self) -> pyflink_core::Result<()> {
        self.stopped.store(true, Ordering::Release);
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
        let mut buffer = lock(&self.buffer);
        buffer.connection = None;
        Ok(())
    }
}

impl Drop for JdbcWriter {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::Release);
    }
}

impl Buffer {
    /// Writes the buffered changes in one transaction, trying again on a new connection.
    fn flush(&mut self) -> Result<(), String> {
        let count = self.changes.len();
        if count == 0 {
            return Ok(());
        }
        let statements = self.statements();
        let settings = Arc::clone(&self.settings);
        let mut attempt = 0;
        loop {
            let result = match &mut self.connection {
                Some(connection) => connection.execute_in_transaction(&statements),
                None => settings.connection.connect().and_then(|mut connection| {
                    let result = connection.execute_in_transaction(&statements);
                    self.connection = Some(connection);
                    result
                }),
            };
            match result {
                Ok(()) => {
                    self.written.inc_by(count as i64);
                    self.changes.clear();
                    return Ok(());
                }
                Err(error) if attempt >= settings.max_retries => {
                    return Err(format!(
                        "writing {count} rows to the JDBC table '{}' failed after {} attempts (sink.max-retries \
                         = {}): {error}",
                        settings.table,
                        attempt + 1,
                        settings.max_retries
                    ))
                }
                Err(error) => {
                    attempt += 1;
                    tracing::warn!(table = %settings.table, attempt, %error, "JDBC write failed; retrying");
                    self.connection = None;
                    std::thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
                }
            }
        }
    }

    fn statements(&self) -> Vec<String> {
        let settings = &self.settings;
        let dialect = settings.dialect();
        match (&self.changes, &settings.key) {
            // Each row is its own statement already.
            (Changes::Append(rows), _) if settings.statement.is_some() => rows.clone(),
            (Changes::Append(rows), _) => {
                let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
                dialect.insert(&settings.table, &settings.columns, None, &rows)
            }
            (Changes::Upsert(rows), key) => {
                let keys: Vec<String> =
                    key.iter().flatten().map(|&position| settings.columns[position].clone()).collect();
                let upserts: Vec<&str> = rows.values().flatten().map(String::as_str).collect();
                let deletes: Vec<&str> =
                    rows.iter().filter(|(_, row)| row.is_none()).map(|(key, _)| key.as_str()).collect();
                let mut statements = Vec::new();
                if !upserts.is_empty() {
                    statements.extend(dialect.insert(&settings.table, &settings.columns, Some(&keys), &upserts));
                }
                if !deletes.is_empty() {
                    statements.extend(dialect.delete(&settings.table, &keys, &deletes));
                }
                statements
            }
        }
    }
}

/// The interval flusher: writes the buffer every `interval` until its writer stops.
fn flush_every(interval: Duration, buffer: Weak<Mutex<Buffer>>, stopped: Arc<AtomicBool>) {
    let step = interval.min(Duration::from_millis(100));
    let mut next = Instant::now() + interval;
    while !stopped.load(Ordering::Acquire) {
        std::thread::sleep(step);
        if Instant::now() < next {
            continue;
        }
        next = Instant::now() + interval;
        let Some(buffer) = buffer.upgrade() else { return };
        let mut buffer = lock(&buffer);
        if buffer.failure.is_none() {
            if let Err(error) = buffer.flush() {
                buffer.failure = Some(error);
            }
        }
    }
}

/// Appends `(v1, v2, ..)`, the values of `columns` in `row`; an error names the position of
/// the column that has no literal.
fn encode<'a>(
    dialect: Dialect,
    columns: impl Iterator<Item = &'a dyn Array>,
    row: usize,
    out: &mut String,
) -> Result<(), (usize, String)> {
    out.push('(');
    for (position, column) in columns.enumerate() {
        if position > 0 {
            out.push_str(", ");
        }
        dialect.literal(column, row, out).map_err(|e| (position, e))?;
    }
    out.push(')');
    Ok(())
}

/// Appends the statement of `parts` with the values of `columns` in `row` in its placeholders;
/// an error names the position of the column that has no literal.
fn fill_placeholders<'a>(
    dialect: Dialect,
    parts: &[String],
    columns: impl Iterator<Item = &'a dyn Array>,
    row: usize,
    out: &mut String,
) -> Result<(), (usize, String)> {
    let mut parts = parts.iter();
    out.push_str(parts.next().map_or("", String::as_str));
    for ((position, column), part) in columns.enumerate().zip(parts) {
        dialect.literal(column, row, out).map_err(|e| (position, e))?;
        out.push_str(part);
    }
    Ok(())
}

fn column_error(settings: &SinkSettings, column: usize, error: String) -> FlinkError {
    FlinkError::Connector(format!(
        "writing column '{}' of the JDBC table '{}': {error}",
        settings.columns[column], settings.table
    ))
}
