//! `TableResult`: what running a statement gave (Flink's `TableResult`): `OK` for DDL, rows
//! for queries, `SHOW` and `DESCRIBE`, and for `INSERT INTO` the job that writes the rows.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use pyflink_core::runtime::client::JobCanceller;
use pyflink_core::sinks::{CollectIterator, Polled};
use pyflink_core::table::{Row, RowKind, Value};
use pyflink_core::{JobClient, JobExecutionResult};

use crate::batch::{batch_to_rows, rows_to_batch, ChangeBatch};
use crate::error::{Result, TableError};
use crate::print::{cell_string, Tableau, DEFAULT_MAX_COLUMN_WIDTH};
use crate::types::DataType;

/// Whether a statement's result has rows (Flink's `ResultKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultKind {
    /// A statement that changes the catalog: its result prints as `OK`.
    Success,
    /// A statement with rows to show.
    SuccessWithContent,
}

/// What running a statement gave: its columns and rows, and the job it started, if any.
///
/// A query's rows come from its job while the job runs, as in Flink: [`TableResult::print`]
/// shows each row when it arrives (an unbounded query prints until it is cancelled) and
/// [`TableResult::poll_rows`] hands them over in batches. The rows can be taken once; the
/// clones of a result share them.
#[derive(Clone)]
pub struct TableResult {
    kind: ResultKind,
    columns: Vec<(String, DataType)>,
    rows: Arc<Mutex<RowSource>>,
    /// Whether rows print with their change kinds (query results in streaming mode).
    changelog: bool,
    /// The job of an `INSERT INTO` or statement set, until waited for.
    job: Option<Arc<Mutex<Option<JobClient>>>>,
    /// Cancels an insert's job, also while another thread waits for it.
    canceller: Option<JobCanceller>,
}

/// Where a result's rows come from.
enum RowSource {
    /// Rows known when the statement ran (`SHOW`, `DESCRIBE`, an insert's row).
    Known(VecDeque<Row>),
    /// The batches of a running query's job, and those (or the rest of one) not handed over
    /// yet.
    Job { batches: CollectIterator<ChangeBatch>, pending: VecDeque<ChangeBatch> },
}

impl std::fmt::Debug for TableResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableResult")
            .field("kind", &self.kind)
            .field("columns", &self.columns)
            .field("job", &self.job.is_some())
            .finish()
    }
}

impl TableResult {
    /// The result of a statement with no rows to show (`CREATE`, `DROP`).
    pub(crate) fn ok() -> Self {
        TableResult::new(ResultKind::Success, Vec::new(), RowSource::Known(VecDeque::new()), false)
    }

    fn new(kind: ResultKind, columns: Vec<(String, DataType)>, rows: RowSource, changelog: bool) -> Self {
        TableResult { kind, columns, rows: Arc::new(Mutex::new(rows)), changelog, job: None, canceller: None }
    }

    /// A result of `rows` of `columns`; `changelog` prints the rows' change kinds.
    pub(crate) fn with_rows(columns: Vec<(String, DataType)>, rows: Vec<Row>, changelog: bool) -> Self {
        TableResult::new(ResultKind::SuccessWithContent, columns, RowSource::Known(rows.into()), changelog)
    }

    /// The result of a query whose `job` sends its rows as `batches`; `changelog` prints the
    /// rows' change kinds.
    pub(crate) fn of_query(
        columns: Vec<(String, DataType)>,
        batches: CollectIterator<ChangeBatch>,
        changelog: bool,
    ) -> Self {
        let rows = RowSource::Job { batches, pending: VecDeque::new() };
        TableResult::new(ResultKind::SuccessWithContent, columns, rows, changelog)
    }

    /// A result of rows of text: `SHOW` and `DESCRIBE`.
    pub(crate) fn of_strings(columns: &[&str], rows: Vec<Vec<Value>>) -> Self {
        let string = DataType::parse("STRING").unwrap_or_else(|_| unreachable!("STRING is a type"));
        let columns = columns.iter().map(|name| (name.to_string(), string.clone())).collect();
        TableResult::with_rows(columns, rows.into_iter().map(Row::of).collect(), false)
    }

