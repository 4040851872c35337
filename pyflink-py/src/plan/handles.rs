//! The objects Python holds (PyFlink's `StreamExecutionEnvironment`, `DataStream`,
//! `DataStreamSink`, `KeyedStream` build on them): each call records a step of the program in
//! the shared plan, checked as far as it can be before the job runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{
    add, lock, snapshot, stream, Partitioning, Plan, PlannedSink, RuntimeMode, SharedPlan, SinkKind, Step,
    WatermarkGeneration, WatermarkStrategySpec, WindowContentsSpec, WindowSpec,
};
use crate::compile;
use crate::job::{CollectedRecords, RunningJob};
use crate::thread::operators::Transform;
use crate::types::TypeInfo;
use crate::window::assign::{PythonTrigger, WindowAssignerSpec};
use crate::JobError;

/// The context in which a program runs (`StreamExecutionEnvironment`).
pub struct Environment {
    pub(crate) plan: SharedPlan,
}

impl Default for Environment {
    fn default() -> Self {
        Self::new()
    }
}

impl Environment {
    /// An environment with an empty program. The first one also routes the engine's log
    /// events to Python's `logging`.
    pub fn new() -> Self {
        crate::logging::install();
        Environment { plan: Arc::new(Mutex::new(Plan::default())) }
    }

    /// Sets the default parallelism of operators.
    pub fn set_parallelism(&self, parallelism: u32) {
        lock(&self.plan).parallelism = Some(parallelism.max(1) as usize);
    }

    /// Sets how the job executes: streaming (the default), batch, or automatic.
    pub fn set_runtime_mode(&self, mode: RuntimeMode) {
        lock(&self.plan).runtime_mode = mode;
    }

    /// The default parallelism of operators: as set, or the engine's default (the number of
    /// cores, or the workers of the cluster the process belongs to).
    pub fn get_parallelism(&self) -> u32 {
        let set = lock(&self.plan).parallelism;
        set.unwrap_or_else(|| pyflink_core::StreamExecutionEnvironment::get_execution_environment().get_parallelism())
            as u32
    }

    /// Applies the configuration `options` (PyFlink's `Configuration` as text): the `python.*`
    /// options and the engine's (`execution.checkpointing.*`, `restart-strategy.*`) are
    /// checked now; others are kept and ignored.
    pub fn configure(&self, options: HashMap<String, String>) -> Result<(), JobError> {
        let mut engine = lock(&self.plan).engine_options.clone();
        engine
            .extend(options.iter().filter(|(key, _)| !key.starts_with("python.")).map(|(k, v)| (k.clone(), v.clone())));
        let scratch = pyflink_core::StreamExecutionEnvironment::get_execution_environment();
        scratch.configure(&crate::compile::engine_configuration(&engine))?;
        let mut python = lock(&self.plan).python;
        python.configure(&options)?;
        let mut plan = lock(&self.plan);
        plan.python = python;
        plan.engine_options = engine;
        if options.contains_key("parallelism.default") {
            plan.parallelism = Some(scratch.get_parallelism());
        }
        Ok(())
    }

    /// Unsets the engine options `keys`.
    pub fn reset_options(&self, keys: Vec<String>) {
        let mut plan = lock(&self.plan);
        for key in keys {
            plan.engine_options.remove(&key);
        }
    }

    /// A stream of the elements of a pickled Python list, converted to `type_info` if given.
    pub fn from_collection(
        &self,
        pickled_elements: Vec<u8>,
        type_info: Option<TypeInfo>,
    ) -> Result<Arc<Stream>, JobError> {
        stream(&self.plan, Step::Collection { pickled_elements }, Some(type_info.unwrap_or(TypeInfo::Pickled)))
    }

    /// A parallel stream of the numbers `from ..= to` (records of type `LONG`).
    pub fn from_sequence(&self, from: i64, to: i64) -> Result<Arc<Stream>, JobError> {
        if from > to {
            return Err(JobError::InvalidProgram(format!(
                "a number sequence cannot start ({from}) after its end ({to})"
            )));
        }
        let long = TypeInfo::Basic { kind: crate::types::BasicType::Long };
        stream(&self.plan, Step::Sequence { from, to }, Some(long))
    }

    /// Identifies the program; its streams answer the same.
    pub fn plan_id(&self) -> u64 {
        Arc::as_ptr(&self.plan) as usize as u64
    }

