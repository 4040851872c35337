//! SQL and the Table API from Python (`TableEnvironment`, `Table`, `TableResult`,
//! `StatementSet`): handles on [`pyflink_table`]'s types, as `api.udl` declares them.
//! Expressions cross as [`ExpressionSpec`]s (Flink SQL text with its alias), rows as pickled
//! lists of PyFlink `Row`s.
//!
//! A table environment builds its jobs on a `StreamExecutionEnvironment`, which belongs to one
//! thread; Python calls come from any thread. So each environment has a thread of its own
//! ([`TableThread`]) that owns it and its tables and statement sets, and the handles Python
//! holds are numbers into it.

use std::collections::HashMap;
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use pyflink_core::sinks::Polled;
use pyflink_core::table::{Row, Value};
use pyflink_core::DataStream;
use pyflink_table::environment::{EnvironmentSettings, Table, TableEnvironment};
use pyflink_table::expressions::{col, Expression};
use pyflink_table::result::{ResultKind, ResultPrinter, TableResult};
use pyflink_table::types::DataType;
use pyflink_table::{ExplainDetail, StatementSet, TableError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::table::arrow_python::python_values;
use crate::table::instance::PythonSettings;
use crate::types::build_row;
use crate::value::{pickle, unpickle};
use crate::JobError;

impl From<TableError> for JobError {
    fn from(error: TableError) -> Self {
        match error {
            TableError::Execution(message) => JobError::JobFailed(message),
            other => JobError::InvalidProgram(other.to_string()),
        }
    }
}

fn python_failed(error: PyErr) -> JobError {
    JobError::InvalidProgram(Python::attach(|py| error.value(py).to_string()))
}

/// A Table API expression as Python's `Expression` describes it.
#[derive(Debug, Clone)]
pub struct ExpressionSpec {
    /// The expression as Flink SQL text.
    pub sql: String,
    /// The column it reads, when it is only a column.
    pub column: Option<String>,
    /// The names `alias` gave it.
    pub names: Vec<String>,
    /// Whether it sorts descending.
    pub descending: bool,
}

impl From<ExpressionSpec> for Expression {
    fn from(spec: ExpressionSpec) -> Self {
        let mut expression = match spec.column {
            Some(column) => col(&column),
            None => Expression::of_sql(spec.sql),
        };
        if !spec.names.is_empty() {
            expression = expression.alias_all(spec.names);
        }
        if spec.descending {
            expression = expression.desc();
        }
        expression
    }
}

pub(crate) fn expressions(specs: Vec<ExpressionSpec>) -> Vec<Expression> {
    specs.into_iter().map(Expression::from).collect()
}

/// What a table environment's thread owns: the environment, and the tables and statement
/// sets Python holds handles on.
pub(crate) struct Owned {
    pub(crate) env: TableEnvironment,
    tables: HashMap<u64, Table>,
    sets: HashMap<u64, StatementSet>,
    next: u64,
}

impl Owned {
    fn table(&self, id: u64) -> Result<&Table, JobError> {
        self.tables.get(&id).ok_or_else(|| JobError::InvalidProgram(format!("table handle {id} was released")))
    }

    fn add_table(&mut self, table: Table) -> u64 {
        self.next += 1;
        self.tables.insert(self.next, table);
        self.next
    }
}

type Task = Box<dyn FnOnce(&mut Owned) + Send>;

/// The thread that owns a table environment and runs every call on it, one at a time.
pub struct TableThread {
    tasks: Mutex<Sender<Task>>,
}

impl TableThread {
    fn start(streaming: bool) -> Arc<Self> {
        let (tasks, received) = channel::<Task>();
        std::thread::Builder::new()
            .name("table-environment".into())
            .spawn(move || {
                let settings = if streaming {
                    EnvironmentSettings::in_streaming_mode()
                } else {
                    EnvironmentSettings::in_batch_mode()
                };
                let env = TableEnvironment::create(settings);
                pyflink_connectors::table::register_connectors(&env);
                let mut owned = Owned { env, tables: HashMap::new(), sets: HashMap::new(), next: 0 };
                // The thread ends when the last handle on the environment is gone.
                for task in received {
                    task(&mut owned);
                }
            })
            .unwrap_or_else(|e| panic!("cannot start a thread for a table environment: {e}"));
        Arc::new(TableThread { tasks: Mutex::new(tasks) })
    }

    /// Runs `call` on the environment's thread and returns what it gives.
    pub(crate) fn run<R: Send + 'static>(
        &self,
        call: impl FnOnce(&mut Owned) -> R + Send + 'static,
    ) -> Result<R, JobError> {
        let (answer, answered) = channel();
        let task: Task = Box::new(move |owned| {
            let _ = answer.send(call(owned));
        });
        let sent = self.tasks.lock().unwrap_or_else(PoisonError::into_inner).send(task);
        sent.ok().and_then(|_| answered.recv().ok()).ok_or_else(|| {
            JobError::JobFailed("the table environment's thread ended; create a new TableEnvironment".into())
        })
    }

    /// Has `call` run on the environment's thread, without waiting for it (releasing handles).
    fn post(&self, call: impl FnOnce(&mut Owned) + Send + 'static) {
        // After the thread ended there is nothing left to release.
        let _ = self.tasks.lock().unwrap_or_else(PoisonError::into_inner).send(Box::new(call));
    }

    /// Runs `call`, which makes a table, and gives a handle on it.
    pub(crate) fn table(
        self: &Arc<Self>,
        call: impl FnOnce(&mut Owned) -> Result<Table, JobError> + Send + 'static,
    ) -> Result<Arc<SqlTable>, JobError> {
        let id = self.run(move |owned| call(owned).map(|table| owned.add_table(table)))??;
        Ok(Arc::new(SqlTable { thread: Arc::clone(self), id }))
    }
}

