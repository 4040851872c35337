//! The objects a Python function reaches the engine through: its runtime context (task facts,
//! keyed state) and the context of a record or timer (timestamp, key, timers).
//!
//! They are pyo3 classes owned by one operator instance. A Python function asks for state in
//! `open()`; the request is recorded and the operator binds it to the engine's state when
//! `open()` returns, so that no engine borrow outlives a Python call. A bound handle is set
//! once, so reading it on the per-record path takes no lock.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use pyflink_core::time::TimerService;
use pyflink_core::{
    KeyedRuntimeContext, ListState, ListStateDescriptor, MapState, MapStateDescriptor, StateTtlConfig, StateVisibility,
    UpdateType, ValueState, ValueStateDescriptor,
};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::value::{PyKey, PyValue};

/// A state handle, empty until the operator binds it.
type Slot<S> = Arc<OnceLock<S>>;

/// A state a Python function asked for.
enum StateRequest {
    Value(ValueStateDescriptor<PyValue>, Slot<ValueState<PyValue>>),
    List(ListStateDescriptor<PyValue>, Slot<ListState<PyValue>>),
    Map(MapStateDescriptor<PyKey, PyValue>, Slot<MapState<PyKey, PyValue>>),
}

fn state_error(error: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(format!("state access failed: {error}"))
}

fn unbound(name: &str) -> PyErr {
    PyRuntimeError::new_err(format!(
        "state '{name}' is not ready: keyed state can be used from the first record on, after open() returns"
    ))
}

/// What PyFlink's `RuntimeContext` offers, for one operator instance.
#[pyclass(module = "pyflink_rs._engine")]
pub struct NativeRuntimeContext {
    task_name: String,
    subtask_index: usize,
    parallelism: usize,
    max_parallelism: usize,
    metrics: pyflink_core::metrics::MetricGroup,
    job_parameters: pyflink_core::JobParameters,
    requests: Vec<StateRequest>,
}

impl NativeRuntimeContext {
    /// The context of the instance that `runtime` describes.
    pub fn new(runtime: &pyflink_core::RuntimeContext) -> Self {
        NativeRuntimeContext {
            task_name: runtime.get_task_name().to_string(),
            subtask_index: runtime.get_index_of_this_subtask(),
            parallelism: runtime.get_number_of_parallel_subtasks(),
            max_parallelism: runtime.get_max_number_of_parallel_subtasks(),
            metrics: runtime.get_metric_group().clone(),
            job_parameters: runtime.task_info().get_job_parameters().clone(),
            requests: Vec::new(),
        }
    }

    /// Fails with `message` when the function asked for state where it has none.
    pub fn refuse_states(&self, message: &str) -> pyflink_core::Result<()> {
        if self.requests.is_empty() {
            return Ok(());
        }
        Err(pyflink_core::FlinkError::InvalidProgram(message.to_string()))
    }

    /// Binds every state asked for so far to the engine's keyed state.
    pub fn bind_states(&mut self, context: &mut KeyedRuntimeContext<'_, PyKey>) -> pyflink_core::Result<()> {
        for request in self.requests.drain(..) {
            // A slot is bound once: each request made its own.
            match request {
                StateRequest::Value(descriptor, slot) => drop(slot.set(context.get_state(&descriptor)?)),
                StateRequest::List(descriptor, slot) => drop(slot.set(context.get_list_state(&descriptor)?)),
                StateRequest::Map(descriptor, slot) => drop(slot.set(context.get_map_state(&descriptor)?)),
            }
        }
        Ok(())
    }
}

