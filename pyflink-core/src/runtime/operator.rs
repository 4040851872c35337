//! The life cycle every operator follows: open, process elements and watermarks, processing-time
//! callbacks, end of input, close. The runtime drives these calls; operators in `crate::operators` implement them.

use crate::runtime::graph::NodePlan;
use crate::runtime::output::Output;
use crate::time::ProcessingTimeService;
use crate::{Data, Result};

/// What an operator instance knows about where it runs, as Flink's `RuntimeContext`.
#[derive(Debug, Clone)]
pub struct RuntimeContext {
    pub(crate) name: String,
    pub(crate) subtask_index: usize,
    pub(crate) parallelism: usize,
    pub(crate) max_parallelism: usize,
    pub(crate) batch_mode: bool,
    pub(crate) auto_watermark_interval: i64,
    pub(crate) processing_time: ProcessingTimeService,
}

impl RuntimeContext {
    /// The context of instance `subtask_index` of the node `plan`.
    pub(crate) fn new(plan: &NodePlan, subtask_index: usize) -> Self {
        RuntimeContext {
            name: plan.name.clone(),
            subtask_index,
            parallelism: plan.parallelism,
            max_parallelism: plan.max_parallelism,
            batch_mode: plan.batch_mode,
            auto_watermark_interval: plan.auto_watermark_interval,
            processing_time: ProcessingTimeService::default(),
        }
    }

    /// The operator's name.
    pub fn get_task_name(&self) -> &str {
        &self.name
    }

    /// The index of this parallel instance, `0 .. parallelism`.
    pub fn get_index_of_this_subtask(&self) -> usize {
        self.subtask_index
    }

    /// The number of parallel instances of this operator.
    pub fn get_number_of_parallel_subtasks(&self) -> usize {
        self.parallelism
    }

    /// The job's max parallelism: the number of key groups.
    pub fn get_max_number_of_parallel_subtasks(&self) -> usize {
        self.max_parallelism
    }

    /// Whether the job runs in batch mode.
    pub fn is_batch_mode(&self) -> bool {
        self.batch_mode
    }

    /// The periodic watermark interval in milliseconds (0 when periodic watermarks are off).
    pub fn get_auto_watermark_interval(&self) -> i64 {
        self.auto_watermark_interval
    }

    /// The instance's processing-time service: the wall clock, and callbacks at a time through
    /// the operator's `on_processing_time`.
    pub fn processing_time_service(&self) -> &ProcessingTimeService {
        &self.processing_time
    }
}

/// An operator with one input (possibly fed by several upstream streams, as `union` is).
///
/// Each call may emit to `out`; a returned error fails the task with the operator's name.
pub trait OneInputOperator<IN: Data, OUT: Data>: 'static {
    /// Called once before the first element, with the instance's context.
    fn open(&mut self, _context: &RuntimeContext) -> Result<()> {
        Ok(())
    }

    /// Processes one record. `out` carries the record's timestamp to emitted records.
    fn process_element(&mut self, value: IN, out: &mut Output<OUT>) -> Result<()>;

    /// Called when the combined input watermark advances; the default forwards it.
    fn process_watermark(&mut self, timestamp: i64, out: &mut Output<OUT>) -> Result<()> {
        out.emit_watermark(timestamp);
        Ok(())
    }

    /// Called when processing time reaches a time requested through the context's
    /// [`ProcessingTimeService`]; `now` is the current processing time.
    fn on_processing_time(&mut self, _now: i64, _out: &mut Output<OUT>) -> Result<()> {
        Ok(())
    }

    /// Called once when every input has ended (bounded inputs only).
    fn end_input(&mut self, _out: &mut Output<OUT>) -> Result<()> {
        Ok(())
    }

    /// Called once after the last call, also for unbounded jobs that finish by cancellation.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

/// An operator with two inputs of different types, as behind `connect`.
pub trait TwoInputOperator<IN1: Data, IN2: Data, OUT: Data>: 'static {
    /// Called once before the first element.
    fn open(&mut self, _context: &RuntimeContext) -> Result<()> {
        Ok(())
    }

    /// Processes one record of the first input.
    fn process_element1(&mut self, value: IN1, out: &mut Output<OUT>) -> Result<()>;

    /// Processes one record of the second input.
    fn process_element2(&mut self, value: IN2, out: &mut Output<OUT>) -> Result<()>;

    /// Called when the watermark combined over both inputs advances; the default forwards it.
    fn process_watermark(&mut self, timestamp: i64, out: &mut Output<OUT>) -> Result<()> {
        out.emit_watermark(timestamp);
        Ok(())
    }

    /// Called when processing time reaches a time requested through the context's
    /// [`ProcessingTimeService`].
    fn on_processing_time(&mut self, _now: i64, _out: &mut Output<OUT>) -> Result<()> {
        Ok(())
    }

    /// Called once when both inputs have ended.
    fn end_input(&mut self, _out: &mut Output<OUT>) -> Result<()> {
        Ok(())
    }

    /// Called once after the last call.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}