    /// The result of inserting into `sinks` by the running `job`: one column per sink, whose
    /// value is -1 (the number of rows is not known while the job runs), as in Flink.
    pub(crate) fn of_job(sinks: &[String], job: JobClient) -> Self {
        let bigint = DataType::parse("BIGINT NOT NULL").unwrap_or_else(|_| unreachable!("BIGINT is a type"));
        let columns =
            sinks.iter().map(|sink| (format!("default_catalog.default_database.{sink}"), bigint.clone())).collect();
        let rows = vec![Row::of(sinks.iter().map(|_| Value::BigInt(-1)).collect())];
        let mut result = TableResult::with_rows(columns, rows, false);
        result.canceller = Some(job.canceller());
        result.job = Some(Arc::new(Mutex::new(Some(job))));
        result
    }

    /// Gives column `position` the type `data_type`, for results whose rows are not all text.
    pub(crate) fn set_column_type(&mut self, position: usize, data_type: DataType) {
        self.columns[position].1 = data_type;
    }

    /// Whether the statement had rows to show.
    pub fn get_result_kind(&self) -> ResultKind {
        self.kind
    }

    /// The result's columns: name and type.
    pub fn columns(&self) -> &[(String, DataType)] {
        &self.columns
    }

    /// The client of the job the statement started (`INSERT INTO`, statement sets), until
    /// [`TableResult::wait`] takes it.
    pub fn get_job_client(&self) -> Option<std::sync::MutexGuard<'_, Option<JobClient>>> {
        self.job.as_ref().map(|job| job.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The id of the statement's job: an insert's until [`TableResult::wait`] takes it, a
    /// query's while it runs.
    pub fn job_id(&self) -> Option<String> {
        if let Some(job) = &self.job {
            return job
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .map(|client| client.job_id().to_string());
        }
        match &*self.rows.lock().unwrap_or_else(PoisonError::into_inner) {
            RowSource::Job { batches, .. } => batches.job_id().map(|id| id.to_string()),
            RowSource::Known(_) => None,
        }
    }

    /// Waits for the statement's job to end, if it started one, and fails if the job failed;
    /// for a query, waits until its first row is there or its job has ended, as Flink does.
    pub fn wait(&self) -> Result<Option<JobExecutionResult>> {
        let Some(job) = &self.job else {
            let mut source = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
            while !source.wait_for_rows(WAIT_STEP)? {}
            return Ok(None);
        };
        let client = job.lock().unwrap_or_else(PoisonError::into_inner).take();
        match client {
            Some(client) => client.wait().map(Some).map_err(|e| TableError::Execution(e.to_string())),
            None => Ok(None),
        }
    }

    /// Up to `max_rows` rows (at least one), each with its change kind: waits up to `timeout`
    /// for the first, then takes only rows already there. `Some` of no rows if none came in
    /// time, `None` once every row has been taken. Fails as the query's job failed, after the
    /// rows it made before.
    pub fn poll_rows(&self, max_rows: usize, timeout: Duration) -> Result<Option<Vec<Row>>> {
        match self.poll_batch(max_rows, timeout)? {
            Polled::Record(batch) => batch_to_rows(&batch).map(Some),
            Polled::Pending => Ok(Some(Vec::new())),
            Polled::Ended => Ok(None),
        }
    }

    /// As [`TableResult::poll_rows`], the rows as one batch of Arrow columns (any of Flink's
    /// types, where rows hold only those of [`Value`]).
    pub fn poll_batch(&self, max_rows: usize, timeout: Duration) -> Result<Polled<ChangeBatch>> {
        let mut source = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        if !source.wait_for_rows(timeout)? {
            return Ok(Polled::Pending);
        }
        match source.take(max_rows, &self.schema())? {
            Some(batch) => Ok(Polled::Record(batch)),
            None => Ok(Polled::Ended),
        }
    }

    /// The Arrow schema of the result's columns.
    fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns.iter().map(|(name, data_type)| data_type.to_arrow_field(name)).collect::<Vec<_>>(),
        ))
    }

    /// Every row, each with its change kind, once the query has ended: for bounded queries
    /// (an unbounded one never ends; take its rows with [`TableResult::poll_rows`]).
    pub fn collect(self) -> Result<Vec<Row>> {
        let mut rows = Vec::new();
        while let Some(more) = self.poll_rows(usize::MAX, WAIT_STEP)? {
            rows.extend(more);
        }
        Ok(rows)
    }

    /// Stops the query's job if it still runs and waits for it to end; rows not taken yet
    /// are dropped.
    pub fn close(&self) {
        let mut source = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *source {
            RowSource::Known(rows) => rows.clear(),
            RowSource::Job { batches, pending } => {
                pending.clear();
                batches.close();
            }
        }
    }

    /// Stops the statement's job (a query's, or an insert's) if it still runs, without waiting
    /// for it to end (what a finalizer may do on any thread); a later [`TableResult::close`]
    /// or [`TableResult::wait`] still waits.
    pub fn cancel(&self) {
        if let Some(canceller) = &self.canceller {
            canceller.cancel();
        }
        let mut source = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        if let RowSource::Job { batches, pending } = &mut *source {
            pending.clear();
            batches.cancel();
        }
    }

    /// Prints the result to standard output as Flink does: `OK`, or a table in Flink's tableau
    /// format, each row as it arrives.
    pub fn print(&self) -> Result<()> {
        let stdout = std::io::stdout();
        self.print_to(&mut stdout.lock())
    }

    /// Prints the result to `out`: `OK` for statements without rows, otherwise the tableau
    /// format, with an `op` column for query results in streaming mode, and `N rows in set`
    /// (or `Empty set`) under it. Rows are written and flushed as they arrive.
    pub fn print_to(&self, out: &mut impl Write) -> Result<()> {
        let mut printer = ResultPrinter::default();
        while !printer.print_step(self, WAIT_STEP, out)? {}
        Ok(())
    }
}

