//! The life cycle every operator follows: open (with restored state), process elements and
//! watermarks, processing-time callbacks, snapshot state, checkpoint complete, end of input, close.
//! The runtime drives these calls; operators in `crate::operators` implement them.

use std::collections::BTreeMap;
use std::sync::Arc;

use pyflink_state::{KeyGroupRange, KeyedStateBackend, KeyedStateSnapshot, OperatorStateStore, StateBackendConfig};

use crate::checkpoint::restore::RestoredOperator;
use crate::checkpoint::StateSnapshotContext;
use crate::metrics::MetricGroup;
use crate::runtime::alignment::AlignmentGroups;
use crate::runtime::graph::{NodeId, NodePlan};
use crate::runtime::job::JobShared;
use crate::runtime::output::Output;
use crate::runtime::StopSignal;
use crate::time::ProcessingTimeService;
use crate::{Data, Key, Result};

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
    pub(crate) operator_id: String,
    pub(crate) state_backend: StateBackendConfig,
    pub(crate) checkpointing: bool,
    pub(crate) restored: Option<RestoredOperator>,
    pub(crate) operator_state: Arc<OperatorStateStore>,
    pub(crate) metrics: MetricGroup,
    pub(crate) stop: StopSignal,
    pub(crate) job_parameters: JobParameters,
    /// The source instance that feeds this one through forward edges, with the job's
    /// alignment groups, for a timestamp assigner that aligns that source.
    pub(crate) forward_source: Option<(Arc<AlignmentGroups>, NodeId)>,
}

/// The job's global parameters (`pipeline.global-job-parameters`), shared by its instances.
pub type JobParameters = Arc<BTreeMap<String, String>>;

/// Where an operator instance runs (Flink's `TaskInfo`), and its metric group: what the
/// [`RuntimeContext`] tells of it that may go to other threads with a function.
///
/// ```
/// use pyflink_core::metrics::MetricRegistry;
/// use pyflink_core::TaskInfo;
///
/// let metrics = MetricRegistry::default();
/// let task = TaskInfo::new("Calc", 1, 2, 128, metrics.group(vec!["Calc".into(), "1".into()]));
/// task.get_metric_group().counter("rows").inc();
/// assert_eq!(task.get_index_of_this_subtask(), 1);
/// assert!(metrics.snapshot().contains_key("Calc.1.rows"));
/// ```
#[derive(Debug, Clone)]
pub struct TaskInfo {
    task_name: String,
    subtask_index: usize,
    parallelism: usize,
    max_parallelism: usize,
    metrics: MetricGroup,
    job_parameters: JobParameters,
}

impl TaskInfo {
    /// Instance `subtask_index` of `parallelism` instances of the operator `task_name`, in a
    /// job of `max_parallelism` key groups, registering metrics in `metrics` (for functions
    /// run outside a job, as in tests).
    pub fn new(
        task_name: &str,
        subtask_index: usize,
        parallelism: usize,
        max_parallelism: usize,
        metrics: MetricGroup,
    ) -> Self {
        TaskInfo {
            task_name: task_name.to_string(),
            subtask_index,
            parallelism,
            max_parallelism,
            metrics,
            job_parameters: JobParameters::default(),
        }
    }

    /// This task with the job's global parameters `parameters`.
    pub fn with_job_parameters(mut self, parameters: JobParameters) -> Self {
        self.job_parameters = parameters;
        self
    }

    /// The job's global parameter `key`, or `default_value` when it is not set (Flink's
    /// `getJobParameter`).
    pub fn get_job_parameter<'a>(&'a self, key: &str, default_value: &'a str) -> &'a str {
        self.job_parameters.get(key).map_or(default_value, String::as_str)
    }

    /// Every global parameter of the job.
    pub fn get_job_parameters(&self) -> &JobParameters {
        &self.job_parameters
    }

    /// The operator's name.
    pub fn get_task_name(&self) -> &str {
        &self.task_name
    }

    /// This instance's index, from 0.
    pub fn get_index_of_this_subtask(&self) -> usize {
        self.subtask_index
    }

    /// The operator's parallelism.
    pub fn get_number_of_parallel_subtasks(&self) -> usize {
        self.parallelism
    }

    /// The job's max parallelism (the number of key groups).
    pub fn get_max_number_of_parallel_subtasks(&self) -> usize {
        self.max_parallelism
    }

    /// The instance's metric group.
    pub fn get_metric_group(&self) -> &MetricGroup {
        &self.metrics
    }
}

/// The file of an instance's operator state in checkpoints.
const OPERATOR_STATE_FILE: &str = "operator";

