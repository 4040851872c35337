//! `Catalog`: the tables and views a table environment knows by name, and what DataFusion's SQL
//! planner asks of them (their schemas, and the built-in functions), answered without any
//! DataFusion session or async runtime.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType as ArrowType, FieldRef, SchemaRef};
use datafusion::common::{plan_err, TableReference};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::builder::LogicalTableSource;
use datafusion::logical_expr::planner::{ContextProvider, ExprPlanner, TypePlanner};
use datafusion::logical_expr::{AggregateUDF, HigherOrderUDF, LogicalPlan, ScalarUDF, TableSource, WindowUDF};
use datafusion::sql::sqlparser::ast::DataType as SqlDataType;

use crate::batch::ChangeBatch;
use crate::connector_table::ConnectorTable;
use crate::connectors::Connectors;
use crate::error::TableError;
use crate::functions::Functions;
use crate::stream_table::StreamTable;

/// What a table's rows come from.
#[derive(Debug, Clone)]
pub(crate) enum TableData {
    /// Rows given to the environment (`from_elements`), as batches.
    Elements(Vec<ChangeBatch>),
    /// A view: the query whose rows it has, inlined into the queries that read it.
    View(Box<LogicalPlan>),
    /// A table of a connector, declared by `CREATE TABLE`.
    Connector(Arc<ConnectorTable>),
    /// A table of a DataStream's rows (`from_data_stream`).
    Stream(StreamTable),
}

/// A table known by name: its schema and where its rows come from.
#[derive(Debug, Clone)]
pub(crate) struct CatalogTable {
    pub(crate) schema: SchemaRef,
    pub(crate) data: TableData,
}

impl CatalogTable {
    /// Whether this is a view (`SHOW VIEWS` lists these), rather than a table of a connector.
    pub(crate) fn is_view(&self) -> bool {
        !matches!(self.data, TableData::Connector(_))
    }
}

/// The tables of an environment, and the functions SQL may call.
#[derive(Debug)]
pub(crate) struct Catalog {
    tables: BTreeMap<String, CatalogTable>,
    pub(crate) functions: Functions,
    pub(crate) connectors: Connectors,
}

impl Catalog {
    pub(crate) fn new() -> Self {
        Catalog { tables: BTreeMap::new(), functions: Functions::built_in(), connectors: Connectors::built_in() }
    }

    /// Registers `table` as `name`; false if the name is taken.
    pub(crate) fn register(&mut self, name: &str, table: CatalogTable) -> bool {
        if self.tables.contains_key(name) {
            return false;
        }
        self.tables.insert(name.to_string(), table);
        true
    }

    /// Forgets the table `name`; false if there was none.
    pub(crate) fn drop_table(&mut self, name: &str) -> bool {
        self.tables.remove(name).is_some()
    }

    pub(crate) fn table(&self, name: &str) -> Option<&CatalogTable> {
        self.tables.get(name)
    }

    /// The names of the tables, sorted.
    pub(crate) fn table_names(&self) -> Vec<String> {
        self.tables.keys().cloned().collect()
    }

    /// The names of the views, sorted.
    pub(crate) fn view_names(&self) -> Vec<String> {
        self.tables.iter().filter(|(_, table)| table.is_view()).map(|(name, _)| name.clone()).collect()
    }

    /// What a plan scanning `table` reads: its schema, and a view's query.
    pub(crate) fn source_of(table: &CatalogTable) -> Arc<dyn TableSource> {
        match &table.data {
            TableData::Elements(_) | TableData::Connector(_) | TableData::Stream(_) => {
                Arc::new(LogicalTableSource::new(Arc::clone(&table.schema)))
            }
            TableData::View(plan) => Arc::new(ViewSource { schema: Arc::clone(&table.schema), plan: (**plan).clone() }),
        }
    }

    /// What DataFusion's planner asks for while it plans a statement.
    pub(crate) fn planning_context(&self) -> PlanningContext<'_> {
        PlanningContext { catalog: self, options: ConfigOptions::default() }
    }
}

/// The error of a table name the catalog does not know, as Flink words it.
pub(crate) fn table_not_found(name: &str) -> TableError {
    TableError::Catalog(format!("Table `{name}` was not found."))
}

/// A view as the planner sees it: DataFusion's analyzer puts its query where it is read.
#[derive(Debug)]
struct ViewSource {
    schema: SchemaRef,
    plan: LogicalPlan,
}

impl TableSource for ViewSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn get_logical_plan(&self) -> Option<Cow<'_, LogicalPlan>> {
        Some(Cow::Borrowed(&self.plan))
    }
}

