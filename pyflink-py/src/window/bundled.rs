//! Window functions in process mode: the engine keeps the windows and all their records, and
//! when a window fires its worker (`worker_keyed.Window`) folds them with the reduce or
//! aggregate function, if any, and runs the window function. Each firing is one exchange with
//! the worker; its results and side outputs carry the window's timestamp. The function's
//! `window_state()` and `global_state()` go with the firing and come back with the results.

use pyflink_core::window::{ProcessWindowFunction, WindowContext, WindowRuntimeContext};
use pyflink_core::{Result, RuntimeContext};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::function::python_error;
use crate::interpreter::with_interpreter;
use crate::plan::WindowContentsSpec;
use crate::process::bundled::Bundling;
use crate::side_output::{Emit, SideOutputs};
use crate::thread::operators::OutputType;
use crate::value::{KeyedRecord, PyKey, PyValue};
use crate::window::function::{PythonWindow, ScopeUpdates, StoredStates};

/// What the worker is told when a window fires.
pub const FIRE: u8 = 0;
/// What the worker is told when a window is removed.
const CLEAR: u8 = 1;

/// A window that fires (or is removed), as the worker takes it.
pub struct Firing<'py> {
    /// The window object (`TimeWindow`, `GlobalWindow`, `CountWindow`).
    pub window: Bound<'py, PyAny>,
    /// The current watermark and processing time.
    pub times: (i64, i64),
    /// The window's records.
    pub records: Bound<'py, PyList>,
}

/// A window evaluator (and its reduce or aggregate function) in a worker process.
#[derive(Clone)]
pub struct WorkerWindowFunction {
    bundling: Bundling,
    output: OutputType,
    sides: SideOutputs,
    states: StoredStates,
}

impl WorkerWindowFunction {
    /// The cloudpickled window evaluator `evaluator` with `contents`, emitting records of
    /// `output` and to the side outputs `sides`.
    pub fn new(
        evaluator: &[u8],
        contents: &WindowContentsSpec,
        output: OutputType,
        sides: SideOutputs,
    ) -> Result<Self> {
        let payload = Python::attach(|py| {
            let described = (|| -> PyResult<Vec<u8>> {
                let (kind, function) = match contents {
                    WindowContentsSpec::All => ("all", PyBytes::new(py, &[])),
                    WindowContentsSpec::Reduce { function } => ("reduce", PyBytes::new(py, function)),
                    WindowContentsSpec::Aggregate { function } => ("aggregate", PyBytes::new(py, function)),
                };
                let description = (PyBytes::new(py, evaluator), kind, function).into_pyobject(py)?;
                crate::value::pickle(description.as_any())
            })();
            described.map_err(|e| python_error(py, e))
        })?;
        Ok(WorkerWindowFunction {
            bundling: Bundling::new(payload, "window", 1),
            output,
            sides,
            states: StoredStates::default(),
        })
    }

    /// Starts the worker of the operator instance `runtime` describes, whose window functions
    /// keep their states in `states`.
    pub fn open(&mut self, runtime: &RuntimeContext, states: StoredStates) -> Result<()> {
        self.states = states;
        self.bundling.open(runtime)
    }

    /// Ends the worker.
    pub fn close(&mut self) -> Result<()> {
        self.bundling.close()
    }

    /// Sends `(what, key, window, watermark, processing time, records, window states, global
    /// states)` to the worker, emits the results it answers to `out` and stores the states it
    /// gives back.
    pub fn exchange<'py>(
        &mut self,
        py: Python<'py>,
        what: u8,
        key: &PyKey,
        firing: Firing<'py>,
        out: &mut impl Emit,
    ) -> Result<()> {
        let message = (|| -> PyResult<Bound<'py, PyAny>> {
            let Firing { window, times, records } = firing;
            let (window_states, global_states) = self.states.read(py);
            let message = (what, key.to_object(py)?, window, times.0, times.1, records, window_states, global_states);
            Ok(message.into_pyobject(py)?.into_any())
        })()
        .map_err(|e| python_error(py, e))?;
        let answer = self.bundling.run(py, message)?;
        let emitted = (|| -> PyResult<()> {
            let (results, window_states, global_states): (Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>) =
                answer.extract()?;
            self.sides.emit_all(&results, &self.output, out)?;
            let updates = (window_states, global_states).into_pyobject(py)?.into_any();
            self.states.write(ScopeUpdates::of(&updates)?)
        })();
        emitted.map_err(|e| python_error(py, e))
    }

    /// The engine's window, its times and records as the worker takes them.
    fn describe<'py, W: PythonWindow>(
        py: Python<'py>,
        ctx: &WindowContext<'_, W, PyValue>,
        records: &[KeyedRecord],
    ) -> Result<Firing<'py>> {
        let described = (|| -> PyResult<_> {
            let records = PyList::new(py, records.iter().map(|record| record.value.bind(py)))?;
            let times = (ctx.current_watermark(), ctx.current_processing_time());
            Ok(Firing { window: ctx.window().to_python(py)?, times, records })
        })();
        described.map_err(|e| python_error(py, e))
    }
}

impl<W: PythonWindow> ProcessWindowFunction<KeyedRecord, PyValue, PyKey, W> for WorkerWindowFunction {
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        with_interpreter(batch)
    }

    fn open(&mut self, context: &mut WindowRuntimeContext<'_, PyKey, W>) -> Result<()> {
        let states = StoredStates::of_windows(context)?;
        WorkerWindowFunction::open(self, context.runtime(), states)
    }

    fn process(&mut self, key: &PyKey, ctx: &mut WindowContext<'_, W, PyValue>, records: &[KeyedRecord]) -> Result<()> {
        Python::attach(|py| {
            let firing = Self::describe(py, ctx, records)?;
            self.exchange(py, FIRE, key, firing, ctx)
        })
    }

    fn clear(&mut self, key: &PyKey, ctx: &mut WindowContext<'_, W, PyValue>) -> Result<()> {
        Python::attach(|py| {
            let firing = Self::describe(py, ctx, &[])?;
            self.exchange(py, CLEAR, key, firing, ctx)
        })
    }

    fn close(&mut self) -> Result<()> {
        WorkerWindowFunction::close(self)
    }
}
