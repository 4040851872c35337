//! `execute_sql`: runs each kind of Flink SQL statement (DDL against the catalog, `SHOW`,
//! `DESCRIBE`, `EXPLAIN`, queries, `INSERT INTO`), and `StatementSet`, which runs several
//! `INSERT`s as one job.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType as ArrowType, SchemaRef};
use datafusion::common::{Column, ScalarValue};
use datafusion::logical_expr::{cast, col, lit, Expr, LogicalPlan, LogicalPlanBuilder};
use pyflink_core::table::Value;

use crate::catalog::{table_not_found, CatalogTable, TableData};
use crate::connector_table::ConnectorTable;
use crate::ddl::{parse_statement, Statement, TableDefinition};
use crate::environment::{Table, TableEnvironment};
use crate::error::{Result, TableError};
use crate::plan::analyze;
use crate::result::TableResult;
use crate::types::DataType;

/// An `INSERT INTO` planned: the table written and the query that writes it, whose columns are
/// those the table's connector writes.
struct PlannedInsert {
    table: Arc<ConnectorTable>,
    plan: LogicalPlan,
}

impl TableEnvironment {
    /// Runs one statement of Flink SQL: `CREATE TABLE`, `CREATE VIEW`, `DROP TABLE`, `DROP
    /// VIEW`, `SHOW TABLES`, `SHOW VIEWS`, `DESCRIBE`, `EXPLAIN`, `INSERT INTO` (whose job runs in
    /// the background: [`TableResult::wait`] waits for it) or a query (run to its end).
    ///
    /// ```
    /// use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
    ///
    /// let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    /// t_env.execute_sql("CREATE TABLE numbers (n BIGINT) WITH ('connector' = 'datagen',
    ///     'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = '100')").unwrap();
    /// let total = t_env.execute_sql("SELECT SUM(n) AS total FROM numbers").unwrap().collect().unwrap();
    /// assert_eq!(total[0].to_string(), "+I[5050]");
    /// ```
    pub fn execute_sql(&self, sql: &str) -> Result<TableResult> {
        match parse_statement(sql)? {
            Statement::CreateTable { definition, if_not_exists } => self.create_table(definition, if_not_exists),
            Statement::CreateView { name, query, if_not_exists } => {
                if if_not_exists && self.catalog().table(&name).is_some() {
                    return Ok(TableResult::ok());
                }
                let view = self.sql_query(&query)?;
                self.create_temporary_view(&name, &view)?;
                Ok(TableResult::ok())
            }
            Statement::Drop { name, if_exists, view } => self.drop(&name, if_exists, view),
            Statement::CreateFunction { name, identifier, language, if_not_exists } => {
                if if_not_exists && self.catalog().functions.contains(&name) {
                    return Ok(TableResult::ok());
                }
                Err(match language.as_str() {
                    "PYTHON" => TableError::Unsupported(format!(
                        "CREATE FUNCTION {name} AS '{identifier}' LANGUAGE PYTHON runs in Python's execute_sql, which \
                         imports the function; a Rust program registers its functions with \
                         create_temporary_system_function"
                    )),
                    other => TableError::Unsupported(format!(
                        "functions in {other} ('{identifier}') need a JVM, which pyflink-rs does not have: write the \
                         function in Python (LANGUAGE PYTHON) or Rust"
                    )),
                })
            }
            Statement::DropFunction { name, if_exists } => {
                if self.catalog().functions.drop(&name) || if_exists {
                    Ok(TableResult::ok())
                } else {
                    Err(TableError::Validation(format!("Temporary system function {name} doesn't exist")))
                }
            }
            Statement::Show { views } => {
                let catalog = self.catalog();
                let names = if views { catalog.view_names() } else { catalog.table_names() };
                let rows = names
                    .into_iter()
                    .filter(|name| !name.starts_with("UnnamedTable$"))
                    .map(|name| vec![Value::String(name)])
                    .collect();
                Ok(TableResult::of_strings(&[if views { "view name" } else { "table name" }], rows))
            }
            Statement::Describe { name } => self.describe(&name),
            Statement::Explain { details, query } => {
                let explained = self.sql_query(&query)?.explain_with(&details)?;
                Ok(TableResult::of_strings(&["result"], vec![vec![Value::String(explained)]]))
            }
            Statement::Insert { table, columns, query } => {
                let insert = self.plan_insert(&table, columns.as_deref(), &self.sql_query(&query)?)?;
                self.start_job(vec![insert])
            }
            Statement::Query(sql) => self.sql_query(&sql)?.execute(),
        }
    }

