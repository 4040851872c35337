//! The operators that run Python functions. Each holds the interpreter for a whole input batch
//! (see [`crate::interpreter`]) and calls the function per record; a Python exception fails the
//! job with its traceback.

use pyflink_core::{
    KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext, ProcessContext, ProcessFunction, Result,
    RuntimeContext, ValueState, ValueStateDescriptor,
};
use std::collections::HashSet;

use pyo3::prelude::*;

use crate::function::{close, open_keyed, open_unkeyed, python_error, UserFunction};
use crate::interpreter::{in_batch, with_interpreter};
use crate::types::TypeInfo;
use crate::value::{KeyedRecord, PyKey, PyValue};

/// Converts what a Python function returns to the record type of its stream (nothing to do
/// for the default type, any Python object).
#[derive(Clone)]
pub struct OutputType {
    record_type: TypeInfo,
}

impl OutputType {
    /// Conversion to `record_type`.
    pub fn new(record_type: TypeInfo) -> Self {
        OutputType { record_type }
    }

    /// `value` as a record of the type.
    pub fn apply<'py>(&self, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        if self.record_type.is_pickled() {
            return Ok(value);
        }
        self.record_type.convert(&value)
    }
}

/// What a one-input Python function does with its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// The result is the new record (`map`).
    Map,
    /// The result is an iterable of new records (`flat_map`).
    FlatMap,
    /// A true result keeps the record (`filter`).
    Filter,
}

/// Runs a Python `map`, `flat_map` or `filter` function on every record.
#[derive(Clone)]
pub struct PythonTransform {
    function: UserFunction,
    transform: Transform,
    output: OutputType,
}

impl PythonTransform {
    /// An operator calling `function` as `transform` says, emitting records of `output`.
    pub fn new(function: UserFunction, transform: Transform, output: OutputType) -> Self {
        PythonTransform { function, transform, output }
    }

    fn apply(&mut self, py: Python<'_>, value: PyValue, ctx: &mut ProcessContext<'_, PyValue>) -> PyResult<()> {
        let function = self.function.get(py)?;
        match self.transform {
            Transform::Map => ctx.collect(PyValue(self.output.apply(function.call1((value.0,))?)?.unbind())),
            Transform::FlatMap => {
                for item in function.call1((value.0,))?.try_iter()? {
                    ctx.collect(PyValue(self.output.apply(item?)?.unbind()));
                }
            }
            Transform::Filter => {
                if function.call1((value.bind(py),))?.is_truthy()? {
                    ctx.collect(value);
                }
            }
        }
        Ok(())
    }
}

impl ProcessFunction<PyValue, PyValue> for PythonTransform {
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        with_interpreter(batch)
    }

    fn open(&mut self, runtime: &RuntimeContext) -> Result<()> {
        // Operator state first, as Flink initializes state before it opens the function.
        Python::attach(|py| self.function.initialize_operator_state(py, runtime).map_err(|e| python_error(py, e)))?;
        open_unkeyed(&self.function, runtime)
    }

    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<()> {
        Python::attach(|py| self.function.snapshot_operator_state(py, checkpoint_id).map_err(|e| python_error(py, e)))
    }

    fn close(&mut self) -> Result<()> {
        close(&self.function)
    }

    fn process_element(&mut self, value: PyValue, ctx: &mut ProcessContext<'_, PyValue>) -> Result<()> {
        in_batch(|py| self.apply(py, value, ctx).map_err(|e| python_error(py, e)))
    }
}

/// Selects the key of every record with a Python function, before the records are
/// partitioned by it.
#[derive(Clone)]
pub struct PythonKeySelector {
    function: UserFunction,
}

impl PythonKeySelector {
    /// A selector calling `function`.
    pub fn new(function: UserFunction) -> Self {
        PythonKeySelector { function }
    }
}

impl ProcessFunction<PyValue, KeyedRecord> for PythonKeySelector {
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        with_interpreter(batch)
    }

    fn open(&mut self, runtime: &RuntimeContext) -> Result<()> {
        open_unkeyed(&self.function, runtime)
    }

    fn close(&mut self) -> Result<()> {
        close(&self.function)
    }

    fn process_element(&mut self, value: PyValue, ctx: &mut ProcessContext<'_, KeyedRecord>) -> Result<()> {
        in_batch(|py| {
            let selected = self.function.get(py).and_then(|f| f.call1((value.bind(py),)));
            let key = selected.and_then(|key| PyKey::from_object(&key)).map_err(|e| python_error(py, e))?;
            ctx.collect(KeyedRecord { key, value });
            Ok(())
        })
    }
}

/// The keys whose results a reduce holds back until its input ends, as Flink's reduce does in
/// batch mode (`RuntimeExecutionMode.BATCH`), in the order they first came.
#[derive(Clone, Default)]
struct HeldBack {
    keys: Vec<PyKey>,
    seen: HashSet<PyKey>,
}

