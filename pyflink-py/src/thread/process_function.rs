//! A Python `ProcessFunction` on a stream that is not keyed: `open()` with a runtime context,
//! `process_element(value, ctx)` with the record's timestamp and the current times, results
//! (and side outputs) returned or yielded, and `close()`. Keyed state and timers need a keyed
//! stream, as in Flink; asking for them here is a clear error.

use pyflink_core::time::current_processing_time;
use pyflink_core::{FlinkError, ProcessContext, ProcessFunction, Result, RuntimeContext};
use pyo3::prelude::*;

use crate::bridge;
use crate::context::{NativeKeyedContext, NativeRuntimeContext};
use crate::function::{python_error, PyFunction};
use crate::interpreter::with_interpreter;
use crate::side_output::SideOutputs;
use crate::thread::operators::OutputType;
use crate::value::PyValue;

/// The Python objects of one open instance.
struct Loaded {
    function: Py<PyAny>,
    /// The function's bound `process_element`, looked up once.
    process_element: Py<PyAny>,
    /// The engine side of the context, refreshed for every record.
    context: Py<NativeKeyedContext>,
    /// The PyFlink-named wrapper of `context` that the function sees.
    wrapper: Py<PyAny>,
}

/// Runs a cloudpickled Python `ProcessFunction` object.
pub struct PythonProcess {
    function: PyFunction,
    output: OutputType,
    sides: SideOutputs,
    loaded: Option<Loaded>,
}

impl Clone for PythonProcess {
    fn clone(&self) -> Self {
        PythonProcess {
            function: self.function.clone(),
            output: self.output.clone(),
            sides: self.sides.clone(),
            loaded: None,
        }
    }
}

impl PythonProcess {
    /// An operator running the pickled function object `function`, emitting records of `output`
    /// and to the side outputs `sides`.
    pub fn new(function: PyFunction, output: OutputType, sides: SideOutputs) -> Self {
        PythonProcess { function, output, sides, loaded: None }
    }

    fn process(&self, py: Python<'_>, value: PyValue, ctx: &mut ProcessContext<'_, PyValue>) -> PyResult<bool> {
        let loaded = self.loaded.as_ref().expect("open() runs before the first record");
        {
            let mut context = loaded.context.bind(py).borrow_mut();
            context.timestamp = ctx.timestamp();
            context.watermark = ctx.current_watermark();
            context.processing_time = current_processing_time();
        }
        let result = loaded.process_element.bind(py).call1((value.0, loaded.wrapper.bind(py)))?;
        if !result.is_none() {
            self.sides.emit_all(&result, &self.output, ctx)?;
        }
        let mut context = loaded.context.bind(py).borrow_mut();
        let asked_for_timers = !context.timers.is_empty();
        context.timers.clear();
        Ok(asked_for_timers)
    }
}

impl ProcessFunction<PyValue, PyValue> for PythonProcess {
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        with_interpreter(batch)
    }

    fn open(&mut self, runtime: &RuntimeContext) -> Result<()> {
        Python::attach(|py| {
            let opened = (|| -> PyResult<Py<NativeRuntimeContext>> {
                let function = self.function.get(py)?;
                let native = Py::new(py, NativeRuntimeContext::new(runtime))?;
                let runtime_context = bridge::runtime_context(py)?.call1((native.clone_ref(py),))?;
                function.call_method1("open", (runtime_context,))?;
                let context = Py::new(py, NativeKeyedContext::default())?;
                let wrapper = bridge::keyed_context(py)?.call1((context.clone_ref(py),))?;
                self.loaded = Some(Loaded {
                    process_element: function.getattr("process_element")?.unbind(),
                    function: function.unbind(),
                    context,
                    wrapper: wrapper.unbind(),
                });
                Ok(native)
            })();
            let native = opened.map_err(|e| python_error(py, e))?;
            let refused = native.bind(py).borrow().refuse_states(
                "keyed state can only be used on a keyed stream: key_by() the stream and use a KeyedProcessFunction",
            );
            refused
        })
    }

    fn process_element(&mut self, value: PyValue, ctx: &mut ProcessContext<'_, PyValue>) -> Result<()> {
        let asked_for_timers = Python::attach(|py| self.process(py, value, ctx).map_err(|e| python_error(py, e)))?;
        if asked_for_timers {
            return Err(FlinkError::InvalidProgram(
                "timers can only be set on a keyed stream: key_by() the stream and use a KeyedProcessFunction".into(),
            ));
        }
        Ok(())
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
