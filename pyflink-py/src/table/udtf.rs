//! Python table functions (`@udtf`, `TableFunction`): a `PythonTableFunction` is a
//! DataFusion scalar function whose result for each row is the list of rows the Python
//! function yields (or returns) for it, which `LATERAL TABLE(..)`, `flat_map` and
//! `join_lateral` join with the row. In process mode the function runs in a worker, which
//! answers each row's rows as a list.

use std::sync::Arc;

use pyflink_table::datafusion::arrow::array::{ArrayRef, ListArray, StructArray};
use pyflink_table::datafusion::arrow::buffer::OffsetBuffer;
use pyflink_table::datafusion::arrow::datatypes::{DataType as ArrowType, Field, Fields, Schema, SchemaRef};
use pyflink_table::datafusion::common::DataFusionError;
use pyflink_table::datafusion::logical_expr::{Signature, Volatility};
use pyflink_table::types::DataType;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::function::python_error;
use crate::table::arrow_python::arrow_array;
use crate::table::instance::{CallShape, PickledCallable, PythonInstance, PythonSettings};
use crate::table::sql::TableEnv;
use crate::table::udf::{argument_columns, columns_message, PythonColumns, PythonUdf};
use crate::JobError;

/// A Python function called on each row, whose results are rows of `columns`.
#[derive(Debug)]
pub(crate) struct PythonTableFunction {
    callable: PickledCallable,
    /// The types of the columns of the rows it gives, named `f0`, `f1`, ...
    columns: Vec<DataType>,
    /// The rows' schema.
    schema: SchemaRef,
    signature: Signature,
}

/// Functions are the same when their callables are.
impl PartialEq for PythonTableFunction {
    fn eq(&self, other: &Self) -> bool {
        self.callable == other.callable
    }
}

impl Eq for PythonTableFunction {}

impl std::hash::Hash for PythonTableFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.callable.hash(state);
    }
}

impl PythonTableFunction {
    fn new(
        name: String,
        pickled: Vec<u8>,
        columns: Vec<DataType>,
        deterministic: bool,
        settings: PythonSettings,
    ) -> Self {
        let volatility = if deterministic { Volatility::Immutable } else { Volatility::Volatile };
        let fields: Vec<Field> =
            columns.iter().enumerate().map(|(i, data_type)| data_type.to_arrow_field(&format!("f{i}"))).collect();
        PythonTableFunction {
            callable: PickledCallable::new(name, pickled, settings),
            columns,
            schema: Arc::new(Schema::new(fields)),
            signature: Signature::user_defined(volatility),
        }
    }

    fn item_field(&self) -> Arc<Field> {
        Arc::new(Field::new("item", ArrowType::Struct(self.schema.fields().clone()), true))
    }