    /// The job `execute_async` would start now, as Flink's execution plan JSON.
    pub fn get_execution_plan(&self) -> Result<String, JobError> {
        let sinks = lock(&self.plan).sinks.clone();
        compile::execution_plan(&snapshot(&self.plan, sinks))
    }

    /// Starts the streams that end in sinks as a job in the background.
    pub fn execute_async(&self, job_name: String) -> Result<Arc<RunningJob>, JobError> {
        let sinks = std::mem::take(&mut lock(&self.plan).sinks);
        Ok(Arc::new(RunningJob::new(compile::start(&snapshot(&self.plan, sinks), &job_name)?)))
    }
}

/// A stream of Python objects (`DataStream`).
pub struct Stream {
    pub(crate) plan: SharedPlan,
    pub(crate) step: usize,
}

impl Stream {
    /// The program up to this stream (its step and those before it), without sinks: what a
    /// table job that reads the stream builds.
    pub(crate) fn program(&self) -> (Plan, usize) {
        let mut plan = snapshot(&self.plan, Vec::new());
        plan.steps.truncate(self.step + 1);
        (plan, self.step)
    }

    fn transform(
        &self,
        function: Vec<u8>,
        transform: Transform,
        name: String,
        output_type: Option<TypeInfo>,
    ) -> Result<Arc<Stream>, JobError> {
        let step = Step::Transform { input: self.step, function, transform, name };
        stream(&self.plan, step, output_type)
    }

    /// Each record through a Python callable returning the new record, of `output_type`
    /// (any Python object when `None`).
    pub fn map(&self, function: Vec<u8>, name: String, output_type: Option<TypeInfo>) -> Result<Arc<Stream>, JobError> {
        self.transform(function, Transform::Map, name, Some(output_type.unwrap_or(TypeInfo::Pickled)))
    }

    /// Each record through a Python callable returning an iterable of records.
    pub fn flat_map(
        &self,
        function: Vec<u8>,
        name: String,
        output_type: Option<TypeInfo>,
    ) -> Result<Arc<Stream>, JobError> {
        self.transform(function, Transform::FlatMap, name, Some(output_type.unwrap_or(TypeInfo::Pickled)))
    }

    /// The records for which a Python callable returns a true value; their type is kept.
    pub fn filter(&self, function: Vec<u8>, name: String) -> Result<Arc<Stream>, JobError> {
        self.transform(function, Transform::Filter, name, None)
    }

    /// Each record through a Python `ProcessFunction` object, whose results are records of
    /// `output_type`.
    pub fn process(
        &self,
        function: Vec<u8>,
        name: String,
        output_type: Option<TypeInfo>,
    ) -> Result<Arc<Stream>, JobError> {
        let step = Step::Process { input: self.step, function, name };
        stream(&self.plan, step, Some(output_type.unwrap_or(TypeInfo::Pickled)))
    }

    /// Each record through a Python `BroadcastProcessFunction` object, with the records of
    /// `broadcast` sent to every instance and the broadcast states `states`.
    pub fn broadcast_process(
        &self,
        broadcast: Arc<Stream>,
        function: Vec<u8>,
        states: Vec<String>,
        name: String,
        output_type: Option<TypeInfo>,
    ) -> Result<Arc<Stream>, JobError> {
        broadcast_step(&self.plan, self.step, &broadcast, function, states, name, output_type)
    }

    /// The records that the operator of this stream sent to the side output `tag_id`, of
    /// `type_info`.
    pub fn get_side_output(&self, tag_id: String, type_info: Option<TypeInfo>) -> Result<Arc<Stream>, JobError> {
        if tag_id.is_empty() {
            return Err(JobError::InvalidProgram("an OutputTag needs a non-empty id".into()));
        }
        let step = Step::SideOutput { input: self.step, tag_id };
        stream(&self.plan, step, Some(type_info.unwrap_or(TypeInfo::Pickled)))
    }

