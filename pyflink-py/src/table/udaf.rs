//! Python aggregate functions (`@udaf` / `AggregateFunction`) and table aggregate functions
//! (`udtaf` / `TableAggregateFunction`): a `PythonAggregateFunction` is one of
//! pyflink-table's user aggregate functions whose accumulators are Python objects, pickled
//! when written to keyed state, and whose every method calls the function's Python method
//! through the `_AggregateCall` of `pyflink_rs.table.udf`, opened once per operator instance.
//! Accumulators live in the engine's keyed state, so aggregate functions run in this
//! interpreter in process mode too.
//!
//! A table aggregate's value for a group is the list of rows its `emit_value` gives, which
//! `flat_aggregate` turns into rows.

use std::any::Any;
use std::cell::RefCell;
use std::sync::Arc;

use pyflink_table::datafusion::arrow::array::ArrayRef;
use pyflink_table::datafusion::arrow::datatypes::{DataType as ArrowType, Field};
use pyflink_table::datafusion::common::{DataFusionError, ScalarValue};
use pyflink_table::types::{DataType, LogicalType};
use pyflink_table::{AccumulatorObject, TableError, UserAggregateFunction};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::function::python_error;
use crate::table::arrow_python::arrow_array;
use crate::table::instance::{CallShape, PickledCallable, PythonInstance, PythonSettings};
use crate::table::sql::TableEnv;
use crate::table::udf::argument_columns;
use crate::value::{pickle, unpickle};
use crate::JobError;

/// An accumulator: the Python object the function's `create_accumulator` made.
#[derive(Debug)]
struct PythonAccumulator(Py<PyAny>);

impl AccumulatorObject for PythonAccumulator {
    fn to_bytes(&self) -> pyflink_table::Result<Vec<u8>> {
        Python::attach(|py| {
            pickle(self.0.bind(py))
                .map_err(|e| TableError::Execution(format!("cannot pickle an accumulator: {}", python_error(py, e))))
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A Python aggregate (or table aggregate) function.
#[derive(Debug)]
pub(crate) struct PythonAggregateFunction {
    callable: PickledCallable,
    /// The value's type; for a table aggregate, the ROW type of its rows.
    result: DataType,
    /// The value's Arrow type; for a table aggregate, a list of rows.
    result_arrow: ArrowType,
    /// Whether the function is a table aggregate, whose value is its `emit_value` rows.
    table: bool,
}

impl PythonAggregateFunction {
    fn new(
        name: String,
        pickled: Vec<u8>,
        result: DataType,
        table: bool,
        settings: PythonSettings,
    ) -> Result<Self, JobError> {
        let result_arrow = if table {
            if !matches!(result.logical, LogicalType::Row(_)) {
                return Err(JobError::InvalidProgram(format!(
                    "the table aggregate function '{name}' gives rows: its result type must be a ROW, not {result}"
                )));
            }
            ArrowType::List(Arc::new(Field::new("item", result.to_arrow(), true)))
        } else {
            result.to_arrow()
        };
        let callable = PickledCallable::new(name, pickled, settings);
        Ok(PythonAggregateFunction { callable, result, result_arrow, table })
    }

    /// Calls the method `method` of the function with `accumulator` and `arguments`.
    fn call<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        arguments: Vec<Bound<'py, PyAny>>,
    ) -> pyflink_table::Result<Bound<'py, PyAny>> {
        let failed = |error: PyErr| {
            TableError::Execution(format!(
                "the Python aggregate function '{}' failed in {method}: {}",
                self.callable.name,
                python_error(py, error)
            ))
        };
        let arguments = PyTuple::new(py, arguments).map_err(failed)?;
        let called = self.callable.with_instance(py, CallShape::Methods, |instance| match instance {
            PythonInstance::InProcess { target, .. } => Ok(target.bind(py).call_method1(method, arguments)),
            PythonInstance::InWorker(_) => Err(self.callable.failed("aggregate functions run in this interpreter")),
        });
        called.map_err(|e| TableError::Execution(e.strip_backtrace()))?.map_err(failed)
    }

    /// Calls `accumulate` or `retract` with row `row` of `arguments`.
    fn add(
        &self,
        method: &str,
        accumulator: &dyn AccumulatorObject,
        arguments: &[ArrayRef],
        row: usize,
    ) -> pyflink_table::Result<()> {
        Python::attach(|py| {
            let mut call = vec![object(accumulator).bind(py).clone()];
            ARGUMENTS.with(|converted| converted.borrow_mut().row(py, arguments, row, &mut call))?;
            self.call(py, method, call)?;
            Ok(())
        })
    }

    /// The value `result`, a Python object of the function's value (for a table aggregate,
    /// the rows it emits), as a scalar.
    fn scalar(&self, result: &Bound<'_, PyAny>) -> pyflink_table::Result<ScalarValue> {
        let array = arrow_array(std::slice::from_ref(result), &self.result_arrow).map_err(|bad| {
            TableError::Execution(format!(
                "the Python aggregate function '{}' gave {result}, which is not a {}: {}",
                self.callable.name, self.result, bad.reason
            ))
        })?;
        ScalarValue::try_from_array(&array, 0).map_err(|e| TableError::Execution(e.strip_backtrace()))
    }
}

thread_local! {
    /// The argument columns whose rows this thread is adding to accumulators, as Python values.
    static ARGUMENTS: RefCell<ConvertedArguments> = RefCell::new(ConvertedArguments::default());
}

/// Argument columns converted to Python values once, for the rows of their batch: an
/// aggregate adds a batch's rows one at a time, each to its group's accumulator, all from the
/// same columns.
#[derive(Default)]
struct ConvertedArguments {
    /// The columns converted (held, so that no other column can take their place in memory).
    columns: Vec<ArrayRef>,
    /// Their values, a list per column.
    values: Vec<Py<PyList>>,
}

impl ConvertedArguments {
    /// Appends the values of row `row` of `columns` to `call`, converting the columns first
    /// unless they are the ones converted last.
    fn row<'py>(
        &mut self,
        py: Python<'py>,
        columns: &[ArrayRef],
        row: usize,
        call: &mut Vec<Bound<'py, PyAny>>,
    ) -> pyflink_table::Result<()> {
        let same = self.columns.len() == columns.len()
            && self.columns.iter().zip(columns).all(|(known, column)| Arc::ptr_eq(known, column));
        if !same {
            let lists = argument_columns(py, columns)
                .and_then(|values| {
                    values
                        .into_iter()
                        .map(|column| PyList::new(py, column).map(Bound::unbind))
                        .collect::<PyResult<Vec<_>>>()
                        .map_err(|e| DataFusionError::Execution(python_error(py, e).to_string()))
                })
                .map_err(|e| TableError::Execution(e.strip_backtrace()))?;
            // The old lists are let go while the interpreter is held.
            self.values = lists;
            self.columns = columns.to_vec();
        }
        for list in &self.values {
            call.push(list.bind(py).get_item(row).map_err(|e| TableError::Execution(python_error(py, e).to_string()))?);
        }
        Ok(())
    }
}

/// The Python object of an accumulator this function made.
fn object(accumulator: &dyn AccumulatorObject) -> &Py<PyAny> {
    &accumulator.as_any().downcast_ref::<PythonAccumulator>().expect("a Python function's accumulator").0
}

impl UserAggregateFunction for PythonAggregateFunction {
    fn name(&self) -> &str {
        &self.callable.name
    }

