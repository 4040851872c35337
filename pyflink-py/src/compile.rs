//! Turns a plan into a job of the engine and runs it. This happens on the thread that asked
//! for the run, which holds the engine's (single-threaded) program builder for the duration.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use pyflink_core::api::broadcast::BroadcastStream;
use pyflink_core::sinks::CollectIterator;
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{
    DataStream, JobClient, KeyedStream, MapStateDescriptor, OutputTag, ProcessContext, ProcessFunction,
    RuntimeExecutionMode, StreamExecutionEnvironment,
};
use pyo3::prelude::*;

use crate::broadcast::{PythonBroadcastProcess, PythonKeyedBroadcastProcess};
use crate::function::{python_error, PyFunction, UserFunction};
use crate::interpreter::with_interpreter;
use crate::plan::{
    Partitioning, Plan, PlannedStep, RuntimeMode, SinkKind, Step, WatermarkGeneration, WatermarkStrategySpec,
};
use crate::process::bundled::{BundledKeySelector, BundledTransform, Stage};
use crate::process::chain::ProcessChains;
use crate::process::keyed::BundledKeyedProcess;
use crate::process::process_function::BundledProcess;
use crate::process::reduce::BundledReduce;
use crate::python_rows::RowsToPython;
use crate::side_output::SideOutputs;
use crate::table::sql::TableScope;
use crate::thread::async_wait::PythonAsyncWait;
use crate::thread::keyed_process::{PythonKeyedProcess, PythonTimestampAssigner};
use crate::thread::operators::{OutputType, PythonKeySelector, PythonKeyedMap, PythonReduce, PythonTransform};
use crate::thread::process_function::PythonProcess;
use crate::types::TypeInfo;
use crate::value::{unpickle, KeyedRecord, PyKey, PyValue};
use crate::window::assign::WindowAssignerSpec;
use crate::window::bundled::WorkerWindowFunction;
use crate::window::compile::build_window;
use crate::window::function::WindowEvaluator;
use crate::JobError;

/// A step as the engine's program holds it.
enum Built {
    Stream(DataStream<PyValue>),
    Keyed(KeyedStream<KeyedRecord, PyKey>),
    /// A transformation that runs in the process-mode chain of a later step.
    Chained,
}

/// The engine's program for `plan`, with its streams by step.
/// The engine's configuration of `options`.
pub(crate) fn engine_configuration(options: &HashMap<String, String>) -> pyflink_core::Configuration {
    let mut config = pyflink_core::Configuration::new();
    for (key, value) in options {
        config.set_string(key, value);
    }
    config
}

fn build(plan: &Plan, tables: Option<&TableScope<'_>>) -> Result<(StreamExecutionEnvironment, Vec<Built>), JobError> {
    // A program that reads queries runs in their table environment's job.
    let env = match tables {
        Some(scope) => scope.owned.env.stream_environment().clone(),
        None => StreamExecutionEnvironment::get_execution_environment(),
    };
    env.configure(&engine_configuration(&plan.engine_options))?;
    if let Some(parallelism) = plan.parallelism {
        env.set_parallelism(parallelism);
    }
    env.set_runtime_mode(match plan.runtime_mode {
        RuntimeMode::Streaming => RuntimeExecutionMode::Streaming,
        RuntimeMode::Batch => RuntimeExecutionMode::Batch,
        RuntimeMode::Automatic => RuntimeExecutionMode::Automatic,
    });
    let built = build_steps(&env, plan, tables)?;
    Ok((env, built))
}

/// The stream of step `step` of `plan`, built into `env`, the environment of a table job that
/// reads it (`from_data_stream`): the plan's steps become operators of that job.
pub(crate) fn stream_in(
    env: &StreamExecutionEnvironment,
    plan: &Plan,
    step: usize,
    tables: &TableScope<'_>,
) -> Result<DataStream<PyValue>, JobError> {
    let built = build_steps(env, plan, Some(tables))?;
    stream_of(&built, step).cloned()
}