    /// The records of this stream and of `others`, which must have the same record type.
    pub fn union(&self, others: Vec<Arc<Stream>>) -> Result<Arc<Stream>, JobError> {
        let mut inputs = vec![self.step];
        {
            let plan = lock(&self.plan);
            let record_type = &plan.steps[self.step].record_type;
            for other in &others {
                if !Arc::ptr_eq(&self.plan, &other.plan) {
                    return Err(JobError::InvalidProgram(
                        "union() takes streams of the same StreamExecutionEnvironment".into(),
                    ));
                }
                if &plan.steps[other.step].record_type != record_type {
                    return Err(JobError::InvalidProgram(format!(
                        "union() needs streams of one record type, not {} and {}",
                        record_type.name(),
                        plan.steps[other.step].record_type.name()
                    )));
                }
                inputs.push(other.step);
            }
        }
        stream(&self.plan, Step::Union { inputs }, None)
    }

    /// The stream partitioned by the key a Python callable selects.
    pub fn key_by(&self, key_selector: Vec<u8>) -> Result<Arc<KeyedStream>, JobError> {
        let step = add(&self.plan, Step::KeyBy { input: self.step, selector: key_selector }, None)?;
        Ok(Arc::new(KeyedStream { plan: Arc::clone(&self.plan), step }))
    }

    /// The stream with event timestamps and watermarks from `strategy`; the records are kept.
    pub fn assign_timestamps_and_watermarks(&self, strategy: WatermarkStrategySpec) -> Result<Arc<Stream>, JobError> {
        let durations = [
            strategy.idle_timeout_ms,
            match strategy.generation {
                WatermarkGeneration::BoundedOutOfOrderness { max_out_of_orderness_ms } => Some(max_out_of_orderness_ms),
                _ => None,
            },
        ];
        if durations.iter().flatten().any(|ms| *ms < 0) {
            return Err(JobError::InvalidProgram("watermark durations cannot be negative".into()));
        }
        stream(&self.plan, Step::Timestamps { input: self.step, strategy }, None)
    }

    /// Sets the parallelism of the operator producing this stream.
    pub fn set_parallelism(&self, parallelism: u32) -> Result<(), JobError> {
        if parallelism == 0 {
            return Err(JobError::InvalidProgram("parallelism must be at least 1".into()));
        }
        let mut plan = lock(&self.plan);
        if matches!(plan.steps[self.step].step, Step::Partition { .. }) {
            return Err(JobError::InvalidProgram(
                "a partitioning (forward(), rebalance(), ...) is no operator and has no parallelism: set it on the \
                 operator that follows"
                    .into(),
            ));
        }
        if matches!(plan.steps[self.step].step, Step::Collection { .. }) && parallelism != 1 {
            return Err(JobError::InvalidProgram(
                "a collection source is not parallel; its parallelism can only be 1".into(),
            ));
        }
        plan.steps[self.step].parallelism = Some(parallelism as usize);
        Ok(())
    }

    /// Names the operator producing this stream.
    pub fn set_name(&self, name: String) {
        lock(&self.plan).steps[self.step].name = Some(name);
    }

    /// Sets the uid of the operator producing this stream, which binds its state in savepoints.
    pub fn set_uid(&self, uid: String) -> Result<(), JobError> {
        if uid.is_empty() {
            return Err(JobError::InvalidProgram("a uid cannot be empty".into()));
        }
        lock(&self.plan).steps[self.step].uid = Some(uid);
        Ok(())
    }

    /// The records of this stream sent to the next operator's instances as `partitioning`
    /// (`forward`, `shuffle`, `rebalance`, `rescale`, `broadcast`, `global`) says.
    pub fn partition(&self, partitioning: String) -> Result<Arc<Stream>, JobError> {
        let partitioning = Partitioning::of(&partitioning).ok_or_else(|| {
            JobError::InvalidProgram(format!(
                "no partitioning '{partitioning}': forward, shuffle, rebalance, rescale, broadcast or global"
            ))
        })?;
        stream(&self.plan, Step::Partition { input: self.step, partitioning }, None)
    }

    /// The `plan_id` of the stream's environment.
    pub fn plan_id(&self) -> u64 {
        Arc::as_ptr(&self.plan) as usize as u64
    }

    /// The records through a cloudpickled async I/O waiter `(waiter, "wait")`, which takes an
    /// input batch's records and returns `(index, results)` pairs; results of `output_type`.
    pub fn async_wait(
        &self,
        function: Vec<u8>,
        name: String,
        output_type: Option<TypeInfo>,
    ) -> Result<Arc<Stream>, JobError> {
        let step = Step::AsyncWait { input: self.step, function, name };
        stream(&self.plan, step, Some(output_type.unwrap_or(TypeInfo::Pickled)))
    }