    /// A set of `INSERT`s to run as one job (Flink's `create_statement_set`).
    pub fn create_statement_set(&self) -> StatementSet {
        StatementSet { env: self.clone(), inserts: Vec::new() }
    }

    fn create_table(&self, definition: TableDefinition, if_not_exists: bool) -> Result<TableResult> {
        let name = definition.name.clone();
        let mut catalog = self.catalog();
        if catalog.table(&name).is_some() {
            if if_not_exists {
                return Ok(TableResult::ok());
            }
            return Err(TableError::Catalog(format!(
                "Table `{name}` already exists in default_catalog.default_database; drop it first, or write CREATE \
                 TABLE IF NOT EXISTS"
            )));
        }
        let table = ConnectorTable::resolve(&catalog, definition)?;
        let schema = Arc::clone(&table.schema);
        catalog.register(&name, CatalogTable { schema, data: TableData::Connector(Arc::new(table)) });
        Ok(TableResult::ok())
    }

    fn drop(&self, name: &str, if_exists: bool, view: bool) -> Result<TableResult> {
        let mut catalog = self.catalog();
        match catalog.table(name) {
            None if if_exists => return Ok(TableResult::ok()),
            None => {
                let what = if view { "View" } else { "Table" };
                return Err(TableError::Catalog(format!(
                    "{what} with identifier 'default_catalog.default_database.{name}' does not exist."
                )));
            }
            Some(table) if table.is_view() != view => {
                let (is, use_instead) = if view { ("a table", "DROP TABLE") } else { ("a view", "DROP VIEW") };
                return Err(TableError::Catalog(format!("'{name}' is {is}; drop it with {use_instead}")));
            }
            Some(_) => {}
        }
        catalog.drop_table(name);
        Ok(TableResult::ok())
    }

