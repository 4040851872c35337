//! Python broadcast process functions on the engine: PyFlink's `BroadcastProcessFunction` and
//! `KeyedBroadcastProcessFunction`, run by the engine's broadcast operators, whose broadcast
//! state store checkpoints the functions' broadcast state.
//!
//! Life cycle: `open()` (with keyed state for the keyed function), then `process_element` for
//! each record of the main input (broadcast state read-only, timers on a keyed stream),
//! `process_broadcast_element` for each broadcast record (broadcast state writable; the changes
//! go to the store when the call returns), `on_timer` (keyed), and `close()`. These functions
//! run in this process's interpreter in both execution modes.

pub mod state;

use pyflink_core::api::broadcast::{
    BroadcastContext, BroadcastProcessFunction, KeyedBroadcastProcessFunction, KeyedReadOnlyBroadcastContext,
    ReadOnlyBroadcastContext,
};
use pyflink_core::time::{current_processing_time, TimeDomain};
use pyflink_core::{FlinkError, KeyedRuntimeContext, MapStateDescriptor, ProcessContext, Result, RuntimeContext};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::bridge;
use crate::context::{NativeKeyedContext, NativeRuntimeContext, TimerRequest};
use crate::function::{python_error, PyFunction};
use crate::side_output::SideOutputs;
use crate::thread::operators::OutputType;
use crate::value::{KeyedRecord, PyKey, PyValue};
use state::NativeBroadcastState;

/// The Python objects of one open instance.
struct Loaded {
    function: Py<PyAny>,
    process_element: Py<PyAny>,
    process_broadcast_element: Py<PyAny>,
    on_timer: Option<Py<PyAny>>,
    /// The engine side of the context, refreshed for every call.
    context: Py<NativeKeyedContext>,
    /// The context the function sees (`pyflink_rs.datastream.functions._BroadcastContext`).
    wrapper: Py<PyAny>,
    /// The broadcast states by name, shared with `wrapper`; filled on the first call, when the
    /// engine's store (restored or new) can be read.
    by_name: Py<PyDict>,
    states: Option<Vec<Py<NativeBroadcastState>>>,
}

/// What both broadcast operators do with their Python function.
struct BroadcastCalls {
    function: PyFunction,
    output: OutputType,
    sides: SideOutputs,
    state_names: Vec<String>,
    loaded: Option<Loaded>,
}

impl Clone for BroadcastCalls {
    fn clone(&self) -> Self {
        // Each parallel instance unpickles its own function object when it opens.
        BroadcastCalls {
            function: self.function.clone(),
            output: self.output.clone(),
            sides: self.sides.clone(),
            state_names: self.state_names.clone(),
            loaded: None,
        }
    }
}

/// The arguments of a call that shape its context.
struct CallFacts {
    key: Option<PyKey>,
    timestamp: Option<i64>,
    watermark: i64,
    processing_time: i64,
    time_domain: Option<u8>,
}

impl CallFacts {
    /// The facts of a call on a stream that is not keyed (or of a broadcast record): no key,
    /// and the wall clock as processing time, as there is no timer service.
    fn unkeyed(ctx: &ProcessContext<'_, PyValue>) -> Self {
        CallFacts {
            key: None,
            timestamp: ctx.timestamp(),
            watermark: ctx.current_watermark(),
            processing_time: current_processing_time(),
            time_domain: None,
        }
    }
}

impl BroadcastCalls {
    fn new(function: PyFunction, output: OutputType, sides: SideOutputs, state_names: Vec<String>) -> Self {
        BroadcastCalls { function, output, sides, state_names, loaded: None }
    }

    /// Opens the function with `runtime`, the Python `RuntimeContext` wrapping `native`.
    fn open(&mut self, py: Python<'_>, native: &Py<NativeRuntimeContext>, keyed: bool) -> PyResult<()> {
        let function = self.function.get(py)?;
        let runtime_context = bridge::runtime_context(py)?.call1((native.clone_ref(py),))?;
        function.call_method1("open", (runtime_context,))?;
        let context = Py::new(py, NativeKeyedContext::default())?;
        let by_name = PyDict::new(py);
        let wrapper = bridge::broadcast_context(py)?.call1((context.clone_ref(py), by_name.clone()))?;
        self.loaded = Some(Loaded {
            process_element: function.getattr("process_element")?.unbind(),
            process_broadcast_element: function.getattr("process_broadcast_element")?.unbind(),
            on_timer: if keyed { Some(function.getattr("on_timer")?.unbind()) } else { None },
            function: function.unbind(),
            context,
            wrapper: wrapper.unbind(),
            by_name: by_name.unbind(),
            states: None,
        });
        Ok(())
    }

    fn loaded(&self) -> &Loaded {
        self.loaded.as_ref().expect("open() runs before the first record")
    }

