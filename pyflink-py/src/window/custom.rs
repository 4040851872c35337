//! Window assigners and triggers written in Python (subclasses of PyFlink's `WindowAssigner`,
//! `MergingWindowAssigner` and `Trigger`), run by the engine's window operator in this
//! process's interpreter.
//!
//! A custom trigger keeps its state with `ctx.get_partitioned_state(descriptor)`: the values
//! live in the window's trigger state (checkpointed with the window), and are moved into a
//! [`NativeTriggerContext`] for each call and taken back after it. A Python exception fails
//! the task through [`TriggerContext::fail`].

use std::collections::BTreeMap;

use pyflink_core::time::current_processing_time;
use pyflink_core::window::{TimeWindow, TriggerContext, TriggerResult};
use pyflink_core::Result;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::context::TimerRequest;
use crate::function::{python_error, PyFunction};
use crate::value::{KeyedRecord, PyValue};
use crate::window::assign::PythonTriggerState;
use crate::window::function::PythonWindow;

/// The named state values of a custom trigger for one window.
pub type CustomTriggerValues = BTreeMap<String, PyValue>;

/// What a Python trigger call sees (`pyflink_rs.datastream._stored_state._TriggerContext`
/// wraps it): time, timer requests, and the window's state values.
#[pyclass(module = "pyflink_rs._engine")]
pub struct NativeTriggerContext {
    values: CustomTriggerValues,
    /// In `on_merge`: the values of the windows that merged.
    merged: Vec<CustomTriggerValues>,
    watermark: i64,
    processing_time: i64,
    timers: Vec<TimerRequest>,
}

#[pymethods]
impl NativeTriggerContext {
    fn processing_time(&self) -> i64 {
        self.processing_time
    }

    fn watermark(&self) -> i64 {
        self.watermark
    }

    fn register_event_time_timer(&mut self, time: i64) {
        self.timers.push(TimerRequest::RegisterEventTime(time));
    }

    fn register_processing_time_timer(&mut self, time: i64) {
        self.timers.push(TimerRequest::RegisterProcessingTime(time));
    }

    fn delete_event_time_timer(&mut self, time: i64) {
        self.timers.push(TimerRequest::DeleteEventTime(time));
    }

    fn delete_processing_time_timer(&mut self, time: i64) {
        self.timers.push(TimerRequest::DeleteProcessingTime(time));
    }

    fn get(&self, py: Python<'_>, name: &str) -> Py<PyAny> {
        self.values.get(name).map_or_else(|| py.None(), |value| value.0.clone_ref(py))
    }

    fn put(&mut self, name: String, value: Py<PyAny>) {
        self.values.insert(name, PyValue(value));
    }

    fn remove(&mut self, name: &str) {
        self.values.remove(name);
    }

    fn merged<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.merged.iter().filter_map(|values| values.get(name)).map(|value| value.bind(py).clone()))
    }
}

/// A Python `Trigger` object.
#[derive(Clone)]
pub struct CustomTrigger {
    function: PyFunction,
    can_merge: bool,
}

impl std::fmt::Debug for CustomTrigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomTrigger").field("can_merge", &self.can_merge).finish_non_exhaustive()
    }
}

/// Which method of a trigger is called, with its arguments besides the window and context.
pub enum TriggerCall<'a> {
    /// `on_element(element, timestamp, window, ctx)`.
    Element(&'a KeyedRecord, Option<i64>),
    /// `on_event_time(time, window, ctx)`.
    EventTime(i64),
    /// `on_processing_time(time, window, ctx)`.
    ProcessingTime(i64),
    /// `on_merge(window, ctx)`, with the values of the windows that merged.
    Merge(Vec<CustomTriggerValues>),
    /// `clear(window, ctx)`.
    Clear,
}

impl CustomTrigger {
    /// The pickled trigger `pickled`; `can_merge` is what its `can_merge()` said.
    pub fn new(pickled: Vec<u8>, can_merge: bool) -> Self {
        CustomTrigger { function: PyFunction::new(pickled), can_merge }
    }

    /// Whether the trigger works with merging windows.
    pub fn can_merge(&self) -> bool {
        self.can_merge
    }

    /// Calls the trigger's method for `call` on `window`; the `TriggerResult` it returned
    /// (`Continue` for `on_merge` and `clear`, and when the call failed, which fails the task).
    pub fn call<W: PythonWindow>(
        &self,
        call: TriggerCall<'_>,
        window: &W,
        ctx: &mut TriggerContext<'_, W, PythonTriggerState>,
    ) -> TriggerResult {
        let values = std::mem::take(&mut ctx.state().custom);
        let outcome = Python::attach(|py| {
            let native = Py::new(
                py,
                NativeTriggerContext {
                    values,
                    merged: Vec::new(),
                    watermark: ctx.get_current_watermark(),
                    processing_time: current_processing_time(),
                    timers: Vec::new(),
                },
            )?;
            let result = self.invoke(py, call, window, &native);
            let mut native = native.bind(py).borrow_mut();
            ctx.state().custom = std::mem::take(&mut native.values);
            for request in native.timers.drain(..) {
                match request {
                    TimerRequest::RegisterEventTime(t) => ctx.register_event_time_timer(t),
                    TimerRequest::RegisterProcessingTime(t) => ctx.register_processing_time_timer(t),
                    TimerRequest::DeleteEventTime(t) => ctx.delete_event_time_timer(t),
                    TimerRequest::DeleteProcessingTime(t) => ctx.delete_processing_time_timer(t),
                }
            }
            result
        });
        match outcome {
            Ok(result) => result,
            Err(error) => {
                ctx.fail(Python::attach(|py| python_error(py, error)));
                TriggerResult::Continue
            }
        }
    }

