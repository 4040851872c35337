//! Python functions that evaluate windows: the window evaluator (a `ProcessWindowFunction`, a
//! `WindowFunction`, or a pass-through, adapted in Python to one `process` call), and the
//! incremental reduce and aggregate functions that fold a window's records as they arrive.

use pyflink_core::window::{
    GlobalWindow, ProcessWindowFunction, TimeWindow, TryAggregateFunction, Window, WindowContext, WindowRuntimeContext,
};
use pyflink_core::{KeyedRuntimeContext, Result, RuntimeContext, ValueState, ValueStateDescriptor};
use pyo3::call::PyCallArgs;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::bridge;
use crate::context::NativeRuntimeContext;
use crate::function::{python_error, PyFunction, UserFunction};
use crate::interpreter::with_interpreter;
use crate::side_output::{Emit, SideOutputs};
use crate::thread::operators::OutputType;
use crate::value::{KeyedRecord, PyKey, PyValue};

/// A window as the Python object PyFlink passes to window functions.
pub trait PythonWindow: Window {
    /// The Python window object: `TimeWindow(start, end)`, `GlobalWindow()`.
    fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>>;
}

impl PythonWindow for TimeWindow {
    fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        bridge::time_window(py)?.call1((self.start, self.end))
    }
}

impl PythonWindow for GlobalWindow {
    fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        bridge::global_window(py)?.call_method0("get")
    }
}

/// The count window with id `id`, as PyFlink's count windows number them.
pub fn count_window(py: Python<'_>, id: i64) -> PyResult<Bound<'_, PyAny>> {
    bridge::count_window(py)?.call1((id,))
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

/// Where a Python window function's `window_state()` and `global_state()` are kept: one
/// engine value per scope (the key's window, the key), a dict of the states by name that the
/// function's call gets and gives back (`pyflink_rs.datastream._stored_state.StateScope`).
/// They are the window operator's keyed state, so checkpoints hold them and rescaling moves
/// them with their keys.
#[derive(Clone, Default)]
pub struct StoredStates {
    window: Option<ValueState<PyValue>>,
    global: Option<ValueState<PyValue>>,
}

/// What a window function's call leaves to store, per scope (window, key): `None` where
/// nothing changed, else the new dict (an empty one removes the scope's states).
pub struct ScopeUpdates<'py> {
    window: Option<Bound<'py, PyAny>>,
    global: Option<Bound<'py, PyAny>>,
}

impl<'py> ScopeUpdates<'py> {
    /// The updates of the Python pair `(window, global)`.
    pub fn of(pair: &Bound<'py, PyAny>) -> PyResult<Self> {
        let (window, global): (Bound<'py, PyAny>, Bound<'py, PyAny>) = pair.extract()?;
        let some = |value: Bound<'py, PyAny>| (!value.is_none()).then_some(value);
        Ok(ScopeUpdates { window: some(window), global: some(global) })
    }
}

impl StoredStates {
    /// The states of a time or global window function: per key and window, and per key.
    pub fn of_windows<W: Window>(context: &mut WindowRuntimeContext<'_, PyKey, W>) -> Result<Self> {
        Ok(StoredStates {
            window: Some(context.get_window_state(&ValueStateDescriptor::new("_python_window_states"))?),
            global: Some(context.get_state(&ValueStateDescriptor::new("_python_global_states"))?),
        })
    }

    /// The states of a count window function: per key. A count window fires once and is gone,
    /// so its window states last for that call only.
    pub fn of_count_windows(context: &mut KeyedRuntimeContext<'_, PyKey>) -> Result<Self> {
        Ok(StoredStates {
            window: None,
            global: Some(context.get_state(&ValueStateDescriptor::new("_python_global_states"))?),
        })
    }

    /// The stored dicts of the current key (and window) as the call takes them: `None` where
    /// nothing is stored.
    pub fn read<'py>(&self, py: Python<'py>) -> (Bound<'py, PyAny>, Bound<'py, PyAny>) {
        let read = |state: &Option<ValueState<PyValue>>| {
            state.as_ref().and_then(ValueState::value).map_or_else(|| py.None().into_bound(py), |v| v.0.into_bound(py))
        };
        (read(&self.window), read(&self.global))
    }

    /// Stores what a call left.
    pub fn write(&self, updates: ScopeUpdates<'_>) -> PyResult<()> {
        for (state, update) in [(&self.window, updates.window), (&self.global, updates.global)] {
            let (Some(state), Some(update)) = (state, update) else { continue };
            let empty = update.cast::<PyDict>().map(|dict| dict.is_empty()).unwrap_or(false);
            if empty {
                state.clear();
            } else {
                state.update(PyValue(update.unbind()));
            }
        }
        Ok(())
    }
}

