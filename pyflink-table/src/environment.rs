//! `TableEnvironment`: where tables are registered and SQL runs (Flink's `TableEnvironment` and
//! `StreamTableEnvironment`), with `Table` (a query not run yet) and `TableResult` (what running
//! one gave).

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::common::TableReference;
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use pyflink_core::table::Row;
use pyflink_core::{FlinkError, ProcessContext, RuntimeExecutionMode, StreamExecutionEnvironment};

use crate::batch::{batch_to_rows, rows_to_batch, ArrowBatch};
use crate::catalog::{Catalog, CatalogTable, TableData};
use crate::error::{Result, TableError};
use crate::plan::{plan_sql, Pipeline};
use crate::print::{Tableau, DEFAULT_MAX_COLUMN_WIDTH};
use crate::types::DataType;

/// Whether a table environment runs queries over unbounded streams or bounded input (Flink's
/// `EnvironmentSettings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvironmentSettings {
    streaming: bool,
}

impl EnvironmentSettings {
    /// Streaming mode: results are changelogs, printed with their change kinds.
    pub fn in_streaming_mode() -> Self {
        EnvironmentSettings { streaming: true }
    }

    /// Batch mode: input is bounded and results are final.
    pub fn in_batch_mode() -> Self {
        EnvironmentSettings { streaming: false }
    }

    /// Whether the settings are streaming mode.
    pub fn is_streaming_mode(&self) -> bool {
        self.streaming
    }
}

/// Registers tables and runs SQL and Table API queries on them.
///
/// ```
/// use pyflink_core::table::{Row, Value};
/// use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
/// use pyflink_table::types::DataType;
///
/// let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
/// let rows = vec![Row::of(vec![Value::BigInt(1), Value::String("Hi".into())])];
/// let table = t_env.from_elements(rows, &[("id", DataType::parse("BIGINT").unwrap()), ("word", DataType::parse("STRING").unwrap())]).unwrap();
/// t_env.create_temporary_view("words", &table).unwrap();
/// let result = t_env.execute_sql("SELECT id + 1 AS next, upper(word) AS loud FROM words").unwrap();
/// assert_eq!(result.collect()[0].fields, vec![Value::BigInt(2), Value::String("HI".into())]);
/// ```
#[derive(Clone)]
pub struct TableEnvironment {
    catalog: Arc<Mutex<Catalog>>,
    settings: EnvironmentSettings,
    env: StreamExecutionEnvironment,
    /// How many tables without a name the environment has made (`UnnamedTable$n`).
    unnamed: Arc<Mutex<usize>>,
}

impl TableEnvironment {
    /// A table environment of its own (Flink's `TableEnvironment.create(settings)`).
    pub fn create(settings: EnvironmentSettings) -> Self {
        let env = StreamExecutionEnvironment::get_execution_environment();
        if !settings.streaming {
            env.set_runtime_mode(RuntimeExecutionMode::Batch);
        }
        TableEnvironment::on(env, settings)
    }

    /// A streaming table environment whose queries run as jobs of `env` (Flink's
    /// `StreamTableEnvironment.create(env)`).
    pub fn from_stream_environment(env: &StreamExecutionEnvironment) -> Self {
        TableEnvironment::on(env.clone(), EnvironmentSettings::in_streaming_mode())
    }

    fn on(env: StreamExecutionEnvironment, settings: EnvironmentSettings) -> Self {
        TableEnvironment {
            catalog: Arc::new(Mutex::new(Catalog::new())),
            settings,
            env,
            unnamed: Arc::new(Mutex::new(0)),
        }
    }

    fn catalog(&self) -> MutexGuard<'_, Catalog> {
        self.catalog.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The environment's settings.
    pub fn settings(&self) -> EnvironmentSettings {
        self.settings
    }

    /// A table of the given rows, whose columns are `columns` (name and type).
    pub fn from_elements(&self, rows: Vec<Row>, columns: &[(&str, DataType)]) -> Result<Table> {
        let fields: Vec<Field> = columns.iter().map(|(name, data_type)| data_type.to_arrow_field(name)).collect();
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        let batch = rows_to_batch(&rows, &schema)?;
        let name = {
            let mut unnamed = self.unnamed.lock().unwrap_or_else(PoisonError::into_inner);
            let name = format!("UnnamedTable${unnamed}");
            *unnamed += 1;
            name
        };
        let table = CatalogTable { schema, data: TableData::Elements(vec![ArrowBatch(batch)]) };
        self.catalog().register(&name, table);
        self.from_path(&name)
    }

    /// The table or view registered as `path`.
    pub fn from_path(&self, path: &str) -> Result<Table> {
        let plan = crate::plan::analyze(self.scan(path)?)?;
        Ok(Table { env: self.clone(), plan })
    }

    fn scan(&self, path: &str) -> Result<LogicalPlan> {
        let catalog = self.catalog();
        let Some(table) = catalog.table(path) else {
            return Err(TableError::Catalog(format!("Table `{path}` was not found.")));
        };
        let source = Catalog::source_of(table);
        LogicalPlanBuilder::scan(TableReference::bare(path), source, None)
            .and_then(LogicalPlanBuilder::build)
            .map_err(TableError::from)
    }

