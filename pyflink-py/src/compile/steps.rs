//! The steps of a plan become operators of the engine's program: one function per kind of
//! step, each given the streams built before it.

use std::collections::HashMap;
use std::time::Duration;

use pyflink_core::api::broadcast::BroadcastStream;
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{
    DataStream, KeyedStream, MapStateDescriptor, OutputTag, ProcessContext, ProcessFunction, StreamExecutionEnvironment,
};
use pyo3::prelude::*;

use crate::broadcast::{PythonBroadcastProcess, PythonKeyedBroadcastProcess};
use crate::function::{python_error, PyFunction, UserFunction};
use crate::interpreter::with_interpreter;
use crate::plan::{Partitioning, Plan, PlannedStep, Step, WatermarkGeneration, WatermarkStrategySpec};
use crate::process::bundled::{BundledKeySelector, BundledTransform, Stage};
use crate::process::chain::ProcessChains;
use crate::process::keyed::BundledKeyedProcess;
use crate::process::process_function::BundledProcess;
use crate::process::reduce::BundledReduce;
use crate::python_rows::RowsToPython;
use crate::side_output::SideOutputs;
use crate::table::sql::{SqlTable, TableScope};
use crate::thread::async_wait::PythonAsyncWait;
use crate::thread::keyed_process::{PythonKeyedProcess, PythonTimestampAssigner};
use crate::thread::operators::{
    OutputType, PythonKeySelector, PythonKeyedMap, PythonReduce, PythonTransform, Transform,
};
use crate::thread::process_function::PythonProcess;
use crate::types::TypeInfo;
use crate::value::{unpickle, KeyedRecord, PyKey, PyValue};
use crate::window::assign::WindowAssignerSpec;
use crate::window::bundled::WorkerWindowFunction;
use crate::window::compile::build_window;
use crate::window::function::WindowEvaluator;
use crate::JobError;

/// A step as the engine's program holds it.
pub(super) enum Built {
    Stream(DataStream<PyValue>),
    Keyed(KeyedStream<KeyedRecord, PyKey>),
    /// A transformation that runs in the process-mode chain of a later step.
    Chained,
}

/// The operators of the steps of `plan`, in `env`.
pub(super) fn build_steps(
    env: &StreamExecutionEnvironment,
    plan: &Plan,
    tables: Option<&TableScope<'_>>,
) -> Result<Vec<Built>, JobError> {
    if plan.python.process_mode {
        check_process_mode(plan)?;
    }
    let chains = if plan.python.process_mode { ProcessChains::new(plan) } else { ProcessChains::default() };
    let mut builder = StepBuilder {
        env,
        plan,
        tables,
        side_outputs: side_outputs_read(plan),
        chains,
        built: Vec::with_capacity(plan.steps.len()),
    };
    for (index, planned) in plan.steps.iter().enumerate() {
        let step = builder.step(index, planned)?;
        builder.built.push(match step {
            // A partitioning is no operator: its stream is its input's, read another way.
            Built::Stream(stream) if !matches!(planned.step, Step::Partition { .. }) => {
                Built::Stream(with_settings(stream, planned))
            }
            other => other,
        });
    }
    Ok(builder.built)
}

/// What building each step needs: the plan, the streams built for the steps before it, and,
/// in process mode, the chains of Python transformations.
struct StepBuilder<'a, 's> {
    env: &'a StreamExecutionEnvironment,
    plan: &'a Plan,
    tables: Option<&'a TableScope<'s>>,
    side_outputs: HashMap<usize, SideOutputs>,
    chains: ProcessChains,
    built: Vec<Built>,
}