    /// What the function gives for each of the `count` rows of `columns` (`None`, or an
    /// iterable of rows), called here or in the instance's worker.
    fn calls<'py>(
        &self,
        py: Python<'py>,
        instance: &mut PythonInstance,
        columns: &[Vec<Bound<'py, PyAny>>],
        count: usize,
    ) -> Result<Vec<Bound<'py, PyAny>>, DataFusionError> {
        let failed = |error: PyErr| self.callable.failed(python_error(py, error));
        match instance {
            PythonInstance::InProcess { target, .. } => {
                let function = target.bind(py);
                (0..count)
                    .map(|row| function.call1(PyTuple::new(py, columns.iter().map(|column| &column[row]))?))
                    .collect::<PyResult<_>>()
                    .map_err(failed)
            }
            PythonInstance::InWorker(worker) => {
                let message = columns_message(py, columns, count).map_err(failed)?;
                let answer = PythonInstance::in_worker(worker, py, message).map_err(|e| self.callable.failed(e))?;
                answer.try_iter().and_then(|items| items.collect::<PyResult<_>>()).map_err(failed)
            }
        }
    }

    /// The rows the function gives for each of the `count` rows of `arrays`, as columns of
    /// its result types, and how many rows each call gave.
    fn call_all(&self, arrays: &[ArrayRef], count: usize) -> Result<(Vec<ArrayRef>, Vec<usize>), DataFusionError> {
        Python::attach(|py| {
            let failed = |error: PyErr| self.callable.failed(python_error(py, error));
            let arguments = argument_columns(py, arrays)?;
            let calls = self
                .callable
                .with_instance(py, CallShape::TableRows, |instance| self.calls(py, instance, &arguments, count))?;
            let mut columns: Vec<Vec<Bound<'_, PyAny>>> = self.columns.iter().map(|_| Vec::new()).collect();
            let mut rows = Vec::new();
            let mut lengths = Vec::with_capacity(count);
            for result in calls {
                let before = rows.len();
                if !result.is_none() {
                    for item in result.try_iter().map_err(failed)? {
                        let item = item.map_err(failed)?;
                        let fields = row_fields(&item, self.columns.len()).map_err(failed)?;
                        for (column, field) in columns.iter_mut().zip(fields) {
                            column.push(field);
                        }
                        rows.push(item);
                    }
                }
                lengths.push(rows.len() - before);
            }
            if lengths.len() != count {
                return Err(self.callable.failed(format!("{} results for a batch of {count} rows", lengths.len())));
            }
            let arrays = columns
                .iter()
                .zip(self.schema.fields())
                .enumerate()
                .map(|(index, (column, field))| {
                    arrow_array(column, field.data_type()).map_err(|bad| {
                        let row = rows.get(bad.row).map_or_else(String::new, |row| format!(" of the row {row}"));
                        DataFusionError::Execution(format!(
                            "the Python table function '{}': column f{index}{row} is not a {}: {}",
                            self.callable.name, self.columns[index], bad.reason
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((arrays, lengths))
        })
    }
}

/// The fields of one yielded item: a `Row`, tuple or list of the columns, or the value of the
/// only column.
fn row_fields<'py>(item: &Bound<'py, PyAny>, columns: usize) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let fields: Vec<Bound<'py, PyAny>> =
        if columns == 1 && !(item.is_instance_of::<PyTuple>() || item.is_instance_of::<PyList>()) {
            vec![item.clone()]
        } else {
            item.try_iter()?.collect::<PyResult<_>>()?
        };
    if fields.len() != columns {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "the row {item} has {} fields, but the function's result types name {columns} columns",
            fields.len(),
        )));
    }
    Ok(fields)
}

impl PythonColumns for PythonTableFunction {
    fn callable(&self) -> &PickledCallable {
        &self.callable
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn result_type(&self) -> ArrowType {
        ArrowType::List(self.item_field())
    }

    /// The list of rows the function gives for each row.
    fn call(&self, arrays: &[ArrayRef], count: usize) -> Result<ArrayRef, DataFusionError> {
        let (columns, lengths) = self.call_all(arrays, count)?;
        let fields: Fields = self.schema.fields().clone();
        let values = StructArray::try_new(fields, columns, None)?;
        let lists = ListArray::try_new(self.item_field(), OffsetBuffer::from_lengths(lengths), Arc::new(values), None)?;
        Ok(Arc::new(lists))
    }
}

impl TableEnv {
    /// Registers the cloudpickled callable `pickled_function` as the table function `name`,
    /// whose rows have columns of the Flink SQL types `result_types`.
    pub fn create_python_table_function(
        &self,
        name: String,
        pickled_function: Vec<u8>,
        result_types: Vec<String>,
        deterministic: bool,
    ) -> Result<(), JobError> {
        let columns = result_types.iter().map(|text| DataType::parse(text)).collect::<Result<Vec<_>, _>>()?;
        let function = PythonTableFunction::new(name, pickled_function, columns, deterministic, self.python_settings());
        let function = PythonUdf::udf(function);
        Ok(self.thread().run(move |owned| owned.env.create_temporary_system_table_function(function))??)
    }
}
