//! The window operator of a plan's window step: the engine's window operator with Python's
//! assigner, trigger, contents and evaluator for time and global windows, or PyFlink's count
//! windows.

use std::time::Duration;

use pyflink_core::window::{CountEvictor, GlobalWindows, TimeEvictor, Trigger, WindowAssigner};
use pyflink_core::{DataStream, KeyedStream, OutputTag, WindowedStream};

use crate::function::{PyFunction, UserFunction};
use crate::plan::{EvictorSpec, WindowContentsSpec, WindowSpec};
use crate::value::{KeyedRecord, PyKey, PyValue};
use crate::window::assign::{PythonTimeWindows, PythonTrigger, WindowAssignerSpec};
use crate::window::bundled::WorkerWindowFunction;
use crate::window::count::{CountContents, PythonCountWindow};
use crate::window::function::{reduce_records, PythonAggregate, PythonWindow, PythonWindowFunction, WindowEvaluator};
use crate::JobError;

/// The window operator of `window` over `keyed`; in process mode (`in_worker`), a worker
/// folds and evaluates each window when it fires.
pub fn build_window(
    keyed: &KeyedStream<KeyedRecord, PyKey>,
    window: &WindowSpec,
    contents: &WindowContentsSpec,
    evaluator: WindowEvaluator,
    in_worker: Option<WorkerWindowFunction>,
) -> Result<DataStream<PyValue>, JobError> {
    let trigger = window.trigger.as_ref().map(PythonTrigger::new).transpose().map_err(JobError::InvalidProgram)?;
    match &window.assigner {
        WindowAssignerSpec::Count { size, slide } => {
            if window.evictor.is_some() {
                return Err(JobError::InvalidProgram(
                    "count_window() windows hold exactly their records; evictors apply to time and global windows"
                        .into(),
                ));
            }
            let contents = match contents {
                WindowContentsSpec::All => CountContents::All,
                WindowContentsSpec::Reduce { function } => CountContents::Reduce(UserFunction::new(function.clone())),
                WindowContentsSpec::Aggregate { function } => {
                    CountContents::Aggregate(PyFunction::new(function.clone()))
                }
            };
            Ok(keyed.process(PythonCountWindow::new(*size, *slide, contents, evaluator).in_worker(in_worker)))
        }
        WindowAssignerSpec::Global => {
            let windowed = keyed.window(GlobalWindows::create()).trigger(trigger.unwrap_or(PythonTrigger::Never));
            Ok(evaluate_windows(with_settings(windowed, window), contents, evaluator, in_worker))
        }
        time => {
            let assigner = PythonTimeWindows::new(time).expect("the other assigners are handled above");
            let trigger = trigger.unwrap_or_else(|| assigner.default_trigger());
            let windowed = keyed.window(assigner).trigger(trigger);
            Ok(evaluate_windows(with_settings(windowed, window), contents, evaluator, in_worker))
        }
    }
}

/// `windowed` with the settings of `window`: its allowed lateness, the side output of records
/// too late for their windows, and its evictor, if it names them.
fn with_settings<A>(
    windowed: WindowedStream<KeyedRecord, PyKey, A, PythonTrigger>,
    window: &WindowSpec,
) -> WindowedStream<KeyedRecord, PyKey, A, PythonTrigger>
where
    A: WindowAssigner<KeyedRecord>,
    PythonTrigger: Trigger<KeyedRecord, A::Window>,
{
    let mut windowed = windowed.allowed_lateness(Duration::from_millis(window.allowed_lateness_ms.max(0) as u64));
    if let Some(tag) = &window.late_data_tag {
        windowed = windowed.side_output_late_data(&OutputTag::new(tag.clone()));
    }
    match window.evictor {
        Some(EvictorSpec::Count { max_count, after }) => {
            windowed.evictor(CountEvictor::of_with_evict_after(max_count as usize, after))
        }
        Some(EvictorSpec::Time { window_ms, after }) => {
            windowed.evictor(TimeEvictor::of_with_evict_after(Duration::from_millis(window_ms.max(0) as u64), after))
        }
        None => windowed,
    }
}

/// The windows of `windowed` keeping `contents` and evaluated by `evaluator`, or keeping all
/// their records for the worker function `in_worker`.
fn evaluate_windows<A>(
    windowed: WindowedStream<KeyedRecord, PyKey, A, PythonTrigger>,
    contents: &WindowContentsSpec,
    evaluator: WindowEvaluator,
    in_worker: Option<WorkerWindowFunction>,
) -> DataStream<PyValue>
where
    A: WindowAssigner<KeyedRecord>,
    A::Window: PythonWindow,
    PythonTrigger: Trigger<KeyedRecord, A::Window>,
{
    if let Some(in_worker) = in_worker {
        return windowed.process(in_worker);
    }
    let function = PythonWindowFunction::new(evaluator);
    match contents {
        WindowContentsSpec::All => windowed.process(function),
        WindowContentsSpec::Reduce { function: reduce } => {
            let reduce = UserFunction::new(reduce.clone());
            windowed.try_reduce_with_process(move |a, b| reduce_records(&reduce, a, b), function)
        }
        WindowContentsSpec::Aggregate { function: aggregate } => {
            windowed.aggregate_with_process(PythonAggregate::new(PyFunction::new(aggregate.clone())), function)
        }
    }
}
