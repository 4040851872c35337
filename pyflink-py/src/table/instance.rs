//! A Python function of SQL in one operator instance: in thread mode, this interpreter's own
//! copy of the function, opened with the instance's `FunctionContext`; in process mode
//! (`python.execution-mode: process`), a worker process running it (`python -m
//! pyflink_rs.worker`, kind `table`), fed a batch's argument columns at a time.
//!
//! Either is made the first time the instance calls the function and closed when the operator
//! closes (`pyflink_table::function_instances`), so `open()` and `close()` run once per
//! parallel instance, as in Flink.

use std::sync::{Arc, Mutex, PoisonError};

use pyflink_core::TaskInfo;
use pyflink_table::datafusion::common::DataFusionError;
use pyflink_table::function_instances::{with_instance, FunctionId, FunctionInstance};
use pyflink_table::TableError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::function::python_error;
use crate::metrics::NativeMetricGroup;
use crate::plan::PythonExecution;
use crate::process::worker::{task_dict, PythonWorker};
use crate::value::{pickle, unpickle};

/// A table environment's Python execution settings, read when an operator instance opens a
/// function (so options set after a function was registered still apply, as in PyFlink).
pub(crate) type PythonSettings = Arc<Mutex<PythonExecution>>;

/// How the engine calls a function, and so what a worker process does with a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallShape {
    /// A call per row, a result per row.
    Rows,
    /// One call with the list of the rows' argument tuples, a list of results back (async).
    Batch,
    /// A call per row, the rows it yields back (table functions).
    TableRows,
    /// One call with the batch as an Arrow IPC stream, a stream of the results back (pandas).
    ArrowIpc,
    /// Methods called by name (aggregate functions): run in this interpreter in both modes.
    Methods,
}

impl CallShape {
    /// The shape's name for the worker.
    fn name(self) -> &'static str {
        match self {
            CallShape::Rows => "rows",
            CallShape::Batch => "batch",
            CallShape::TableRows => "table",
            CallShape::ArrowIpc => "ipc",
            CallShape::Methods => "methods",
        }
    }
}

/// A cloudpickled engine call object of `pyflink_rs.table.udf` (it has `open(context)`,
/// `close()` and `target()`, the callable the engine calls), known by the name it is
/// registered under. Callables are the same when their names and pickled bytes are.
#[derive(Debug)]
pub(crate) struct PickledCallable {
    pub(crate) name: String,
    pickled: Vec<u8>,
    id: FunctionId,
    settings: PythonSettings,
}

impl PartialEq for PickledCallable {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.pickled == other.pickled
    }
}

impl Eq for PickledCallable {}

impl std::hash::Hash for PickledCallable {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.pickled.hash(state);
    }
}

impl PickledCallable {
    pub(crate) fn new(name: String, pickled: Vec<u8>, settings: PythonSettings) -> Self {
        PickledCallable { name, pickled, id: FunctionId::new(), settings }
    }

    /// Runs `call` on the function's instance in the operator instance working in this thread,
    /// opened on its first call there.
    pub(crate) fn with_instance<R>(
        &self,
        py: Python<'_>,
        shape: CallShape,
        call: impl FnOnce(&mut PythonInstance) -> Result<R, DataFusionError>,
    ) -> Result<R, DataFusionError> {
        with_instance(self.id, |runtime| self.open(py, shape, runtime), call)
    }

    fn open(
        &self,
        py: Python<'_>,
        shape: CallShape,
        runtime: Option<&TaskInfo>,
    ) -> Result<PythonInstance, DataFusionError> {
        let process_mode = self.settings.lock().unwrap_or_else(PoisonError::into_inner).process_mode;
        match runtime {
            Some(runtime) if process_mode && shape != CallShape::Methods => {
                let payload = (shape.name(), PyBytes::new(py, &self.pickled))
                    .into_pyobject(py)
                    .and_then(|payload| pickle(payload.as_any()))
                    .map_err(|e| self.failed(python_error(py, e)))?;
                let worker = PythonWorker::start(py, &payload, "table", runtime).map_err(|e| self.failed(e))?;
                Ok(PythonInstance::InWorker(Some(worker)))
            }
            _ => {
                let opened = (|| -> PyResult<PythonInstance> {
                    let call = unpickle(py, &self.pickled)?;
                    let (group, task) = match runtime {
                        Some(task) => {
                            (Some(NativeMetricGroup::new(task.get_metric_group().clone())), Some(task_dict(py, task)?))
                        }
                        None => (None, None),
                    };
                    let context = crate::bridge::function_context(py)?.call1((group, py.None(), task))?;
                    call.call_method1("open", (context,))?;
                    let target = call.call_method0("target")?;
                    Ok(PythonInstance::InProcess { call: call.unbind(), target: target.unbind() })
                })();
                opened.map_err(|e| self.failed(python_error(py, e)))
            }
        }
    }

    /// The error of a failed call of the function.
    pub(crate) fn failed(&self, error: impl std::fmt::Display) -> DataFusionError {
        DataFusionError::Execution(format!("the Python function '{}' failed: {error}", self.name))
    }
}

/// A function's instance in one operator instance.
pub(crate) enum PythonInstance {
    /// Thread mode: the call object, opened, and what the engine calls of it.
    InProcess { call: Py<PyAny>, target: Py<PyAny> },
    /// Process mode: the worker running the function (until it is closed).
    InWorker(Option<PythonWorker>),
}

impl PythonInstance {
    /// The worker's answer to the bundle `message`.
    pub(crate) fn in_worker<'py>(
        worker: &mut Option<PythonWorker>,
        py: Python<'py>,
        message: Bound<'py, PyAny>,
    ) -> pyflink_core::Result<Bound<'py, PyAny>> {
        worker.as_mut().expect("a worker answers until the operator closes").bundle(py, message)
    }
}

impl FunctionInstance for PythonInstance {
    fn close(&mut self) -> pyflink_table::Result<()> {
        Python::attach(|py| match self {
            PythonInstance::InProcess { call, .. } => call
                .bind(py)
                .call_method0("close")
                .map(drop)
                .map_err(|e| TableError::Execution(python_error(py, e).to_string())),
            PythonInstance::InWorker(worker) => match worker.take() {
                Some(worker) => worker.close(py).map_err(|e| TableError::Execution(e.to_string())),
                None => Ok(()),
            },
        })
    }
}