/// The catalog as DataFusion's SQL planner sees it.
pub(crate) struct PlanningContext<'a> {
    catalog: &'a Catalog,
    options: ConfigOptions,
}

/// Flink's types that DataFusion's SQL planner does not know (`TIMESTAMP_LTZ(3)` in a `CAST`),
/// planned as the table types they name.
#[derive(Debug)]
struct FlinkTypes;

impl TypePlanner for FlinkTypes {
    fn plan_type_field(&self, sql_type: &SqlDataType) -> datafusion::common::Result<Option<FieldRef>> {
        let SqlDataType::Custom(..) = sql_type else { return Ok(None) };
        match crate::types::DataType::parse(&sql_type.to_string()) {
            Ok(data_type) => Ok(Some(Arc::new(data_type.to_arrow_field("")))),
            Err(_) => Ok(None),
        }
    }
}

/// DataFusion's planners of SQL expressions that are more than function calls: `ARRAY[..]`,
/// `MAP[..]`, field and item access, `EXTRACT`, `POSITION`, `SUBSTRING .. FROM`, ... Not its
/// aggregate and window planners, which would rewrite `COUNT(*)` into `count(1)`.
static EXPRESSION_PLANNERS: LazyLock<Vec<Arc<dyn ExprPlanner>>> = LazyLock::new(|| {
    vec![
        Arc::new(datafusion::functions::core::planner::CoreFunctionPlanner::default()),
        Arc::new(datafusion::functions_nested::planner::NestedFunctionPlanner),
        Arc::new(datafusion::functions_nested::planner::FieldAccessPlanner),
        Arc::new(datafusion::functions::datetime::planner::DatetimeFunctionPlanner),
        Arc::new(datafusion::functions::unicode::planner::UnicodeFunctionPlanner),
    ]
});

impl ContextProvider for PlanningContext<'_> {
    fn get_type_planner(&self) -> Option<Arc<dyn TypePlanner>> {
        Some(Arc::new(FlinkTypes))
    }

    fn get_expr_planners(&self) -> &[Arc<dyn ExprPlanner>] {
        &EXPRESSION_PLANNERS
    }

    fn get_table_source(&self, name: TableReference) -> datafusion::common::Result<Arc<dyn TableSource>> {
        let table = name.table();
        match self.catalog.table(table) {
            Some(found) if name.schema().is_none() => Ok(Catalog::source_of(found)),
            _ => plan_err!("Object '{table}' not found"),
        }
    }

    fn get_table_function_source(
        &self,
        name: &str,
        args: Vec<datafusion::logical_expr::Expr>,
    ) -> datafusion::common::Result<Arc<dyn TableSource>> {
        let lateral = || crate::functions::table_function::lateral_source(self.catalog, name, &args);
        let window = || crate::windows::window_source(self.catalog, name, &args);
        match crate::temporal_join::lookup_source(self.catalog, name, &args).or_else(window).or_else(lateral) {
            Some(source) => source,
            None => plan_err!("there is no table function '{name}'"),
        }
    }

    fn get_function_meta(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        self.catalog.functions.scalar.get(&name.to_ascii_lowercase()).cloned()
    }

    fn get_higher_order_meta(&self, _name: &str) -> Option<Arc<HigherOrderUDF>> {
        None
    }

    fn get_aggregate_meta(&self, name: &str) -> Option<Arc<AggregateUDF>> {
        self.catalog.functions.aggregate.get(&name.to_ascii_lowercase()).cloned()
    }

    fn get_window_meta(&self, name: &str) -> Option<Arc<WindowUDF>> {
        self.catalog.functions.window.get(&name.to_ascii_lowercase()).cloned()
    }

    fn get_variable_type(&self, _variable_names: &[String]) -> Option<ArrowType> {
        None
    }

    fn get_variable_field(&self, _variable_names: &[String]) -> Option<FieldRef> {
        None
    }

    fn options(&self) -> &ConfigOptions {
        &self.options
    }

    fn udf_names(&self) -> Vec<String> {
        self.catalog.functions.scalar.keys().cloned().collect()
    }

    fn higher_order_function_names(&self) -> Vec<String> {
        Vec::new()
    }

    fn udaf_names(&self) -> Vec<String> {
        self.catalog.functions.aggregate.keys().cloned().collect()
    }

    fn udwf_names(&self) -> Vec<String> {
        self.catalog.functions.window.keys().cloned().collect()
    }
}
