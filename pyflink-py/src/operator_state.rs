//! Operator state for Python functions (Flink's `CheckpointedFunction`, which PyFlink lacks):
//! a map, flat_map or filter function that is a `CheckpointedFunction` gets list states that
//! are not keyed from `initialize_state(context)`, fills them in `snapshot_state(context)` as a
//! checkpoint is taken, and finds them again after a restore: split over the instances (list
//! state) or whole in each (union list state) when the parallelism changed.

use std::sync::Arc;

use pyflink_core::{ListStateDescriptor, OperatorListState, OperatorStateStore, RuntimeContext};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::value::PyValue;

/// The operator state store of one instance, as Python's `FunctionInitializationContext`
/// reaches it.
#[pyclass(module = "pyflink_rs._engine")]
pub struct NativeOperatorStateStore {
    store: Arc<OperatorStateStore>,
    restored: bool,
}

impl NativeOperatorStateStore {
    /// The store of the instance `runtime` describes.
    pub fn new(runtime: &RuntimeContext) -> Self {
        NativeOperatorStateStore { store: runtime.operator_state_store(), restored: runtime.is_restored() }
    }
}

#[pymethods]
impl NativeOperatorStateStore {
    /// The list state `name`, split over the instances on restore.
    fn get_list_state(&self, name: String) -> PyResult<NativeOperatorListState> {
        let state = self.store.get_list_state(&ListStateDescriptor::new(&name));
        Ok(NativeOperatorListState { state: state.map_err(|e| PyValueError::new_err(e.to_string()))? })
    }

    /// The list state `name`, given whole to every instance on restore.
    fn get_union_list_state(&self, name: String) -> PyResult<NativeOperatorListState> {
        let state = self.store.get_union_list_state(&ListStateDescriptor::new(&name));
        Ok(NativeOperatorListState { state: state.map_err(|e| PyValueError::new_err(e.to_string()))? })
    }

    /// Whether the instance starts from a checkpoint or savepoint.
    fn is_restored(&self) -> bool {
        self.restored
    }
}

/// A list state of the operator (not keyed), of Python objects.
#[pyclass(module = "pyflink_rs._engine")]
pub struct NativeOperatorListState {
    state: OperatorListState<PyValue>,
}

#[pymethods]
impl NativeOperatorListState {
    fn get<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.state.get().into_iter().map(|value| value.0))
    }

    fn add(&self, value: Py<PyAny>) {
        self.state.add(PyValue(value));
    }

    fn add_all(&self, values: Bound<'_, PyAny>) -> PyResult<()> {
        for value in values.try_iter()? {
            self.state.add(PyValue(value?.unbind()));
        }
        Ok(())
    }

    fn update(&self, values: Bound<'_, PyAny>) -> PyResult<()> {
        let values = values.try_iter()?.map(|value| value.map(|v| PyValue(v.unbind()))).collect::<PyResult<_>>()?;
        self.state.update(values);
        Ok(())
    }

    fn clear(&self) {
        self.state.clear();
    }
}

/// Calls `initialize_state` of `function` if it is a `CheckpointedFunction`, with the operator
/// state store of `runtime`.
pub fn initialize(py: Python<'_>, function: &Bound<'_, PyAny>, runtime: &RuntimeContext) -> PyResult<()> {
    let store = Py::new(py, NativeOperatorStateStore::new(runtime))?;
    crate::bridge::initialize_operator_state(py)?.call1((function, store)).map(drop)
}

/// Calls `snapshot_state` of `function` if it is a `CheckpointedFunction`.
pub fn snapshot(py: Python<'_>, function: &Bound<'_, PyAny>, checkpoint_id: u64) -> PyResult<()> {
    crate::bridge::snapshot_operator_state(py)?.call1((function, checkpoint_id)).map(drop)
}
