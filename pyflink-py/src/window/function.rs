//! Python functions that evaluate windows: the window evaluator (a `ProcessWindowFunction`, a
//! `WindowFunction`, or a pass-through, adapted in Python to one `process` call), and the
//! incremental reduce and aggregate functions that fold a window's records as they arrive.

use pyflink_core::window::{
    GlobalWindow, ProcessWindowFunction, TimeWindow, TryAggregateFunction, Window, WindowContext, WindowRuntimeContext,
};
use pyflink_core::{Result, RuntimeContext};
use pyo3::call::PyCallArgs;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyModule, PyString};

use crate::context::NativeRuntimeContext;
use crate::function::{python_error, PyFunction, UserFunction};
use crate::interpreter::with_interpreter;
use crate::operators::OutputType;
use crate::side_output::{Emit, SideOutputs};
use crate::value::{KeyedRecord, PyKey, PyValue};

/// `pyflink_rs.datastream.window`, imported once per interpreter.
static WINDOW_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn window_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let module = WINDOW_MODULE.get_or_try_init(py, || -> PyResult<Py<PyModule>> {
        Ok(py.import("pyflink_rs.datastream.window")?.unbind())
    })?;
    module.bind(py).getattr(name)
}

/// A window as the Python object PyFlink passes to window functions.
pub trait PythonWindow: Window {
    /// The Python window object: `TimeWindow(start, end)`, `GlobalWindow()`.
    fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>>;
}

impl PythonWindow for TimeWindow {
    fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        window_class(py, "TimeWindow")?.call1((self.start, self.end))
    }
}

impl PythonWindow for GlobalWindow {
    fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        window_class(py, "GlobalWindow")?.call_method0("get")
    }
}

/// The count window with id `id`, as PyFlink's count windows number them.
pub fn count_window(py: Python<'_>, id: i64) -> PyResult<Bound<'_, PyAny>> {
    window_class(py, "CountWindow")?.call1((id,))
}

/// What a window holds as its results: records of the keyed stream, or aggregation results.
pub trait WindowElement {
    /// The Python object of the element.
    fn object<'py>(&self, py: Python<'py>) -> &Bound<'py, PyAny>;
}

impl WindowElement for KeyedRecord {
    fn object<'py>(&self, py: Python<'py>) -> &Bound<'py, PyAny> {
        self.value.bind(py)
    }
}

impl WindowElement for PyValue {
    fn object<'py>(&self, py: Python<'py>) -> &Bound<'py, PyAny> {
        self.bind(py)
    }
}

/// The window evaluator of the Python layer (`_WindowEvaluator`): `open(runtime_context)`,
/// `process(key, window, watermark, processing_time, elements)` returning or yielding the
/// results, `clear(key, window, watermark, processing_time)` and `close()`.
#[derive(Clone)]
pub struct WindowEvaluator {
    evaluator: PyFunction,
    output: OutputType,
    sides: SideOutputs,
}

impl WindowEvaluator {
    /// The cloudpickled evaluator `evaluator`, whose results are records of `output` or go to
    /// the side outputs `sides`.
    pub fn new(evaluator: PyFunction, output: OutputType, sides: SideOutputs) -> Self {
        WindowEvaluator { evaluator, output, sides }
    }

    /// Calls `open` with a runtime context; returns the context, to bind the states it was
    /// asked for.
    pub fn open(&self, py: Python<'_>, runtime: &RuntimeContext) -> PyResult<Py<NativeRuntimeContext>> {
        let evaluator = self.evaluator.get(py)?;
        let native = Py::new(py, NativeRuntimeContext::new(runtime))?;
        let functions = py.import("pyflink_rs.datastream.functions")?;
        let runtime_context = functions.getattr("RuntimeContext")?.call1((native.clone_ref(py),))?;
        evaluator.call_method1("open", (runtime_context,))?;
        Ok(native)
    }

    /// Evaluates the window `window` of `key` over `elements`, emitting the results to `out`.
    pub fn evaluate<'py>(
        &self,
        py: Python<'py>,
        key: &PyKey,
        window: Bound<'py, PyAny>,
        times: (i64, i64),
        elements: Bound<'py, PyList>,
        out: &mut impl Emit,
    ) -> PyResult<()> {
        let evaluator = self.evaluator.get(py)?;
        let (watermark, processing_time) = times;
        let args = (key.to_object(py)?, window, watermark, processing_time, elements);
        let results = evaluator.call_method1(intern!(py, "process"), args)?;
        if !results.is_none() {
            self.sides.emit_all(&results, &self.output, out)?;
        }
        Ok(())
    }

    /// Tells the function that the window of `key` is removed.
    pub fn clear<'py>(
        &self,
        py: Python<'py>,
        key: &PyKey,
        window: Bound<'py, PyAny>,
        times: (i64, i64),
    ) -> PyResult<()> {
        let evaluator = self.evaluator.get(py)?;
        evaluator.call_method1("clear", (key.to_object(py)?, window, times.0, times.1)).map(drop)
    }

    /// Calls `close`.
    pub fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.evaluator.get(py)?.call_method0("close").map(drop)
    }
}

