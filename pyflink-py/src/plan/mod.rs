//! The program Python builds, as a plan of steps: the objects Python holds (an environment and
//! its streams, in [`handles`]) record each call as a step. A plan is plain data behind a mutex,
//! so that Python may build it from any thread; it becomes a job of the engine only when it
//! executes ([`crate::compile`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::thread::operators::Transform;
use crate::types::TypeInfo;
use crate::window::assign::{TriggerSpec, WindowAssignerSpec};
use crate::JobError;

pub mod handles;

pub use handles::{Environment, KeyedStream, Stream, StreamSink};

/// One step of a program: where its records come from and what it does with them.
#[derive(Debug, Clone)]
pub enum Step {
    /// The elements of a pickled Python list.
    Collection { pickled_elements: Vec<u8> },
    /// The numbers `from ..= to`, from a parallel source (`NumberSequenceSource`).
    Sequence { from: i64, to: i64 },
    /// The lines of the files at or under `paths`, watched for new files every `monitor`.
    /// The lines of the files at or under `paths` (as rows of `format` when given, the first
    /// line of each file skipped with `skip_header`), watched for new files every `monitor`.
    TextFiles {
        paths: Vec<String>,
        monitor: Option<std::time::Duration>,
        format: Option<crate::connectors::formats::RecordFormat>,
        skip_header: bool,
    },
    /// The records of files of a bulk format, watched for new files every `monitor`.
    BulkFiles {
        paths: Vec<String>,
        monitor: Option<std::time::Duration>,
        read: crate::connectors::bulk_files::BulkRead,
    },
    /// The records of Kafka topics.
    Kafka { source: crate::connectors::kafka::KafkaSourceSpec },
    /// The rows of a table, read by its connector.
    Table { descriptor: pyflink_core::table::TableDescriptor },
    /// The rows of a query of a table environment (`to_data_stream`), or its changes
    /// (`to_changelog_stream`); the job runs in that environment.
    Query { table: Arc<crate::table::sql::SqlTable>, changelog: bool },
    /// A Python function over each record of step `input`.
    Transform { input: usize, function: Vec<u8>, transform: Transform, name: String },
    /// The records of step `input`, keyed by a Python key selector.
    KeyBy { input: usize, selector: Vec<u8> },
    /// A rolling reduce of the keyed step `input`.
    Reduce { input: usize, function: Vec<u8>, name: String },
    /// A Python `map` over the keyed step `input`.
    KeyedMap { input: usize, function: Vec<u8>, name: String },
    /// A Python `KeyedProcessFunction` object over the keyed step `input`.
    KeyedProcess { input: usize, function: Vec<u8>, name: String },
    /// Event timestamps and watermarks for the records of step `input`.
    Timestamps { input: usize, strategy: WatermarkStrategySpec },
    /// A Python `ProcessFunction` object over the (not keyed) step `input`.
    Process { input: usize, function: Vec<u8>, name: String },
    /// The records of steps `inputs`, merged (the first is the step's input).
    Union { inputs: Vec<usize> },
    /// The records step `input` sent to the side output `tag_id`.
    SideOutput { input: usize, tag_id: String },
    /// Windows of the keyed step `input`, evaluated by a cloudpickled Python window evaluator.
    Window { input: usize, window: WindowSpec, contents: WindowContentsSpec, evaluator: Vec<u8>, name: String },
    /// The records of step `input`, sent to the next operator's instances as `partitioning` says.
    Partition { input: usize, partitioning: Partitioning },
    /// A Python `BroadcastProcessFunction` (`KeyedBroadcastProcessFunction` when `input` is a
    /// keyed step) over step `input`, with the records of step `broadcast` sent to every
    /// instance, and the broadcast states named `states`.
    BroadcastProcess { input: usize, broadcast: usize, function: Vec<u8>, states: Vec<String>, name: String },
    /// A Python async I/O waiter (`AsyncDataStream`) over the records of step `input`, called
    /// once per input batch.
    AsyncWait { input: usize, function: Vec<u8>, name: String },
}

