//! `TableEnvironment`: where tables are registered and SQL runs (Flink's `TableEnvironment` and
//! `StreamTableEnvironment`), with `Table` (a query not run yet) and `TableResult` (what running
//! one gave).

use std::cell::{Cell, RefCell, RefMut};
use std::rc::Rc;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::common::TableReference;
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder, ScalarUDF};
use pyflink_core::table::Row;
use pyflink_core::{Configuration, DataStream, RuntimeExecutionMode, StreamExecutionEnvironment};

use crate::batch::{batch_to_rows, rows_to_batch, ChangeBatch};
use crate::catalog::{table_not_found, Catalog, CatalogTable, TableData};
use crate::connectors::TableConnector;
use crate::error::{Result, TableError};
use crate::exec::Compiler;
use crate::functions::aggregate_function::UserAggregateFunction;
use crate::plan::plan_sql;
use crate::result::TableResult;
use crate::stream_table::{resolve_stream_table, RowsToBatches, StreamTable};
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
/// assert_eq!(result.collect().unwrap()[0].fields, vec![Value::BigInt(2), Value::String("HI".into())]);
/// ```
#[derive(Clone)]
pub struct TableEnvironment {
    /// Shared by the environment's clones, on its one thread (the environment, like its
    /// `StreamExecutionEnvironment`, is not `Send`).
    catalog: Rc<RefCell<Catalog>>,
    settings: EnvironmentSettings,
    pub(crate) env: StreamExecutionEnvironment,
    /// How many tables without a name the environment has made (`UnnamedTable$n`).
    unnamed: Arc<Mutex<usize>>,
    /// `table.exec.state.ttl`: how long the state of a key of an aggregate or join is kept
    /// after it was last written; `None` keeps it for ever (Flink's default, `0 ms`).
    state_ttl: Rc<Cell<Option<Duration>>>,
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
            catalog: Rc::new(RefCell::new(Catalog::new())),
            settings,
            env,
            unnamed: Arc::new(Mutex::new(0)),
            state_ttl: Rc::new(Cell::new(None)),
        }
    }

    /// Applies Flink's settings in `config`: those of the jobs' environment (see
    /// [`StreamExecutionEnvironment::configure`]) and `table.exec.state.ttl`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pyflink_core::Configuration;
    /// use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
    ///
    /// let t_env = TableEnvironment::create(EnvironmentSettings::in_streaming_mode());
    /// let mut config = Configuration::new();
    /// config.set_string("table.exec.state.ttl", "1 h");
    /// t_env.configure(&config).unwrap();
    /// assert_eq!(t_env.state_ttl(), Some(Duration::from_secs(3600)));
    /// ```
    pub fn configure(&self, config: &Configuration) -> Result<&Self> {
        self.env.configure(config).map_err(|e| TableError::Validation(e.to_string()))?;
        if let Some(value) = config.get_string(STATE_TTL) {
            let ttl = pyflink_core::configuration::parse_duration(STATE_TTL, value)
                .map_err(|e| TableError::Validation(e.to_string()))?;
            self.set_state_ttl(Some(ttl));
        }
        Ok(self)
    }

    /// Sets how long the state of a key of an aggregate or join is kept after it was last
    /// written (Flink's `table.exec.state.ttl`, or `TableConfig.set_idle_state_retention`);
    /// `None` or zero keeps it for ever. Results that needed expired state are then incomplete.
    pub fn set_state_ttl(&self, ttl: Option<Duration>) -> &Self {
        self.state_ttl.set(ttl.filter(|ttl| !ttl.is_zero()));
        self
    }

    /// How long the state of a key of an aggregate or join is kept (see [`Self::set_state_ttl`]).
    pub fn state_ttl(&self) -> Option<Duration> {
        self.state_ttl.get()
    }

    /// The builder of the operators of queries over `catalog`.
    pub(crate) fn compiler<'a>(&'a self, catalog: &'a Catalog) -> Compiler<'a> {
        Compiler { env: &self.env, catalog, streaming: self.settings.streaming, state_ttl: self.state_ttl() }
    }

    pub(crate) fn catalog(&self) -> RefMut<'_, Catalog> {
        self.catalog.borrow_mut()
    }

    /// The environment whose jobs run the queries: set parallelism and checkpoints on it.
    pub fn stream_environment(&self) -> &StreamExecutionEnvironment {
        &self.env
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
        self.from_arrow(schema, vec![batch])
    }

    /// A table of Arrow record batches of `schema`, read in their order: the way in for data a
    /// Rust program already holds in Arrow.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use pyflink_table::datafusion::arrow::array::{Int64Array, RecordBatch};
    /// use pyflink_table::datafusion::arrow::datatypes::{DataType, Field, Schema};
    /// use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
    ///
    /// let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
    /// let batch = |values: Vec<i64>| RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(values))]).unwrap();
    /// let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    /// let numbers = t_env.from_arrow(schema.clone(), vec![batch(vec![1, 2]), batch(vec![3])]).unwrap();
    /// t_env.create_temporary_view("numbers", &numbers).unwrap();
    /// let total = t_env.execute_sql("SELECT SUM(n) AS total FROM numbers").unwrap().collect().unwrap();
    /// assert_eq!(total[0].to_string(), "+I[6]");
    /// ```
    pub fn from_arrow(&self, schema: SchemaRef, batches: Vec<RecordBatch>) -> Result<Table> {
        if let Some(other) = batches.iter().find(|batch| batch.schema() != schema) {
            return Err(TableError::Validation(format!(
                "a batch of schema {} among batches of schema {}",
                other.schema(),
                schema
            )));
        }
        let name = self.next_unnamed();
        let batches = batches.into_iter().map(ChangeBatch::inserts).collect();
        self.catalog().register(&name, CatalogTable { schema, data: TableData::Elements(batches) });
        self.from_path(&name)
    }

    /// The rows of `stream` as a table (Flink's `fromDataStream`). The rows hold the fields
    /// `row_type` names and types, in order; `schema` declares the table's columns, computed
    /// columns and watermark (see [`Schema`](crate::schema::Schema); an empty one keeps the
    /// fields as they are). The stream must belong to this environment's
    /// [`stream_environment`](Self::stream_environment).
    pub fn from_data_stream(
        &self,
        stream: &DataStream<Row>,
        row_type: &[(&str, DataType)],
        schema: &crate::schema::Schema,
    ) -> Result<Table> {
        let name = format!("{UNREGISTERED_STREAM}{}", self.next_count() + 1);
        let table = resolve_stream_table(&self.catalog(), &name, row_type, schema)?;
        let to_batches = RowsToBatches::new(row_type, Arc::clone(&table.read_schema))?;
        let rows = stream.process(to_batches).name("SourceConversion(DataStream to table)");
        let schema = Arc::clone(&table.schema);
        let data = TableData::Stream(StreamTable { table: Arc::new(table), rows });
        self.catalog().register(&name, CatalogTable { schema, data });
        self.from_path(&name)
    }

    /// The rows of `table` as a stream of this environment (Flink's `toDataStream`): its
    /// query becomes operators of the next job of [`stream_environment`](Self::stream_environment).
    /// The table must only ever grow (no aggregates without windows, no outer joins in
    /// streaming mode); read other tables with [`to_changelog_stream`](Self::to_changelog_stream).
    ///
    /// ```
    /// use pyflink_core::table::{Row, Value};
    /// use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
    /// use pyflink_table::types::DataType;
    ///
    /// let t_env = TableEnvironment::create(EnvironmentSettings::in_streaming_mode());
    /// let rows = vec![Row::of(vec![Value::BigInt(20)]), Row::of(vec![Value::BigInt(22)])];
    /// let table = t_env.from_elements(rows, &[("n", DataType::parse("BIGINT").unwrap())]).unwrap();
    /// let stream = t_env.to_data_stream(&t_env.sql_query(&format!("SELECT n * 2 AS twice FROM {table}")).unwrap()).unwrap();
    /// let twice: Vec<String> = stream.execute_and_collect().unwrap().map(|row| row.unwrap().to_string()).collect();
    /// assert_eq!(twice, vec!["+I[40]", "+I[44]"]);
    /// ```
    pub fn to_data_stream(&self, table: &Table) -> Result<DataStream<Row>> {
        let planned = self.compiler(&self.catalog()).compile(&table.plan)?;
        if planned.updates {
            return Err(TableError::Validation(
                "Table sink 'to_data_stream' doesn't support consuming update changes, which the query makes \
                 (an aggregate, an outer join); read it with to_changelog_stream"
                    .into(),
            ));
        }
        Ok(planned.stream.process(BatchesToRows).name("SinkConversion(table to DataStream)"))
    }

    /// The changes of `table` as a stream of rows with their [`RowKind`](pyflink_core::table::RowKind)s
    /// (Flink's `toChangelogStream`): `+I`, `-U`, `+U`, `-D` as the query emits them.
    pub fn to_changelog_stream(&self, table: &Table) -> Result<DataStream<Row>> {
        let planned = self.compiler(&self.catalog()).compile(&table.plan)?;
        Ok(planned.stream.process(BatchesToRows).name("SinkConversion(table to changelog)"))
    }

    /// A name for a table without one: `UnnamedTable$0`, `UnnamedTable$1`, ... as in Flink.
    pub(crate) fn next_unnamed(&self) -> String {
        format!("UnnamedTable${}", self.next_count())
    }

    /// How many tables without a name the environment had made, counting one more.
    fn next_count(&self) -> usize {
        let mut unnamed = self.unnamed.lock().unwrap_or_else(PoisonError::into_inner);
        *unnamed += 1;
        *unnamed - 1
    }

    /// The table or view registered as `path`.
    pub fn from_path(&self, path: &str) -> Result<Table> {
        let plan = crate::plan::analyze(self.scan(path)?)?;
        Ok(Table::new(self.clone(), plan))
    }

    fn scan(&self, path: &str) -> Result<LogicalPlan> {
        let catalog = self.catalog();
        let Some(table) = catalog.table(path) else { return Err(table_not_found(path)) };
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

    /// Adds `connector` to the connectors tables may name in their `'connector'` option (in
    /// place of one with the same identifier): the way in for connectors of other crates.
    pub fn register_connector(&self, connector: Arc<dyn TableConnector>) {
        self.catalog().connectors.register(connector);
    }

    /// Registers `function` for SQL and the Table API under its name (Flink's
    /// `create_temporary_system_function`): a scalar function of the program's, such as a Python
    /// function, which DataFusion calls on each batch of rows.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use pyflink_core::table::{Row, Value};
    /// use pyflink_table::datafusion::arrow::compute::kernels::numeric::add;
    /// use pyflink_table::datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};
    /// use pyflink_table::datafusion::arrow::datatypes::DataType as ArrowType;
    /// use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
    /// use pyflink_table::types::DataType;
    ///
    /// let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    /// let twice = Arc::new(|args: &[ColumnarValue]| {
    ///     let n = args[0].to_array(1)?;
    ///     Ok(ColumnarValue::Array(add(&n, &n)?))
    /// });
    /// t_env.create_temporary_system_function(create_udf("twice", vec![ArrowType::Int64], ArrowType::Int64, Volatility::Immutable, twice));
    /// let numbers = t_env.from_elements(vec![Row::of(vec![Value::BigInt(21)])], &[("n", DataType::parse("BIGINT").unwrap())]).unwrap();
    /// t_env.create_temporary_view("numbers", &numbers).unwrap();
    /// let rows = t_env.execute_sql("SELECT twice(n) AS answer FROM numbers").unwrap().collect().unwrap();
    /// assert_eq!(rows[0].to_string(), "+I[42]");
    /// ```
    pub fn create_temporary_system_function(&self, function: ScalarUDF) {
        self.catalog().functions.register_scalar(Arc::new(function));
    }

    /// Registers `function` as a table function for SQL and the Table API (Flink's
    /// `create_temporary_system_function` of a `TableFunction`): a scalar function whose result
    /// for each row is a list of rows (`List<Struct<..>>`, a type that must not depend on the
    /// arguments), read with `LATERAL TABLE(f(..))`, [`Table::flat_map`] or
    /// [`Table::join_lateral`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use pyflink_core::table::{Row, Value};
    /// use pyflink_table::datafusion::arrow::array::{Array, AsArray, Int64Array, ListArray, StructArray};
    /// use pyflink_table::datafusion::arrow::buffer::OffsetBuffer;
    /// use pyflink_table::datafusion::arrow::datatypes::{DataType as ArrowType, Field, Fields, Int64Type};
    /// use pyflink_table::datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};
    /// use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
    /// use pyflink_table::types::DataType;
    ///
    /// // count_to(n): the rows 1, 2, .., n.
    /// let fields = Fields::from(vec![Field::new("i", ArrowType::Int64, true)]);
    /// let rows = Arc::new(Field::new("item", ArrowType::Struct(fields.clone()), true));
    /// let result = ArrowType::List(Arc::clone(&rows));
    /// let count_to = Arc::new(move |args: &[ColumnarValue]| {
    ///     let n = args[0].to_array(1)?;
    ///     let lengths: Vec<usize> = n.as_primitive::<Int64Type>().values().iter().map(|&n| n as usize).collect();
    ///     let values = Int64Array::from_iter_values(lengths.iter().flat_map(|&n| 1..=n as i64));
    ///     let values = StructArray::new(fields.clone(), vec![Arc::new(values)], None);
    ///     let lists = ListArray::new(Arc::clone(&rows), OffsetBuffer::from_lengths(lengths), Arc::new(values), None);
    ///     Ok(ColumnarValue::Array(Arc::new(lists)))
    /// });
    /// let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    /// let function = create_udf("count_to", vec![ArrowType::Int64], result, Volatility::Immutable, count_to);
    /// t_env.create_temporary_system_table_function(function).unwrap();
    /// let numbers = t_env.from_elements(vec![Row::of(vec![Value::BigInt(2)])], &[("n", DataType::parse("BIGINT").unwrap())]).unwrap();
    /// t_env.create_temporary_view("numbers", &numbers).unwrap();
    /// let rows = t_env.execute_sql("SELECT n, i FROM numbers, LATERAL TABLE(count_to(n)) AS T(i)").unwrap().collect().unwrap();
    /// let rows: Vec<String> = rows.iter().map(ToString::to_string).collect();
    /// assert_eq!(rows, ["+I[2, 1]", "+I[2, 2]"]);
    /// ```
    pub fn create_temporary_system_table_function(&self, function: ScalarUDF) -> Result<()> {
        self.catalog().functions.register_table(Arc::new(function))
    }

    /// Registers `function` as an aggregate function for SQL and the Table API (Flink's
    /// `create_temporary_system_function` of an `AggregateFunction`), in GROUP BY queries,
    /// window aggregates and OVER windows; it replaces any function of its name.
    pub fn create_temporary_system_aggregate_function(&self, function: Arc<dyn UserAggregateFunction>) {
        let udaf = crate::functions::aggregate_function::UserAggregate::udaf(function);
        self.catalog().functions.register_aggregate(Arc::new(udaf));
    }

    /// Registers `function` as a table aggregate function (Flink's `TableAggregateFunction`)
    /// for [`GroupedTable::flat_aggregate`](crate::GroupedTable::flat_aggregate): an aggregate
    /// whose value for a group is a list of rows (`List<Struct<..>>`), each a row of the result.
    pub fn create_temporary_system_table_aggregate_function(
        &self,
        function: Arc<dyn UserAggregateFunction>,
    ) -> Result<()> {
        let rows = crate::functions::table_function::RowsOf::udf(
            crate::row_functions::rows_function(function.name()),
            function.result_type().clone(),
        );
        let mut catalog = self.catalog();
        catalog.functions.register_table(Arc::new(rows))?;
        let udaf = crate::functions::aggregate_function::UserAggregate::udaf(function);
        catalog.functions.register_aggregate(Arc::new(udaf));
        Ok(())
    }

    /// Forgets the view `name`; false if there was none.
    pub fn drop_temporary_view(&self, name: &str) -> bool {
        self.catalog().drop_table(name)
    }

    /// The names of the registered tables and views (those without names left out).
    pub fn list_tables(&self) -> Vec<String> {
        let unnamed = |name: &String| name.starts_with("UnnamedTable$") || name.starts_with(UNREGISTERED_STREAM);
        self.catalog().table_names().into_iter().filter(|name| !unnamed(name)).collect()
    }

    /// The query `sql` as a table, not run yet.
    pub fn sql_query(&self, sql: &str) -> Result<Table> {
        if !matches!(crate::ddl::parse_statement(sql)?, crate::ddl::Statement::Query(_)) {
            return Err(TableError::Validation(format!(
                "Unsupported SQL query! sql_query() only accepts a single SQL query; run other statements with \
                 execute_sql(): {sql}"
            )));
        }
        let plan = plan_sql(&self.catalog(), sql)?;
        Ok(Table::new(self.clone(), plan))
    }

    /// Starts `plan` as a job whose rows the result hands over as they come.
    fn run(&self, plan: &LogicalPlan) -> Result<TableResult> {
        let planned = {
            let catalog = self.catalog();
            self.compiler(&catalog).compile(plan)?
        };
        let columns = columns_of(&planned.schema)?;
        let batches = planned.stream.execute_and_collect().map_err(|e| TableError::Execution(e.to_string()))?;
        Ok(TableResult::of_query(columns, batches, self.settings.streaming))
    }
}