/// A table environment (Flink's `TableEnvironment`).
pub struct TableEnv {
    thread: Arc<TableThread>,
    /// Where its Python functions run (`python.execution-mode`), shared with them.
    python: PythonSettings,
}

impl TableEnv {
    /// A table environment in streaming or batch mode.
    pub fn new(streaming: bool) -> Self {
        TableEnv { thread: TableThread::start(streaming), python: PythonSettings::default() }
    }

    /// The thread that owns the environment.
    pub(crate) fn thread(&self) -> &Arc<TableThread> {
        &self.thread
    }

    /// The environment's Python settings, for a Python function registered with it to read
    /// when an operator instance opens it.
    pub(crate) fn python_settings(&self) -> PythonSettings {
        Arc::clone(&self.python)
    }

    /// Applies configuration options (`parallelism.default`, checkpointing, ...) to the jobs
    /// the environment runs; `python.execution-mode` and `python.fn-execution.*` to its
    /// Python functions.
    pub fn configure(&self, options: HashMap<String, String>) -> Result<(), JobError> {
        let mut python = *self.python.lock().unwrap_or_else(PoisonError::into_inner);
        python.configure(&options)?;
        *self.python.lock().unwrap_or_else(PoisonError::into_inner) = python;
        let engine: HashMap<String, String> =
            options.into_iter().filter(|(key, _)| !key.starts_with("python.")).collect();
        let configuration = crate::compile::engine_configuration(&engine);
        self.thread.run(move |owned| {
            owned.env.configure(&configuration)?;
            Ok(())
        })?
    }

    /// Runs one SQL statement.
    pub fn execute_sql(&self, statement: String) -> Result<Arc<SqlResult>, JobError> {
        let result = self.thread.run(move |owned| owned.env.execute_sql(&statement))??;
        Ok(SqlResult::new(result))
    }

    /// The query `query` as a table.
    pub fn sql_query(&self, query: String) -> Result<Arc<SqlTable>, JobError> {
        self.thread.table(move |owned| Ok(owned.env.sql_query(&query)?))
    }

    /// The table registered as `path`.
    pub fn from_path(&self, path: String) -> Result<Arc<SqlTable>, JobError> {
        self.thread.table(move |owned| Ok(owned.env.from_path(&path)?))
    }

    /// A table of the pickled Python rows `pickled_rows`, with columns `names` of the Flink SQL
    /// types `types`.
    pub fn from_rows(
        &self,
        pickled_rows: Vec<u8>,
        names: Vec<String>,
        types: Vec<String>,
    ) -> Result<Arc<SqlTable>, JobError> {
        let types = types.iter().map(|text| DataType::parse(text)).collect::<Result<Vec<_>, _>>()?;
        let rows = python_rows(&pickled_rows, &names).map_err(python_failed)?;
        self.thread.table(move |owned| {
            let columns: Vec<(&str, DataType)> = names.iter().map(String::as_str).zip(types).collect();
            Ok(owned.env.from_elements(rows, &columns)?)
        })
    }