/// The engine's TTL configuration of a Python `StateTtlConfig`, read through PyFlink's public
/// getters (`get_ttl`, `get_update_type`, `get_state_visibility`, `get_cleanup_strategies`).
fn ttl_config(ttl: &Bound<'_, PyAny>) -> PyResult<StateTtlConfig> {
    let millis: i64 = ttl.call_method0("get_ttl")?.call_method0("to_milliseconds")?.extract()?;
    if millis <= 0 {
        return Err(PyValueError::new_err("a state TTL must be positive"));
    }
    let update_type = match ttl.call_method0("get_update_type")?.getattr("value")?.extract::<i64>()? {
        0 => UpdateType::Disabled,
        1 => UpdateType::OnCreateAndWrite,
        _ => UpdateType::OnReadAndWrite,
    };
    let visibility = match ttl.call_method0("get_state_visibility")?.getattr("value")?.extract::<i64>()? {
        0 => StateVisibility::ReturnExpiredIfNotCleanedUp,
        _ => StateVisibility::NeverReturnExpired,
    };
    let mut builder = StateTtlConfig::new_builder(Duration::from_millis(millis as u64))
        .set_update_type(update_type)
        .set_state_visibility(visibility);
    let strategies = ttl.call_method0("get_cleanup_strategies")?;
    if strategies.call_method0("in_full_snapshot")?.is_truthy()? {
        builder = builder.cleanup_full_snapshot();
    }
    // Set, or Flink's default of background cleanup (5 entries per access), or none.
    let incremental = strategies.call_method0("get_incremental_cleanup_strategy")?;
    if !incremental.is_none() {
        builder = builder.cleanup_incrementally(incremental.call_method0("get_cleanup_size")?.extract()?);
    }
    if !strategies.call_method0("is_cleanup_in_background")?.is_truthy()? {
        builder = builder.disable_cleanup_in_background();
    }
    Ok(builder.build())
}

#[pymethods]
impl NativeRuntimeContext {
    fn get_metric_group(&self) -> crate::metrics::NativeMetricGroup {
        crate::metrics::NativeMetricGroup::new(self.metrics.clone())
    }

    fn get_task_name(&self) -> &str {
        &self.task_name
    }

    fn get_index_of_this_subtask(&self) -> usize {
        self.subtask_index
    }

    fn get_number_of_parallel_subtasks(&self) -> usize {
        self.parallelism
    }

    fn get_max_number_of_parallel_subtasks(&self) -> usize {
        self.max_parallelism
    }

    fn get_job_parameter(&self, key: &str, default_value: Py<PyAny>, py: Python<'_>) -> Py<PyAny> {
        match self.job_parameters.get(key) {
            Some(value) => pyo3::types::PyString::new(py, value).into_any().unbind(),
            None => default_value,
        }
    }

    #[pyo3(signature = (name, ttl=None))]
    pub(crate) fn get_state(&mut self, name: String, ttl: Option<Bound<'_, PyAny>>) -> PyResult<NativeValueState> {
        let mut descriptor = ValueStateDescriptor::new(name.clone());
        if let Some(ttl) = ttl {
            descriptor.enable_time_to_live(ttl_config(&ttl)?);
        }
        let slot: Slot<ValueState<PyValue>> = Arc::default();
        self.requests.push(StateRequest::Value(descriptor, Arc::clone(&slot)));
        Ok(NativeValueState { name, slot })
    }

    #[pyo3(signature = (name, ttl=None))]
    pub(crate) fn get_list_state(&mut self, name: String, ttl: Option<Bound<'_, PyAny>>) -> PyResult<NativeListState> {
        let mut descriptor = ListStateDescriptor::new(name.clone());
        if let Some(ttl) = ttl {
            descriptor.enable_time_to_live(ttl_config(&ttl)?);
        }
        let slot: Slot<ListState<PyValue>> = Arc::default();
        self.requests.push(StateRequest::List(descriptor, Arc::clone(&slot)));
        Ok(NativeListState { name, slot })
    }

    #[pyo3(signature = (name, ttl=None))]
    pub(crate) fn get_map_state(&mut self, name: String, ttl: Option<Bound<'_, PyAny>>) -> PyResult<NativeMapState> {
        let mut descriptor = MapStateDescriptor::new(name.clone());
        if let Some(ttl) = ttl {
            descriptor.enable_time_to_live(ttl_config(&ttl)?);
        }
        let slot: Slot<MapState<PyKey, PyValue>> = Arc::default();
        self.requests.push(StateRequest::Map(descriptor, Arc::clone(&slot)));
        Ok(NativeMapState { name, slot })
    }
}