/// How long one wait for rows lasts before a caller looping over waits gets control back.
const WAIT_STEP: Duration = Duration::from_millis(100);

impl RowSource {
    /// Waits up to `timeout` for rows: true once rows are there or none will come.
    fn wait_for_rows(&mut self, timeout: Duration) -> Result<bool> {
        let RowSource::Job { batches, pending } = self else { return Ok(true) };
        let deadline = Instant::now() + timeout;
        while pending.is_empty() {
            let wait = deadline.saturating_duration_since(Instant::now());
            match batches.poll(wait).map_err(|e| TableError::Execution(e.to_string()))? {
                Polled::Record(batch) if batch.is_empty() => {}
                Polled::Record(batch) => pending.push_back(batch),
                Polled::Pending => return Ok(false),
                Polled::Ended => break,
            }
        }
        Ok(true)
    }

    /// Up to `max_rows` rows (at least one) of those there, as a batch of `schema`; `None` if
    /// there are none.
    fn take(&mut self, max_rows: usize, schema: &SchemaRef) -> Result<Option<ChangeBatch>> {
        let max_rows = max_rows.max(1);
        match self {
            RowSource::Known(rows) if rows.is_empty() => Ok(None),
            RowSource::Known(rows) => {
                let taken: Vec<Row> = rows.drain(..rows.len().min(max_rows)).collect();
                let kinds = taken.iter().any(|row| row.kind != RowKind::Insert);
                let kinds = kinds.then(|| taken.iter().map(|row| row.kind).collect());
                Ok(Some(ChangeBatch { rows: rows_to_batch(&taken, schema)?, kinds }))
            }
            RowSource::Job { pending, .. } => {
                let Some(front) = pending.front_mut() else { return Ok(None) };
                if front.len() <= max_rows {
                    return Ok(pending.pop_front());
                }
                let head = front.slice(0, max_rows);
                *front = front.slice(max_rows, front.len() - max_rows);
                Ok(Some(head))
            }
        }
    }
}

/// Prints a result a step at a time, so that a caller (Python's `print()`, which must see
/// Ctrl-C) can print the rows of an unbounded query while they arrive.
#[derive(Debug, Default)]
pub struct ResultPrinter {
    /// The header is out: the first row has come.
    started: bool,
    rows: u64,
    done: bool,
}