    /// Registers `table` as the view `name`.
    pub fn create_temporary_view(&self, name: String, table: Arc<SqlTable>) -> Result<(), JobError> {
        let id = table.id;
        self.thread.run(move |owned| Ok(owned.env.create_temporary_view(&name, owned.table(id)?)?))?
    }

    /// Forgets the view or table `name`; false if there was none.
    pub fn drop_temporary_view(&self, name: String) -> bool {
        self.thread.run(move |owned| owned.env.drop_temporary_view(&name)).unwrap_or(false)
    }

    /// The names of the registered tables and views.
    pub fn list_tables(&self) -> Vec<String> {
        self.thread.run(|owned| owned.env.list_tables()).unwrap_or_default()
    }

    /// A new, empty statement set.
    pub fn create_statement_set(&self) -> Arc<SqlStatementSet> {
        let id = self
            .thread
            .run(|owned| {
                owned.next += 1;
                let set = owned.env.create_statement_set();
                owned.sets.insert(owned.next, set);
                owned.next
            })
            .unwrap_or(0);
        Arc::new(SqlStatementSet { thread: Arc::clone(&self.thread), id })
    }
}

/// The rows of the pickled list `pickled_rows`, each of as many fields as `names`.
fn python_rows(pickled_rows: &[u8], names: &[String]) -> PyResult<Vec<Row>> {
    Python::attach(|py| {
        let elements = unpickle(py, pickled_rows)?;
        let mut rows = Vec::new();
        for element in elements.try_iter()? {
            let element = element?;
            let mut fields = Vec::with_capacity(names.len());
            for item in element.try_iter()? {
                fields.push(python_value(&item?)?);
            }
            if fields.len() != names.len() {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "the element {element} has {} fields, but the schema has the {} columns {names:?}",
                    fields.len(),
                    names.len()
                )));
            }
            rows.push(Row::of(fields));
        }
        Ok(rows)
    })
}

/// The engine's value of a Python object: `None`, `bool`, `int`, `float`, `str` or a
/// `datetime` (naive for `TIMESTAMP`, with a time zone for `TIMESTAMP_LTZ`).
pub(crate) fn python_value(item: &Bound<'_, PyAny>) -> PyResult<Value> {
    if item.is_none() {
        return Ok(Value::Null);
    }
    if item.is_instance_of::<PyBool>() {
        return Ok(Value::Boolean(item.extract()?));
    }
    if item.is_instance_of::<PyInt>() {
        return Ok(Value::BigInt(item.extract()?));
    }
    if item.is_instance_of::<PyFloat>() {
        return Ok(Value::Double(item.extract()?));
    }
    if item.is_instance_of::<PyString>() {
        return Ok(Value::String(item.extract()?));
    }
    let datetime = item.py().import("datetime")?.getattr("datetime")?;
    if item.is_instance(&datetime)? {
        let aware = !item.getattr("tzinfo")?.is_none();
        let seconds: f64 = match aware {
            true => item.call_method0("timestamp")?.extract()?,
            false => {
                let utc = item.py().import("datetime")?.getattr("timezone")?.getattr("utc")?;
                let kwargs = pyo3::types::PyDict::new(item.py());
                kwargs.set_item("tzinfo", utc)?;
                item.call_method("replace", (), Some(&kwargs))?.call_method0("timestamp")?.extract()?
            }
        };
        let millis = (seconds * 1000.0).round() as i64;
        return Ok(if aware { Value::TimestampLtz(millis) } else { Value::Timestamp(millis) });
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "a value of Python type {} cannot be a table field yet (bool, int, float, str, datetime and None can)",
        item.get_type().name()?
    )))
}

/// A table (Flink's `Table`), not run yet: a handle on a table its environment's thread owns.
pub struct SqlTable {
    thread: Arc<TableThread>,
    id: u64,
}

impl std::fmt::Debug for SqlTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SqlTable({})", self.id)
    }
}

impl SqlTable {
    /// The thread of the table's environment.
    pub(crate) fn thread(&self) -> Arc<TableThread> {
        Arc::clone(&self.thread)
    }

    /// The table's columns: names and Flink SQL types.
    pub(crate) fn columns(&self) -> Result<Vec<(String, DataType)>, JobError> {
        let id = self.id;
        self.thread.run(move |owned| Ok(owned.table(id)?.get_schema()?))?
    }
}

/// A table environment's thread and what it owns, while a job that reads its queries is built
/// on it.
pub(crate) struct TableScope<'a> {
    pub(crate) thread: &'a Arc<TableThread>,
    pub(crate) owned: &'a Owned,
}

