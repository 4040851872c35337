//! `TableResult`: what running a statement gave (Flink's `TableResult`): `OK` for DDL, rows
//! for queries, `SHOW` and `DESCRIBE`, and for `INSERT INTO` the job that writes the rows.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use pyflink_core::table::{Row, Value};
use pyflink_core::{JobClient, JobExecutionResult};

use crate::error::{Result, TableError};
use crate::print::{flink_string, Tableau, DEFAULT_MAX_COLUMN_WIDTH};
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
#[derive(Clone)]
pub struct TableResult {
    kind: ResultKind,
    columns: Vec<(String, DataType)>,
    rows: Vec<Row>,
    /// Whether rows print with their change kinds (query results in streaming mode).
    changelog: bool,
    /// The job of an `INSERT INTO` or statement set, until waited for.
    job: Option<Arc<Mutex<Option<JobClient>>>>,
}

impl std::fmt::Debug for TableResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableResult")
            .field("kind", &self.kind)
            .field("columns", &self.columns)
            .field("rows", &self.rows)
            .field("job", &self.job.is_some())
            .finish()
    }
}

impl TableResult {
    /// The result of a statement with no rows to show (`CREATE`, `DROP`).
    pub(crate) fn ok() -> Self {
        TableResult { kind: ResultKind::Success, columns: Vec::new(), rows: Vec::new(), changelog: false, job: None }
    }

    /// A result of `rows` of `columns`; `changelog` prints the rows' change kinds.
    pub(crate) fn with_rows(columns: Vec<(String, DataType)>, rows: Vec<Row>, changelog: bool) -> Self {
        TableResult { kind: ResultKind::SuccessWithContent, columns, rows, changelog, job: None }
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
        TableResult {
            kind: ResultKind::SuccessWithContent,
            columns,
            rows,
            changelog: false,
            job: Some(Arc::new(Mutex::new(Some(job)))),
        }
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

    /// Waits for the statement's job to end, if it started one, and fails if the job failed.
    pub fn wait(&self) -> Result<Option<JobExecutionResult>> {
        let Some(job) = &self.job else { return Ok(None) };
        let client = job.lock().unwrap_or_else(PoisonError::into_inner).take();
        match client {
            Some(client) => client.wait().map(Some).map_err(|e| TableError::Execution(e.to_string())),
            None => Ok(None),
        }
    }

    /// The rows, each with its change kind, borrowed.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The rows, each with its change kind.
    pub fn collect(self) -> Vec<Row> {
        self.rows
    }

    /// Prints the result to standard output as Flink does: `OK`, or a table in Flink's tableau
    /// format.
    pub fn print(&self) -> Result<()> {
        let stdout = std::io::stdout();
        self.print_to(&mut stdout.lock())
    }

    /// Prints the result to `out`: `OK` for statements without rows, otherwise the tableau
    /// format, with an `op` column for query results in streaming mode, and `N rows in set`
    /// (or `Empty set`) under it.
    pub fn print_to(&self, out: &mut impl Write) -> Result<()> {
        let failed = |e: std::io::Error| TableError::Execution(format!("printing the result failed: {e}"));
        if self.kind == ResultKind::Success {
            return writeln!(out, "OK").map_err(failed);
        }
        let tableau = Tableau::new(&self.columns, DEFAULT_MAX_COLUMN_WIDTH, self.changelog);
        let rows = self.rows.iter().map(|row| {
            let values = row
                .fields
                .iter()
                .map(|value| match value {
                    Value::Null => None,
                    other => Some(flink_string(other)),
                })
                .collect();
            (row.kind, values)
        });
        tableau.print(rows, out).map_err(failed)
    }
}