    fn invoke<W: PythonWindow>(
        &self,
        py: Python<'_>,
        call: TriggerCall<'_>,
        window: &W,
        native: &Py<NativeTriggerContext>,
    ) -> PyResult<TriggerResult> {
        let trigger = self.function.get(py)?;
        let context = crate::bridge::trigger_context(py)?.call1((native.clone_ref(py),))?;
        let window = window.to_python(py)?;
        let result = match call {
            TriggerCall::Element(record, timestamp) => {
                let args = (record.value.bind(py), timestamp.unwrap_or(i64::MIN), window, context);
                trigger.call_method1("on_element", args)?
            }
            TriggerCall::EventTime(time) => trigger.call_method1("on_event_time", (time, window, context))?,
            TriggerCall::ProcessingTime(time) => trigger.call_method1("on_processing_time", (time, window, context))?,
            TriggerCall::Merge(merged) => {
                native.bind(py).borrow_mut().merged = merged;
                trigger.call_method1("on_merge", (window, context))?;
                return Ok(TriggerResult::Continue);
            }
            TriggerCall::Clear => {
                trigger.call_method1("clear", (window, context))?;
                return Ok(TriggerResult::Continue);
            }
        };
        trigger_result(&result)
    }
}

/// The engine's `TriggerResult` of a Python `TriggerResult`.
fn trigger_result(result: &Bound<'_, PyAny>) -> PyResult<TriggerResult> {
    let fire: bool = result.call_method0("is_fire")?.extract()?;
    let purge: bool = result.call_method0("is_purge")?.extract()?;
    Ok(match (fire, purge) {
        (false, false) => TriggerResult::Continue,
        (true, false) => TriggerResult::Fire,
        (false, true) => TriggerResult::Purge,
        (true, true) => TriggerResult::FireAndPurge,
    })
}

/// A Python `WindowAssigner` object whose windows are `TimeWindow`s.
#[derive(Clone)]
pub struct CustomAssigner {
    function: PyFunction,
    /// What the assigner's `is_event_time()` said.
    pub event_time: bool,
    /// Whether it is a `MergingWindowAssigner`.
    pub merging: bool,
}

/// The engine's window of a Python `TimeWindow`.
fn time_window(window: &Bound<'_, PyAny>) -> PyResult<TimeWindow> {
    let (start, end) = match (window.getattr("start"), window.getattr("end")) {
        (Ok(start), Ok(end)) => (start.extract::<i64>()?, end.extract::<i64>()?),
        _ => {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "a custom window assigner returns TimeWindow objects, not {}",
                window.get_type().name()?
            )))
        }
    };
    Ok(TimeWindow::new(start, end))
}

impl CustomAssigner {
    /// The pickled assigner `pickled`.
    pub fn new(pickled: Vec<u8>, event_time: bool, merging: bool) -> Self {
        CustomAssigner { function: PyFunction::new(pickled), event_time, merging }
    }

    /// Appends the windows `assign_windows` returns for `record` to `windows`.
    pub fn assign_windows(
        &self,
        record: &KeyedRecord,
        timestamp: Option<i64>,
        windows: &mut Vec<TimeWindow>,
    ) -> Result<()> {
        Python::attach(|py| {
            let assigned = (|| -> PyResult<()> {
                let context = crate::bridge::assigner_context(py)?.call1((current_processing_time(),))?;
                let args = (record.value.bind(py), timestamp.unwrap_or(i64::MIN), context);
                let result = self.function.get(py)?.call_method1("assign_windows", args)?;
                for window in result.try_iter()? {
                    windows.push(time_window(&window?)?);
                }
                Ok(())
            })();
            assigned.map_err(|e| python_error(py, e))
        })
    }

    /// The merges `merge_windows` reports for `windows`: each merged window with the indexes
    /// of the windows it covers, and every other window by itself.
    pub fn merge_windows(&self, windows: &[TimeWindow]) -> Result<Vec<(TimeWindow, Vec<usize>)>> {
        Python::attach(|py| {
            let merged = (|| -> PyResult<Vec<(TimeWindow, Vec<usize>)>> {
                let objects = windows.iter().map(|window| window.to_python(py)).collect::<PyResult<Vec<_>>>()?;
                let callback = crate::bridge::merge_groups(py)?.call0()?;
                self.function.get(py)?.call_method1("merge_windows", (PyList::new(py, &objects)?, &callback))?;
                let mut covered = vec![false; windows.len()];
                let mut groups = Vec::new();
                for group in callback.getattr("groups")?.try_iter()? {
                    let group = group?;
                    let group = group.cast::<PyTuple>()?;
                    let result = time_window(&group.get_item(1)?)?;
                    let mut members = Vec::new();
                    for member in group.get_item(0)?.try_iter()? {
                        let member = time_window(&member?)?;
                        let index = windows.iter().position(|w| *w == member).ok_or_else(|| {
                            pyo3::exceptions::PyValueError::new_err(format!(
                                "merge_windows merged {member:?}, which is not one of the windows it was given"
                            ))
                        })?;
                        covered[index] = true;
                        members.push(index);
                    }
                    groups.push((result, members));
                }
                groups.extend(windows.iter().enumerate().filter(|(i, _)| !covered[*i]).map(|(i, w)| (*w, vec![i])));
                Ok(groups)
            })();
            merged.map_err(|e| python_error(py, e))
        })
    }
}