/// The operators of the steps of `plan`, in `env`.
fn build_steps(
    env: &StreamExecutionEnvironment,
    plan: &Plan,
    tables: Option<&TableScope<'_>>,
) -> Result<Vec<Built>, JobError> {
    let mut built: Vec<Built> = Vec::with_capacity(plan.steps.len());
    let side_outputs = side_outputs_read(plan);
    let bundle_size = plan.python.bundle_size;
    if plan.python.process_mode {
        check_process_mode(plan)?;
    }
    let sides_of = |step: usize| side_outputs.get(&step).cloned().unwrap_or_default();
    let chains = if plan.python.process_mode { ProcessChains::new(plan) } else { ProcessChains::default() };
    for (index, planned) in plan.steps.iter().enumerate() {
        if chains.is_absorbed(index) {
            built.push(Built::Chained);
            continue;
        }
        let stream = match &planned.step {
            Step::Collection { pickled_elements } => {
                let record_type = &planned.record_type;
                let elements = Python::attach(|py| -> PyResult<Vec<PyValue>> {
                    let list = unpickle(py, pickled_elements)?;
                    list.try_iter()?.map(|item| Ok(PyValue(record_type.convert(&item?)?.unbind()))).collect()
                })
                .map_err(|e| JobError::InvalidProgram(format!("cannot read the collection: {e}")))?;
                Built::Stream(env.from_collection(elements))
            }
            Step::Table { descriptor } => Built::Stream(crate::table::rows_in_python(env, descriptor)?),
            Step::Query { table, changelog } => {
                let scope = tables.ok_or_else(|| {
                    JobError::InvalidProgram("a stream of a table is read outside its table environment".into())
                })?;
                let names = match &planned.record_type {
                    TypeInfo::Row { names, .. } => names.clone(),
                    _ => Vec::new(),
                };
                let rows = scope.query_rows(table, *changelog)?;
                Built::Stream(rows.process(RowsToPython::new(names).with_kinds(*changelog)).name("Rows to Python"))
            }
            Step::TextFiles { paths, monitor, format, skip_header } => Built::Stream(
                crate::connectors::files::text_files(env, paths, *monitor, format.as_ref(), *skip_header)?,
            ),
            Step::BulkFiles { paths, monitor, read } => {
                Built::Stream(crate::connectors::bulk_files::bulk_files(env, paths, *monitor, read)?)
            }
            Step::Kafka { source } => Built::Stream(crate::connectors::kafka::kafka_in_python(env, source)?),
            Step::Sequence { from, to } => {
                let numbers = env.from_sequence(*from, *to)?;
                Built::Stream(numbers.process(IntoPython).name("Sequence to Python"))
            }
            Step::Transform { input, function, transform, name } => {
                let output = OutputType::new(planned.record_type.clone());
                if plan.python.process_mode {
                    let (first, mut stages) = chains.chain(index).cloned().unwrap_or((*input, Vec::new()));
                    let chained_name = ProcessChains::chained_name(&stages, name);
                    stages.push(Stage { transform: *transform, function: function.clone(), name: name.clone() });
                    let operator = BundledTransform::new(&stages, output, bundle_size)?;
                    Built::Stream(stream_of(&built, first)?.process(operator).name(&chained_name))
                } else {
                    let operator = PythonTransform::new(UserFunction::new(function.clone()), *transform, output);
                    Built::Stream(stream_of(&built, *input)?.process(operator).name(name))
                }
            }
            Step::KeyBy { input, selector } => {
                let mut selected = if plan.python.process_mode {
                    let (first, stages) = chains.chain(index).cloned().unwrap_or((*input, Vec::new()));
                    let operator = BundledKeySelector::new(&stages, selector, bundle_size)?;
                    let chained_name = ProcessChains::chained_name(&stages, "Key Selector");
                    stream_of(&built, first)?.process(operator).name(&chained_name)
                } else {
                    let operator = PythonKeySelector::new(UserFunction::new(selector.clone()));
                    stream_of(&built, *input)?.process(operator).name("Key Selector")
                };
                // The selector runs beside its input, as Flink's key extraction does, so that a
                // key's records keep their order from a source of another parallelism.
                if let Some(parallelism) = explicit_parallelism(plan, *input) {
                    selected = selected.set_parallelism(parallelism);
                }
                Built::Keyed(selected.key_by(|record: &KeyedRecord| record.key.clone()))
            }
            Step::Reduce { input, function, name } => {
                let output = OutputType::new(planned.record_type.clone());
                let keyed = keyed_of(&built, *input)?;
                let reduced = if plan.python.process_mode {
                    keyed.process(BundledReduce::new(function.clone(), output, bundle_size))
                } else {
                    keyed.process(PythonReduce::new(UserFunction::new(function.clone()), output))
                };
                Built::Stream(reduced.name(name))
            }
            Step::KeyedProcess { input, function, name } => {
                let output = OutputType::new(planned.record_type.clone());
                let keyed = keyed_of(&built, *input)?;
                let processed = if plan.python.process_mode {
                    keyed.process(BundledKeyedProcess::new(function.clone(), output, sides_of(index), bundle_size))
                } else {
                    keyed.process(PythonKeyedProcess::new(PyFunction::new(function.clone()), output, sides_of(index)))
                };
                Built::Stream(processed.name(name))
            }
            Step::Process { input, function, name } => {
                let output = OutputType::new(planned.record_type.clone());
                let records = stream_of(&built, *input)?;
                let processed = if plan.python.process_mode {
                    records.process(BundledProcess::new(function.clone(), output, sides_of(index), bundle_size))
                } else {
                    records.process(PythonProcess::new(PyFunction::new(function.clone()), output, sides_of(index)))
                };
                Built::Stream(processed.name(name))
            }
            Step::BroadcastProcess { input, broadcast, function, states, name } => {
                let output = OutputType::new(planned.record_type.clone());
                let function = PyFunction::new(function.clone());
                let declared = broadcast_stream(stream_of(&built, *broadcast)?, states);
                let processed =
                    match &built[*input] {
                        Built::Keyed(keyed) => keyed.connect_broadcast(&declared).process(
                            PythonKeyedBroadcastProcess::new(function, output, sides_of(index), states.clone()),
                        ),
                        _ => stream_of(&built, *input)?
                            .connect_broadcast(&declared)
                            .process(PythonBroadcastProcess::new(function, output, sides_of(index), states.clone())),
                    };
                Built::Stream(processed.name(name))
            }
            Step::AsyncWait { input, function, name } => {
                let output = OutputType::new(planned.record_type.clone());
                let waiter = PythonAsyncWait::new(UserFunction::new(function.clone()), output);
                Built::Stream(stream_of(&built, *input)?.process(waiter).name(name))
            }
            Step::Union { inputs } => {
                let (first, others) = inputs.split_first().expect("a union has its own stream as first input");
                let others =
                    others.iter().map(|&step| stream_of(&built, step).cloned()).collect::<Result<Vec<_>, _>>()?;
                Built::Stream(stream_of(&built, *first)?.union(&others))
            }
            Step::SideOutput { input, tag_id } => {
                let from = stream_of(&built, *input)?;
                match &plan.steps[*input].step {
                    Step::Window { window, .. } if window.late_data_tag.as_ref() == Some(tag_id) => {
                        // Late records leave the window operator as keyed records.
                        let late = from.get_side_output::<KeyedRecord>(&OutputTag::new(tag_id.clone()))?;
                        Built::Stream(late.map(|record: KeyedRecord| record.value).name("Late data"))
                    }
                    _ => Built::Stream(from.get_side_output::<PyValue>(&OutputTag::new(tag_id.clone()))?),
                }
            }
            Step::Partition { input, partitioning } => {
                let records = stream_of(&built, *input)?;
                Built::Stream(match partitioning {
                    Partitioning::Forward => records.forward(),
                    Partitioning::Shuffle => records.shuffle(),
                    Partitioning::Rebalance => records.rebalance(),
                    Partitioning::Rescale => records.rescale(),
                    Partitioning::Broadcast => records.broadcast(),
                    Partitioning::Global => records.global(),
                    Partitioning::Custom { function } => records.try_partition_custom(python_partitioner(function)?),
                })
            }
            Step::Timestamps { input, strategy } => Built::Stream(
                stream_of(&built, *input)?.assign_timestamps_and_watermarks(watermark_strategy(strategy)?),
            ),
            Step::KeyedMap { input, function, name } => {
                let output = OutputType::new(planned.record_type.clone());
                let keyed = keyed_of(&built, *input)?;
                let mapped = if plan.python.process_mode {
                    keyed.process(BundledKeyedProcess::keyed_map(function.clone(), output, bundle_size))
                } else {
                    keyed.process(PythonKeyedMap::new(UserFunction::new(function.clone()), output))
                };
                Built::Stream(mapped.name(name))
            }
            Step::Window { input, window, contents, evaluator, name } => {
                let evaluator_bytes = evaluator.as_slice();
                let evaluator = WindowEvaluator::new(
                    PyFunction::new(evaluator.clone()),
                    OutputType::new(planned.record_type.clone()),
                    sides_of(index),
                );
                let keyed = keyed_of(&built, *input)?;
                let in_worker = if plan.python.process_mode {
                    let output = OutputType::new(planned.record_type.clone());
                    Some(WorkerWindowFunction::new(evaluator_bytes, contents, output, sides_of(index))?)
                } else {
                    None
                };
                Built::Stream(build_window(keyed, window, contents, evaluator, in_worker)?.name(name))
            }
        };
        built.push(match stream {
            // A partitioning is no operator: its stream is its input's, read another way.
            Built::Stream(stream) if !matches!(planned.step, Step::Partition { .. }) => {
                Built::Stream(with_settings(stream, planned))
            }
            other => other,
        });
    }
    Ok(built)
}