    /// Reads the broadcast states from the engine's store on the first call; `read` gives a
    /// state's entries by name.
    fn load_states(
        &mut self,
        py: Python<'_>,
        mut read: impl FnMut(&MapStateDescriptor<PyKey, PyValue>) -> Result<Vec<(PyKey, PyValue)>>,
    ) -> Result<()> {
        let loaded = self.loaded.as_mut().expect("open() runs before the first record");
        if loaded.states.is_some() {
            return Ok(());
        }
        let mut states = Vec::with_capacity(self.state_names.len());
        for name in &self.state_names {
            let entries = read(&MapStateDescriptor::new(name.as_str()))?;
            let state =
                Py::new(py, NativeBroadcastState::new(name.clone(), entries)).map_err(|e| python_error(py, e))?;
            loaded.by_name.bind(py).set_item(name, state.clone_ref(py)).map_err(|e| python_error(py, e))?;
            states.push(state);
        }
        loaded.states = Some(states);
        Ok(())
    }

    /// Sets the per-call facts of the context the function sees, and returns it.
    fn prepare<'py>(&self, py: Python<'py>, facts: CallFacts) -> Bound<'py, PyAny> {
        let loaded = self.loaded();
        let mut context = loaded.context.bind(py).borrow_mut();
        context.key = facts.key;
        context.timestamp = facts.timestamp;
        context.time_domain = facts.time_domain;
        context.watermark = facts.watermark;
        context.processing_time = facts.processing_time;
        loaded.wrapper.bind(py).clone()
    }

    fn set_writable(&self, py: Python<'_>, writable: bool) {
        for state in self.loaded().states.iter().flatten() {
            state.bind(py).borrow_mut().set_writable(writable);
        }
    }

    /// Calls `method` with `args` and emits what it returns or yields.
    fn call(
        &self,
        py: Python<'_>,
        method: &Py<PyAny>,
        args: Bound<'_, PyTuple>,
        out: &mut ProcessContext<'_, PyValue>,
    ) -> PyResult<()> {
        let result = method.bind(py).call1(args)?;
        if !result.is_none() {
            self.sides.emit_all(&result, &self.output, out)?;
        }
        Ok(())
    }

    /// The timer changes the last call asked for.
    fn take_timers(&self, py: Python<'_>) -> Vec<TimerRequest> {
        std::mem::take(&mut self.loaded().context.bind(py).borrow_mut().timers)
    }

    /// Runs `process_broadcast_element` with the broadcast states writable, then writes their
    /// changes to the engine's store.
    fn broadcast_element(&mut self, value: PyValue, ctx: &mut BroadcastContext<'_, PyValue>) -> Result<()> {
        Python::attach(|py| {
            self.load_states(py, |descriptor| Ok(ctx.get_broadcast_state(descriptor)?.items()))?;
            let context = self.prepare(py, CallFacts::unkeyed(ctx));
            self.set_writable(py, true);
            let args = PyTuple::new(py, [value.bind(py).clone(), context]).map_err(|e| python_error(py, e));
            let method = self.loaded().process_broadcast_element.clone_ref(py);
            let called = args.and_then(|args| self.call(py, &method, args, ctx).map_err(|e| python_error(py, e)));
            self.set_writable(py, false);
            for state in self.loaded().states.iter().flatten() {
                state.bind(py).borrow_mut().flush(ctx)?;
            }
            called?;
            refuse_timers(self.take_timers(py), "process_broadcast_element")
        })
    }

    fn close(&mut self) -> Result<()> {
        match &self.loaded {
            Some(loaded) => Python::attach(|py| {
                loaded.function.bind(py).call_method0("close").map(drop).map_err(|e| python_error(py, e))
            }),
            None => Ok(()),
        }
    }
}

/// Fails when a call without a timer service asked for timers.
fn refuse_timers(timers: Vec<TimerRequest>, method: &str) -> Result<()> {
    match timers.is_empty() {
        true => Ok(()),
        false => Err(FlinkError::InvalidProgram(format!(
            "timers can be set only in process_element and on_timer of a KeyedBroadcastProcessFunction, not in {method}"
        ))),
    }
}

/// Runs a cloudpickled Python `BroadcastProcessFunction` on a stream that is not keyed.
#[derive(Clone)]
pub struct PythonBroadcastProcess(BroadcastCalls);

impl PythonBroadcastProcess {
    /// An operator running the pickled function `function` with the broadcast states
    /// `state_names`, emitting records of `output` and to the side outputs `sides`.
    pub fn new(function: PyFunction, output: OutputType, sides: SideOutputs, state_names: Vec<String>) -> Self {
        PythonBroadcastProcess(BroadcastCalls::new(function, output, sides, state_names))
    }
}

impl BroadcastProcessFunction<PyValue, PyValue, PyValue> for PythonBroadcastProcess {
    fn open(&mut self, context: &RuntimeContext) -> Result<()> {
        Python::attach(|py| {
            let native = Py::new(py, NativeRuntimeContext::new(context)).map_err(|e| python_error(py, e))?;
            self.0.open(py, &native, false).map_err(|e| python_error(py, e))?;
            native.bind(py).borrow().refuse_states(
                "keyed state needs a keyed stream: key the stream and use a KeyedBroadcastProcessFunction",
            )
        })
    }

