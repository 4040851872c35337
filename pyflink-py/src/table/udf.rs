//! Python scalar functions in SQL and the Table API (`@udf`, `ScalarFunction`): a
//! `PythonScalarFunction` is a DataFusion scalar function whose every batch of rows crosses
//! into Python once, each row's arguments as Python values, each result back into a column of
//! the function's result type. In thread mode the function is called here, row by row; in
//! process mode its worker gets the batch's argument columns and answers the results (see
//! [`crate::table::instance`]).

use std::hash::Hash;

use pyflink_table::datafusion::arrow::array::ArrayRef;
use pyflink_table::datafusion::arrow::datatypes::DataType as ArrowType;
use pyflink_table::datafusion::common::DataFusionError;
use pyflink_table::datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use pyflink_table::types::DataType;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::function::python_error;
use crate::table::arrow_python::{arrow_array, python_values};
use crate::table::instance::{CallShape, PickledCallable, PythonInstance, PythonSettings};
use crate::table::sql::TableEnv;
use crate::JobError;

/// A Python function called on each row of the batches DataFusion evaluates, or, when
/// `batched`, once per batch with the list of its rows' argument tuples, giving the list of
/// their results (what async functions are: their calls of a batch run concurrently).
#[derive(Debug)]
pub(crate) struct PythonScalarFunction {
    callable: PickledCallable,
    result: DataType,
    result_arrow: ArrowType,
    signature: Signature,
    batched: bool,
}

/// Functions are the same when their callables are.
impl PartialEq for PythonScalarFunction {
    fn eq(&self, other: &Self) -> bool {
        self.callable == other.callable
    }
}

impl Eq for PythonScalarFunction {}

impl std::hash::Hash for PythonScalarFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.callable.hash(state);
    }
}

impl PythonScalarFunction {
    fn new(
        name: String,
        pickled: Vec<u8>,
        result: DataType,
        deterministic: bool,
        batched: bool,
        settings: PythonSettings,
    ) -> Self {
        let volatility = if deterministic { Volatility::Immutable } else { Volatility::Volatile };
        let result_arrow = result.to_arrow();
        PythonScalarFunction {
            callable: PickledCallable::new(name, pickled, settings),
            result,
            result_arrow,
            signature: Signature::user_defined(volatility),
            batched,
        }
    }

    /// The Python results for the `count` rows of the argument `columns`: a call per row, or
    /// one call of the whole batch, here or in the instance's worker.
    fn results<'py>(
        &self,
        py: Python<'py>,
        instance: &mut PythonInstance,
        columns: &[Vec<Bound<'py, PyAny>>],
        count: usize,
    ) -> Result<Vec<Bound<'py, PyAny>>, DataFusionError> {
        let failed = |error: PyErr| self.callable.failed(python_error(py, error));
        let results = match instance {
            PythonInstance::InProcess { target, .. } => {
                let function = target.bind(py);
                let arguments = |row: usize| PyTuple::new(py, columns.iter().map(|column| &column[row]));
                if !self.batched {
                    return (0..count)
                        .map(|row| function.call1(arguments(row)?))
                        .collect::<PyResult<_>>()
                        .map_err(failed);
                }
                let rows = (0..count).map(arguments).collect::<PyResult<Vec<_>>>().map_err(failed)?;
                let list = PyList::new(py, rows).map_err(failed)?;
                function.call1((list,)).map_err(failed)?
            }
            PythonInstance::InWorker(worker) => {
                let message = columns_message(py, columns, count).map_err(failed)?;
                PythonInstance::in_worker(worker, py, message).map_err(|e| self.callable.failed(e))?
            }
        };
        let results: Vec<Bound<'py, PyAny>> =
            results.try_iter().and_then(|items| items.collect::<PyResult<_>>()).map_err(failed)?;
        if results.len() != count {
            return Err(self.callable.failed(format!("{} results for a batch of {count} rows", results.len())));
        }
        Ok(results)
    }

    /// The function's results for the `count` rows of argument columns `arrays`, as a column
    /// of its result type.
    fn call_all(&self, arrays: &[ArrayRef], count: usize) -> Result<ArrayRef, DataFusionError> {
        Python::attach(|py| {
            let columns = argument_columns(py, arrays)?;
            let shape = if self.batched { CallShape::Batch } else { CallShape::Rows };
            let results =
                self.callable.with_instance(py, shape, |instance| self.results(py, instance, &columns, count))?;
            arrow_array(&results, &self.result_arrow).map_err(|bad| {
                let value = results.get(bad.row).map_or_else(String::new, |value| format!("returned {value}, which "));
                DataFusionError::Execution(format!(
                    "the Python function '{}' {value}is not a {}: {}",
                    self.callable.name, self.result, bad.reason
                ))
            })
        })
    }
}

