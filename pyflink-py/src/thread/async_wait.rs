//! Async I/O from Python (PyFlink's `AsyncDataStream`): the records of each input batch go to
//! one call of a Python batch waiter, which runs their `async_invoke` coroutines concurrently
//! (up to the capacity) on the thread's event loop and returns, per record, its results. The
//! results carry their record's timestamp and are emitted before the next watermark, so a
//! checkpoint never finds a call in flight. The waiter runs in this process's interpreter in
//! both execution modes.

use pyflink_core::{ProcessContext, ProcessFunction, Result, RuntimeContext};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::function::{close, open_unkeyed, python_error, UserFunction};
use crate::interpreter::with_interpreter;
use crate::thread::operators::OutputType;
use crate::value::PyValue;

/// Runs a cloudpickled `(waiter, "wait")` pair over each input batch.
pub struct PythonAsyncWait {
    function: UserFunction,
    output: OutputType,
    /// The batch's records and their timestamps, until the batch ends.
    pending: Vec<(PyValue, Option<i64>)>,
}

impl Clone for PythonAsyncWait {
    fn clone(&self) -> Self {
        PythonAsyncWait { function: self.function.clone(), output: self.output.clone(), pending: Vec::new() }
    }
}

impl PythonAsyncWait {
    /// An operator calling the waiter `function`, emitting records of `output`.
    pub fn new(function: UserFunction, output: OutputType) -> Self {
        PythonAsyncWait { function, output, pending: Vec::new() }
    }

    fn run_pending(&mut self, py: Python<'_>, ctx: &mut ProcessContext<'_, PyValue>) -> PyResult<()> {
        let values = PyList::new(py, self.pending.iter().map(|(value, _)| value.bind(py)))?;
        let done = self.function.get(py)?.call1((values,))?;
        for item in done.try_iter()? {
            let item = item?;
            let pair = item.cast::<PyTuple>()?;
            let index: usize = pair.get_item(0)?.extract()?;
            let timestamp = self.pending.get(index).map(|(_, timestamp)| *timestamp).ok_or_else(|| {
                pyo3::exceptions::PyIndexError::new_err(format!("the async waiter answered for record {index}"))
            })?;
            ctx.set_timestamp(timestamp);
            for result in pair.get_item(1)?.try_iter()? {
                ctx.collect(PyValue(self.output.apply(result?)?.unbind()));
            }
        }
        Ok(())
    }
}

impl ProcessFunction<PyValue, PyValue> for PythonAsyncWait {
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        with_interpreter(batch)
    }

    fn open(&mut self, runtime: &RuntimeContext) -> Result<()> {
        open_unkeyed(&self.function, runtime)
    }

    fn process_element(&mut self, value: PyValue, ctx: &mut ProcessContext<'_, PyValue>) -> Result<()> {
        self.pending.push((value, ctx.timestamp()));
        Ok(())
    }

    fn finish_batch(&mut self, ctx: &mut ProcessContext<'_, PyValue>) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let outcome = Python::attach(|py| self.run_pending(py, ctx).map_err(|e| python_error(py, e)));
        self.pending.clear();
        outcome
    }

    fn close(&mut self) -> Result<()> {
        close(&self.function)
    }
}