    fn process_element(&mut self, value: PyValue, ctx: &mut ReadOnlyBroadcastContext<'_, PyValue>) -> Result<()> {
        Python::attach(|py| {
            self.0.load_states(py, |descriptor| Ok(ctx.get_broadcast_state(descriptor)?.items()))?;
            let context = self.0.prepare(py, CallFacts::unkeyed(ctx));
            let args = PyTuple::new(py, [value.bind(py).clone(), context]).map_err(|e| python_error(py, e))?;
            let method = self.0.loaded().process_element.clone_ref(py);
            self.0.call(py, &method, args, ctx).map_err(|e| python_error(py, e))?;
            refuse_timers(self.0.take_timers(py), "a BroadcastProcessFunction")
        })
    }

    fn process_broadcast_element(&mut self, value: PyValue, ctx: &mut BroadcastContext<'_, PyValue>) -> Result<()> {
        self.0.broadcast_element(value, ctx)
    }

    fn close(&mut self) -> Result<()> {
        self.0.close()
    }
}

/// Runs a cloudpickled Python `KeyedBroadcastProcessFunction` on a keyed stream.
#[derive(Clone)]
pub struct PythonKeyedBroadcastProcess(BroadcastCalls);

impl PythonKeyedBroadcastProcess {
    /// As [`PythonBroadcastProcess::new`], for a keyed stream.
    pub fn new(function: PyFunction, output: OutputType, sides: SideOutputs, state_names: Vec<String>) -> Self {
        PythonKeyedBroadcastProcess(BroadcastCalls::new(function, output, sides, state_names))
    }

    /// Calls `process_element` (or `on_timer` with `timer`), then applies the timers it set.
    fn keyed_call(
        &mut self,
        timer: Option<i64>,
        value: Option<PyValue>,
        key: PyKey,
        ctx: &mut KeyedReadOnlyBroadcastContext<'_, PyKey, PyValue>,
    ) -> Result<()> {
        Python::attach(|py| {
            self.0.load_states(py, |descriptor| Ok(ctx.get_broadcast_state(descriptor)?.items()))?;
            let timestamp = timer.or(ctx.timestamp());
            let time_domain = timer.map(|_| match ctx.time_domain() {
                Some(TimeDomain::ProcessingTime) => 1,
                _ => 0,
            });
            let timers = ctx.timer_service();
            let facts = CallFacts {
                key: Some(key),
                timestamp,
                watermark: timers.current_watermark(),
                processing_time: timers.current_processing_time(),
                time_domain,
            };
            let context = self.0.prepare(py, facts);
            let loaded = self.0.loaded();
            let (method, first) = match (timer, value) {
                (Some(timestamp), _) => (
                    loaded.on_timer.as_ref().expect("a keyed function has on_timer").clone_ref(py),
                    match timestamp.into_pyobject(py) {
                        Ok(int) => int.into_any(),
                        Err(never) => match never {},
                    },
                ),
                (None, Some(value)) => (loaded.process_element.clone_ref(py), value.bind(py).clone()),
                (None, None) => unreachable!("a record or a timer"),
            };
            let args = PyTuple::new(py, [first, context]).map_err(|e| python_error(py, e))?;
            self.0.call(py, &method, args, ctx).map_err(|e| python_error(py, e))?;
            TimerRequest::apply_all(self.0.take_timers(py), &mut ctx.timer_service());
            Ok(())
        })
    }
}

impl KeyedBroadcastProcessFunction<PyKey, KeyedRecord, PyValue, PyValue> for PythonKeyedBroadcastProcess {
    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, PyKey>) -> Result<()> {
        Python::attach(|py| {
            let native = Py::new(py, NativeRuntimeContext::new(context.runtime())).map_err(|e| python_error(py, e))?;
            self.0.open(py, &native, true).map_err(|e| python_error(py, e))?;
            native.bind(py).borrow_mut().bind_states(context)
        })
    }

    fn process_element(
        &mut self,
        record: KeyedRecord,
        ctx: &mut KeyedReadOnlyBroadcastContext<'_, PyKey, PyValue>,
    ) -> Result<()> {
        self.keyed_call(None, Some(record.value), record.key, ctx)
    }

    fn process_broadcast_element(&mut self, value: PyValue, ctx: &mut BroadcastContext<'_, PyValue>) -> Result<()> {
        self.0.broadcast_element(value, ctx)
    }

    fn on_timer(&mut self, timestamp: i64, ctx: &mut KeyedReadOnlyBroadcastContext<'_, PyKey, PyValue>) -> Result<()> {
        let key = ctx.get_current_key();
        self.keyed_call(Some(timestamp), None, key, ctx)
    }

    fn close(&mut self) -> Result<()> {
        self.0.close()
    }
}