    /// The records sent to the instance a cloudpickled callable `(record, partitions) -> int`
    /// picks for each.
    pub fn partition_custom(&self, function: Vec<u8>) -> Result<Arc<Stream>, JobError> {
        let partitioning = Partitioning::Custom { function };
        stream(&self.plan, Step::Partition { input: self.step, partitioning }, None)
    }

    /// Adds a sink of this stream, to run when the environment executes.
    pub(crate) fn add_sink(&self, kind: SinkKind) -> Arc<StreamSink> {
        let mut plan = lock(&self.plan);
        let id = plan.next_sink;
        plan.next_sink += 1;
        plan.sinks.push(PlannedSink { id, step: self.step, kind, name: None, uid: None, parallelism: None });
        Arc::new(StreamSink { plan: Arc::clone(&self.plan), id })
    }

    /// Prints every record to standard output when the environment executes.
    pub fn print(&self) -> Arc<StreamSink> {
        self.add_sink(SinkKind::Print)
    }

    /// Drops every record when the environment executes (Flink's `DiscardingSink`).
    pub fn discard(&self) -> Arc<StreamSink> {
        self.add_sink(SinkKind::Discard)
    }

    /// Starts the job of this stream, whose records are collected as they come.
    /// `with_sinks`, sinks of the same program, run in the job too (and are taken, as
    /// `execute_async` takes the sinks it runs).
    pub fn execute_and_collect(
        &self,
        job_name: String,
        with_sinks: Vec<Arc<StreamSink>>,
    ) -> Result<Arc<CollectedRecords>, JobError> {
        let sinks = {
            let mut plan = lock(&self.plan);
            let wanted =
                |sink: &PlannedSink| with_sinks.iter().any(|w| w.id == sink.id && Arc::ptr_eq(&w.plan, &self.plan));
            let (taken, kept) = std::mem::take(&mut plan.sinks).into_iter().partition(wanted);
            plan.sinks = kept;
            taken
        };
        let records = compile::collect(&snapshot(&self.plan, sinks), self.step, &job_name)?;
        Ok(Arc::new(CollectedRecords::new(records)))
    }
}

/// A sink of a stream (`DataStreamSink`), to name it or set its parallelism before the
/// environment executes.
pub struct StreamSink {
    plan: SharedPlan,
    id: u64,
}

impl StreamSink {
    /// Changes this sink's settings, if it has not run yet (executing takes the sinks).
    fn update(&self, change: impl FnOnce(&mut PlannedSink)) {
        if let Some(sink) = lock(&self.plan).sinks.iter_mut().find(|sink| sink.id == self.id) {
            change(sink);
        }
    }

    /// Names the sink's operator.
    pub fn set_name(&self, name: String) {
        self.update(|sink| sink.name = Some(name));
    }

    /// Sets the uid of the sink's operator.
    pub fn set_uid(&self, uid: String) -> Result<(), JobError> {
        if uid.is_empty() {
            return Err(JobError::InvalidProgram("a uid cannot be empty".into()));
        }
        self.update(|sink| sink.uid = Some(uid));
        Ok(())
    }

    /// Sets the parallelism of the sink's operator.
    pub fn set_parallelism(&self, parallelism: u32) -> Result<(), JobError> {
        if parallelism == 0 {
            return Err(JobError::InvalidProgram("parallelism must be at least 1".into()));
        }
        self.update(|sink| sink.parallelism = Some(parallelism as usize));
        Ok(())
    }
}

/// A stream partitioned by key (`KeyedStream`).
pub struct KeyedStream {
    plan: SharedPlan,
    step: usize,
}

impl KeyedStream {
    /// The `plan_id` of the stream's environment.
    pub fn plan_id(&self) -> u64 {
        Arc::as_ptr(&self.plan) as usize as u64
    }

    /// A rolling reduce of each key's records with a Python callable of two records; the
    /// results have the type of the records.
    pub fn reduce(&self, function: Vec<u8>, name: String) -> Result<Arc<Stream>, JobError> {
        stream(&self.plan, Step::Reduce { input: self.step, function, name }, None)
    }