/// How records go from an operator to the instances of the next (PyFlink's `forward()`,
/// `shuffle()`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partitioning {
    /// To the same-numbered instance; both operators have the same parallelism.
    Forward,
    /// To an instance picked at random.
    Shuffle,
    /// Round robin over all instances.
    Rebalance,
    /// Round robin over a subset of the instances.
    Rescale,
    /// To every instance.
    Broadcast,
    /// To the first instance.
    Global,
    /// To the instance a cloudpickled Python callable `(record, partitions) -> int` picks
    /// (`partition_custom`).
    Custom { function: Vec<u8> },
}

impl Partitioning {
    /// The partitioning PyFlink's method `name` asks for.
    fn of(name: &str) -> Option<Partitioning> {
        Some(match name {
            "forward" => Partitioning::Forward,
            "shuffle" => Partitioning::Shuffle,
            "rebalance" => Partitioning::Rebalance,
            "rescale" => Partitioning::Rescale,
            "broadcast" => Partitioning::Broadcast,
            "global" => Partitioning::Global,
            _ => return None,
        })
    }
}

/// How a keyed stream is cut into windows (PyFlink's `WindowedStream` before its function).
#[derive(Debug, Clone)]
pub struct WindowSpec {
    /// Which windows a record belongs to.
    pub assigner: WindowAssignerSpec,
    /// When windows fire, if not as the assigner's default trigger says.
    pub trigger: Option<TriggerSpec>,
    /// How long event-time windows are kept after their end for late records, in ms.
    pub allowed_lateness_ms: i64,
    /// The side output that records too late for their windows go to, if any.
    pub late_data_tag: Option<String>,
    /// What is removed from a window when it fires, if anything.
    pub evictor: Option<EvictorSpec>,
}

/// A window's evictor: Flink's `CountEvictor` and `TimeEvictor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictorSpec {
    /// Keeps the newest `max_count` records.
    Count {
        /// The records kept.
        max_count: u64,
        /// Whether records are evicted after the window function rather than before.
        after: bool,
    },
    /// Keeps the records within `window_ms` of the newest record's timestamp.
    Time {
        /// The time span kept, in milliseconds.
        window_ms: i64,
        /// Whether records are evicted after the window function rather than before.
        after: bool,
    },
}

/// What a window keeps of its records until it fires.
#[derive(Debug, Clone)]
pub enum WindowContentsSpec {
    /// Every record (`process`, `apply`).
    All,
    /// One record, folded by the cloudpickled reduce function as records arrive.
    Reduce { function: Vec<u8> },
    /// One accumulator of the cloudpickled `AggregateFunction` object.
    Aggregate { function: Vec<u8> },
}

/// How watermarks are generated (PyFlink's `WatermarkStrategy.for_...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatermarkGeneration {
    /// `no_watermarks()`.
    NoWatermarks,
    /// `for_monotonous_timestamps()`.
    Monotonous,
    /// `for_bounded_out_of_orderness(duration)`.
    BoundedOutOfOrderness {
        /// The largest lateness allowed, in milliseconds.
        max_out_of_orderness_ms: i64,
    },
}

/// A watermark strategy as Python built it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatermarkStrategySpec {
    /// How watermarks are generated.
    pub generation: WatermarkGeneration,
    /// `with_idleness`: after how long without records an input counts as idle.
    pub idle_timeout_ms: Option<i64>,
    /// `with_timestamp_assigner`: the cloudpickled `extract_timestamp(value, record_timestamp)`.
    pub timestamp_assigner: Option<Vec<u8>>,
    /// `with_watermark_alignment`: keeps a source's watermark close to its group's.
    pub alignment: Option<WatermarkAlignmentSpec>,
}

/// Watermark alignment of sources as Python set it (`with_watermark_alignment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatermarkAlignmentSpec {
    /// The sources aligned with each other.
    pub group: String,
    /// How far ahead of the group's lowest watermark a source may read, in ms.
    pub max_drift_ms: i64,
    /// How often sources report their watermarks, in ms.
    pub update_interval_ms: i64,
}