impl RuntimeContext {
    /// The context of instance `subtask_index` of the node `plan`, restoring `restored`.
    pub(crate) fn new(
        plan: &NodePlan,
        subtask_index: usize,
        restored: Option<RestoredOperator>,
        job: &Arc<JobShared>,
    ) -> Result<Self> {
        let operator_state = match &restored {
            Some(restored) => {
                let mut files = restored.files(OPERATOR_STATE_FILE)?;
                files.sort_by_key(|(subtask, _)| *subtask);
                let files: Vec<Vec<u8>> = files.into_iter().map(|(_, bytes)| bytes).collect();
                OperatorStateStore::restore(&files, subtask_index, plan.parallelism)?
            }
            None => OperatorStateStore::default(),
        };
        Ok(RuntimeContext {
            operator_state: Arc::new(operator_state),
            metrics: job.metrics.group(vec![plan.name.clone(), subtask_index.to_string()]),
            stop: StopSignal::of_job(job),
            operator_id: plan.operator_id.clone(),
            state_backend: plan.state_backend.clone(),
            checkpointing: plan.checkpointing,
            restored,
            name: plan.name.clone(),
            subtask_index,
            parallelism: plan.parallelism,
            max_parallelism: plan.max_parallelism,
            batch_mode: plan.batch_mode,
            auto_watermark_interval: plan.auto_watermark_interval,
            processing_time: ProcessingTimeService::default(),
            job_parameters: plan.job_parameters.clone(),
            forward_source: plan.forward_source.map(|source| (Arc::clone(&job.alignment), source)),
        })
    }

    /// Where the instance runs, as a value its functions may keep and send to other threads.
    pub fn task_info(&self) -> TaskInfo {
        TaskInfo {
            task_name: self.name.clone(),
            subtask_index: self.subtask_index,
            parallelism: self.parallelism,
            max_parallelism: self.max_parallelism,
            metrics: self.metrics.clone(),
            job_parameters: self.job_parameters.clone(),
        }
    }

    /// The instance's operator state (state that is not keyed), as Flink's
    /// `getOperatorStateStore()`: list states that are redistributed on rescaling. Get handles in
    /// `open()`; they are checkpointed with the operator.
    pub fn get_operator_state_store(&self) -> &OperatorStateStore {
        &self.operator_state
    }

    /// The instance's operator state store, shared: for functions that ask for their list
    /// states later than `open()`, as Python functions do from `initialize_state`.
    pub fn operator_state_store(&self) -> Arc<OperatorStateStore> {
        Arc::clone(&self.operator_state)
    }

    /// Whether the instance starts from a checkpoint or savepoint (Flink's `isRestored`).
    pub fn is_restored(&self) -> bool {
        self.restored.is_some()
    }

    /// Adds the operator state, if there is any, to a checkpoint.
    pub(crate) fn snapshot_operator_state(&self, context: &mut StateSnapshotContext) -> Result<()> {
        if !self.operator_state.is_empty() {
            context.add_file(OPERATOR_STATE_FILE, self.operator_state.snapshot()?);
        }
        Ok(())
    }

    /// Tells long calls of this instance (waiting for an outside system) that it must stop:
    /// the job was cancelled or another task failed.
    pub fn stop_signal(&self) -> &StopSignal {
        &self.stop
    }