impl StepBuilder<'_, '_> {
    /// The operators of step `index`, `planned`.
    fn step(&self, index: usize, planned: &PlannedStep) -> Result<Built, JobError> {
        if self.chains.is_absorbed(index) {
            return Ok(Built::Chained);
        }
        match &planned.step {
            Step::Collection { pickled_elements } => self.collection(pickled_elements, &planned.record_type),
            Step::Table { descriptor } => Ok(Built::Stream(crate::table::rows_in_python(self.env, descriptor)?)),
            Step::Query { table, changelog } => self.query(table, *changelog, &planned.record_type),
            Step::TextFiles { paths, monitor, format, skip_header } => Ok(Built::Stream(
                crate::connectors::files::text_files(self.env, paths, *monitor, format.as_ref(), *skip_header)?,
            )),
            Step::BulkFiles { paths, monitor, read } => {
                Ok(Built::Stream(crate::connectors::bulk_files::bulk_files(self.env, paths, *monitor, read)?))
            }
            Step::Kafka { source } => Ok(Built::Stream(crate::connectors::kafka::kafka_in_python(self.env, source)?)),
            Step::Sequence { from, to } => {
                let numbers = self.env.from_sequence(*from, *to)?;
                Ok(Built::Stream(numbers.process(IntoPython).name("Sequence to Python")))
            }
            Step::Transform { input, function, transform, name } => {
                self.transform(index, *input, function, *transform, name)
            }
            Step::KeyBy { input, selector } => self.key_by(index, *input, selector),
            Step::Reduce { input, function, name } => self.reduce(index, *input, function, name),
            Step::KeyedProcess { input, function, name } => self.keyed_process(index, *input, function, name),
            Step::Process { input, function, name } => self.process(index, *input, function, name),
            Step::BroadcastProcess { input, broadcast, function, states, name } => {
                self.broadcast_process(index, *input, *broadcast, function, states, name)
            }
            Step::AsyncWait { input, function, name } => {
                let waiter = PythonAsyncWait::new(UserFunction::new(function.clone()), self.output(index));
                Ok(Built::Stream(self.stream(*input)?.process(waiter).name(name)))
            }
            Step::Union { inputs } => self.union(inputs),
            Step::SideOutput { input, tag_id } => self.side_output(*input, tag_id),
            Step::Partition { input, partitioning } => self.partition(*input, partitioning),
            Step::Timestamps { input, strategy } => {
                Ok(Built::Stream(self.stream(*input)?.assign_timestamps_and_watermarks(watermark_strategy(strategy)?)))
            }
            Step::KeyedMap { input, function, name } => self.keyed_map(index, *input, function, name),
            Step::Window { input, window, contents, evaluator, name } => {
                let in_worker = if self.process_mode() {
                    Some(WorkerWindowFunction::new(evaluator, contents, self.output(index), self.sides_of(index))?)
                } else {
                    None
                };
                let evaluator =
                    WindowEvaluator::new(PyFunction::new(evaluator.clone()), self.output(index), self.sides_of(index));
                let keyed = self.keyed(*input)?;
                Ok(Built::Stream(build_window(keyed, window, contents, evaluator, in_worker)?.name(name)))
            }
        }
    }

    fn process_mode(&self) -> bool {
        self.plan.python.process_mode
    }

    fn bundle_size(&self) -> usize {
        self.plan.python.bundle_size
    }

    /// The record type step `index` outputs.
    fn output(&self, index: usize) -> OutputType {
        OutputType::new(self.plan.steps[index].record_type.clone())
    }

    /// The side outputs read from step `index`.
    fn sides_of(&self, index: usize) -> SideOutputs {
        self.side_outputs.get(&index).cloned().unwrap_or_default()
    }

    fn stream(&self, step: usize) -> Result<&DataStream<PyValue>, JobError> {
        stream_of(&self.built, step)
    }

    fn keyed(&self, step: usize) -> Result<&KeyedStream<KeyedRecord, PyKey>, JobError> {
        keyed_of(&self.built, step)
    }

    /// A collection's elements, unpickled and converted to its record type.
    fn collection(&self, pickled_elements: &[u8], record_type: &TypeInfo) -> Result<Built, JobError> {
        let elements = Python::attach(|py| -> PyResult<Vec<PyValue>> {
            let list = unpickle(py, pickled_elements)?;
            list.try_iter()?.map(|item| Ok(PyValue(record_type.convert(&item?)?.unbind()))).collect()
        })
        .map_err(|e| JobError::InvalidProgram(format!("cannot read the collection: {e}")))?;
        Ok(Built::Stream(self.env.from_collection(elements)))
    }

