//! `StreamTableEnvironment`: tables registered by name, read as streams of rows.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::sources::DataGenSource;
use crate::table::datagen::datagen_source;
use crate::table::{Row, Schema, TableDescriptor};
use crate::time::WatermarkStrategy;
use crate::{DataStream, FlinkError, Result, StreamExecutionEnvironment};

/// The connectors a table can read from.
const CONNECTORS: &str = "datagen";

/// The table side of a streaming program, on its [`StreamExecutionEnvironment`]: a catalog
/// of temporary tables, and the conversion of tables into data streams.
///
/// ```
/// use pyflink_core::table::{DataType, Schema, StreamTableEnvironment, TableDescriptor};
/// use pyflink_core::StreamExecutionEnvironment;
///
/// let env = StreamExecutionEnvironment::get_execution_environment();
/// let t_env = StreamTableEnvironment::create(&env);
/// let schema = Schema::new_builder().column("id", pyflink_core::table::DataType::BigInt).build().unwrap();
/// let numbers = TableDescriptor::for_connector("datagen")
///     .schema(schema)
///     .option("fields.id.kind", "sequence")
///     .option("fields.id.start", "1")
///     .option("fields.id.end", "3")
///     .build()
///     .unwrap();
/// t_env.create_temporary_table("numbers", numbers).unwrap();
/// let rows = t_env.to_data_stream(&t_env.from_path("numbers").unwrap()).unwrap();
/// let mut ids: Vec<String> = rows.execute_and_collect().unwrap().map(|row| row.unwrap().to_string()).collect();
/// ids.sort();
/// assert_eq!(ids, ["+I[1]", "+I[2]", "+I[3]"]);
/// ```
#[derive(Clone)]
pub struct StreamTableEnvironment {
    env: StreamExecutionEnvironment,
    tables: Rc<RefCell<BTreeMap<String, TableDescriptor>>>,
}

/// A table: where its rows come from, and its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    descriptor: TableDescriptor,
}

impl Table {
    /// The table's columns.
    pub fn get_schema(&self) -> &Schema {
        self.descriptor.schema()
    }

    /// What the table reads from.
    pub fn descriptor(&self) -> &TableDescriptor {
        &self.descriptor
    }

    /// Checks, without reading, that the table's connector can read it as described.
    pub fn validate(&self) -> Result<()> {
        TableSource::of(&self.descriptor).map(|_| ())
    }
}

/// The source that reads a table, by connector.
enum TableSource {
    DataGen(DataGenSource<Row>),
}

impl TableSource {
    fn of(descriptor: &TableDescriptor) -> Result<Self> {
        match descriptor.connector() {
            "datagen" => Ok(TableSource::DataGen(datagen_source(descriptor)?)),
            other => Err(FlinkError::InvalidProgram(format!(
                "no table connector '{other}'; the connectors tables read from are: {CONNECTORS}"
            ))),
        }
    }
}

impl StreamTableEnvironment {
    /// The table environment of `env`: tables it turns into streams join `env`'s job.
    pub fn create(env: &StreamExecutionEnvironment) -> Self {
        StreamTableEnvironment { env: env.clone(), tables: Rc::default() }
    }

    /// Registers `descriptor` as the temporary table `path`; fails if the name is taken.
    pub fn create_temporary_table(&self, path: &str, descriptor: TableDescriptor) -> Result<()> {
        let mut tables = self.tables.borrow_mut();
        if tables.contains_key(path) {
            return Err(FlinkError::InvalidProgram(format!("temporary table '{path}' already exists")));
        }
        tables.insert(path.to_string(), descriptor);
        Ok(())
    }

    /// The temporary tables' names, sorted.
    pub fn list_temporary_tables(&self) -> Vec<String> {
        self.tables.borrow().keys().cloned().collect()
    }

    /// The table registered as `path`.
    pub fn from_path(&self, path: &str) -> Result<Table> {
        match self.tables.borrow().get(path) {
            Some(descriptor) => Ok(Table { descriptor: descriptor.clone() }),
            None => Err(FlinkError::InvalidProgram(format!(
                "table '{path}' was not found; register it first with create_temporary_table"
            ))),
        }
    }

    /// An unregistered table that reads what `descriptor` describes.
    pub fn from_descriptor(&self, descriptor: TableDescriptor) -> Table {
        Table { descriptor }
    }

    /// The rows of `table` as a data stream; fails if its connector cannot read.
    pub fn to_data_stream(&self, table: &Table) -> Result<DataStream<Row>> {
        match TableSource::of(&table.descriptor)? {
            TableSource::DataGen(source) => {
                Ok(self.env.from_source(source, WatermarkStrategy::no_watermarks(), "datagen"))
            }
        }
    }
}
