//! Python scalar functions in SQL and the Table API (`@udf`, `ScalarFunction`), in thread
//! mode: a [`PythonScalarFunction`] is a DataFusion scalar function whose every batch of rows
//! crosses into the interpreter once, each row's arguments as Python values, each result back
//! into a column of the function's result type.

use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

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
use crate::table::sql::TableEnv;
use crate::value::unpickle;
use crate::JobError;

/// A cloudpickled Python callable, unpickled on first use, known by the name it is registered
/// under. Callables are the same when their names and pickled bytes are.
#[derive(Debug)]
pub(crate) struct PickledCallable {
    pub(crate) name: String,
    pickled: Vec<u8>,
    function: OnceLock<Py<PyAny>>,
}

impl PartialEq for PickledCallable {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.pickled == other.pickled
    }
}

impl Eq for PickledCallable {}

impl Hash for PickledCallable {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.pickled.hash(state);
    }
}

impl PickledCallable {
    pub(crate) fn new(name: String, pickled: Vec<u8>) -> Self {
        PickledCallable { name, pickled, function: OnceLock::new() }
    }

    /// The callable, unpickled the first time it is asked for.
    pub(crate) fn function<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if let Some(function) = self.function.get() {
            return Ok(function.bind(py).clone());
        }
        let function = unpickle(py, &self.pickled)?.unbind();
        Ok(self.function.get_or_init(|| function).bind(py).clone())
    }
}

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
    fn new(name: String, pickled: Vec<u8>, result: DataType, deterministic: bool, batched: bool) -> Self {
        let volatility = if deterministic { Volatility::Immutable } else { Volatility::Volatile };
        let result_arrow = result.to_arrow();
        PythonScalarFunction {
            callable: PickledCallable::new(name, pickled),
            result,
            result_arrow,
            signature: Signature::user_defined(volatility),
            batched,
        }
    }

    /// The Python results for the `count` rows of the argument `columns`: a call per row, or
    /// one call of the whole batch.
    fn results<'py>(
        &self,
        function: &Bound<'py, PyAny>,
        columns: &[Vec<Bound<'py, PyAny>>],
        count: usize,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let py = function.py();
        let arguments = |row: usize| PyTuple::new(py, columns.iter().map(|column| &column[row]));
        if !self.batched {
            return (0..count).map(|row| function.call1(arguments(row)?)).collect();
        }
        let rows = (0..count).map(arguments).collect::<PyResult<Vec<_>>>()?;
        let results: Vec<Bound<'py, PyAny>> =
            function.call1((PyList::new(py, rows)?,))?.try_iter()?.collect::<PyResult<_>>()?;
        if results.len() != count {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "{} results for a batch of {count} rows",
                results.len()
            )));
        }
        Ok(results)
    }

    /// The function's results for the `count` rows of argument columns `arrays`, as a column
    /// of its result type.
    fn call_all(&self, arrays: &[ArrayRef], count: usize) -> Result<ArrayRef, DataFusionError> {
        Python::attach(|py| {
            let failed = |error: PyErr| {
                DataFusionError::Execution(format!(
                    "the Python function '{}' failed: {}",
                    self.callable.name,
                    python_error(py, error)
                ))
            };
            let function = self.callable.function(py).map_err(failed)?;
            let columns = argument_columns(py, arrays)?;
            let results = self.results(&function, &columns, count).map_err(failed)?;
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

/// The Python values of `count` rows of the argument columns `arrays`, one list per call.
pub(crate) fn python_arguments<'py>(
    py: Python<'py>,
    arrays: &[ArrayRef],
    count: usize,
) -> Result<Vec<Vec<Bound<'py, PyAny>>>, DataFusionError> {
    let columns = argument_columns(py, arrays)?;
    Ok((0..count).map(|row| columns.iter().map(|column| column[row].clone()).collect()).collect())
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
        let function = PythonScalarFunction::new(name, pickled_function, result, deterministic, batched);
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
        let a = PythonScalarFunction::new("f".into(), vec![1, 2], string.clone(), true, false);
        let b = PythonScalarFunction::new("f".into(), vec![1, 2], string.clone(), false, false);
        let c = PythonScalarFunction::new("g".into(), vec![1, 2], string, true, true);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
