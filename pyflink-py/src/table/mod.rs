//! Tables from Python (`pyflink_rs.table`): a `TableDescriptor` crosses as a [`TableSpec`],
//! becomes the engine's [`TableDescriptor`], and its rows reach Python as PyFlink `Row`s
//! with the schema's column names. SQL and the Table API run through [`sql`], tables of
//! Python DataStreams through [`stream`], the Table API's windows through [`windows`], Python
//! scalar functions through [`udf`], table functions through [`udtf`], aggregate functions
//! through [`udaf`] and pandas functions through [`vectorized`]; their arguments and results
//! cross column by column through [`arrow_python`], and each operator instance has its own
//! instance of each function ([`instance`]: opened here in thread mode, a worker process in
//! process mode).

pub mod arrow_python;
pub mod instance;
pub mod lateral;
pub mod sql;
pub mod stream;
pub mod udaf;
pub mod udf;
pub mod udtf;
pub mod vectorized;
pub mod windows;

use std::collections::HashMap;
use std::sync::Arc;

use pyflink_core::table::{DataType, Schema, StreamTableEnvironment, TableDescriptor};
use pyflink_core::{DataStream, StreamExecutionEnvironment};

use crate::plan::{stream, Environment, Step, Stream};
use crate::python_rows::RowsToPython;
use crate::types::{BasicType, TypeInfo};
use crate::value::PyValue;
use crate::JobError;

/// A column's type (`DataTypes.INT()`, ...), as `api.udl` declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// `BOOLEAN`.
    Boolean,
    /// `TINYINT`.
    TinyInt,
    /// `SMALLINT`.
    SmallInt,
    /// `INT`.
    Int,
    /// `BIGINT`.
    BigInt,
    /// `FLOAT`.
    Float,
    /// `DOUBLE`.
    Double,
    /// `CHAR(length)`.
    Char {
        /// The number of characters.
        length: u32,
    },
    /// `VARCHAR(length)`.
    Varchar {
        /// The largest number of characters.
        length: u32,
    },
    /// `STRING`.
    String,
}

/// A column of a table's schema.
#[derive(Debug, Clone)]
pub struct ColumnSpec {
    /// The column's name.
    pub name: String,
    /// The column's type.
    pub data_type: ColumnType,
}

/// A table as PyFlink's `TableDescriptor` describes it.
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// The connector that reads the table (`datagen`).
    pub connector: String,
    /// The table's columns.
    pub columns: Vec<ColumnSpec>,
    /// The connector's options.
    pub options: HashMap<String, String>,
}

impl From<ColumnType> for DataType {
    fn from(column: ColumnType) -> Self {
        match column {
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::TinyInt => DataType::TinyInt,
            ColumnType::SmallInt => DataType::SmallInt,
            ColumnType::Int => DataType::Int,
            ColumnType::BigInt => DataType::BigInt,
            ColumnType::Float => DataType::Float,
            ColumnType::Double => DataType::Double,
            ColumnType::Char { length } => DataType::Char(length),
            ColumnType::Varchar { length } => DataType::Varchar(length),
            ColumnType::String => DataType::String,
        }
    }
}

/// The Python type of a column's values.
pub(crate) fn type_info(data_type: DataType) -> TypeInfo {
    let kind = match data_type {
        DataType::Boolean => BasicType::Boolean,
        DataType::TinyInt => BasicType::Byte,
        DataType::SmallInt => BasicType::Short,
        DataType::Int => BasicType::Int,
        DataType::BigInt => BasicType::Long,
        DataType::Float => BasicType::Float,
        DataType::Double => BasicType::Double,
        DataType::Char(_) | DataType::Varchar(_) | DataType::String => BasicType::String,
    };
    TypeInfo::Basic { kind }
}

/// The engine's descriptor of `spec`, checked as the connector would check it.
fn descriptor(spec: TableSpec) -> Result<TableDescriptor, JobError> {
    let mut schema = Schema::new_builder();
    for column in spec.columns {
        schema = schema.column(column.name, column.data_type.into());
    }
    let mut builder = TableDescriptor::for_connector(spec.connector).schema(schema.build()?);
    for (key, value) in spec.options {
        builder = builder.option(key, value);
    }
    let descriptor = builder.build()?;
    let env = StreamExecutionEnvironment::get_execution_environment();
    StreamTableEnvironment::create(&env).from_descriptor(descriptor.clone()).validate()?;
    Ok(descriptor)
}

impl Environment {
    /// The rows of the table `table`, as PyFlink `Row`s named by its columns.
    pub fn from_table(&self, table: TableSpec) -> Result<Arc<Stream>, JobError> {
        let descriptor = descriptor(table)?;
        let columns = descriptor.schema().columns();
        let row_type = TypeInfo::Row {
            names: columns.iter().map(|c| c.name.clone()).collect(),
            fields: columns.iter().map(|c| type_info(c.data_type)).collect(),
        };
        stream(&self.plan, Step::Table { descriptor }, Some(row_type))
    }
}

/// The rows of the table `descriptor` in the job of `env`, as Python rows.
pub(crate) fn rows_in_python(
    env: &StreamExecutionEnvironment,
    descriptor: &TableDescriptor,
) -> pyflink_core::Result<DataStream<PyValue>> {
    let t_env = StreamTableEnvironment::create(env);
    let rows = t_env.to_data_stream(&t_env.from_descriptor(descriptor.clone()))?;
    let names = descriptor.schema().column_names().into_iter().map(str::to_string).collect();
    Ok(rows.process(RowsToPython::new(names)).name("Rows to Python"))
}