/// A `ValueState` of Python objects, for the current key.
#[pyclass(module = "pyflink_rs._engine")]
pub struct NativeValueState {
    name: String,
    slot: Slot<ValueState<PyValue>>,
}

#[pymethods]
impl NativeValueState {
    pub(crate) fn value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let state = self.slot.get().ok_or_else(|| unbound(&self.name))?;
        Ok(state.try_value().map_err(state_error)?.map_or_else(|| py.None(), |value| value.0))
    }

    pub(crate) fn update(&self, value: Py<PyAny>) -> PyResult<()> {
        let state = self.slot.get().ok_or_else(|| unbound(&self.name))?;
        state.try_update(PyValue(value)).map_err(state_error)
    }

    pub(crate) fn clear(&self) -> PyResult<()> {
        self.slot.get().ok_or_else(|| unbound(&self.name))?.try_clear().map_err(state_error)
    }
}

/// A `ListState` of Python objects, for the current key.
#[pyclass(module = "pyflink_rs._engine")]
pub struct NativeListState {
    name: String,
    slot: Slot<ListState<PyValue>>,
}

fn values_of(values: &Bound<'_, PyAny>) -> PyResult<Vec<PyValue>> {
    values.try_iter()?.map(|value| Ok(PyValue(value?.unbind()))).collect()
}

#[pymethods]
impl NativeListState {
    pub(crate) fn get<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let values = self.slot.get().ok_or_else(|| unbound(&self.name))?.get().map_err(state_error)?;
        PyList::new(py, values.into_iter().map(|value| value.0))
    }

    fn add(&self, value: Py<PyAny>) -> PyResult<()> {
        self.slot.get().ok_or_else(|| unbound(&self.name))?.add(PyValue(value)).map_err(state_error)
    }

    fn add_all(&self, values: Bound<'_, PyAny>) -> PyResult<()> {
        self.slot.get().ok_or_else(|| unbound(&self.name))?.add_all(values_of(&values)?).map_err(state_error)
    }

    pub(crate) fn update(&self, values: Bound<'_, PyAny>) -> PyResult<()> {
        self.slot.get().ok_or_else(|| unbound(&self.name))?.update(values_of(&values)?).map_err(state_error)
    }

    pub(crate) fn clear(&self) -> PyResult<()> {
        self.slot.get().ok_or_else(|| unbound(&self.name))?.clear().map_err(state_error)
    }
}

/// A `MapState` of Python keys and objects, for the current key.
#[pyclass(module = "pyflink_rs._engine")]
pub struct NativeMapState {
    name: String,
    slot: Slot<MapState<PyKey, PyValue>>,
}

impl NativeMapState {
    fn with<R>(&self, f: impl FnOnce(&MapState<PyKey, PyValue>) -> PyResult<R>) -> PyResult<R> {
        f(self.slot.get().ok_or_else(|| unbound(&self.name))?)
    }
}

#[pymethods]
impl NativeMapState {
    fn get(&self, py: Python<'_>, key: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let key = PyKey::from_object(&key)?;
        self.with(|state| Ok(state.get(&key).map_err(state_error)?.map_or_else(|| py.None(), |value| value.0)))
    }

    fn put(&self, key: Bound<'_, PyAny>, value: Py<PyAny>) -> PyResult<()> {
        let key = PyKey::from_object(&key)?;
        self.with(|state| state.put(key, PyValue(value)).map_err(state_error))
    }

    pub(crate) fn put_all(&self, entries: Bound<'_, PyDict>) -> PyResult<()> {
        let entries = entries
            .iter()
            .map(|(key, value)| Ok((PyKey::from_object(&key)?, PyValue(value.unbind()))))
            .collect::<PyResult<Vec<_>>>()?;
        self.with(|state| state.put_all(entries).map_err(state_error))
    }

    fn remove(&self, key: Bound<'_, PyAny>) -> PyResult<()> {
        let key = PyKey::from_object(&key)?;
        self.with(|state| state.remove(&key).map_err(state_error))
    }