    /// Each record through a Python `KeyedProcessFunction` object, whose results are records of
    /// `output_type`.
    pub fn process(
        &self,
        function: Vec<u8>,
        name: String,
        output_type: Option<TypeInfo>,
    ) -> Result<Arc<Stream>, JobError> {
        let step = Step::KeyedProcess { input: self.step, function, name };
        stream(&self.plan, step, Some(output_type.unwrap_or(TypeInfo::Pickled)))
    }

    /// Each record through a Python `KeyedBroadcastProcessFunction` object, with the records of
    /// `broadcast` sent to every instance and the broadcast states `states`.
    pub fn broadcast_process(
        &self,
        broadcast: Arc<Stream>,
        function: Vec<u8>,
        states: Vec<String>,
        name: String,
        output_type: Option<TypeInfo>,
    ) -> Result<Arc<Stream>, JobError> {
        broadcast_step(&self.plan, self.step, &broadcast, function, states, name, output_type)
    }

    /// Each record through a Python callable returning the new record, of `output_type`.
    pub fn map(&self, function: Vec<u8>, name: String, output_type: Option<TypeInfo>) -> Result<Arc<Stream>, JobError> {
        let step = Step::KeyedMap { input: self.step, function, name };
        stream(&self.plan, step, Some(output_type.unwrap_or(TypeInfo::Pickled)))
    }

    /// The records cut into windows as `window` says, each window keeping `contents` and
    /// evaluated by the cloudpickled Python window evaluator `evaluator` when it fires; the
    /// results are records of `output_type`, or of the input's type when `None`.
    pub fn window(
        &self,
        window: WindowSpec,
        contents: WindowContentsSpec,
        evaluator: Vec<u8>,
        name: String,
        output_type: Option<TypeInfo>,
    ) -> Result<Arc<Stream>, JobError> {
        validate_window(&window)?;
        let step = Step::Window { input: self.step, window, contents, evaluator, name };
        stream(&self.plan, step, output_type)
    }
}

/// Checks what the engine checks only when the job runs, so that the mistake is reported
/// where the window is defined.
fn validate_window(window: &WindowSpec) -> Result<(), JobError> {
    let invalid = |message: String| Err(JobError::InvalidProgram(message));
    if window.allowed_lateness_ms < 0 {
        return invalid(format!("allowed lateness cannot be negative, not {} ms", window.allowed_lateness_ms));
    }
    if let Some(trigger) = &window.trigger {
        PythonTrigger::new(trigger).map_err(JobError::InvalidProgram)?;
    }
    match &window.assigner {
        WindowAssignerSpec::Count { size, slide } if *size == 0 || *slide == 0 => {
            invalid(format!("count windows need a size and slide above 0, not {size} and {slide}"))
        }
        WindowAssignerSpec::Count { .. } if window.trigger.is_some() => {
            invalid("count windows fire when they are full; they take no other trigger".into())
        }
        WindowAssignerSpec::Tumbling { size_ms, .. } | WindowAssignerSpec::Sliding { size_ms, .. } if *size_ms <= 0 => {
            invalid(format!("time windows need a size above 0 ms, not {size_ms} ms"))
        }
        WindowAssignerSpec::Sliding { slide_ms, .. } if *slide_ms <= 0 => {
            invalid(format!("sliding windows need a slide above 0 ms, not {slide_ms} ms"))
        }
        WindowAssignerSpec::Session { gap_ms, .. } if *gap_ms <= 0 => {
            invalid(format!("session windows need a gap above 0 ms, not {gap_ms} ms"))
        }
        _ => Ok(()),
    }
}

/// Adds the broadcast process step over `input` (keyed or not) and `broadcast`.
fn broadcast_step(
    plan: &SharedPlan,
    input: usize,
    broadcast: &Stream,
    function: Vec<u8>,
    states: Vec<String>,
    name: String,
    output_type: Option<TypeInfo>,
) -> Result<Arc<Stream>, JobError> {
    if !Arc::ptr_eq(plan, &broadcast.plan) {
        return Err(JobError::InvalidProgram(
            "connect() takes a broadcast stream of the same StreamExecutionEnvironment".into(),
        ));
    }
    if states.is_empty() {
        return Err(JobError::InvalidProgram(
            "a broadcast stream declares its broadcast state: broadcast(MapStateDescriptor(...))".into(),
        ));
    }
    let step = Step::BroadcastProcess { input, broadcast: broadcast.step, function, states, name };
    stream(plan, step, Some(output_type.unwrap_or(TypeInfo::Pickled)))
}
