//! A Python `KeyedProcessFunction` on the engine: `open()` with a runtime context that gives
//! keyed state, `process_element` and `on_timer` with a context for the key, the timestamp and
//! timers, results returned or yielded, and `close()`.

use pyflink_core::time::{TimeDomain, TimestampAssigner};
use pyflink_core::{KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext, OnTimerContext, Result};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::bridge;
use crate::context::{NativeKeyedContext, NativeRuntimeContext, TimerRequest};
use crate::function::{python_error, PyFunction};
use crate::interpreter::with_interpreter;
use crate::side_output::SideOutputs;
use crate::thread::operators::OutputType;
use crate::value::{KeyedRecord, PyKey, PyValue};

/// The Python objects of one open instance.
struct Loaded {
    function: Py<PyAny>,
    /// The function's bound `process_element` and `on_timer`, looked up once: a lookup by
    /// name per record costs more than the call.
    process_element: Py<PyAny>,
    on_timer: Py<PyAny>,
    /// The engine side of the context, refreshed for every call.
    context: Py<NativeKeyedContext>,
    /// The PyFlink-named wrapper of `context` that the function sees.
    wrapper: Py<PyAny>,
}

/// Runs a cloudpickled Python `KeyedProcessFunction` object.
pub struct PythonKeyedProcess {
    function: PyFunction,
    output: OutputType,
    sides: SideOutputs,
    loaded: Option<Loaded>,
}

impl Clone for PythonKeyedProcess {
    fn clone(&self) -> Self {
        // Each parallel instance unpickles its own function object when it opens.
        PythonKeyedProcess {
            function: self.function.clone(),
            output: self.output.clone(),
            sides: self.sides.clone(),
            loaded: None,
        }
    }
}

impl PythonKeyedProcess {
    /// An operator running the pickled function object `function`, emitting records of `output`
    /// and to the side outputs `sides`.
    pub fn new(function: PyFunction, output: OutputType, sides: SideOutputs) -> Self {
        PythonKeyedProcess { function, output, sides, loaded: None }
    }

    /// Calls `process_element` (or `on_timer` when `timer`) with `args`, emits what it returns
    /// or yields, and applies the timers it set.
    fn call(
        &mut self,
        py: Python<'_>,
        timer: bool,
        args: Bound<'_, PyTuple>,
        ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>,
    ) -> PyResult<()> {
        let loaded = self.loaded.as_ref().expect("open() runs before the first record");
        let method = if timer { &loaded.on_timer } else { &loaded.process_element };
        let result = method.bind(py).call1(args)?;
        if !result.is_none() {
            self.sides.emit_all(&result, &self.output, &mut **ctx)?;
        }
        let mut context = loaded.context.bind(py).borrow_mut();
        TimerRequest::apply_all(context.timers.drain(..), &mut ctx.timer_service());
        Ok(())
    }

    /// Sets the per-call facts of the context object the function sees, and returns it.
    fn prepare<'py>(
        &self,
        py: Python<'py>,
        key: PyKey,
        timestamp: Option<i64>,
        domain: Option<u8>,
        ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>,
    ) -> Bound<'py, PyAny> {
        let loaded = self.loaded.as_ref().expect("open() runs before the first record");
        let timers = ctx.timer_service();
        let mut context = loaded.context.bind(py).borrow_mut();
        context.key = Some(key);
        context.timestamp = timestamp;
        context.time_domain = domain;
        context.watermark = timers.current_watermark();
        context.processing_time = timers.current_processing_time();
        loaded.wrapper.bind(py).clone()
    }
}

impl KeyedProcessFunction<PyKey, KeyedRecord, PyValue> for PythonKeyedProcess {
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        with_interpreter(batch)
    }

    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, PyKey>) -> Result<()> {
        Python::attach(|py| {
            let opened = (|| -> PyResult<Py<NativeRuntimeContext>> {
                let function = self.function.get(py)?;
                let native = Py::new(py, NativeRuntimeContext::new(context.runtime()))?;
                let runtime_context = bridge::runtime_context(py)?.call1((native.clone_ref(py),))?;
                function.call_method1("open", (runtime_context,))?;
                let keyed_context = Py::new(py, NativeKeyedContext::default())?;
                let wrapper = bridge::keyed_context(py)?.call1((keyed_context.clone_ref(py),))?;
                self.loaded = Some(Loaded {
                    process_element: function.getattr("process_element")?.unbind(),
                    on_timer: function.getattr("on_timer")?.unbind(),
                    function: function.unbind(),
                    context: keyed_context,
                    wrapper: wrapper.unbind(),
                });
                Ok(native)
            })();
            let native = opened.map_err(|e| python_error(py, e))?;
            let mut bound = native.bind(py).borrow_mut();
            bound.bind_states(context)
        })
    }

    fn process_element(
        &mut self,
        record: KeyedRecord,
        ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>,
    ) -> Result<()> {
        Python::attach(|py| {
            let context = self.prepare(py, record.key, ctx.timestamp(), None, ctx);
            let args = PyTuple::new(py, [record.value.bind(py).clone(), context]).map_err(|e| python_error(py, e))?;
            self.call(py, false, args, ctx).map_err(|e| python_error(py, e))
        })
    }

    fn on_timer(&mut self, timestamp: i64, ctx: &mut OnTimerContext<'_, PyKey, PyValue>) -> Result<()> {
        let domain = match ctx.time_domain() {
            Some(TimeDomain::ProcessingTime) => 1,
            _ => 0,
        };
        let key = ctx.get_current_key();
        Python::attach(|py| {
            let context = self.prepare(py, key, Some(timestamp), Some(domain), ctx);
            let args = (timestamp, context).into_pyobject(py).map_err(|e| python_error(py, e))?;
            self.call(py, true, args, ctx).map_err(|e| python_error(py, e))
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

/// A Python `TimestampAssigner` (its `extract_timestamp(value, record_timestamp)`, or a
/// callable of the same two arguments).
pub struct PythonTimestampAssigner {
    function: Py<PyAny>,
}

impl PythonTimestampAssigner {
    /// The assigner calling `function`, unpickled from `pickled`.
    pub fn new(pickled: &[u8]) -> PyResult<Self> {
        Python::attach(|py| Ok(PythonTimestampAssigner { function: crate::value::unpickle(py, pickled)?.unbind() }))
    }
}

impl TimestampAssigner<PyValue> for PythonTimestampAssigner {
    fn extract_timestamp(&self, value: &PyValue, record_timestamp: Option<i64>) -> i64 {
        // Only sources call this infallible form, and pyflink-py sets no assigner on sources:
        // a failing assigner there fails the task as a panicking user function does.
        match self.try_extract_timestamp(value, record_timestamp) {
            Ok(timestamp) => timestamp,
            Err(error) => panic!("{error}"),
        }
    }

    fn try_extract_timestamp(&self, value: &PyValue, record_timestamp: Option<i64>) -> Result<i64> {
        Python::attach(|py| {
            let timestamp = self
                .function
                .bind(py)
                .call1((value.bind(py), record_timestamp.unwrap_or(i64::MIN)))
                .and_then(|timestamp| timestamp.extract::<i64>());
            timestamp.map_err(|e| python_error(py, e))
        })
    }
}