impl HeldBack {
    /// Remembers that `key` has a result.
    fn touch(&mut self, key: &PyKey) {
        if self.seen.insert(key.clone()) {
            self.keys.push(key.clone());
        }
    }

    /// Emits the final result of every key, as `state` holds it.
    fn emit(&mut self, state: &ValueState<PyValue>, ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>) {
        for key in self.keys.drain(..) {
            ctx.set_current_key(key);
            if let Some(result) = state.value() {
                ctx.collect(result);
            }
        }
        self.seen.clear();
    }
}

/// The state of a rolling reduce, the same in thread and process mode so that a job can change
/// modes across a savepoint: each key's reduced value, and in batch mode the keys whose final
/// results wait for the end of input.
#[derive(Clone, Default)]
pub struct ReduceState {
    reduced: Option<ValueState<PyValue>>,
    held_back: Option<HeldBack>,
}

impl ReduceState {
    /// Gets the state of the reduce's instance; called from the reduce's `open`.
    pub fn open(&mut self, context: &mut KeyedRuntimeContext<'_, PyKey>) -> Result<()> {
        self.reduced = Some(context.get_state(&ValueStateDescriptor::new("_reduced"))?);
        self.held_back = context.runtime().is_batch_mode().then(HeldBack::default);
        Ok(())
    }

    /// The reduced value of the current key.
    pub fn value(&self) -> Option<PyValue> {
        self.reduced.as_ref().expect("open() runs before the first record").value()
    }

    /// Whether results wait for the end of input (batch mode) instead of going out as they come.
    pub fn holds_back(&self) -> bool {
        self.held_back.is_some()
    }

    /// Stores `value` as the reduced value of the current key, `key`.
    pub fn update(&mut self, key: &PyKey, value: PyValue) {
        if let Some(held_back) = self.held_back.as_mut() {
            held_back.touch(key);
        }
        self.reduced.as_ref().expect("open() runs before the first record").update(value);
    }

    /// In batch mode, emits the final result of every key; called from the reduce's `end_input`.
    pub fn end_input(&mut self, ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>) {
        if let (Some(held_back), Some(reduced)) = (self.held_back.as_mut(), self.reduced.as_ref()) {
            held_back.emit(reduced, ctx);
        }
    }
}

/// A rolling reduce per key with a Python function of two records, as Flink's `reduce`: the
/// first record of a key is emitted as it is, every later one combined with the key's result
/// so far; in batch mode, only each key's final result, when the input ends. The result is
/// keyed state, so it is checkpointed and rescaled with its key.
#[derive(Clone)]
pub struct PythonReduce {
    function: UserFunction,
    output: OutputType,
    state: ReduceState,
}

impl PythonReduce {
    /// A reduce calling `function`, whose results are records of `output`.
    pub fn new(function: UserFunction, output: OutputType) -> Self {
        PythonReduce { function, output, state: ReduceState::default() }
    }
}

impl KeyedProcessFunction<PyKey, KeyedRecord, PyValue> for PythonReduce {
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        with_interpreter(batch)
    }

    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, PyKey>) -> Result<()> {
        self.state.open(context)?;
        open_keyed(&self.function, context)
    }

    fn close(&mut self) -> Result<()> {
        close(&self.function)
    }

    fn end_input(&mut self, ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>) -> Result<()> {
        self.state.end_input(ctx);
        Ok(())
    }

    fn process_element(
        &mut self,
        record: KeyedRecord,
        ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>,
    ) -> Result<()> {
        let next = match self.state.value() {
            None => record.value,
            Some(previous) => in_batch(|py| {
                let combined = self.function.get(py).and_then(|f| f.call1((previous.0, record.value.0)));
                let combined = combined.and_then(|value| self.output.apply(value));
                combined.map(|value| PyValue(value.unbind())).map_err(|e| python_error(py, e))
            })?,
        };
        if self.state.holds_back() {
            self.state.update(&record.key, next);
        } else {
            self.state.update(&record.key, next.clone());
            ctx.collect(next);
        }
        Ok(())
    }
}

/// Runs a Python `map` function on the records of a keyed stream.
#[derive(Clone)]
pub struct PythonKeyedMap {
    map: PythonTransform,
}

impl PythonKeyedMap {
    /// A keyed map calling `function`, emitting records of `output`.
    pub fn new(function: UserFunction, output: OutputType) -> Self {
        PythonKeyedMap { map: PythonTransform::new(function, Transform::Map, output) }
    }
}

impl KeyedProcessFunction<PyKey, KeyedRecord, PyValue> for PythonKeyedMap {
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        with_interpreter(batch)
    }

    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, PyKey>) -> Result<()> {
        open_keyed(&self.map.function, context)
    }

    fn close(&mut self) -> Result<()> {
        close(&self.map.function)
    }

    fn process_element(
        &mut self,
        record: KeyedRecord,
        ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>,
    ) -> Result<()> {
        in_batch(|py| self.map.apply(py, record.value, ctx).map_err(|e| python_error(py, e)))
    }
}