/// A worker's message for `count` rows of argument `columns`: `(columns, count)`, a list per
/// column.
pub(crate) fn columns_message<'py>(
    py: Python<'py>,
    columns: &[Vec<Bound<'py, PyAny>>],
    count: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let lists = columns.iter().map(|column| PyList::new(py, column)).collect::<PyResult<Vec<_>>>()?;
    Ok((PyList::new(py, lists)?, count).into_pyobject(py)?.into_any())
}

impl PythonColumns for PythonScalarFunction {
    fn callable(&self) -> &PickledCallable {
        &self.callable
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn result_type(&self) -> ArrowType {
        self.result_arrow.clone()
    }

    fn call(&self, arrays: &[ArrayRef], count: usize) -> Result<ArrayRef, DataFusionError> {
        self.call_all(arrays, count)
    }
}

/// What a Python function of SQL and the Table API computes, a batch's columns at a time; each
/// kind (scalar, table, pandas) is one, and DataFusion sees it through [`PythonUdf`], which
/// holds what they share.
pub(crate) trait PythonColumns: std::fmt::Debug + Eq + Hash + Send + Sync + 'static {
    /// The callable, whose name the function is known by.
    fn callable(&self) -> &PickledCallable;

    fn signature(&self) -> &Signature;

    /// The type of the column [`PythonColumns::call`] gives.
    fn result_type(&self) -> ArrowType;

    /// The result column for the `count` rows of the argument columns `arrays`.
    fn call(&self, arrays: &[ArrayRef], count: usize) -> Result<ArrayRef, DataFusionError>;
}

/// A Python function as a DataFusion scalar function: it takes any arguments as they are, and
/// each argument reaches it as a column of the batch's rows (a constant repeated).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct PythonUdf<F>(pub(crate) F);

impl<F: PythonColumns> PythonUdf<F> {
    /// `function` as a DataFusion scalar function.
    pub(crate) fn udf(function: F) -> ScalarUDF {
        ScalarUDF::new_from_impl(PythonUdf(function))
    }
}

impl<F: PythonColumns> ScalarUDFImpl for PythonUdf<F> {
    fn name(&self) -> &str {
        &self.0.callable().name
    }

    fn signature(&self) -> &Signature {
        self.0.signature()
    }

    /// Python takes any arguments: they reach it as they are.
    fn coerce_types(&self, arg_types: &[ArrowType]) -> pyflink_table::datafusion::common::Result<Vec<ArrowType>> {
        Ok(arg_types.to_vec())
    }

    fn return_type(&self, _arg_types: &[ArrowType]) -> pyflink_table::datafusion::common::Result<ArrowType> {
        Ok(self.0.result_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> pyflink_table::datafusion::common::Result<ColumnarValue> {
        let count = args.number_rows;
        let arrays = args.args.iter().map(|arg| arg.to_array(count)).collect::<Result<Vec<_>, _>>()?;
        Ok(ColumnarValue::Array(self.0.call(&arrays, count)?))
    }
}

/// The Python values of the argument columns `arrays`, a list per column.
pub(crate) fn argument_columns<'py>(
    py: Python<'py>,
    arrays: &[ArrayRef],
) -> Result<Vec<Vec<Bound<'py, PyAny>>>, DataFusionError> {
    arrays
        .iter()
        .map(|array| {
            python_values(py, array.as_ref()).map_err(|error| {
                DataFusionError::Execution(format!("an argument of a Python function: {}", python_error(py, error)))
            })
        })
        .collect()
}

impl TableEnv {
    /// Registers the cloudpickled callable `pickled_function` as the scalar function `name`
    /// for SQL and the Table API, with results of the Flink SQL type `result_type`; when
    /// `batched`, it is called once per batch with the list of the rows' argument tuples.
    pub fn create_python_function(
        &self,
        name: String,
        pickled_function: Vec<u8>,
        result_type: String,
        deterministic: bool,
        batched: bool,
    ) -> Result<(), JobError> {
        let result = DataType::parse(&result_type)?;
        let settings = self.python_settings();
        let function = PythonScalarFunction::new(name, pickled_function, result, deterministic, batched, settings);
        let function = PythonUdf::udf(function);
        self.thread().run(move |owned| owned.env.create_temporary_system_function(function))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_the_same_by_name_and_callable() {
        let string = DataType::parse("STRING").unwrap();
        let settings = PythonSettings::default();
        let a = PythonScalarFunction::new("f".into(), vec![1, 2], string.clone(), true, false, settings.clone());
        let b = PythonScalarFunction::new("f".into(), vec![1, 2], string.clone(), false, false, settings.clone());
        let c = PythonScalarFunction::new("g".into(), vec![1, 2], string, true, true, settings);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
