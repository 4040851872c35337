//! A Python `KeyedProcessFunction` in process mode (see `python/pyflink_rs/worker_keyed.py`).
//! The engine keeps the keyed state and the timers. Records and fired timers are buffered in
//! order; a bundle carries the keys they touch with those keys' state, the worker runs the
//! function against that state, and its answer gives each call's results (and side outputs),
//! the state each key ended with, and the timers to set or delete, which the engine applies
//! before the bundle's watermark passes on.

use std::collections::HashMap;
use std::sync::Arc;

use pyflink_core::time::{current_processing_time, TimeDomain};
use pyflink_core::{KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext, OnTimerContext, Result};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::context::{NativeListState, NativeMapState, NativeRuntimeContext, NativeValueState};
use crate::function::python_error;
use crate::interpreter::with_interpreter;
use crate::process::worker::PythonWorker;
use crate::side_output::SideOutputs;
use crate::thread::operators::OutputType;
use crate::value::{KeyedRecord, PyKey, PyValue};

/// A state the function declared in `open()`, bound to the engine's keyed state.
enum Declared {
    Value(NativeValueState),
    List(NativeListState),
    Map(NativeMapState),
}

/// What the function is called for, in order: kinds as `worker_keyed.py` numbers them.
enum Event {
    Record { slot: usize, value: PyValue, timestamp: Option<i64> },
    Timer { slot: usize, timestamp: i64, event_time: bool },
}

/// The timer requests' codes, as `worker_keyed.py` numbers them.
const REGISTER_EVENT: u8 = 0;
const REGISTER_PROCESSING: u8 = 1;
const DELETE_EVENT: u8 = 2;

/// A worker's answer to a bundle: each call's results, each key's changed states, and the
/// timer requests `(slot, request, timestamp)`.
type Answer<'py> = (Bound<'py, PyAny>, Bound<'py, PyList>, Vec<(usize, u8, i64)>);

/// Runs a cloudpickled `KeyedProcessFunction` in a worker process.
pub struct BundledKeyedProcess {
    function: Arc<Vec<u8>>,
    /// `keyed_process` for a `KeyedProcessFunction`, `keyed_map` for a map after `key_by`.
    kind: &'static str,
    output: OutputType,
    sides: SideOutputs,
    bundle_size: usize,
    worker: Option<PythonWorker>,
    states: Vec<(String, Declared)>,
    keys: Vec<PyKey>,
    slots: HashMap<PyKey, usize>,
    events: Vec<Event>,
}

impl Clone for BundledKeyedProcess {
    fn clone(&self) -> Self {
        // Each parallel instance starts its own worker and binds its own state when it opens.
        let function = self.function.to_vec();
        let mut clone = BundledKeyedProcess::new(function, self.output.clone(), self.sides.clone(), self.bundle_size);
        clone.kind = self.kind;
        clone
    }
}

impl BundledKeyedProcess {
    /// An operator running the pickled function object `function` in bundles of
    /// `bundle_size` calls, emitting records of `output` and to the side outputs `sides`.
    pub fn new(function: Vec<u8>, output: OutputType, sides: SideOutputs, bundle_size: usize) -> Self {
        BundledKeyedProcess {
            function: Arc::new(function),
            kind: "keyed_process",
            output,
            sides,
            bundle_size: bundle_size.max(1),
            worker: None,
            states: Vec::new(),
            keys: Vec::new(),
            slots: HashMap::new(),
            events: Vec::new(),
        }
    }

    /// A `map` function after `key_by` (the `(target, method)` pair the Python layer pickles),
    /// run as a keyed process function so that its `open()` can ask for keyed state.
    pub fn keyed_map(function: Vec<u8>, output: OutputType, bundle_size: usize) -> Self {
        let mut operator = BundledKeyedProcess::new(function, output, SideOutputs::default(), bundle_size);
        operator.kind = "keyed_map";
        operator
    }

    fn slot(&mut self, key: PyKey) -> usize {
        if let Some(slot) = self.slots.get(&key) {
            return *slot;
        }
        self.keys.push(key.clone());
        self.slots.insert(key, self.keys.len() - 1);
        self.keys.len() - 1
    }

    /// Binds the states the worker's function declared: `(name, kind, ttl)` triples.
    fn bind(
        &mut self,
        py: Python<'_>,
        declared: &Bound<'_, PyAny>,
        context: &mut KeyedRuntimeContext<'_, PyKey>,
    ) -> Result<()> {
        let native = Py::new(py, NativeRuntimeContext::new(context.runtime())).map_err(|e| python_error(py, e))?;
        let declarations: Vec<(String, String, Option<Bound<'_, PyAny>>)> =
            declared.extract().map_err(|e| python_error(py, e))?;
        for (name, kind, ttl) in declarations {
            let mut runtime = native.bind(py).borrow_mut();
            let state = match kind.as_str() {
                "list" => runtime.get_list_state(name.clone(), ttl).map(Declared::List),
                "map" => runtime.get_map_state(name.clone(), ttl).map(Declared::Map),
                _ => runtime.get_state(name.clone(), ttl).map(Declared::Value),
            };
            self.states.push((name, state.map_err(|e| python_error(py, e))?));
        }
        let mut runtime = native.bind(py).borrow_mut();
        runtime.bind_states(context)
    }

    /// The state of the current key, by name.
    fn read_states<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let states = PyDict::new(py);
        for (name, state) in &self.states {
            match state {
                Declared::Value(state) => states.set_item(name, state.value(py)?)?,
                Declared::List(state) => states.set_item(name, state.get(py)?)?,
                Declared::Map(state) => states.set_item(name, PyDict::from_sequence(state.items(py)?.as_any())?)?,
            }
        }
        Ok(states)
    }