    /// The instance's metric group (see [`crate::metrics`]): register metrics in `open()`.
    pub fn get_metric_group(&self) -> &MetricGroup {
        &self.metrics
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

    /// The job's global parameter `key` (`pipeline.global-job-parameters`), or `default_value`
    /// when it is not set.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use pyflink_core::{ProcessContext, ProcessFunction, Result, RuntimeContext, StreamExecutionEnvironment};
    ///
    /// #[derive(Clone, Default)]
    /// struct Suffix(String);
    /// impl ProcessFunction<String, String> for Suffix {
    ///     fn open(&mut self, runtime: &RuntimeContext) -> Result<()> {
    ///         self.0 = runtime.get_job_parameter("suffix", "?").to_string();
    ///         Ok(())
    ///     }
    ///     fn process_element(&mut self, value: String, ctx: &mut ProcessContext<'_, String>) -> Result<()> {
    ///         ctx.collect(value + &self.0);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let env = StreamExecutionEnvironment::get_execution_environment();
    /// env.set_global_job_parameters(BTreeMap::from([("suffix".to_string(), "!".to_string())]));
    /// let out: Vec<String> = env.from_collection(vec!["hi".to_string()]).process(Suffix::default())
    ///     .execute_and_collect().unwrap().map(Result::unwrap).collect();
    /// assert_eq!(out, ["hi!"]);
    /// ```
    pub fn get_job_parameter<'a>(&'a self, key: &str, default_value: &'a str) -> &'a str {
        self.job_parameters.get(key).map_or(default_value, String::as_str)
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

    /// The id that binds the operator's state in checkpoints: its uid, or one derived from its
    /// place in the job.
    pub fn get_operator_id(&self) -> &str {
        &self.operator_id
    }

    /// Whether the job takes checkpoints.
    pub fn is_checkpointing_enabled(&self) -> bool {
        self.checkpointing
    }

    /// The key groups this instance owns.
    pub(crate) fn key_group_range(&self) -> KeyGroupRange {
        KeyGroupRange::for_operator(self.max_parallelism, self.parallelism, self.subtask_index)
    }

    /// The restored state of the operator, if the job was restored and it has any.
    pub(crate) fn restored(&self) -> Option<&RestoredOperator> {
        self.restored.as_ref()
    }

    /// The restored keyed state snapshots that hold this instance's key groups.
    pub(crate) fn restored_keyed(&self) -> Result<Vec<KeyedStateSnapshot>> {
        match &self.restored {
            Some(restored) => Ok(restored.keyed(self.key_group_range())?),
            None => Ok(Vec::new()),
        }
    }

    /// An empty keyed state backend of the configured kind for this instance's key groups;
    /// `part` tells apart the backends of one instance.
    pub(crate) fn create_keyed_backend<K: Key>(&self, part: &str) -> Result<KeyedStateBackend<K>> {
        let instance = format!("{}-{}{part}", self.operator_id, self.subtask_index);
        let range = self.key_group_range();
        Ok(KeyedStateBackend::from_config(&self.state_backend, range, self.max_parallelism, &instance)?)
    }

    /// A keyed state backend loaded with the restored keyed state, and the restored snapshots
    /// themselves (for operator-owned sections such as timers).
    pub(crate) fn keyed_backend<K: Key>(&self) -> Result<(KeyedStateBackend<K>, Vec<KeyedStateSnapshot>)> {
        let mut backend = self.create_keyed_backend("")?;
        let restored = self.restored_keyed()?;
        backend.restore(&restored)?;
        Ok((backend, restored))
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

    /// Runs `batch`, the processing of one batch of input elements (records, watermarks and
    /// the timers they fire). An operator whose every call needs one shared resource, such as
    /// the Python interpreter, takes it here once per batch instead of once per record. The
    /// default runs the batch as it is.
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()>
    where
        Self: Sized,
    {
        batch()
    }

    /// Called when the combined input watermark advances; the default forwards it.
    fn process_watermark(&mut self, timestamp: i64, out: &mut Output<OUT>) -> Result<()> {
        out.emit_watermark(timestamp);
        Ok(())
    }

    /// Called before each watermark, and whenever the results [`end_batch`](Self::end_batch)
    /// left owed must go out: an operator that buffers records (to hand them to another
    /// process in bundles) emits every result it still owes here, so that they precede the
    /// watermark and belong to their batch's checkpoint epoch. `out` carries no record
    /// timestamp: set one per emitted record.
    fn finish_batch(&mut self, _out: &mut Output<OUT>) -> Result<()> {
        Ok(())
    }

    /// Called after the last record of each input batch; the default finishes the batch. An
    /// operator whose bundles another process computes may send the bundle here and return at
    /// once, so that the other process works while the engine runs other operators; it then
    /// [owes](Self::owes_results) the results, and the runtime calls
    /// [`finish_batch`](Self::finish_batch) before anything that must follow them: a batch of
    /// another epoch, a watermark, a timer, a snapshot, the end of input, or at the latest at
    /// the operator's next activation (which it schedules at once).
    fn end_batch(&mut self, out: &mut Output<OUT>) -> Result<()> {
        self.finish_batch(out)
    }

    /// Whether batches ended by [`end_batch`](Self::end_batch) have results not emitted yet.
    fn owes_results(&self) -> bool {
        false
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

    /// Writes the operator's state for a checkpoint; called between records, once the inputs
    /// have passed the checkpoint's epoch. The default writes nothing: a stateless operator.
    fn snapshot_state(&mut self, _context: &mut StateSnapshotContext) -> Result<()> {
        Ok(())
    }

    /// Called when the checkpoint `checkpoint_id` (and every earlier one) is complete.
    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> Result<()> {
        Ok(())
    }

    /// Whether the operator stays open after end of input until the final checkpoint completes
    /// (a transactional sink that commits its last records then).
    fn awaits_final_checkpoint(&self) -> bool {
        false
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

    /// Called after the last record of each input batch and before each watermark (see
    /// [`OneInputOperator::finish_batch`]).
    fn finish_batch(&mut self, _out: &mut Output<OUT>) -> Result<()> {
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

    /// Writes the operator's state for a checkpoint (see [`OneInputOperator::snapshot_state`]).
    fn snapshot_state(&mut self, _context: &mut StateSnapshotContext) -> Result<()> {
        Ok(())
    }

    /// Called when the checkpoint `checkpoint_id` (and every earlier one) is complete.
    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> Result<()> {
        Ok(())
    }

    /// Called once after the last call.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}
