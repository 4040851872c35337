//! Python functions by reference: cloudpickled when the program is built, unpickled once per
//! parallel instance of their operator, and called with the interpreter held.

use std::sync::{Arc, OnceLock};

use pyflink_core::FlinkError;
use pyo3::prelude::*;

use crate::context::NativeRuntimeContext;
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

/// A user function as the Python layer sends it: the cloudpickled pair `(target, method)`, a
/// function class instance (`MapFunction`, `ReduceFunction`, ...) and the name of the method
/// called per record, or a plain callable and `None`. A function class instance is opened
/// with a runtime context before the first record and closed after the last, as in PyFlink.
pub struct UserFunction {
    pickled: Arc<Vec<u8>>,
    loaded: OnceLock<LoadedFunction>,
}

/// An unpickled user function.
struct LoadedFunction {
    target: Py<PyAny>,
    /// What is called per record: the bound method, or the callable itself.
    call: Py<PyAny>,
    /// Whether `target` is a function class instance, with `open` and `close`.
    has_life_cycle: bool,
}

impl Clone for UserFunction {
    fn clone(&self) -> Self {
        UserFunction { pickled: Arc::clone(&self.pickled), loaded: OnceLock::new() }
    }
}

impl UserFunction {
    /// The function of `pickled`, `(target, method)` as `cloudpickle.dumps` wrote it.
    pub fn new(pickled: Vec<u8>) -> Self {
        UserFunction { pickled: Arc::new(pickled), loaded: OnceLock::new() }
    }

    fn load(&self, py: Python<'_>) -> PyResult<&LoadedFunction> {
        if let Some(loaded) = self.loaded.get() {
            return Ok(loaded);
        }
        let (target, method): (Bound<'_, PyAny>, Option<String>) = unpickle(py, &self.pickled)?.extract()?;
        let call = match &method {
            Some(method) => target.getattr(method.as_str())?,
            None => target.clone(),
        };
        let loaded = LoadedFunction { target: target.unbind(), call: call.unbind(), has_life_cycle: method.is_some() };
        // Only the thread holding the interpreter gets here, so the cell is still empty.
        let _ = self.loaded.set(loaded);
        Ok(self.loaded.get().expect("set above"))
    }

    /// What is called per record.
    pub fn get<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.load(py)?.call.bind(py).clone())
    }

    /// Calls the function class's `open` with a runtime context of `runtime`; returns the
    /// context, whose state requests the caller binds (keyed) or refuses (not keyed).
    pub fn open(
        &self,
        py: Python<'_>,
        runtime: &pyflink_core::RuntimeContext,
    ) -> PyResult<Option<Py<NativeRuntimeContext>>> {
        let loaded = self.load(py)?;
        if !loaded.has_life_cycle {
            return Ok(None);
        }
        let native = Py::new(py, NativeRuntimeContext::new(runtime))?;
        let wrapper = crate::bridge::runtime_context(py)?.call1((native.clone_ref(py),))?;
        loaded.target.bind(py).call_method1("open", (wrapper,))?;
        Ok(Some(native))
    }

    /// Calls `initialize_state` of the function object if it is a `CheckpointedFunction`,
    /// with the operator state of `runtime`.
    pub fn initialize_operator_state(&self, py: Python<'_>, runtime: &pyflink_core::RuntimeContext) -> PyResult<()> {
        let loaded = self.load(py)?;
        if !loaded.has_life_cycle {
            return Ok(());
        }
        crate::operator_state::initialize(py, loaded.target.bind(py), runtime)
    }

    /// Calls `snapshot_state` of the function object if it is a `CheckpointedFunction`.
    pub fn snapshot_operator_state(&self, py: Python<'_>, checkpoint_id: u64) -> PyResult<()> {
        match self.loaded.get() {
            Some(loaded) if loaded.has_life_cycle => {
                crate::operator_state::snapshot(py, loaded.target.bind(py), checkpoint_id)
            }
            _ => Ok(()),
        }
    }

    /// Calls the function class's `close`, if it was opened.
    pub fn close(&self, py: Python<'_>) -> PyResult<()> {
        match self.loaded.get() {
            Some(loaded) if loaded.has_life_cycle => loaded.target.bind(py).call_method0("close").map(drop),
            _ => Ok(()),
        }
    }
}

/// Opens `function` on a stream that is not keyed: asking for keyed state there is an error.
pub fn open_unkeyed(function: &UserFunction, runtime: &pyflink_core::RuntimeContext) -> pyflink_core::Result<()> {
    Python::attach(|py| {
        let native = function.open(py, runtime).map_err(|e| python_error(py, e))?;
        match native {
            Some(native) => native.bind(py).borrow().refuse_states(KEYED_STATE_NEEDS_KEYS),
            None => Ok(()),
        }
    })
}

/// Opens `function` on a keyed stream: the keyed state it asks for is bound to `context`.
pub fn open_keyed(
    function: &UserFunction,
    context: &mut pyflink_core::KeyedRuntimeContext<'_, crate::value::PyKey>,
) -> pyflink_core::Result<()> {
    Python::attach(|py| {
        let native = function.open(py, context.runtime()).map_err(|e| python_error(py, e))?;
        match native {
            Some(native) => native.bind(py).borrow_mut().bind_states(context),
            None => Ok(()),
        }
    })
}

/// Closes `function`.
pub fn close(function: &UserFunction) -> pyflink_core::Result<()> {
    Python::attach(|py| function.close(py).map_err(|e| python_error(py, e)))
}

/// Why a function on a stream that is not keyed cannot have keyed state.
pub const KEYED_STATE_NEEDS_KEYS: &str =
    "keyed state can only be used on a keyed stream: key_by() the stream and use a KeyedProcessFunction";