    fn result_type(&self) -> &ArrowType {
        &self.result_arrow
    }

    fn create_accumulator(&self) -> pyflink_table::Result<Arc<dyn AccumulatorObject>> {
        Python::attach(|py| {
            let accumulator = self.call(py, "create_accumulator", Vec::new())?;
            Ok(Arc::new(PythonAccumulator(accumulator.unbind())) as Arc<dyn AccumulatorObject>)
        })
    }

    fn restore_accumulator(&self, bytes: &[u8]) -> pyflink_table::Result<Arc<dyn AccumulatorObject>> {
        Python::attach(|py| {
            let accumulator = unpickle(py, bytes).map_err(|e| {
                TableError::Execution(format!("cannot unpickle an accumulator: {}", python_error(py, e)))
            })?;
            Ok(Arc::new(PythonAccumulator(accumulator.unbind())) as Arc<dyn AccumulatorObject>)
        })
    }

    fn accumulate(
        &self,
        accumulator: &dyn AccumulatorObject,
        arguments: &[ArrayRef],
        row: usize,
    ) -> pyflink_table::Result<()> {
        self.add("accumulate", accumulator, arguments, row)
    }

    fn retract(
        &self,
        accumulator: &dyn AccumulatorObject,
        arguments: &[ArrayRef],
        row: usize,
    ) -> pyflink_table::Result<()> {
        self.add("retract", accumulator, arguments, row)
    }

    fn merge(&self, accumulator: &dyn AccumulatorObject, other: &dyn AccumulatorObject) -> pyflink_table::Result<()> {
        Python::attach(|py| {
            let (accumulator, other) = (object(accumulator).bind(py).clone(), object(other).bind(py).clone());
            self.call(py, "merge", vec![accumulator, other])?;
            Ok(())
        })
    }

    fn get_value(&self, accumulator: &dyn AccumulatorObject) -> pyflink_table::Result<ScalarValue> {
        Python::attach(|py| {
            let method = if self.table { "emit_value" } else { "get_value" };
            let result = self.call(py, method, vec![object(accumulator).bind(py).clone()])?;
            self.scalar(&result)
        })
    }
}

impl TableEnv {
    /// Registers the cloudpickled `_AggregateCall` `pickled_function` as the aggregate function
    /// `name`, with values of the Flink SQL type `result_type`; with `table`, as a table
    /// aggregate function whose rows are of the ROW type `result_type`.
    pub fn create_python_aggregate_function(
        &self,
        name: String,
        pickled_function: Vec<u8>,
        result_type: String,
        table: bool,
    ) -> Result<(), JobError> {
        let result = DataType::parse(&result_type)?;
        let function: Arc<dyn UserAggregateFunction> =
            Arc::new(PythonAggregateFunction::new(name, pickled_function, result, table, self.python_settings())?);
        if table {
            return Ok(self
                .thread()
                .run(move |owned| owned.env.create_temporary_system_table_aggregate_function(function))??);
        }
        self.thread().run(move |owned| owned.env.create_temporary_system_aggregate_function(function))
    }
}
