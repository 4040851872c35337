//! Count windows from Python (`count_window(size, slide)`), numbered as PyFlink numbers them:
//! the records of a key, counted from 0, form window `k` from record `k * slide` to record
//! `k * slide + size - 1`, and the window fires when its last record arrives. Records between
//! windows (when `slide > size`) belong to none. Windows that never fill never fire.

use pyflink_core::{
    KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext, ListState, ListStateDescriptor, Result, ValueState,
    ValueStateDescriptor,
};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::function::{python_error, PyFunction, UserFunction};
use crate::interpreter::with_interpreter;
use crate::value::{KeyedRecord, PyKey, PyValue};
use crate::window::bundled::{Firing, WorkerWindowFunction, FIRE};
use crate::window::function::{count_window, StoredStates, WindowEvaluator};

/// How a count window's records reach its evaluator.
#[derive(Clone)]
pub enum CountContents {
    /// All of them.
    All,
    /// Folded with a Python reduce function into one.
    Reduce(UserFunction),
    /// Aggregated by a Python `AggregateFunction` object into one result.
    Aggregate(PyFunction),
}

impl CountContents {
    /// The list the evaluator sees for a window of `records`.
    fn results<'py>(&self, py: Python<'py>, records: Vec<PyValue>) -> PyResult<Bound<'py, PyList>> {
        match self {
            CountContents::All => PyList::new(py, records.iter().map(|record| record.bind(py))),
            CountContents::Reduce(function) => {
                let function = function.get(py)?;
                let mut records = records.into_iter().map(|record| record.0.into_bound(py));
                let mut folded = records.next().expect("a full count window has records");
                for record in records {
                    folded = function.call1((folded, record))?;
                }
                PyList::new(py, [folded])
            }
            CountContents::Aggregate(function) => {
                let function = function.get(py)?;
                let mut accumulator = function.call_method0("create_accumulator")?;
                for record in records {
                    accumulator = function.call_method1("add", (record.0, accumulator))?;
                }
                PyList::new(py, [function.call_method1("get_result", (accumulator,))?])
            }
        }
    }
}

/// The count windows of a keyed stream, evaluated by Python. A key's count and the records of
/// its open windows are keyed state, so they are checkpointed with the key.
#[derive(Clone)]
pub struct PythonCountWindow {
    size: u64,
    slide: u64,
    contents: CountContents,
    evaluator: WindowEvaluator,
    /// In process mode: the worker that folds and evaluates each window instead.
    in_worker: Option<WorkerWindowFunction>,
    count: Option<ValueState<u64>>,
    records: Option<ListState<PyValue>>,
    /// The function's `global_state()` (its `window_state()` lasts one call: a count window
    /// fires once).
    states: StoredStates,
}

impl PythonCountWindow {
    /// Windows of `size` records every `slide` records (both above 0).
    pub fn new(size: u64, slide: u64, contents: CountContents, evaluator: WindowEvaluator) -> Self {
        PythonCountWindow {
            size,
            slide,
            contents,
            evaluator,
            in_worker: None,
            count: None,
            records: None,
            states: StoredStates::default(),
        }
    }

    /// The same windows evaluated by `in_worker` (process mode).
    pub fn in_worker(mut self, in_worker: Option<WorkerWindowFunction>) -> Self {
        self.in_worker = in_worker;
        self
    }

    /// The window that record `index` (from 0) completes, if any.
    fn completed_by(&self, index: u64) -> Option<u64> {
        let first = (index + 1).checked_sub(self.size)?;
        (first % self.slide == 0).then_some(first / self.slide)
    }
}

impl KeyedProcessFunction<PyKey, KeyedRecord, PyValue> for PythonCountWindow {
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        with_interpreter(batch)
    }

    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, PyKey>) -> Result<()> {
        self.count = Some(context.get_state(&ValueStateDescriptor::new("_count_window_count"))?);
        self.records = Some(context.get_list_state(&ListStateDescriptor::new("_count_window_records"))?);
        self.states = StoredStates::of_count_windows(context)?;
        if let Some(in_worker) = self.in_worker.as_mut() {
            return in_worker.open(context.runtime(), self.states.clone());
        }
        let native = Python::attach(|py| self.evaluator.open(py, context.runtime()).map_err(|e| python_error(py, e)))?;
        Python::attach(|py| native.bind(py).borrow_mut().bind_states(context))
    }

    fn process_element(
        &mut self,
        record: KeyedRecord,
        ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>,
    ) -> Result<()> {
        let (Some(count), Some(records)) = (&self.count, &self.records) else {
            unreachable!("open() runs before the first record")
        };
        let index = count.value().unwrap_or(0);
        count.update(index + 1);
        if index % self.slide < self.size {
            records.add(record.value)?;
        }
        let Some(window_id) = self.completed_by(index) else { return Ok(()) };
        // The list holds exactly the window's records; those the next window shares stay.
        let all = records.get()?;
        let kept = self.size.saturating_sub(self.slide) as usize;
        records.update(all[all.len().saturating_sub(kept)..].to_vec())?;
        let times = {
            let timers = ctx.timer_service();
            (timers.current_watermark(), timers.current_processing_time())
        };
        Python::attach(|py| {
            if let Some(in_worker) = self.in_worker.as_mut() {
                let window = count_window(py, window_id as i64).map_err(|e| python_error(py, e))?;
                let records =
                    PyList::new(py, all.iter().map(|record| record.bind(py))).map_err(|e| python_error(py, e))?;
                let firing = Firing { window, times, records };
                return in_worker.exchange(py, FIRE, &record.key, firing, &mut **ctx);
            }
            let evaluated = (|| {
                let results = self.contents.results(py, all)?;
                let window = count_window(py, window_id as i64)?;
                self.evaluator.evaluate(py, &record.key, window, times, results, &self.states, &mut **ctx)
            })();
            evaluated.map_err(|e| python_error(py, e))
        })
    }

    fn close(&mut self) -> Result<()> {
        if let Some(in_worker) = self.in_worker.as_mut() {
            return in_worker.close();
        }
        Python::attach(|py| self.evaluator.close(py).map_err(|e| python_error(py, e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thread::operators::OutputType;
    use crate::types::TypeInfo;

    fn windows(size: u64, slide: u64) -> PythonCountWindow {
        let output = OutputType::new(TypeInfo::Pickled);
        let evaluator = WindowEvaluator::new(PyFunction::new(Vec::new()), output, Default::default());
        PythonCountWindow::new(size, slide, CountContents::All, evaluator)
    }

    #[test]
    fn windows_complete_at_their_last_record() {
        let completed = |w: &PythonCountWindow| (0..12).map(|i| w.completed_by(i)).collect::<Vec<_>>();
        // Tumbling by 3: records 2, 5, 8, 11 close windows 0..=3.
        let tumbling = completed(&windows(3, 3));
        assert_eq!(tumbling.iter().flatten().copied().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        assert_eq!(tumbling[5], Some(1));
        // Size 3 every 2: window k holds records 2k..=2k+2.
        let sliding = completed(&windows(3, 2));
        assert_eq!(sliding[2], Some(0));
        assert_eq!(sliding[4], Some(1));
        assert_eq!(sliding[3], None);
        // Size 2 every 3: window k holds records 3k, 3k+1.
        let gapped = completed(&windows(2, 3));
        assert_eq!([gapped[1], gapped[4], gapped[7]], [Some(0), Some(1), Some(2)]);
        assert_eq!([gapped[2], gapped[3], gapped[5]], [None, None, None]);
    }
}
