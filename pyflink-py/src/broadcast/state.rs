//! Broadcast state as Python functions see it: each declared state's entries, held by the
//! operator between calls and written to the engine's broadcast state store when a broadcast
//! element changed them, so that checkpoints and savepoints hold them.

use std::collections::HashMap;

use pyflink_core::api::broadcast::BroadcastContext;
use pyflink_core::{MapStateDescriptor, Result};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::value::{PyKey, PyValue};

/// A change of a broadcast state, made by Python, that the engine's store has not seen yet.
enum Change {
    Put(PyKey, PyValue),
    Remove(PyKey),
    Clear,
}

/// One broadcast state (`MapStateDescriptor` name) of an operator instance: PyFlink's
/// `BroadcastState` while a broadcast element is processed, `ReadOnlyBroadcastState` otherwise.
#[pyclass(module = "pyflink_rs._engine")]
pub struct NativeBroadcastState {
    name: String,
    entries: HashMap<PyKey, PyValue>,
    writable: bool,
    changes: Vec<Change>,
}

impl NativeBroadcastState {
    /// The state `name` with the entries the store holds.
    pub fn new(name: String, entries: Vec<(PyKey, PyValue)>) -> Self {
        NativeBroadcastState { name, entries: entries.into_iter().collect(), writable: false, changes: Vec::new() }
    }

    /// The state's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Allows or forbids changes (allowed only while a broadcast element is processed).
    pub fn set_writable(&mut self, writable: bool) {
        self.writable = writable;
    }

    /// Writes the changes made since the last call into the engine's store.
    pub fn flush(&mut self, ctx: &mut BroadcastContext<'_, PyValue>) -> Result<()> {
        if self.changes.is_empty() {
            return Ok(());
        }
        let descriptor = MapStateDescriptor::<PyKey, PyValue>::new(self.name.as_str());
        let mut state = ctx.get_broadcast_state(&descriptor)?;
        for change in self.changes.drain(..) {
            match change {
                Change::Put(key, value) => state.put(key, value),
                Change::Remove(key) => state.remove(&key),
                Change::Clear => state.clear(),
            }
        }
        Ok(())
    }

    fn check_writable(&self) -> PyResult<()> {
        match self.writable {
            true => Ok(()),
            false => Err(PyRuntimeError::new_err(format!(
                "broadcast state '{}' is read-only here: change it in process_broadcast_element",
                self.name
            ))),
        }
    }
}

#[pymethods]
impl NativeBroadcastState {
    fn is_writable(&self) -> bool {
        self.writable
    }

    fn get(&self, py: Python<'_>, key: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let key = PyKey::from_object(&key)?;
        Ok(self.entries.get(&key).map_or_else(|| py.None(), |value| value.0.clone_ref(py)))
    }

    fn contains(&self, key: Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.entries.contains_key(&PyKey::from_object(&key)?))
    }

    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .entries
            .iter()
            .map(|(key, value)| PyTuple::new(py, [key.to_object(py)?, value.bind(py).clone()]))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let keys = self.entries.keys().map(|key| key.to_object(py)).collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, keys)
    }

    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.entries.values().map(|value| value.bind(py).clone()))
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn put(&mut self, py: Python<'_>, key: Bound<'_, PyAny>, value: Py<PyAny>) -> PyResult<()> {
        self.check_writable()?;
        let key = PyKey::from_object(&key)?;
        self.entries.insert(key.clone(), PyValue(value.clone_ref(py)));
        self.changes.push(Change::Put(key, PyValue(value)));
        Ok(())
    }

    fn put_all(&mut self, py: Python<'_>, entries: Bound<'_, PyDict>) -> PyResult<()> {
        for (key, value) in entries.iter() {
            self.put(py, key, value.unbind())?;
        }
        Ok(())
    }

    fn remove(&mut self, key: Bound<'_, PyAny>) -> PyResult<()> {
        self.check_writable()?;
        let key = PyKey::from_object(&key)?;
        self.entries.remove(&key);
        self.changes.push(Change::Remove(key));
        Ok(())
    }

    fn clear(&mut self) -> PyResult<()> {
        self.check_writable()?;
        self.entries.clear();
        self.changes.clear();
        self.changes.push(Change::Clear);
        Ok(())
    }
}