    /// The rows of a table's query, as Python rows (with their kinds for a changelog).
    fn query(&self, table: &SqlTable, changelog: bool, record_type: &TypeInfo) -> Result<Built, JobError> {
        let scope = self.tables.ok_or_else(|| {
            JobError::InvalidProgram("a stream of a table is read outside its table environment".into())
        })?;
        let names = match record_type {
            TypeInfo::Row { names, .. } => names.clone(),
            _ => Vec::new(),
        };
        let rows = scope.query_rows(table, changelog)?;
        Ok(Built::Stream(rows.process(RowsToPython::new(names).with_kinds(changelog)).name("Rows to Python")))
    }

    /// A map, flat map or filter: in process mode, the last stage of its chain.
    fn transform(
        &self,
        index: usize,
        input: usize,
        function: &[u8],
        transform: Transform,
        name: &str,
    ) -> Result<Built, JobError> {
        let output = self.output(index);
        if self.process_mode() {
            let (first, mut stages) = self.chains.chain(index).cloned().unwrap_or((input, Vec::new()));
            let chained_name = ProcessChains::chained_name(&stages, name);
            stages.push(Stage { transform, function: function.to_vec(), name: name.to_string() });
            let operator = BundledTransform::new(&stages, output, self.bundle_size())?;
            Ok(Built::Stream(self.stream(first)?.process(operator).name(&chained_name)))
        } else {
            let operator = PythonTransform::new(UserFunction::new(function.to_vec()), transform, output);
            Ok(Built::Stream(self.stream(input)?.process(operator).name(name)))
        }
    }

    /// A key selector beside its input, then the keyed stream of its keys.
    fn key_by(&self, index: usize, input: usize, selector: &[u8]) -> Result<Built, JobError> {
        let mut selected = if self.process_mode() {
            let (first, stages) = self.chains.chain(index).cloned().unwrap_or((input, Vec::new()));
            let operator = BundledKeySelector::new(&stages, selector, self.bundle_size())?;
            let chained_name = ProcessChains::chained_name(&stages, "Key Selector");
            self.stream(first)?.process(operator).name(&chained_name)
        } else {
            let operator = PythonKeySelector::new(UserFunction::new(selector.to_vec()));
            self.stream(input)?.process(operator).name("Key Selector")
        };
        // The selector runs beside its input, as Flink's key extraction does, so that a
        // key's records keep their order from a source of another parallelism.
        if let Some(parallelism) = explicit_parallelism(self.plan, input) {
            selected = selected.set_parallelism(parallelism);
        }
        Ok(Built::Keyed(selected.key_by(|record: &KeyedRecord| record.key.clone())))
    }

    fn reduce(&self, index: usize, input: usize, function: &[u8], name: &str) -> Result<Built, JobError> {
        let (output, keyed) = (self.output(index), self.keyed(input)?);
        let reduced = if self.process_mode() {
            keyed.process(BundledReduce::new(function.to_vec(), output, self.bundle_size()))
        } else {
            keyed.process(PythonReduce::new(UserFunction::new(function.to_vec()), output))
        };
        Ok(Built::Stream(reduced.name(name)))
    }

    fn keyed_process(&self, index: usize, input: usize, function: &[u8], name: &str) -> Result<Built, JobError> {
        let (output, keyed, sides) = (self.output(index), self.keyed(input)?, self.sides_of(index));
        let processed = if self.process_mode() {
            keyed.process(BundledKeyedProcess::new(function.to_vec(), output, sides, self.bundle_size()))
        } else {
            keyed.process(PythonKeyedProcess::new(PyFunction::new(function.to_vec()), output, sides))
        };
        Ok(Built::Stream(processed.name(name)))
    }