impl ResultPrinter {
    /// Prints what came within `timeout` to `out`: `OK` for a statement without rows, else the
    /// header with the first row, the rows that came, and the count after the last. True once
    /// everything is printed.
    pub fn print_step(&mut self, result: &TableResult, timeout: Duration, out: &mut impl Write) -> Result<bool> {
        let failed = |e: std::io::Error| TableError::Execution(format!("printing the result failed: {e}"));
        if self.done {
            return Ok(true);
        }
        if result.kind == ResultKind::Success {
            self.done = true;
            return writeln!(out, "OK").map_err(failed).map(|()| true);
        }
        let tableau = Tableau::new(&result.columns, DEFAULT_MAX_COLUMN_WIDTH, result.changelog);
        match result.poll_batch(PRINT_ROWS, timeout)? {
            Polled::Record(batch) => {
                if !self.started {
                    tableau.print_header(out).map_err(failed)?;
                    self.started = true;
                }
                let columns = batch.rows.columns();
                let mut values = Vec::with_capacity(columns.len());
                for row in 0..batch.len() {
                    values.clear();
                    for column in columns {
                        values.push(cell_string(column.as_ref(), row)?);
                    }
                    tableau.print_row(batch.kind(row), &values, out).map_err(failed)?;
                }
                self.rows += batch.len() as u64;
            }
            Polled::Pending => {}
            Polled::Ended => {
                self.done = true;
                match self.started {
                    true => {
                        tableau.print_border(out).map_err(failed)?;
                        let noun = if self.rows == 1 { "row" } else { "rows" };
                        writeln!(out, "{} {noun} in set", self.rows).map_err(failed)?;
                    }
                    false => writeln!(out, "Empty set").map_err(failed)?,
                }
            }
        }
        out.flush().map_err(failed)?;
        Ok(self.done)
    }
}

/// Rows printed in one step at most.
const PRINT_ROWS: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(t_env: &crate::environment::TableEnvironment, count: i64) -> TableResult {
        let values: Vec<String> = (0..count).map(|n| format!("(CAST({n} AS BIGINT))")).collect();
        let sql = format!("SELECT n FROM (VALUES {}) AS t(n)", values.join(", "));
        t_env.execute_sql(&sql).unwrap()
    }

    #[test]
    fn rows_are_handed_over_in_parts_of_at_most_the_size_asked_for_and_in_order() {
        let t_env =
            crate::environment::TableEnvironment::create(crate::environment::EnvironmentSettings::in_batch_mode());
        let result = numbers(&t_env, 10);
        let mut sizes = Vec::new();
        let mut values = Vec::new();
        while let Some(rows) = result.poll_rows(3, Duration::from_secs(30)).unwrap() {
            sizes.push(rows.len());
            values.extend(rows.into_iter().map(|row| row.fields[0].clone()));
        }
        assert!(sizes.iter().all(|&size| (1..=3).contains(&size)), "{sizes:?}");
        assert_eq!(values, (0..10).map(Value::BigInt).collect::<Vec<_>>());
        // Taken once: nothing is left.
        assert_eq!(result.poll_rows(3, Duration::from_millis(1)).unwrap(), None);
    }

    #[test]
    fn a_printer_prints_each_part_as_it_comes_and_the_count_at_the_end() {
        let t_env =
            crate::environment::TableEnvironment::create(crate::environment::EnvironmentSettings::in_batch_mode());
        let result = numbers(&t_env, 2500);
        let (mut printer, mut out) = (ResultPrinter::default(), Vec::new());
        let mut steps = 0;
        while !printer.print_step(&result, Duration::from_secs(30), &mut out).unwrap() {
            steps += 1;
        }
        let text = String::from_utf8(out).unwrap();
        assert!(steps >= 3, "{PRINT_ROWS} rows a step: {steps} steps");
        assert_eq!(text.lines().filter(|line| line.starts_with("| ")).count(), 2501, "a header and 2500 rows");
        assert_eq!(text.lines().last(), Some("2500 rows in set"));
    }
}