/// A window operator's evaluation by Python: the engine keeps the windows and their contents,
/// and calls the evaluator when a window fires.
#[derive(Clone)]
pub struct PythonWindowFunction(pub WindowEvaluator);

impl<IN: WindowElement, W: PythonWindow> ProcessWindowFunction<IN, PyValue, PyKey, W> for PythonWindowFunction {
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        with_interpreter(batch)
    }

    fn open(&mut self, context: &mut WindowRuntimeContext<'_, PyKey, W>) -> Result<()> {
        Python::attach(|py| {
            let native = self.0.open(py, context.runtime()).map_err(|e| python_error(py, e))?;
            let refused = native.bind(py).borrow().refuse_states(
                "functions of time and global windows cannot use keyed state from Python yet; keep state in a \
                 KeyedProcessFunction or a count window",
            );
            refused
        })
    }

    fn process(&mut self, key: &PyKey, ctx: &mut WindowContext<'_, W, PyValue>, elements: &[IN]) -> Result<()> {
        let times = (ctx.current_watermark(), ctx.current_processing_time());
        Python::attach(|py| {
            let evaluated = (|| {
                let list = PyList::new(py, elements.iter().map(|element| element.object(py)))?;
                let window = ctx.window().to_python(py)?;
                self.0.evaluate(py, key, window, times, list, ctx)
            })();
            evaluated.map_err(|e| python_error(py, e))
        })
    }

    fn clear(&mut self, key: &PyKey, ctx: &mut WindowContext<'_, W, PyValue>) -> Result<()> {
        let times = (ctx.current_watermark(), ctx.current_processing_time());
        Python::attach(|py| {
            let window = ctx.window().to_python(py).map_err(|e| python_error(py, e))?;
            self.0.clear(py, key, window, times).map_err(|e| python_error(py, e))
        })
    }

    fn close(&mut self) -> Result<()> {
        Python::attach(|py| self.0.close(py).map_err(|e| python_error(py, e)))
    }
}

/// Folds two records of a window with a Python reduce function; the key is kept.
pub fn reduce_records(function: &UserFunction, first: KeyedRecord, second: KeyedRecord) -> Result<KeyedRecord> {
    Python::attach(|py| {
        let reduced = function.get(py).and_then(|f| f.call1((first.value.0, second.value.0)));
        let value = reduced.map_err(|e| python_error(py, e))?;
        Ok(KeyedRecord { key: first.key, value: PyValue(value.unbind()) })
    })
}

/// A Python `AggregateFunction` object: `create_accumulator()`, `add(value, accumulator)`,
/// `get_result(accumulator)`, `merge(a, b)`.
#[derive(Clone)]
pub struct PythonAggregate {
    function: PyFunction,
}

impl PythonAggregate {
    /// The cloudpickled aggregate function object `function`.
    pub fn new(function: PyFunction) -> Self {
        PythonAggregate { function }
    }

    fn call<'py>(&self, py: Python<'py>, method: &Bound<'py, PyString>, args: impl PyCallArgs<'py>) -> Result<PyValue> {
        let result = self.function.get(py).and_then(|f| f.call_method1(method, args));
        result.map(|value| PyValue(value.unbind())).map_err(|e| python_error(py, e))
    }
}

impl TryAggregateFunction<KeyedRecord> for PythonAggregate {
    type Accumulator = PyValue;
    type Output = PyValue;

    fn try_create_accumulator(&self) -> Result<PyValue> {
        Python::attach(|py| self.call(py, intern!(py, "create_accumulator"), ()))
    }

    fn try_add(&self, record: KeyedRecord, accumulator: PyValue) -> Result<PyValue> {
        Python::attach(|py| self.call(py, intern!(py, "add"), (record.value.0, accumulator.0)))
    }

    fn try_get_result(&self, accumulator: &PyValue) -> Result<PyValue> {
        Python::attach(|py| self.call(py, intern!(py, "get_result"), (accumulator.bind(py),)))
    }

    fn try_merge(&self, a: PyValue, b: PyValue) -> Result<PyValue> {
        Python::attach(|py| self.call(py, intern!(py, "merge"), (a.0, b.0)))
    }
}