    fn process(&self, index: usize, input: usize, function: &[u8], name: &str) -> Result<Built, JobError> {
        let (output, records, sides) = (self.output(index), self.stream(input)?, self.sides_of(index));
        let processed = if self.process_mode() {
            records.process(BundledProcess::new(function.to_vec(), output, sides, self.bundle_size()))
        } else {
            records.process(PythonProcess::new(PyFunction::new(function.to_vec()), output, sides))
        };
        Ok(Built::Stream(processed.name(name)))
    }

    fn broadcast_process(
        &self,
        index: usize,
        input: usize,
        broadcast: usize,
        function: &[u8],
        states: &[String],
        name: &str,
    ) -> Result<Built, JobError> {
        let (output, sides) = (self.output(index), self.sides_of(index));
        let function = PyFunction::new(function.to_vec());
        let declared = broadcast_stream(self.stream(broadcast)?, states);
        let processed = match &self.built[input] {
            Built::Keyed(keyed) => keyed.connect_broadcast(&declared).process(PythonKeyedBroadcastProcess::new(
                function,
                output,
                sides,
                states.to_vec(),
            )),
            _ => self.stream(input)?.connect_broadcast(&declared).process(PythonBroadcastProcess::new(
                function,
                output,
                sides,
                states.to_vec(),
            )),
        };
        Ok(Built::Stream(processed.name(name)))
    }

    fn union(&self, inputs: &[usize]) -> Result<Built, JobError> {
        let (first, others) = inputs.split_first().expect("a union has its own stream as first input");
        let others = others.iter().map(|&step| self.stream(step).cloned()).collect::<Result<Vec<_>, _>>()?;
        Ok(Built::Stream(self.stream(*first)?.union(&others)))
    }

    fn side_output(&self, input: usize, tag_id: &str) -> Result<Built, JobError> {
        let from = self.stream(input)?;
        match &self.plan.steps[input].step {
            Step::Window { window, .. } if window.late_data_tag.as_deref() == Some(tag_id) => {
                // Late records leave the window operator as keyed records.
                let late = from.get_side_output::<KeyedRecord>(&OutputTag::new(tag_id.to_string()))?;
                Ok(Built::Stream(late.map(|record: KeyedRecord| record.value).name("Late data")))
            }
            _ => Ok(Built::Stream(from.get_side_output::<PyValue>(&OutputTag::new(tag_id.to_string()))?)),
        }
    }

    fn partition(&self, input: usize, partitioning: &Partitioning) -> Result<Built, JobError> {
        let records = self.stream(input)?;
        Ok(Built::Stream(match partitioning {
            Partitioning::Forward => records.forward(),
            Partitioning::Shuffle => records.shuffle(),
            Partitioning::Rebalance => records.rebalance(),
            Partitioning::Rescale => records.rescale(),
            Partitioning::Broadcast => records.broadcast(),
            Partitioning::Global => records.global(),
            Partitioning::Custom { function } => records.try_partition_custom(python_partitioner(function)?),
        }))
    }

    fn keyed_map(&self, index: usize, input: usize, function: &[u8], name: &str) -> Result<Built, JobError> {
        let (output, keyed) = (self.output(index), self.keyed(input)?);
        let mapped = if self.process_mode() {
            keyed.process(BundledKeyedProcess::keyed_map(function.to_vec(), output, self.bundle_size()))
        } else {
            keyed.process(PythonKeyedMap::new(UserFunction::new(function.to_vec()), output))
        };
        Ok(Built::Stream(mapped.name(name)))
    }
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

/// The stream of records step `step` built.
pub(super) fn stream_of(built: &[Built], step: usize) -> Result<&DataStream<PyValue>, JobError> {
    match built.get(step) {
        Some(Built::Stream(stream)) => Ok(stream),
        _ => Err(JobError::InvalidProgram(format!("step {step} is not a stream of records"))),
    }
}

/// The keyed stream step `step` built.
fn keyed_of(built: &[Built], step: usize) -> Result<&KeyedStream<KeyedRecord, PyKey>, JobError> {
    match built.get(step) {
        Some(Built::Keyed(stream)) => Ok(stream),
        _ => Err(JobError::InvalidProgram(format!("step {step} is not a keyed stream"))),
    }
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