/// A step, the type of its records, and the settings of its operator given on the stream.
#[derive(Debug, Clone)]
pub struct PlannedStep {
    /// What the step does.
    pub step: Step,
    /// The type of the records it produces (`Pickled`: any Python object).
    pub record_type: TypeInfo,
    /// Its parallelism, when set on the stream.
    pub parallelism: Option<usize>,
    /// Its operator's name and uid, when set (`name()`, `uid()`).
    pub name: Option<String>,
    pub uid: Option<String>,
}

impl PlannedStep {
    /// `step`, of records of `record_type`, with no settings of its own.
    pub fn new(step: Step, record_type: TypeInfo) -> Self {
        PlannedStep { step, record_type, parallelism: None, name: None, uid: None }
    }
}

/// A sink the job runs: which step it writes, where to, and its operator's settings.
#[derive(Debug, Clone)]
pub struct PlannedSink {
    /// Tells the sink's handle which sink is its own.
    pub id: u64,
    pub step: usize,
    pub kind: SinkKind,
    pub name: Option<String>,
    pub uid: Option<String>,
    pub parallelism: Option<usize>,
}

/// How a job executes (PyFlink's `RuntimeExecutionMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuntimeMode {
    /// Continuous processing: reduces emit every updated result.
    #[default]
    Streaming,
    /// Bounded input processed as a whole: reduces emit each key's final result.
    Batch,
    /// Batch when every source is bounded, else streaming.
    Automatic,
}

/// Where Python functions run (`python.execution-mode`) and how they are fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PythonExecution {
    /// `process`: in worker processes, fed bundles; `thread` (the default): in the job's
    /// worker threads, in this process.
    pub process_mode: bool,
    /// `python.fn-execution.bundle.size`: the most records in one bundle.
    pub bundle_size: usize,
}

impl Default for PythonExecution {
    fn default() -> Self {
        // PyFlink's default bundle size.
        PythonExecution { process_mode: false, bundle_size: 100_000 }
    }
}

impl PythonExecution {
    /// Applies the `python.execution-mode` and `python.fn-execution.bundle.*` options among
    /// `options`, checked.
    pub(crate) fn configure(&mut self, options: &HashMap<String, String>) -> Result<(), JobError> {
        if let Some(mode) = options.get("python.execution-mode") {
            self.process_mode = match mode.trim().to_ascii_lowercase().as_str() {
                "process" => true,
                "thread" => false,
                other => {
                    return Err(JobError::InvalidProgram(format!(
                        "python.execution-mode must be 'thread' or 'process', not '{other}'"
                    )))
                }
            };
        }
        if let Some(size) = options.get("python.fn-execution.bundle.size") {
            self.bundle_size = match size.trim().parse::<usize>() {
                Ok(size) if size > 0 => size,
                _ => {
                    return Err(JobError::InvalidProgram(format!(
                        "python.fn-execution.bundle.size must be a whole number above 0, not '{size}'"
                    )))
                }
            };
        }
        if let Some(time) = options.get("python.fn-execution.bundle.time") {
            // Bundles end with every input batch, so no record waits for this long; the
            // option is checked so that a typo is not silently ignored.
            if !matches!(time.trim().parse::<i64>(), Ok(ms) if ms > 0) {
                return Err(JobError::InvalidProgram(format!(
                    "python.fn-execution.bundle.time must be milliseconds above 0, not '{time}'"
                )));
            }
        }
        Ok(())
    }
}

/// The program recorded so far.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    /// The default parallelism of operators.
    pub parallelism: Option<usize>,
    /// How Python functions run.
    pub python: PythonExecution,
    /// Streaming, batch, or batch when every source is bounded.
    pub runtime_mode: RuntimeMode,
    /// The steps, each after its inputs.
    pub steps: Vec<PlannedStep>,
    /// The sinks the job runs when the environment executes.
    pub sinks: Vec<PlannedSink>,
    /// The id of the next sink added.
    pub next_sink: u64,
    /// The engine's options (checkpointing, restarts), as Flink's configuration keys name them.
    pub engine_options: HashMap<String, String>,
}

