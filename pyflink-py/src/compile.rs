//! Turns a plan into a job of the engine and runs it. This happens on the thread that asked
//! for the run, which holds the engine's (single-threaded) program builder for the duration.

use pyflink_core::{DataStream, KeyedStream, StreamExecutionEnvironment};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::function::PyFunction;
use crate::operators::{PythonKeySelector, PythonKeyedMap, PythonReduce, PythonTransform};
use crate::plan::{Plan, Step};
use crate::value::{pickle, unpickle, KeyedRecord, PyKey, PyValue};
use crate::JobError;

/// A step as the engine's program holds it.
enum Built {
    Stream(DataStream<PyValue>),
    Keyed(KeyedStream<KeyedRecord, PyKey>),
}

/// The engine's program for `plan`, with its streams by step.
fn build(plan: &Plan) -> Result<(StreamExecutionEnvironment, Vec<Built>), JobError> {
    let env = StreamExecutionEnvironment::get_execution_environment();
    if let Some(parallelism) = plan.parallelism {
        env.set_parallelism(parallelism);
    }
    let mut built: Vec<Built> = Vec::with_capacity(plan.steps.len());
    for planned in &plan.steps {
        let stream = match &planned.step {
            Step::Collection { pickled_elements } => {
                let elements = Python::attach(|py| -> PyResult<Vec<PyValue>> {
                    let list = unpickle(py, pickled_elements)?;
                    list.try_iter()?.map(|item| Ok(PyValue(item?.unbind()))).collect()
                })
                .map_err(|e| JobError::InvalidProgram(format!("cannot read the collection: {e}")))?;
                Built::Stream(env.from_collection(elements))
            }
            Step::Transform { input, function, transform, name } => {
                let operator = PythonTransform::new(PyFunction::new(function.clone()), *transform);
                Built::Stream(stream_of(&built, *input)?.process(operator).name(name))
            }
            Step::KeyBy { input, selector } => {
                let selector = PythonKeySelector::new(PyFunction::new(selector.clone()));
                let selected = stream_of(&built, *input)?.process(selector).name("Key Selector");
                Built::Keyed(selected.key_by(|record: &KeyedRecord| record.key.clone()))
            }
            Step::Reduce { input, function, name } => {
                let reduce = PythonReduce::new(PyFunction::new(function.clone()));
                Built::Stream(keyed_of(&built, *input)?.process(reduce).name(name))
            }
            Step::KeyedMap { input, function, name } => {
                let map = PythonKeyedMap::new(PyFunction::new(function.clone()));
                Built::Stream(keyed_of(&built, *input)?.process(map).name(name))
            }
        };
        built.push(match (stream, planned.parallelism) {
            (Built::Stream(stream), Some(parallelism)) => Built::Stream(stream.set_parallelism(parallelism)),
            (stream, _) => stream,
        });
    }
    Ok((env, built))
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

/// Runs the printed streams of `plan`.
pub fn execute(plan: &Plan, job_name: &str) -> Result<(), JobError> {
    let (env, built) = build(plan)?;
    if plan.printed.is_empty() {
        return Err(JobError::InvalidProgram(
            "no sinks are defined: add print() or another sink before execute()".into(),
        ));
    }
    for step in &plan.printed {
        stream_of(&built, *step)?.print();
    }
    env.execute(job_name)?;
    Ok(())
}

/// Runs the job of step `step` of `plan` and returns its records as a pickled list.
pub fn execute_and_collect(plan: &Plan, step: usize, job_name: &str) -> Result<Vec<u8>, JobError> {
    let (_env, built) = build(plan)?;
    let results = stream_of(&built, step)?.execute_and_collect_named(job_name)?;
    let records = results.collect::<pyflink_core::Result<Vec<PyValue>>>()?;
    Python::attach(|py| {
        let list = PyList::new(py, records.iter().map(|record| record.bind(py)))?;
        pickle(list.as_any())
    })
    .map_err(|e| JobError::JobFailed(format!("cannot pickle the results: {e}")))
}