impl TableScope<'_> {
    /// The rows of `table` (its changes when `changelog`), as a stream of the environment.
    pub(crate) fn query_rows(&self, table: &SqlTable, changelog: bool) -> Result<DataStream<Row>, JobError> {
        if !Arc::ptr_eq(self.thread, &table.thread) {
            return Err(JobError::InvalidProgram(
                "a stream of a table (to_data_stream) is read in jobs of that table's environment; tables of two \
                 table environments cannot meet in one job"
                    .into(),
            ));
        }
        let query = self.owned.table(table.id)?;
        let env = &self.owned.env;
        Ok(if changelog { env.to_changelog_stream(query)? } else { env.to_data_stream(query)? })
    }
}

impl Drop for SqlTable {
    fn drop(&mut self) {
        let id = self.id;
        self.thread.post(move |owned| {
            owned.tables.remove(&id);
        });
    }
}

impl SqlTable {
    /// Runs `call` on this table, on its environment's thread.
    pub(crate) fn with<R: Send + 'static>(
        &self,
        call: impl FnOnce(&Table) -> Result<R, TableError> + Send + 'static,
    ) -> Result<R, JobError> {
        let id = self.id;
        self.thread.run(move |owned| Ok(call(owned.table(id)?)?))?
    }

    /// A handle on the table `call` makes of this one.
    pub(crate) fn derive(
        &self,
        call: impl FnOnce(&Table) -> Result<Table, TableError> + Send + 'static,
    ) -> Result<Arc<SqlTable>, JobError> {
        let id = self.id;
        self.thread.table(move |owned| Ok(call(owned.table(id)?)?))
    }

    /// The name SQL reads the table by (`UnnamedTable$n`).
    pub fn sql_name(&self) -> Result<String, JobError> {
        self.with(|table| table.sql_name())
    }

    /// The names of the columns.
    pub fn column_names(&self) -> Vec<String> {
        self.with(|table| Ok(table.column_names())).unwrap_or_default()
    }

    /// The Flink SQL types of the columns.
    pub fn column_types(&self) -> Result<Vec<String>, JobError> {
        self.with(|table| Ok(table.get_schema()?.iter().map(|(_, data_type)| data_type.to_string()).collect()))
    }

    /// The schema as `print_schema` prints it.
    pub fn schema_string(&self) -> Result<String, JobError> {
        self.with(|table| table.schema_string())
    }

    /// `SELECT fields`.
    pub fn select(&self, fields: Vec<ExpressionSpec>) -> Result<Arc<SqlTable>, JobError> {
        self.derive(move |table| table.select(expressions(fields)))
    }

    /// `WHERE predicate`.
    pub fn filter(&self, predicate: ExpressionSpec) -> Result<Arc<SqlTable>, JobError> {
        self.derive(move |table| table.filter(Expression::from(predicate)))
    }

    /// The table with `fields` added.
    pub fn add_columns(&self, fields: Vec<ExpressionSpec>) -> Result<Arc<SqlTable>, JobError> {
        self.derive(move |table| table.add_columns(expressions(fields)))
    }

    /// The table with `fields` added or in place of the columns of their names.
    pub fn add_or_replace_columns(&self, fields: Vec<ExpressionSpec>) -> Result<Arc<SqlTable>, JobError> {
        self.derive(move |table| table.add_or_replace_columns(expressions(fields)))
    }

    /// The table with columns renamed.
    pub fn rename_columns(&self, fields: Vec<ExpressionSpec>) -> Result<Arc<SqlTable>, JobError> {
        self.derive(move |table| table.rename_columns(expressions(fields)))
    }

    /// The table without the columns `fields`.
    pub fn drop_columns(&self, fields: Vec<ExpressionSpec>) -> Result<Arc<SqlTable>, JobError> {
        self.derive(move |table| table.drop_columns(expressions(fields)))
    }

    /// The table with its columns renamed in order.
    pub fn alias(&self, names: Vec<String>) -> Result<Arc<SqlTable>, JobError> {
        self.derive(move |table| table.alias(names))
    }

    /// The distinct rows.
    pub fn distinct(&self) -> Result<Arc<SqlTable>, JobError> {
        self.derive(|table| table.distinct())
    }

    /// `SELECT fields ... GROUP BY keys`.
    pub fn group_select(
        &self,
        keys: Vec<ExpressionSpec>,
        fields: Vec<ExpressionSpec>,
    ) -> Result<Arc<SqlTable>, JobError> {
        self.derive(move |table| table.group_by(expressions(keys)).select(expressions(fields)))
    }

    /// This table's rows, then `other`'s.
    pub fn union_all(&self, other: Arc<SqlTable>) -> Result<Arc<SqlTable>, JobError> {
        let (id, other) = (self.id, other.id);
        self.thread.table(move |owned| Ok(owned.table(id)?.union_all(owned.table(other)?)?))
    }

    /// This table joined with `right` (`join_type`: `inner`, `left`, `right` or `full`) on
    /// `condition` (every pair of rows without one).
    pub fn join(
        &self,
        right: Arc<SqlTable>,
        join_type: String,
        condition: Option<ExpressionSpec>,
    ) -> Result<Arc<SqlTable>, JobError> {
        let (id, other) = (self.id, right.id);
        self.thread.table(move |owned| {
            let (left, right) = (owned.table(id)?, owned.table(other)?);
            let condition = condition.map(Expression::from);
            let missing = || TableError::Validation(format!("a {join_type} outer join needs a join predicate"));
            Ok(match join_type.as_str() {
                "inner" => left.join(right, condition)?,
                "left" => left.left_outer_join(right, condition)?,
                "right" => left.right_outer_join(right, condition.ok_or_else(missing)?)?,
                "full" => left.full_outer_join(right, condition.ok_or_else(missing)?)?,
                other => return Err(TableError::Validation(format!("unknown join type '{other}'")).into()),
            })
        })
    }

    /// The rows sorted by `fields`.
    pub fn order_by(&self, fields: Vec<ExpressionSpec>) -> Result<Arc<SqlTable>, JobError> {
        self.derive(move |table| table.order_by(expressions(fields)))
    }

    /// `fetch` rows (all when absent) after the first `offset`.
    pub fn limit(&self, fetch: Option<u64>, offset: u64) -> Result<Arc<SqlTable>, JobError> {
        self.derive(move |table| match fetch {
            Some(fetch) => table.limit(fetch as usize, offset as usize),
            None => table.offset(offset as usize),
        })
    }

    /// Runs the query.
    pub fn execute(&self) -> Result<Arc<SqlResult>, JobError> {
        Ok(SqlResult::new(self.with(|table| table.execute())?))
    }

    /// Writes the rows into the table `table_name`, in a job started now.
    pub fn execute_insert(&self, table_name: String) -> Result<Arc<SqlResult>, JobError> {
        Ok(SqlResult::new(self.with(move |table| table.execute_insert(&table_name))?))
    }

    /// The query's plan, with the `details` of Flink's names (`PLAN_ADVICE`, ...).
    pub fn explain(&self, details: Vec<String>) -> Result<String, JobError> {
        let details = details
            .iter()
            .map(|name| {
                ExplainDetail::from_name(name).ok_or_else(|| {
                    JobError::InvalidProgram(format!(
                        "unknown ExplainDetail {name}: ESTIMATED_COST, CHANGELOG_MODE, JSON_EXECUTION_PLAN or PLAN_ADVICE"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.with(move |table| table.explain_with(&details))
    }
}

/// What running a statement gave (Flink's `TableResult`).
pub struct SqlResult {
    inner: TableResult,
    /// How far `print_next` has printed, and whether it is done.
    printer: Mutex<(ResultPrinter, bool)>,
}

impl SqlResult {
    fn new(inner: TableResult) -> Arc<Self> {
        Arc::new(SqlResult { inner, printer: Mutex::new((ResultPrinter::default(), false)) })
    }

    /// Whether the statement had rows to show (`SUCCESS_WITH_CONTENT`) or only succeeded.
    pub fn has_content(&self) -> bool {
        self.inner.get_result_kind() == ResultKind::SuccessWithContent
    }

    /// The result's column names.
    pub fn column_names(&self) -> Vec<String> {
        self.inner.columns().iter().map(|(name, _)| name.clone()).collect()
    }

    /// The result's column types, in Flink SQL.
    pub fn column_types(&self) -> Vec<String> {
        self.inner.columns().iter().map(|(_, data_type)| data_type.to_string()).collect()
    }

    /// The next part of the result as `print()` shows it (`OK`, or Flink's tableau a few
    /// rows at a time), waiting up to `timeout_ms` for rows: empty if none came in time,
    /// `None` once everything is printed.
    pub fn print_next(&self, timeout_ms: u64) -> Result<Option<String>, JobError> {
        let mut printer = self.printer.lock().unwrap_or_else(PoisonError::into_inner);
        if printer.1 {
            return Ok(None);
        }
        let mut out = Vec::new();
        printer.1 = printer.0.print_step(&self.inner, Duration::from_millis(timeout_ms), &mut out)?;
        Ok(Some(String::from_utf8_lossy(&out).into_owned()))
    }

    /// Up to `max_rows` rows as a pickled list of `(kind, Row)` pairs (`kind` being the row
    /// kind's byte: 0 `+I`, 1 `-U`, 2 `+U`, 3 `-D`), waiting up to `timeout_ms` for the first:
    /// an empty list if none came in time, `None` once every row has been taken. Fails as the
    /// query's job failed.
    pub fn next_batch(&self, max_rows: u32, timeout_ms: u64) -> Result<Option<Vec<u8>>, JobError> {
        let batch = match self.inner.poll_batch(max_rows as usize, Duration::from_millis(timeout_ms))? {
            Polled::Record(batch) => Some(batch),
            Polled::Pending => None,
            Polled::Ended => return Ok(None),
        };
        let names = self.column_names();
        Python::attach(|py| -> PyResult<Vec<u8>> {
            let list = PyList::empty(py);
            if let Some(batch) = batch {
                let columns = batch
                    .rows
                    .columns()
                    .iter()
                    .map(|column| python_values(py, column.as_ref()))
                    .collect::<PyResult<Vec<_>>>()?;
                for row in 0..batch.len() {
                    let values = columns.iter().map(|column| column[row].clone()).collect();
                    let python_row = build_row(py, values, &names)?;
                    let kind = batch.kind(row) as u8;
                    list.append(PyTuple::new(py, [kind.into_pyobject(py)?.into_any(), python_row])?)?;
                }
            }
            pickle(list.as_any())
        })
        .map(Some)
        .map_err(python_failed)
    }

    /// Stops the query's job if it still runs and waits for it to end.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Stops the query's job if it still runs, without waiting for it.
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    /// Waits for the statement's job, if it started one: an insert's result, the first time;
    /// for a query, until its first row is there.
    pub fn wait(&self) -> Result<Option<crate::job::JobResult>, JobError> {
        Ok(self.inner.wait()?.as_ref().map(crate::job::JobResult::from))
    }

    /// The id of the statement's job: an insert's until waited for, a query's while it runs.
    pub fn job_id(&self) -> Option<String> {
        self.inner.job_id()
    }
}

/// `INSERT`s to run as one job (Flink's `StatementSet`): a handle on a set its environment's
/// thread owns.
pub struct SqlStatementSet {
    thread: Arc<TableThread>,
    id: u64,
}

impl Drop for SqlStatementSet {
    fn drop(&mut self) {
        let id = self.id;
        self.thread.post(move |owned| {
            owned.sets.remove(&id);
        });
    }
}

impl SqlStatementSet {
    /// Runs `call` on the set and its environment's tables, on their thread.
    fn with<R: Send + 'static>(
        &self,
        call: impl FnOnce(&mut StatementSet, &HashMap<u64, Table>) -> Result<R, TableError> + Send + 'static,
    ) -> Result<R, JobError> {
        let id = self.id;
        self.thread.run(move |owned| {
            let set = owned
                .sets
                .get_mut(&id)
                .ok_or_else(|| JobError::InvalidProgram("the statement set was released".into()))?;
            Ok(call(set, &owned.tables)?)
        })?
    }

    /// Adds an `INSERT INTO` statement.
    pub fn add_insert_sql(&self, statement: String) -> Result<(), JobError> {
        self.with(move |set, _| set.add_insert_sql(&statement).map(|_| ()))
    }

    /// Adds the writing of `table` into the table `table_name`.
    pub fn add_insert(&self, table_name: String, table: Arc<SqlTable>) -> Result<(), JobError> {
        let id = table.id;
        self.with(move |set, tables| match tables.get(&id) {
            Some(table) => set.add_insert(&table_name, table).map(|_| ()),
            None => Err(TableError::Validation("the table added to the statement set was released".into())),
        })
    }

    /// Starts the job of every `INSERT` added.
    pub fn execute(&self) -> Result<Arc<SqlResult>, JobError> {
        Ok(SqlResult::new(self.with(|set, _| set.execute())?))
    }
}