    fn describe(&self, name: &str) -> Result<TableResult> {
        let catalog = self.catalog();
        let Some(table) = catalog.table(name) else { return Err(table_not_found(name)) };
        let rows: Vec<[String; 6]> = match &table.data {
            TableData::Connector(table) => table.describe(),
            TableData::Stream(stream) => stream.table.describe(),
            _ => table
                .schema
                .fields()
                .iter()
                .map(|field| {
                    let data_type = crate::types::flink_name(field.data_type());
                    let nullable = if field.is_nullable() { "TRUE" } else { "FALSE" };
                    [field.name().clone(), data_type, nullable.into(), String::new(), String::new(), String::new()]
                })
                .collect(),
        };
        let rows = rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .enumerate()
                    .map(|(i, text)| if i == 2 { Value::Boolean(text == "TRUE") } else { Value::String(text) })
                    .collect()
            })
            .collect();
        let mut result = TableResult::of_strings(&["name", "type", "null", "key", "extras", "watermark"], rows);
        result.set_column_type(2, DataType::parse("BOOLEAN")?);
        Ok(result)
    }

    /// `query` written into `table_name`, with its columns cast to the table's types (or, with
    /// a column list, to the listed columns, the others NULL).
    fn plan_insert(&self, table_name: &str, columns: Option<&[String]>, query: &Table) -> Result<PlannedInsert> {
        let table = match self.catalog().table(table_name).map(|table| &table.data) {
            Some(TableData::Connector(table)) => Arc::clone(table),
            Some(_) => {
                return Err(TableError::Validation(format!(
                    "'{table_name}' is a view, and views cannot be written; INSERT INTO a table of a connector"
                )))
            }
            None => return Err(table_not_found(table_name)),
        };
        let sink = Arc::clone(&table.write_schema);
        let query_schema = query.plan.schema();
        let targets: Vec<usize> = match columns {
            None => (0..sink.fields().len()).collect(),
            Some(names) => names
                .iter()
                .map(|name| {
                    sink.index_of(name).map_err(|_| {
                        TableError::Validation(format!("Unknown target column '{name}' of table '{table_name}'"))
                    })
                })
                .collect::<Result<_>>()?,
        };
        if targets.len() != query_schema.fields().len() {
            return Err(schema_mismatch(
                table_name,
                &format!(
                    "the query has {} columns and the sink {} (to write)",
                    query_schema.fields().len(),
                    targets.len()
                ),
                query_schema.as_arrow(),
                &sink,
            ));
        }
        let literals = writes_literals(&query.plan);
        let mut expressions = Vec::with_capacity(sink.fields().len());
        for (position, target) in sink.fields().iter().enumerate() {
            let expression = match targets.iter().position(|&t| t == position) {
                Some(source) => {
                    let (qualifier, field) = query_schema.qualified_field(source);
                    let column = col(Column::from((qualifier, field)));
                    if field.data_type() == target.data_type() {
                        column
                    } else if implicitly_castable(field.data_type(), target.data_type())
                        || (literals && field.data_type().is_numeric() && target.data_type().is_numeric())
                    {
                        cast(column, target.data_type().clone())
                    } else {
                        return Err(schema_mismatch(
                            table_name,
                            &format!("Incompatible types for sink column '{}' at position {position}.", target.name()),
                            query_schema.as_arrow(),
                            &sink,
                        ));
                    }
                }
                None if target.is_nullable() => lit(ScalarValue::try_from(target.data_type())?),
                None => {
                    return Err(TableError::Validation(format!(
                        "Column '{}' of table '{table_name}' has no default value and does not allow NULLs; list it \
                         among the INSERT's columns",
                        target.name()
                    )))
                }
            };
            expressions.push(expression.alias(target.name()));
        }
        let plan = analyze(LogicalPlanBuilder::from(query.plan.clone()).project(expressions)?.build()?)?;
        Ok(PlannedInsert { table, plan })
    }

    /// Builds the operators of `inserts` and their sinks, and starts them as one job.
    fn start_job(&self, inserts: Vec<PlannedInsert>) -> Result<TableResult> {
        let built = (|| {
            let catalog = self.catalog();
            let compiler = self.compiler(&catalog);
            for insert in &inserts {
                let planned = compiler.compile(&insert.plan)?;
                let table = &insert.table;
                let connector = catalog.connectors.of_table(&table.definition.name, &table.definition.options)?;
                let mut context = table.context(&self.env, compiler.streaming, true);
                if planned.updates && table.upsert_by_query_key {
                    // Flink 1.10's JDBC sink: updates written by the query's unique key.
                    context.primary_key = unique_key(&insert.plan);
                }
                if planned.updates && !connector.consumes_updates(&context) {
                    return Err(TableError::Validation(format!(
                        "Table sink 'default_catalog.default_database.{}' doesn't support consuming update changes, \
                         which the query makes (an aggregate, an outer join); the '{}' connector writes insertions \
                         only",
                        table.definition.name,
                        connector.identifier()
                    )));
                }
                connector.sink(&context, planned.stream)?;
            }
            Ok(())
        })();
        if let Err(error) = built {
            self.env.discard_unexecuted_sinks();
            return Err(error);
        }
        let sinks: Vec<String> = inserts.iter().map(|insert| insert.table.definition.name.clone()).collect();
        let job_name = format!(
            "insert-into_{}",
            sinks.iter().map(|sink| format!("default_catalog.default_database.{sink}")).collect::<Vec<_>>().join(",")
        );
        let client = self.env.execute_async(&job_name).map_err(|e| TableError::Execution(e.to_string()))?;
        Ok(TableResult::of_job(&sinks, client))
    }
}

impl Table {
    /// Writes the table's rows into the table `table_name`, in a job of its own, and returns
    /// at once: [`TableResult::wait`] waits for the job (Flink's `execute_insert`).
    pub fn execute_insert(&self, table_name: &str) -> Result<TableResult> {
        let insert = self.env.plan_insert(table_name, None, self)?;
        self.env.start_job(vec![insert])
    }
}

/// `INSERT`s to run as one job (Flink's `StatementSet`).
pub struct StatementSet {
    env: TableEnvironment,
    inserts: Vec<PlannedInsert>,
}

impl StatementSet {
    /// Adds an `INSERT INTO` statement.
    pub fn add_insert_sql(&mut self, sql: &str) -> Result<&mut Self> {
        match parse_statement(sql)? {
            Statement::Insert { table, columns, query } => {
                let query = self.env.sql_query(&query)?;
                let insert = self.env.plan_insert(&table, columns.as_deref(), &query)?;
                self.inserts.push(insert);
                Ok(self)
            }
            _ => Err(TableError::Validation(format!(
                "only INSERT statements can be added to a statement set, not: {sql}"
            ))),
        }
    }

    /// Adds the writing of `table`'s rows into the table `table_name`.
    pub fn add_insert(&mut self, table_name: &str, table: &Table) -> Result<&mut Self> {
        let insert = self.env.plan_insert(table_name, None, table)?;
        self.inserts.push(insert);
        Ok(self)
    }

    /// Starts one job running every `INSERT` added, and empties the set.
    pub fn execute(&mut self) -> Result<TableResult> {
        if self.inserts.is_empty() {
            return Err(TableError::Validation(
                "No operators defined in the statement set: add INSERT statements before executing it".into(),
            ));
        }
        self.env.start_job(std::mem::take(&mut self.inserts))
    }
}

