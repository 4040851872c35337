//! A Python `ProcessFunction` on a stream that is not keyed, in process mode: records are
//! buffered with their timestamps, and the worker (`worker_keyed.Process`) calls
//! `process_element` for each with a context of the record's timestamp and the current times;
//! its results and side outputs keep their record's timestamp.

use pyflink_core::time::current_processing_time;
use pyflink_core::ProcessContext;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::process::bundled::{BundleCodec, Bundled, Bundling, Pending};
use crate::side_output::SideOutputs;
use crate::thread::operators::OutputType;
use crate::value::PyValue;

/// Runs a cloudpickled `ProcessFunction` object in a worker process.
pub type BundledProcess = Bundled<ProcessResults>;

/// A bundle of a `ProcessFunction`: the records, their timestamps and the current times; the
/// answer: each record's results and side outputs.
#[derive(Clone)]
pub struct ProcessResults {
    output: OutputType,
    sides: SideOutputs,
}

impl BundledProcess {
    /// An operator running the pickled `function` in bundles of `bundle_size` records,
    /// emitting records of `output` and to the side outputs `sides`.
    pub fn new(function: Vec<u8>, output: OutputType, sides: SideOutputs, bundle_size: usize) -> Self {
        Bundled::with_codec(Bundling::new(function, "process", bundle_size), ProcessResults { output, sides })
    }
}

impl BundleCodec<PyValue> for ProcessResults {
    fn message<'py>(
        &self,
        py: Python<'py>,
        pending: &Pending,
        ctx: &ProcessContext<'_, PyValue>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let records = PyList::new(py, pending.iter().map(|(value, _)| value.bind(py)))?;
        let timestamps = PyList::new(py, pending.iter().map(|(_, timestamp)| *timestamp))?;
        Ok((records, timestamps, ctx.current_watermark(), current_processing_time()).into_pyobject(py)?.into_any())
    }

    fn emit(
        &self,
        pending: Pending,
        results: &Bound<'_, PyAny>,
        ctx: &mut ProcessContext<'_, PyValue>,
    ) -> PyResult<()> {
        for ((_, timestamp), emitted) in pending.iter().zip(results.try_iter()?) {
            ctx.set_timestamp(*timestamp);
            self.sides.emit_all(&emitted?, &self.output, ctx)?;
        }
        Ok(())
    }
}
