//! Python table functions (`@udtf`, `TableFunction`), in thread mode: a
//! [`PythonTableFunction`] is a DataFusion scalar function whose result for each row is the
//! list of rows the Python function yields (or returns) for it, which `LATERAL TABLE(..)`,
//! `flat_map` and `join_lateral` join with the row.

use std::sync::Arc;

use pyflink_core::table::Row;
use pyflink_table::batch::rows_to_batch;
use pyflink_table::datafusion::arrow::array::{ListArray, StructArray};
use pyflink_table::datafusion::arrow::buffer::OffsetBuffer;
use pyflink_table::datafusion::arrow::datatypes::{DataType as ArrowType, Field, Fields, Schema, SchemaRef};
use pyflink_table::datafusion::common::{exec_err, DataFusionError};
use pyflink_table::datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use pyflink_table::types::DataType;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::function::python_error;
use crate::table::sql::TableEnv;
use crate::table::stream::typed_value;
use crate::table::udf::{python_arguments, PickledCallable};
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
    fn new(name: String, pickled: Vec<u8>, columns: Vec<DataType>, deterministic: bool) -> Self {
        let volatility = if deterministic { Volatility::Immutable } else { Volatility::Volatile };
        let fields: Vec<Field> =
            columns.iter().enumerate().map(|(i, data_type)| data_type.to_arrow_field(&format!("f{i}"))).collect();
        PythonTableFunction {
            callable: PickledCallable::new(name, pickled),
            columns,
            schema: Arc::new(Schema::new(fields)),
            signature: Signature::user_defined(volatility),
        }
    }

    fn item_field(&self) -> Arc<Field> {
        Arc::new(Field::new("item", ArrowType::Struct(self.schema.fields().clone()), true))
    }

    /// The rows the function gives for each of the `count` rows of `arrays`, and how many for each.
    fn call_all(
        &self,
        arrays: &[pyflink_table::datafusion::arrow::array::ArrayRef],
        count: usize,
    ) -> Result<(Vec<Row>, Vec<usize>), DataFusionError> {
        Python::attach(|py| {
            let failed = |error: PyErr| {
                DataFusionError::Execution(format!(
                    "the Python table function '{}' failed: {}",
                    self.callable.name,
                    python_error(py, error)
                ))
            };
            let function = self.callable.function(py).map_err(failed)?;
            let (mut rows, mut lengths) = (Vec::new(), Vec::with_capacity(count));
            for arguments in python_arguments(py, arrays, count)? {
                let result = function.call1(PyTuple::new(py, arguments).map_err(failed)?).map_err(failed)?;
                let before = rows.len();
                if !result.is_none() {
                    for item in result.try_iter().map_err(failed)? {
                        rows.push(row_of(&item.map_err(failed)?, &self.columns).map_err(failed)?);
                    }
                }
                lengths.push(rows.len() - before);
            }
            Ok((rows, lengths))
        })
    }
}

/// The row one yielded item is: a `Row`, tuple or list of the columns, or the value of the
/// only column.
pub(crate) fn row_of(item: &Bound<'_, PyAny>, columns: &[DataType]) -> PyResult<Row> {
    let fields: Vec<Bound<'_, PyAny>> =
        if columns.len() == 1 && !(item.is_instance_of::<PyTuple>() || item.is_instance_of::<PyList>()) {
            vec![item.clone()]
        } else {
            item.try_iter()?.collect::<PyResult<_>>()?
        };
    if fields.len() != columns.len() {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "the row {item} has {} fields, but the function's result types name {} columns",
            fields.len(),
            columns.len()
        )));
    }
    let values = fields
        .iter()
        .zip(columns)
        .enumerate()
        .map(|(i, (field, data_type))| {
            typed_value(field, data_type).map_err(|e| {
                pyo3::exceptions::PyTypeError::new_err(format!(
                    "column f{i} of the row {item} is not a {data_type}: {}",
                    e.value(item.py())
                ))
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(Row::of(values))
}

impl ScalarUDFImpl for PythonTableFunction {
    fn name(&self) -> &str {
        &self.callable.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Python takes any arguments: they reach it as they are.
    fn coerce_types(&self, arg_types: &[ArrowType]) -> pyflink_table::datafusion::common::Result<Vec<ArrowType>> {
        Ok(arg_types.to_vec())
    }

    fn return_type(&self, _arg_types: &[ArrowType]) -> pyflink_table::datafusion::common::Result<ArrowType> {
        Ok(ArrowType::List(self.item_field()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> pyflink_table::datafusion::common::Result<ColumnarValue> {
        let count = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let (rows, lengths) = self.call_all(&arrays, count)?;
        let batch = match rows_to_batch(&rows, &self.schema) {
            Ok(batch) => batch,
            Err(error) => return exec_err!("the rows of the Python table function '{}': {error}", self.callable.name),
        };
        let fields: Fields = self.schema.fields().clone();
        let values = StructArray::try_new(fields, batch.columns().to_vec(), None)?;
        let lists = ListArray::try_new(self.item_field(), OffsetBuffer::from_lengths(lengths), Arc::new(values), None)?;
        Ok(ColumnarValue::Array(Arc::new(lists)))
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
        let function =
            ScalarUDF::new_from_impl(PythonTableFunction::new(name, pickled_function, columns, deterministic));
        Ok(self.thread().run(move |owned| owned.env.create_temporary_system_table_function(function))??)
    }
}