/// `stream` broadcast to every instance of the operator it is connected to, which declares the
/// broadcast states `states`.
fn broadcast_stream(stream: &DataStream<PyValue>, states: &[String]) -> BroadcastStream<PyValue> {
    let descriptor = |name: &String| MapStateDescriptor::<PyKey, PyValue>::new(name.as_str());
    let (first, others) = states.split_first().expect("a broadcast stream declares a state");
    others.iter().fold(stream.broadcast_with(&descriptor(first)), |declared, name| declared.and(&descriptor(name)))
}

/// The partitioner of a cloudpickled Python callable `(record, partitions) -> int`. It runs in
/// this process's interpreter in both execution modes, where the sending operator runs.
fn python_partitioner(
    function: &[u8],
) -> Result<impl Fn(&PyValue, usize) -> pyflink_core::Result<usize> + Send + Sync + 'static, JobError> {
    let function = Python::attach(|py| unpickle(py, function).map(Bound::unbind))
        .map_err(|e| JobError::InvalidProgram(format!("cannot read the custom partitioner: {e}")))?;
    Ok(move |value: &PyValue, partitions: usize| {
        Python::attach(|py| {
            let partition = function.bind(py).call1((value.bind(py), partitions)).and_then(|p| p.extract::<i64>());
            match partition.map_err(|e| python_error(py, e))? {
                // A negative partition is out of range as a large one is.
                p if p < 0 => Ok(usize::MAX),
                p => Ok(usize::try_from(p).unwrap_or(usize::MAX)),
            }
        })
    })
}