/// The rows of table batches, one by one with their kinds.
#[derive(Clone)]
struct BatchesToRows;

impl pyflink_core::ProcessFunction<ChangeBatch, Row> for BatchesToRows {
    fn process_element(
        &mut self,
        batch: ChangeBatch,
        ctx: &mut pyflink_core::ProcessContext<'_, Row>,
    ) -> pyflink_core::Result<()> {
        for row in batch_to_rows(&batch).map_err(|e| pyflink_core::FlinkError::Runtime(e.to_string()))? {
            ctx.collect(row);
        }
        Ok(())
    }
}

/// The setting of how long the state of aggregates and joins is kept.
const STATE_TTL: &str = "table.exec.state.ttl";

/// The start of the names of tables of streams (as Flink names them in plans).
const UNREGISTERED_STREAM: &str = "Unregistered_DataStream_Source_";

/// The name and Flink type of each column of `schema`.
fn columns_of(schema: &Schema) -> Result<Vec<(String, DataType)>> {
    schema.fields().iter().map(|field| Ok((field.name().clone(), DataType::from_arrow_field(field)?))).collect()
}

/// A query over registered tables, run when asked (Flink's `Table`). The operations of the
/// Table API on it are in [`crate::table_api`].
#[derive(Clone)]
pub struct Table {
    pub(crate) env: TableEnvironment,
    pub(crate) plan: LogicalPlan,
    /// The name SQL reads the table by, once it was asked for (`UnnamedTable$n`).
    pub(crate) name: Arc<OnceLock<String>>,
}

impl Table {
    pub(crate) fn new(env: TableEnvironment, plan: LogicalPlan) -> Self {
        Table { env, plan, name: Arc::new(OnceLock::new()) }
    }

    /// The table's columns: name and type.
    pub fn get_schema(&self) -> Result<Vec<(String, DataType)>> {
        columns_of(self.plan.schema().as_arrow())
    }

    /// Runs the query and returns its result.
    pub fn execute(&self) -> Result<TableResult> {
        self.env.run(&self.plan)
    }
}