/// The window evaluator of the Python layer (`_WindowEvaluator`): `open(runtime_context)`,
/// `process(key, window, watermark, processing_time, elements, window_states, global_states)`
/// returning the results and the state updates, `clear(...)` with the same states returning the
/// updates, and `close()`.
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
        let runtime_context = bridge::runtime_context(py)?.call1((native.clone_ref(py),))?;
        evaluator.call_method1("open", (runtime_context,))?;
        Ok(native)
    }

    /// Evaluates the window `window` of `key` over `elements` with the states `states` holds,
    /// emitting the results to `out` and storing what the function left in the states.
    #[allow(clippy::too_many_arguments)]
    pub fn evaluate<'py>(
        &self,
        py: Python<'py>,
        key: &PyKey,
        window: Bound<'py, PyAny>,
        times: (i64, i64),
        elements: Bound<'py, PyList>,
        states: &StoredStates,
        out: &mut impl Emit,
    ) -> PyResult<()> {
        let evaluator = self.evaluator.get(py)?;
        let (watermark, processing_time) = times;
        let (window_states, global_states) = states.read(py);
        let args = (key.to_object(py)?, window, watermark, processing_time, elements, window_states, global_states);
        let answer = evaluator.call_method1(intern!(py, "process"), args)?;
        let answer = answer.cast::<PyTuple>()?;
        let results = answer.get_item(0)?;
        if !results.is_none() {
            self.sides.emit_all(&results, &self.output, out)?;
        }
        states.write(ScopeUpdates::of(&answer.get_slice(1, 3).into_any())?)
    }

    /// Tells the function that the window of `key` is removed, with the states `states` holds.
    pub fn clear<'py>(
        &self,
        py: Python<'py>,
        key: &PyKey,
        window: Bound<'py, PyAny>,
        times: (i64, i64),
        states: &StoredStates,
    ) -> PyResult<()> {
        let evaluator = self.evaluator.get(py)?;
        let (window_states, global_states) = states.read(py);
        let args = (key.to_object(py)?, window, times.0, times.1, window_states, global_states);
        let updates = evaluator.call_method1("clear", args)?;
        states.write(ScopeUpdates::of(&updates)?)
    }

    /// Calls `close`.
    pub fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.evaluator.get(py)?.call_method0("close").map(drop)
    }
}

/// A window operator's evaluation by Python: the engine keeps the windows and their contents,
/// and calls the evaluator when a window fires.
#[derive(Clone)]
pub struct PythonWindowFunction {
    evaluator: WindowEvaluator,
    states: StoredStates,
}

impl PythonWindowFunction {
    /// The window function `evaluator` evaluates.
    pub fn new(evaluator: WindowEvaluator) -> Self {
        PythonWindowFunction { evaluator, states: StoredStates::default() }
    }
}

impl<IN: WindowElement, W: PythonWindow> ProcessWindowFunction<IN, PyValue, PyKey, W> for PythonWindowFunction {
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        with_interpreter(batch)
    }

    fn open(&mut self, context: &mut WindowRuntimeContext<'_, PyKey, W>) -> Result<()> {
        self.states = StoredStates::of_windows(context)?;
        Python::attach(|py| {
            let native = self.evaluator.open(py, context.runtime()).map_err(|e| python_error(py, e))?;
            let refused = native.bind(py).borrow().refuse_states(
                "the runtime context of a time or global window function has no keyed state: use the context's \
                 window_state() and global_state() in process()",
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
                self.evaluator.evaluate(py, key, window, times, list, &self.states, ctx)
            })();
            evaluated.map_err(|e| python_error(py, e))
        })
    }

    fn clear(&mut self, key: &PyKey, ctx: &mut WindowContext<'_, W, PyValue>) -> Result<()> {
        let times = (ctx.current_watermark(), ctx.current_processing_time());
        Python::attach(|py| {
            let window = ctx.window().to_python(py).map_err(|e| python_error(py, e))?;
            self.evaluator.clear(py, key, window, times, &self.states).map_err(|e| python_error(py, e))
        })
    }

    fn close(&mut self) -> Result<()> {
        Python::attach(|py| self.evaluator.close(py).map_err(|e| python_error(py, e)))
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