    /// Sets the current key's state `name` to `value` (`None` clears it).
    fn write_state(&self, name: &str, value: Bound<'_, PyAny>) -> PyResult<()> {
        let Some((_, state)) = self.states.iter().find(|(declared, _)| declared == name) else { return Ok(()) };
        match state {
            Declared::Value(state) if value.is_none() => state.clear(),
            Declared::Value(state) => state.update(value.unbind()),
            Declared::List(state) if value.is_none() => state.clear(),
            Declared::List(state) => state.update(value),
            Declared::Map(state) => {
                state.clear()?;
                match value.cast_into::<PyDict>() {
                    Ok(entries) => state.put_all(entries),
                    Err(_) => Ok(()),
                }
            }
        }
    }

    fn flush(&mut self, ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>) -> Result<()> {
        if self.events.is_empty() {
            return Ok(());
        }
        let events = std::mem::take(&mut self.events);
        let keys = std::mem::take(&mut self.keys);
        self.slots.clear();
        let (watermark, processing_time) = (ctx.timer_service().current_watermark(), current_processing_time());
        Python::attach(|py| {
            let message = (|| -> PyResult<Bound<'_, PyAny>> {
                let key_objects =
                    PyList::new(py, keys.iter().map(|key| key.to_object(py)).collect::<PyResult<Vec<_>>>()?)?;
                let states = PyList::empty(py);
                for key in &keys {
                    ctx.set_current_key(key.clone());
                    states.append(self.read_states(py)?)?;
                }
                let calls = PyList::empty(py);
                for event in &events {
                    match event {
                        Event::Record { slot, value, timestamp } => {
                            calls.append((0, *slot, value.bind(py), *timestamp))?
                        }
                        Event::Timer { slot, timestamp, event_time } => {
                            calls.append((if *event_time { 1 } else { 2 }, *slot, *timestamp, Some(*timestamp)))?
                        }
                    }
                }
                Ok((key_objects, states, calls, watermark, processing_time).into_pyobject(py)?.into_any())
            })()
            .map_err(|e| python_error(py, e))?;
            let worker = self.worker.as_mut().expect("open() runs before the first record");
            let answer = worker.bundle(py, message)?;
            let applied = (|| -> PyResult<()> {
                let (results, changes, timers): Answer<'_> = answer.extract()?;
                for (event, emitted) in events.iter().zip(results.try_iter()?) {
                    ctx.set_timestamp(match event {
                        Event::Record { timestamp, .. } => *timestamp,
                        Event::Timer { timestamp, event_time: true, .. } => Some(*timestamp),
                        Event::Timer { event_time: false, .. } => None,
                    });
                    self.sides.emit_all(&emitted?, &self.output, &mut **ctx)?;
                }
                for (key, changed) in keys.iter().zip(changes.iter()) {
                    let changed = changed.cast_into::<PyDict>()?;
                    if changed.is_empty() {
                        continue;
                    }
                    ctx.set_current_key(key.clone());
                    for (name, value) in changed.iter() {
                        self.write_state(&name.extract::<String>()?, value)?;
                    }
                }
                for (slot, request, timestamp) in timers {
                    let Some(key) = keys.get(slot) else { continue };
                    ctx.set_current_key(key.clone());
                    let mut service = ctx.timer_service();
                    match request {
                        REGISTER_EVENT => service.register_event_time_timer(timestamp),
                        REGISTER_PROCESSING => service.register_processing_time_timer(timestamp),
                        DELETE_EVENT => service.delete_event_time_timer(timestamp),
                        _ => service.delete_processing_time_timer(timestamp),
                    }
                }
                Ok(())
            })();
            applied.map_err(|e| python_error(py, e))
        })
    }
}

impl KeyedProcessFunction<PyKey, KeyedRecord, PyValue> for BundledKeyedProcess {
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        with_interpreter(batch)
    }

    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, PyKey>) -> Result<()> {
        Python::attach(|py| {
            let mut worker = PythonWorker::start(py, &self.function, self.kind, &context.runtime().task_info())?;
            // The engine binds the declared states now, so it waits for the worker's open().
            let declared = worker.opened(py)?;
            self.worker = Some(worker);
            self.bind(py, &declared, context)
        })
    }

    fn process_element(
        &mut self,
        record: KeyedRecord,
        ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>,
    ) -> Result<()> {
        let slot = self.slot(record.key);
        self.events.push(Event::Record { slot, value: record.value, timestamp: ctx.timestamp() });
        if self.events.len() >= self.bundle_size {
            self.flush(ctx)?;
        }
        Ok(())
    }

    fn on_timer(&mut self, timestamp: i64, ctx: &mut OnTimerContext<'_, PyKey, PyValue>) -> Result<()> {
        let event_time = !matches!(ctx.time_domain(), Some(TimeDomain::ProcessingTime));
        let slot = self.slot(ctx.get_current_key());
        self.events.push(Event::Timer { slot, timestamp, event_time });
        Ok(())
    }

    fn finish_batch(&mut self, ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>) -> Result<()> {
        self.flush(ctx)
    }

    fn close(&mut self) -> Result<()> {
        match self.worker.take() {
            Some(worker) => Python::attach(|py| worker.close(py)),
            None => Ok(()),
        }
    }
}
