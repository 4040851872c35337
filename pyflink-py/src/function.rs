//! Python functions by reference: cloudpickled when the program is built, unpickled once per
//! parallel instance of their operator, and called with the interpreter held.

use std::sync::{Arc, OnceLock};

use pyflink_core::FlinkError;
use pyo3::prelude::*;

use crate::value::unpickle;

/// A cloudpickled Python callable (or function object), unpickled on its first use in each
/// parallel instance: a clone starts unloaded, so instances never share a Python object.
pub struct PyFunction {
    pickled: Arc<Vec<u8>>,
    loaded: OnceLock<Py<PyAny>>,
}

impl Clone for PyFunction {
    fn clone(&self) -> Self {
        PyFunction { pickled: Arc::clone(&self.pickled), loaded: OnceLock::new() }
    }
}

impl PyFunction {
    /// The callable of `pickled`, as `cloudpickle.dumps` wrote it.
    pub fn new(pickled: Vec<u8>) -> Self {
        PyFunction { pickled: Arc::new(pickled), loaded: OnceLock::new() }
    }

    /// The callable, unpickling it on first use.
    pub fn get<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if let Some(loaded) = self.loaded.get() {
            return Ok(loaded.bind(py).clone());
        }
        let function = unpickle(py, &self.pickled)?;
        // Only the thread holding the interpreter gets here, so the cell is still empty.
        let _ = self.loaded.set(function.clone().unbind());
        Ok(function)
    }
}

/// The error that fails a job when Python code raised `error`: the Python traceback, whole,
/// so that the user sees where in their function it happened. The runtime adds the operator.
pub fn python_error(py: Python<'_>, error: PyErr) -> FlinkError {
    let formatted = py
        .import("traceback")
        .and_then(|traceback| {
            let value = error.value(py);
            traceback.call_method1("format_exception", (value.get_type(), value, error.traceback(py)))
        })
        .and_then(|lines| lines.extract::<Vec<String>>());
    match formatted {
        Ok(lines) => FlinkError::User(format!("Python function raised an exception:\n{}", lines.concat())),
        Err(_) => FlinkError::User(format!("Python function raised an exception: {error}")),
    }
}