/// Where a sink sends records.
#[derive(Debug, Clone, PartialEq)]
pub enum SinkKind {
    /// Standard output, one line per record (`print()`).
    Print,
    /// Nowhere (`DiscardingSink`): for jobs run for their side effects or to measure them.
    Discard,
    /// Lines of part files (`FileSink`).
    Files(Box<crate::connectors::files::FileSinkSpec>),
    /// Records of a Kafka topic (`KafkaSink`).
    Kafka(Box<crate::connectors::kafka::KafkaSinkSpec>),
    /// Rows written to a database by a statement (`JdbcSink`).
    Jdbc(Box<crate::connectors::jdbc::JdbcSinkSpec>),
}

/// A plan shared by an environment and its streams.
pub(crate) type SharedPlan = Arc<Mutex<Plan>>;

pub(crate) fn lock(plan: &SharedPlan) -> MutexGuard<'_, Plan> {
    // A panic while the plan was held cannot leave it half-changed: every change is one push.
    plan.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Adds `step` producing records of `record_type`, or of its input's type when `None`.
pub(crate) fn add(plan: &SharedPlan, step: Step, record_type: Option<TypeInfo>) -> Result<usize, JobError> {
    if let Some(record_type) = &record_type {
        record_type.validate()?;
    }
    let mut plan = lock(plan);
    let record_type = match (record_type, step.input()) {
        (Some(record_type), _) => record_type,
        (None, Some(input)) => plan.steps[input].record_type.clone(),
        (None, None) => TypeInfo::Pickled,
    };
    plan.steps.push(PlannedStep::new(step, record_type));
    Ok(plan.steps.len() - 1)
}

/// A stream of the records of `step`, added to `plan` (see [`add`]).
pub(crate) fn stream(plan: &SharedPlan, step: Step, record_type: Option<TypeInfo>) -> Result<Arc<Stream>, JobError> {
    let step = add(plan, step, record_type)?;
    Ok(Arc::new(Stream { plan: Arc::clone(plan), step }))
}

/// The program as it stands, to compile; `sinks` are the sinks the job runs.
pub(crate) fn snapshot(plan: &SharedPlan, sinks: Vec<PlannedSink>) -> Plan {
    let plan = lock(plan);
    Plan {
        parallelism: plan.parallelism,
        python: plan.python,
        runtime_mode: plan.runtime_mode,
        steps: plan.steps.clone(),
        sinks,
        next_sink: plan.next_sink,
        engine_options: plan.engine_options.clone(),
    }
}

impl Plan {
    /// The table environment whose queries the plan reads, if it reads any: its jobs run in
    /// that environment.
    pub(crate) fn table_thread(&self) -> Option<Arc<crate::table::sql::TableThread>> {
        self.steps.iter().find_map(|planned| match &planned.step {
            Step::Query { table, .. } => Some(table.thread()),
            _ => None,
        })
    }
}

impl Step {
    /// The step whose records this step reads, if any (the first, for a union).
    pub fn input(&self) -> Option<usize> {
        match self {
            Step::Collection { .. }
            | Step::Sequence { .. }
            | Step::Table { .. }
            | Step::Query { .. }
            | Step::TextFiles { .. }
            | Step::BulkFiles { .. }
            | Step::Kafka { .. } => None,
            Step::Union { inputs } => inputs.first().copied(),
            Step::Transform { input, .. }
            | Step::KeyBy { input, .. }
            | Step::Reduce { input, .. }
            | Step::KeyedMap { input, .. }
            | Step::KeyedProcess { input, .. }
            | Step::Timestamps { input, .. }
            | Step::Process { input, .. }
            | Step::SideOutput { input, .. }
            | Step::Partition { input, .. }
            | Step::BroadcastProcess { input, .. }
            | Step::AsyncWait { input, .. }
            | Step::Window { input, .. } => Some(*input),
        }
    }

    /// Every step this step reads.
    pub fn inputs(&self) -> Vec<usize> {
        match self {
            Step::Union { inputs } => inputs.clone(),
            Step::BroadcastProcess { input, broadcast, .. } => vec![*input, *broadcast],
            step => step.input().into_iter().collect(),
        }
    }
}
