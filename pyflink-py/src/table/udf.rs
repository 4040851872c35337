//! Python scalar functions in SQL and the Table API (`@udf`, `ScalarFunction`), in thread
//! mode: a [`PythonScalarFunction`] is a DataFusion scalar function whose every batch of rows
//! crosses into the interpreter once, each row's arguments as Python values, each result back
//! into a column of the function's result type.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

use pyflink_core::table::Row;
use pyflink_table::batch::{batch_to_rows, rows_to_batch, ChangeBatch};
use pyflink_table::datafusion::arrow::array::{RecordBatch, RecordBatchOptions};
use pyflink_table::datafusion::arrow::datatypes::{DataType as ArrowType, Field, Schema};
use pyflink_table::datafusion::common::{exec_err, DataFusionError};
use pyflink_table::datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use pyflink_table::types::DataType;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::function::python_error;
use crate::table::sql::TableEnv;
use crate::table::stream::typed_value;
use crate::value::unpickle;
use crate::JobError;

/// A Python function called on each row of the batches DataFusion evaluates.
#[derive(Debug)]
pub(crate) struct PythonScalarFunction {
    name: String,
    /// The cloudpickled callable.
    pickled: Vec<u8>,
    result: DataType,
    result_arrow: ArrowType,
    signature: Signature,
    /// The callable, unpickled on first use.
    function: OnceLock<Py<PyAny>>,
}

/// Functions are the same when their names and pickled callables are.
impl PartialEq for PythonScalarFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.pickled == other.pickled
    }
}

impl Eq for PythonScalarFunction {}

impl Hash for PythonScalarFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.pickled.hash(state);
    }
}

impl PythonScalarFunction {
    fn new(name: String, pickled: Vec<u8>, result: DataType, deterministic: bool) -> Self {
        let volatility = if deterministic { Volatility::Immutable } else { Volatility::Volatile };
        let result_arrow = result.to_arrow();
        PythonScalarFunction {
            name,
            pickled,
            result,
            result_arrow,
            signature: Signature::user_defined(volatility),
            function: OnceLock::new(),
        }
    }

    fn function<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if let Some(function) = self.function.get() {
            return Ok(function.bind(py).clone());
        }
        let function = unpickle(py, &self.pickled)?.unbind();
        Ok(self.function.get_or_init(|| function).bind(py).clone())
    }

    /// The function's results for `rows`, each the arguments of one call.
    fn call_all(&self, rows: &[Row]) -> Result<Vec<Row>, DataFusionError> {
        Python::attach(|py| {
            let failed = |error: PyErr| {
                DataFusionError::Execution(format!(
                    "the Python function '{}' failed: {}",
                    self.name,
                    python_error(py, error)
                ))
            };
            let function = self.function(py).map_err(failed)?;
            let mut results = Vec::with_capacity(rows.len());
            for row in rows {
                let arguments = row
                    .fields
                    .iter()
                    .map(|value| crate::python_rows::to_python(py, value))
                    .collect::<PyResult<Vec<_>>>()
                    .map_err(failed)?;
                let result = function.call1(PyTuple::new(py, arguments).map_err(failed)?).map_err(failed)?;
                let value = typed_value(&result, &self.result).map_err(|error| {
                    DataFusionError::Execution(format!(
                        "the Python function '{}' returned {result}, which is not a {}: {}",
                        self.name,
                        self.result,
                        error.value(py)
                    ))
                })?;
                results.push(Row::of(vec![value]));
            }
            Ok(results)
        })
    }
}

impl ScalarUDFImpl for PythonScalarFunction {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Python takes any arguments: they reach it as they are.
    fn coerce_types(&self, arg_types: &[ArrowType]) -> pyflink_table::datafusion::common::Result<Vec<ArrowType>> {
        Ok(arg_types.to_vec())
    }

    fn return_type(&self, _arg_types: &[ArrowType]) -> pyflink_table::datafusion::common::Result<ArrowType> {
        Ok(self.result_arrow.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> pyflink_table::datafusion::common::Result<ColumnarValue> {
        let count = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let fields: Vec<Field> = arrays
            .iter()
            .enumerate()
            .map(|(position, array)| Field::new(format!("a{position}"), array.data_type().clone(), true))
            .collect();
        let options = RecordBatchOptions::new().with_row_count(Some(count));
        let arguments = RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options)?;
        let rows = match batch_to_rows(&ChangeBatch::inserts(arguments)) {
            Ok(rows) => rows,
            Err(error) => return exec_err!("the arguments of the Python function '{}': {error}", self.name),
        };
        let results = self.call_all(&rows)?;
        let schema = Arc::new(Schema::new(vec![self.result.to_arrow_field("result")]));
        match rows_to_batch(&results, &schema) {
            Ok(batch) => Ok(ColumnarValue::Array(Arc::clone(batch.column(0)))),
            Err(error) => exec_err!("the results of the Python function '{}': {error}", self.name),
        }
    }
}

impl TableEnv {
    /// Registers the cloudpickled callable `pickled_function` as the scalar function `name`
    /// for SQL and the Table API, with results of the Flink SQL type `result_type`.
    pub fn create_python_function(
        &self,
        name: String,
        pickled_function: Vec<u8>,
        result_type: String,
        deterministic: bool,
    ) -> Result<(), JobError> {
        let result = DataType::parse(&result_type)?;
        let function =
            ScalarUDF::new_from_impl(PythonScalarFunction::new(name, pickled_function, result, deterministic));
        self.thread().run(move |owned| owned.env.create_temporary_system_function(function))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_the_same_by_name_and_callable() {
        let string = DataType::parse("STRING").unwrap();
        let a = PythonScalarFunction::new("f".into(), vec![1, 2], string.clone(), true);
        let b = PythonScalarFunction::new("f".into(), vec![1, 2], string.clone(), false);
        let c = PythonScalarFunction::new("g".into(), vec![1, 2], string, true);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