/// Flink's error for a query whose columns do not fit the table it is inserted into.
fn schema_mismatch(
    table: &str,
    cause: &str,
    query: &datafusion::arrow::datatypes::Schema,
    sink: &SchemaRef,
) -> TableError {
    let describe = |fields: &datafusion::arrow::datatypes::Fields| {
        fields
            .iter()
            .map(|field| {
                let data_type = crate::types::flink_name_of_field(field);
                format!("{}: {data_type}", field.name())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    TableError::Validation(format!(
        "Column types of query result and sink for 'default_catalog.default_database.{table}' do not match.\n\
         Cause: {cause}\n\nQuery schema: [{}]\nSink schema:  [{}]",
        describe(query.fields()),
        describe(sink.fields())
    ))
}

/// Whether Flink casts a value of type `from` to `to` without being asked: to a wider number,
/// between string types and between timestamps, and NULL to anything.
/// Whether `plan` writes rows of literals (`INSERT INTO t VALUES (1, 'a')`): Flink types a
/// literal by its value (`1` is an `INT`), where the planner makes every integer a `BIGINT`, so
/// numbers of such rows go into any numeric column.
fn writes_literals(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Values(_) => true,
        LogicalPlan::Projection(projection) => writes_literals(&projection.input),
        LogicalPlan::SubqueryAlias(alias) => writes_literals(&alias.input),
        _ => false,
    }
}

fn implicitly_castable(from: &ArrowType, to: &ArrowType) -> bool {
    use ArrowType::*;
    let numeric_rank = |t: &ArrowType| match t {
        Int8 => Some(1),
        Int16 => Some(2),
        Int32 => Some(3),
        Int64 => Some(4),
        Decimal128(..) => Some(5),
        Float32 => Some(6),
        Float64 => Some(7),
        _ => None,
    };
    match (from, to) {
        (Null, _) => true,
        (a, b) if a == b => true,
        (Decimal128(..), Decimal128(..)) => true,
        (a, b) if numeric_rank(a).is_some() && numeric_rank(b).is_some() => numeric_rank(a) <= numeric_rank(b),
        (Utf8 | LargeUtf8 | Utf8View, Utf8 | LargeUtf8 | Utf8View) => true,
        (Binary | LargeBinary | BinaryView, Binary | LargeBinary | BinaryView) => true,
        // TIMESTAMP and TIMESTAMP_LTZ convert both ways, in the session time zone (UTC).
        (Timestamp(..), Timestamp(..)) => true,
        (List(a), List(b)) => implicitly_castable(a.data_type(), b.data_type()),
        // A MAP or ROW of castable parts (a NOT NULL part into a nullable one, for one).
        (Map(a, _), Map(b, _)) => implicitly_castable(a.data_type(), b.data_type()),
        (Struct(a), Struct(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| implicitly_castable(a.data_type(), b.data_type()))
        }
        _ => false,
    }
}

/// The positions of columns of `plan`'s rows that no two rows share (the GROUP BY keys of an
/// aggregate, through the projections, filters and aliases above it), if the plan says.
fn unique_key(plan: &LogicalPlan) -> Option<Vec<usize>> {
    match plan {
        LogicalPlan::Aggregate(aggregate) if !aggregate.group_expr.is_empty() => {
            Some((0..aggregate.group_expr.len()).collect())
        }
        LogicalPlan::Projection(projection) => {
            let input = projection.input.schema();
            unique_key(&projection.input)?
                .into_iter()
                .map(|position| {
                    let key = Column::from(input.qualified_field(position));
                    projection.expr.iter().position(|expression| is_column(expression, &key))
                })
                .collect()
        }
        LogicalPlan::Filter(filter) => unique_key(&filter.input),
        LogicalPlan::SubqueryAlias(alias) => unique_key(&alias.input),
        LogicalPlan::Sort(sort) => unique_key(&sort.input),
        LogicalPlan::Limit(limit) => unique_key(&limit.input),
        _ => None,
    }
}

/// Whether `expression` is `column`, perhaps renamed or cast.
fn is_column(expression: &Expr, column: &Column) -> bool {
    match expression {
        Expr::Column(found) => found == column,
        Expr::Alias(alias) => is_column(&alias.expr, column),
        Expr::Cast(cast) => is_column(&cast.expr, column),
        Expr::TryCast(cast) => is_column(&cast.expr, column),
        _ => false,
    }
}
