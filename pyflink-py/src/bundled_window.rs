//! Window functions in process mode: the engine keeps the windows and all their records, and
//! when a window fires its worker (`worker_keyed.Window`) folds them with the reduce or
//! aggregate function, if any, and runs the window function. Each firing is one exchange with
//! the worker; its results and side outputs carry the window's timestamp.

use pyflink_core::window::{ProcessWindowFunction, WindowContext, WindowRuntimeContext};
use pyflink_core::Result;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::bundled::Bundling;
use crate::function::python_error;
use crate::interpreter::with_interpreter;
use crate::operators::OutputType;
use crate::plan::WindowContentsSpec;
use crate::side_output::SideOutputs;
use crate::value::{KeyedRecord, PyKey, PyValue};
use crate::window_function::PythonWindow;

/// What the worker is told when a window fires or is removed.
const FIRE: u8 = 0;
const CLEAR: u8 = 1;

/// A window evaluator (and its reduce or aggregate function) in a worker process.
#[derive(Clone)]
pub struct WorkerWindowFunction {
    bundling: Bundling,
    output: OutputType,
    sides: SideOutputs,
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
        Ok(WorkerWindowFunction { bundling: Bundling::new(payload, "window", 1), output, sides })
    }

    /// Sends `(what, key, window, watermark, processing time, records)` and returns the answer.
    fn exchange<'py, W: PythonWindow>(
        &mut self,
        py: Python<'py>,
        what: u8,
        key: &PyKey,
        ctx: &WindowContext<'_, W, PyValue>,
        records: &[KeyedRecord],
    ) -> Result<Bound<'py, PyAny>> {
        let message = (|| -> PyResult<Bound<'py, PyAny>> {
            let records = PyList::new(py, records.iter().map(|record| record.value.bind(py)))?;
            let window = ctx.window().to_python(py)?;
            let message =
                (what, key.to_object(py)?, window, ctx.current_watermark(), ctx.current_processing_time(), records);
            Ok(message.into_pyobject(py)?.into_any())
        })()
        .map_err(|e| python_error(py, e))?;
        self.bundling.run(py, message)
    }
}

impl<W: PythonWindow> ProcessWindowFunction<KeyedRecord, PyValue, PyKey, W> for WorkerWindowFunction {
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        with_interpreter(batch)
    }

    fn open(&mut self, context: &mut WindowRuntimeContext<'_, PyKey, W>) -> Result<()> {
        self.bundling.open(context.runtime())
    }

    fn process(&mut self, key: &PyKey, ctx: &mut WindowContext<'_, W, PyValue>, records: &[KeyedRecord]) -> Result<()> {
        Python::attach(|py| {
            let results = self.exchange(py, FIRE, key, ctx, records)?;
            let emitted = (|| -> PyResult<()> {
                self.sides.emit_all(&results, &self.output, ctx)?;
                Ok(())
            })();
            emitted.map_err(|e| python_error(py, e))
        })
    }

    fn clear(&mut self, key: &PyKey, ctx: &mut WindowContext<'_, W, PyValue>) -> Result<()> {
        Python::attach(|py| self.exchange(py, CLEAR, key, ctx, &[]).map(drop))
    }

    fn close(&mut self) -> Result<()> {
        self.bundling.close()
    }
}