    /// Registers `table` as the view `name`, for SQL to read.
    pub fn create_temporary_view(&self, name: &str, table: &Table) -> Result<()> {
        let schema = Arc::new(table.plan.schema().as_arrow().clone());
        let view = CatalogTable { schema, data: TableData::View(Box::new(table.plan.clone())) };
        if !self.catalog().register(name, view) {
            return Err(TableError::Catalog(format!("Temporary table '{name}' already exists")));
        }
        Ok(())
    }

    /// Forgets the view `name`; false if there was none.
    pub fn drop_temporary_view(&self, name: &str) -> bool {
        self.catalog().drop_table(name)
    }

    /// The names of the registered tables and views (those without names left out).
    pub fn list_tables(&self) -> Vec<String> {
        self.catalog().table_names().into_iter().filter(|name| !name.starts_with("UnnamedTable$")).collect()
    }

    /// The query `sql` as a table, not run yet.
    pub fn sql_query(&self, sql: &str) -> Result<Table> {
        let plan = plan_sql(&self.catalog(), sql)?;
        Ok(Table { env: self.clone(), plan })
    }

    /// Runs `sql` (so far a query) and returns its result.
    pub fn execute_sql(&self, sql: &str) -> Result<TableResult> {
        self.sql_query(sql)?.execute()
    }

    /// Runs the pipeline of `plan` as a job and gathers what it makes.
    fn run(&self, plan: &LogicalPlan) -> Result<TableResult> {
        let pipeline = Pipeline::compile(plan)?;
        let batches = self.source_batches(&pipeline.source)?;
        let columns = columns_of(&pipeline.output)?;
        let stream = self.env.from_collection(batches).process(
            move |ArrowBatch(batch), ctx: &mut ProcessContext<'_, ArrowBatch>| {
                let out = pipeline.apply(batch).map_err(|e| FlinkError::Runtime(e.to_string()))?;
                if out.num_rows() > 0 {
                    ctx.collect(ArrowBatch(out));
                }
                Ok(())
            },
        );
        let mut rows = Vec::new();
        let collected = stream.execute_and_collect().map_err(|e| TableError::Execution(e.to_string()))?;
        for batch in collected {
            let ArrowBatch(batch) = batch.map_err(|e| TableError::Execution(e.to_string()))?;
            rows.extend(batch_to_rows(&batch)?);
        }
        Ok(TableResult { columns, rows, streaming: self.settings.streaming })
    }

    /// The batches of the table `name`.
    fn source_batches(&self, name: &str) -> Result<Vec<ArrowBatch>> {
        match self.catalog().table(name).map(|table| &table.data) {
            Some(TableData::Elements(batches)) => Ok(batches.clone()),
            Some(TableData::View(_)) => {
                Err(TableError::Execution(format!("the view '{name}' was not inlined into the query")))
            }
            None => Err(TableError::Catalog(format!("Table `{name}` was not found."))),
        }
    }
}

/// The name and Flink type of each column of `schema`.
fn columns_of(schema: &Schema) -> Result<Vec<(String, DataType)>> {
    schema.fields().iter().map(|field| Ok((field.name().clone(), DataType::from_arrow_field(field)?))).collect()
}

/// A query over registered tables, run when asked (Flink's `Table`).
#[derive(Clone)]
pub struct Table {
    env: TableEnvironment,
    plan: LogicalPlan,
}

impl Table {
    /// The table's columns: name and type.
    pub fn get_schema(&self) -> Result<Vec<(String, DataType)>> {
        columns_of(self.plan.schema().as_arrow())
    }

    /// Runs the query and returns its result.
    pub fn execute(&self) -> Result<TableResult> {
        self.env.run(&self.plan)
    }
}

/// What running a statement gave: its columns and rows (Flink's `TableResult`).
#[derive(Debug, Clone)]
pub struct TableResult {
    columns: Vec<(String, DataType)>,
    rows: Vec<Row>,
    streaming: bool,
}

impl TableResult {
    /// The result's columns: name and type.
    pub fn columns(&self) -> &[(String, DataType)] {
        &self.columns
    }

    /// The rows, each with its change kind.
    pub fn collect(self) -> Vec<Row> {
        self.rows
    }

    /// Prints the result in Flink's tableau format to standard output.
    pub fn print(&self) -> Result<()> {
        let stdout = std::io::stdout();
        self.print_to(&mut stdout.lock())
    }

    /// Prints the result in Flink's tableau format to `out`: with an `op` column in streaming
    /// mode, and `N rows in set` (or `Empty set`) under it.
    pub fn print_to(&self, out: &mut impl Write) -> Result<()> {
        let tableau = Tableau::new(&self.columns, DEFAULT_MAX_COLUMN_WIDTH, self.streaming);
        let rows = self.rows.iter().map(|row| {
            let values = row
                .fields
                .iter()
                .map(|value| match value {
                    pyflink_core::table::Value::Null => None,
                    other => Some(crate::print::flink_string(other)),
                })
                .collect();
            (row.kind, values)
        });
        tableau.print(rows, out).map_err(|e| TableError::Execution(format!("printing the result failed: {e}")))
    }
}
