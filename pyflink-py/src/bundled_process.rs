//! A Python `ProcessFunction` on a stream that is not keyed, in process mode: records are
//! buffered with their timestamps, and the worker (`worker_keyed.Process`) calls
//! `process_element` for each with a context of the record's timestamp and the current times;
//! its results and side outputs keep their record's timestamp.

use pyflink_core::time::current_processing_time;
use pyflink_core::{ProcessContext, ProcessFunction, Result, RuntimeContext};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::bundled::Bundling;
use crate::function::python_error;
use crate::interpreter::with_interpreter;
use crate::operators::OutputType;
use crate::side_output::SideOutputs;
use crate::value::PyValue;

/// Runs a cloudpickled `ProcessFunction` object in a worker process.
#[derive(Clone)]
pub struct BundledProcess {
    bundling: Bundling,
    output: OutputType,
    sides: SideOutputs,
    pending: Vec<(PyValue, Option<i64>)>,
}

impl BundledProcess {
    /// An operator running the pickled `function` in bundles of `bundle_size` records,
    /// emitting records of `output` and to the side outputs `sides`.
    pub fn new(function: Vec<u8>, output: OutputType, sides: SideOutputs, bundle_size: usize) -> Self {
        BundledProcess { bundling: Bundling::new(function, "process", bundle_size), output, sides, pending: Vec::new() }
    }

    fn flush(&mut self, ctx: &mut ProcessContext<'_, PyValue>) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let times = (ctx.current_watermark(), current_processing_time());
        Python::attach(|py| {
            let message = (|| -> PyResult<Bound<'_, PyAny>> {
                let records = PyList::new(py, pending.iter().map(|(value, _)| value.bind(py)))?;
                let timestamps = PyList::new(py, pending.iter().map(|(_, timestamp)| *timestamp))?;
                Ok((records, timestamps, times.0, times.1).into_pyobject(py)?.into_any())
            })()
            .map_err(|e| python_error(py, e))?;
            let results = self.bundling.run(py, message)?;
            let emitted = (|| -> PyResult<()> {
                for ((_, timestamp), emitted) in pending.iter().zip(results.try_iter()?) {
                    ctx.set_timestamp(*timestamp);
                    self.sides.emit_all(&emitted?, &self.output, ctx)?;
                }
                Ok(())
            })();
            emitted.map_err(|e| python_error(py, e))
        })
    }
}

impl ProcessFunction<PyValue, PyValue> for BundledProcess {
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        with_interpreter(batch)
    }

    fn open(&mut self, runtime: &RuntimeContext) -> Result<()> {
        self.bundling.open(runtime)
    }

    fn process_element(&mut self, value: PyValue, ctx: &mut ProcessContext<'_, PyValue>) -> Result<()> {
        self.pending.push((value, ctx.timestamp()));
        if self.pending.len() >= self.bundling.bundle_size {
            self.flush(ctx)?;
        }
        Ok(())
    }

    fn finish_batch(&mut self, ctx: &mut ProcessContext<'_, PyValue>) -> Result<()> {
        self.flush(ctx)
    }

    fn close(&mut self) -> Result<()> {
        self.bundling.close()
    }
}