    fn contains(&self, key: Bound<'_, PyAny>) -> PyResult<bool> {
        let key = PyKey::from_object(&key)?;
        self.with(|state| state.contains(&key).map_err(state_error))
    }

    pub(crate) fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self.with(|state| state.items().map_err(state_error))?;
        let pairs = items
            .into_iter()
            .map(|(key, value)| PyTuple::new(py, [key.to_object(py)?, value.0.into_bound(py)]))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, pairs)
    }

    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let keys = self.with(|state| state.keys().map_err(state_error))?;
        PyList::new(py, keys.iter().map(|key| key.to_object(py)).collect::<PyResult<Vec<_>>>()?)
    }

    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let values = self.with(|state| state.values().map_err(state_error))?;
        PyList::new(py, values.into_iter().map(|value| value.0))
    }

    fn is_empty(&self) -> PyResult<bool> {
        self.with(|state| state.is_empty().map_err(state_error))
    }

    pub(crate) fn clear(&self) -> PyResult<()> {
        self.with(|state| state.clear().map_err(state_error))
    }
}

/// A timer change a Python function asked for while it ran.
#[derive(Debug, Clone, Copy)]
pub enum TimerRequest {
    /// `register_event_time_timer`.
    RegisterEventTime(i64),
    /// `register_processing_time_timer`.
    RegisterProcessingTime(i64),
    /// `delete_event_time_timer`.
    DeleteEventTime(i64),
    /// `delete_processing_time_timer`.
    DeleteProcessingTime(i64),
}

impl TimerRequest {
    /// Applies `requests`, in order, to the timer service of the current key.
    pub fn apply_all(requests: impl IntoIterator<Item = TimerRequest>, timers: &mut TimerService<'_, PyKey>) {
        for request in requests {
            match request {
                TimerRequest::RegisterEventTime(t) => timers.register_event_time_timer(t),
                TimerRequest::RegisterProcessingTime(t) => timers.register_processing_time_timer(t),
                TimerRequest::DeleteEventTime(t) => timers.delete_event_time_timer(t),
                TimerRequest::DeleteProcessingTime(t) => timers.delete_processing_time_timer(t),
            }
        }
    }
}

/// The context of one record or timer in a keyed function: PyFlink's
/// `KeyedProcessFunction.Context`, `OnTimerContext` and `TimerService` in one object.
#[pyclass(module = "pyflink_rs._engine")]
#[derive(Default)]
pub struct NativeKeyedContext {
    /// The key being processed.
    pub key: Option<PyKey>,
    /// The record's (or timer's) timestamp.
    pub timestamp: Option<i64>,
    /// The operator's current watermark.
    pub watermark: i64,
    /// Processing time when the call began.
    pub processing_time: i64,
    /// In `on_timer`: 0 for event time, 1 for processing time.
    pub time_domain: Option<u8>,
    /// Timer changes, applied when the call returns.
    pub timers: Vec<TimerRequest>,
}

#[pymethods]
impl NativeKeyedContext {
    fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    fn get_current_key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.key {
            Some(key) => key.to_object(py),
            None => Ok(py.None().into_bound(py)),
        }
    }

    fn current_watermark(&self) -> i64 {
        self.watermark
    }

    fn current_processing_time(&self) -> i64 {
        self.processing_time
    }

    fn time_domain(&self) -> Option<u8> {
        self.time_domain
    }

    fn register_event_time_timer(&mut self, timestamp: i64) {
        self.timers.push(TimerRequest::RegisterEventTime(timestamp));
    }

    fn register_processing_time_timer(&mut self, timestamp: i64) {
        self.timers.push(TimerRequest::RegisterProcessingTime(timestamp));
    }

    fn delete_event_time_timer(&mut self, timestamp: i64) {
        self.timers.push(TimerRequest::DeleteEventTime(timestamp));
    }

    fn delete_processing_time_timer(&mut self, timestamp: i64) {
        self.timers.push(TimerRequest::DeleteProcessingTime(timestamp));
    }
}