/// `stream` with the settings of its step given on the Python stream: parallelism, name, uid.
fn with_settings(mut stream: DataStream<PyValue>, planned: &PlannedStep) -> DataStream<PyValue> {
    if let Some(parallelism) = planned.parallelism {
        stream = stream.set_parallelism(parallelism);
    }
    if let Some(name) = &planned.name {
        stream = stream.name(name);
    }
    if let Some(uid) = &planned.uid {
        stream = stream.uid(uid);
    }
    stream
}

/// Fails for the Python functions that process mode does not run yet.
fn check_process_mode(plan: &Plan) -> Result<(), JobError> {
    for planned in &plan.steps {
        let Step::Window { window, .. } = &planned.step else { continue };
        if let WindowAssignerSpec::DynamicSession { .. } = window.assigner {
            return Err(JobError::InvalidProgram(
                "python.execution-mode 'process' does not run session windows with a dynamic gap yet (it runs \
                 time, global and count windows, map, flat_map, filter, key_by, reduce, ProcessFunction and \
                 KeyedProcessFunction); use the default 'thread' mode for this job"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// The side outputs read from each step (by a `SideOutput` step), with their record types;
/// the late data of a window is read from the window operator itself.
fn side_outputs_read(plan: &Plan) -> HashMap<usize, SideOutputs> {
    let mut read: HashMap<usize, Vec<(String, TypeInfo)>> = HashMap::new();
    for planned in &plan.steps {
        let Step::SideOutput { input, tag_id } = &planned.step else { continue };
        if let Step::Window { window, .. } = &plan.steps[*input].step {
            if window.late_data_tag.as_ref() == Some(tag_id) {
                continue;
            }
        }
        let tags = read.entry(*input).or_default();
        if !tags.iter().any(|(id, _)| id == tag_id) {
            tags.push((tag_id.clone(), planned.record_type.clone()));
        }
    }
    read.into_iter().map(|(step, tags)| (step, SideOutputs::new(tags))).collect()
}

/// The engine's watermark strategy for `spec`.
fn watermark_strategy(spec: &WatermarkStrategySpec) -> Result<WatermarkStrategy<PyValue>, JobError> {
    let millis = |ms: i64| Duration::from_millis(ms.max(0) as u64);
    let mut strategy = match spec.generation {
        WatermarkGeneration::NoWatermarks => WatermarkStrategy::no_watermarks(),
        WatermarkGeneration::Monotonous => WatermarkStrategy::for_monotonous_timestamps(),
        WatermarkGeneration::BoundedOutOfOrderness { max_out_of_orderness_ms } => {
            WatermarkStrategy::for_bounded_out_of_orderness(millis(max_out_of_orderness_ms))
        }
    };
    if let Some(idle) = spec.idle_timeout_ms {
        strategy = strategy.with_idleness(millis(idle));
    }
    if let Some(assigner) = &spec.timestamp_assigner {
        let assigner = PythonTimestampAssigner::new(assigner)
            .map_err(|e| JobError::InvalidProgram(format!("cannot load the timestamp assigner: {e}")))?;
        strategy = strategy.with_timestamp_assigner(assigner);
    }
    if let Some(alignment) = &spec.alignment {
        let interval = millis(alignment.update_interval_ms).max(Duration::from_millis(1));
        strategy = strategy.with_watermark_alignment(&alignment.group, millis(alignment.max_drift_ms), Some(interval));
    }
    Ok(strategy)
}

/// The parallelism of step `step` when it is not the default: set on it, 1 for a collection,
/// or its input's for a timestamp assigner, which runs beside its input as in Flink.
fn explicit_parallelism(plan: &Plan, step: usize) -> Option<usize> {
    let planned = &plan.steps[step];
    match planned.step {
        Step::Collection { .. } => Some(1),
        Step::Timestamps { input, .. } => planned.parallelism.or_else(|| explicit_parallelism(plan, input)),
        _ => planned.parallelism,
    }
}

fn stream_of(built: &[Built], step: usize) -> Result<&DataStream<PyValue>, JobError> {
    match built.get(step) {
        Some(Built::Stream(stream)) => Ok(stream),
        _ => Err(JobError::InvalidProgram(format!("step {step} is not a stream of records"))),
    }
}

fn keyed_of(built: &[Built], step: usize) -> Result<&KeyedStream<KeyedRecord, PyKey>, JobError> {
    match built.get(step) {
        Some(Built::Keyed(stream)) => Ok(stream),
        _ => Err(JobError::InvalidProgram(format!("step {step} is not a keyed stream"))),
    }
}

/// Starts the streams of `plan` that end in sinks as a job in the background.
pub fn start(plan: &Plan, job_name: &str) -> Result<JobClient, JobError> {
    let job_name = job_name.to_string();
    in_scope(plan, move |plan, tables| Ok(define_job(plan, tables)?.execute_async(&job_name)?))
}

/// The job `start` would run, as Flink's execution plan JSON; nothing runs.
pub fn execution_plan(plan: &Plan) -> Result<String, JobError> {
    in_scope(plan, |plan, tables| Ok(define_job(plan, tables)?.get_execution_plan()?))
}

/// Calls `run` with `plan` on the thread of the table environment whose queries the plan
/// reads, if it reads any, else here.
fn in_scope<R: Send + 'static>(
    plan: &Plan,
    run: impl FnOnce(&Plan, Option<&TableScope<'_>>) -> Result<R, JobError> + Send + 'static,
) -> Result<R, JobError> {
    match plan.table_thread() {
        Some(thread) => {
            let (plan, owner) = (plan.clone(), Arc::clone(&thread));
            thread.run(move |owned| run(&plan, Some(&TableScope { thread: &owner, owned })))?
        }
        None => run(plan, None),
    }
}

/// The engine's environment with the streams of `plan` and its sinks defined in it.
fn define_job(plan: &Plan, tables: Option<&TableScope<'_>>) -> Result<StreamExecutionEnvironment, JobError> {
    if plan.sinks.is_empty() {
        return Err(JobError::InvalidProgram(
            "no sinks are defined: add print() or another sink before execute()".into(),
        ));
    }
    let (env, built) = build(plan, tables)?;
    add_sinks(plan, &built)?;
    Ok(env)
}

/// Adds the sinks of `plan` to its built streams.
fn add_sinks(plan: &Plan, built: &[Built]) -> Result<(), JobError> {
    for planned in &plan.sinks {
        let stream = stream_of(built, planned.step)?;
        let record_type = plan.steps[planned.step].record_type.clone();
        let mut sink = match &planned.kind {
            SinkKind::Discard => stream.discard(),
            SinkKind::Print if record_type.is_pickled() => stream.print(),
            // Typed records print as Java's toString shows them, as a PyFlink job prints them.
            SinkKind::Print => stream.process(JavaText(record_type)).name("Print formatter").print(),
            // Encoder.simple_string_encoder() writes what print() shows.
            SinkKind::Files(spec) if spec.bulk.is_some() => {
                crate::connectors::bulk_files::write_bulk_files(stream, spec)?
            }
            SinkKind::Files(spec) => match &spec.format {
                Some(format) => {
                    let lines =
                        stream.process(crate::connectors::files::EncodedLines::new(format)?).name("Row encoder");
                    crate::connectors::files::write_files(&lines, spec)?
                }
                None => crate::connectors::files::write_files(
                    &stream.process(JavaText(record_type)).name("Row formatter"),
                    spec,
                )?,
            },
            SinkKind::Kafka(spec) => crate::connectors::kafka::write_kafka(stream, spec)?,
            SinkKind::Jdbc(spec) => crate::connectors::jdbc::write_jdbc(stream, spec)?,
        };
        if let Some(name) = &planned.name {
            sink = sink.name(name);
        }
        if let Some(uid) = &planned.uid {
            sink = sink.uid(uid);
        }
        if let Some(parallelism) = planned.parallelism {
            drop(sink.set_parallelism(parallelism));
        }
    }
    Ok(())
}

/// Starts the job of step `step` of `plan` (with the plan's sinks), whose records the returned
/// iterator collects as they come.
pub fn collect(plan: &Plan, step: usize, job_name: &str) -> Result<CollectIterator<PyValue>, JobError> {
    let job_name = job_name.to_string();
    in_scope(plan, move |plan, tables| {
        let (_env, built) = build(plan, tables)?;
        add_sinks(plan, &built)?;
        Ok(stream_of(&built, step)?.execute_and_collect_named(&job_name)?)
    })
}

/// Turns the numbers of a sequence source into Python integers.
#[derive(Clone)]
struct IntoPython;

impl ProcessFunction<i64, PyValue> for IntoPython {
    fn within_batch(batch: &mut dyn FnMut() -> pyflink_core::Result<()>) -> pyflink_core::Result<()> {
        with_interpreter(batch)
    }

    fn process_element(&mut self, value: i64, ctx: &mut ProcessContext<'_, PyValue>) -> pyflink_core::Result<()> {
        let value = Python::attach(|py| match value.into_pyobject(py) {
            Ok(int) => int.into_any().unbind(),
            Err(never) => match never {},
        });
        ctx.collect(PyValue(value));
        Ok(())
    }
}

/// Turns typed records into the text Java's `toString` gives them, for the print sink.
#[derive(Clone)]
struct JavaText(TypeInfo);

impl ProcessFunction<PyValue, String> for JavaText {
    fn within_batch(batch: &mut dyn FnMut() -> pyflink_core::Result<()>) -> pyflink_core::Result<()> {
        with_interpreter(batch)
    }

    fn process_element(&mut self, value: PyValue, ctx: &mut ProcessContext<'_, String>) -> pyflink_core::Result<()> {
        let mut text = String::new();
        Python::attach(|py| self.0.format_java(value.bind(py), &mut text).map_err(|e| python_error(py, e)))?;
        ctx.collect(text);
        Ok(())
    }
}
