//! Turns a plan into a job of the engine and runs it. This happens on the thread that asked
//! for the run, which holds the engine's (single-threaded) program builder for the duration.
//! [`steps`] builds the plan's steps, one function per kind of step; this module adds the
//! sinks and starts the job.

mod steps;

use std::collections::HashMap;
use std::sync::Arc;

use pyflink_core::sinks::CollectIterator;
use pyflink_core::{
    DataStream, JobClient, ProcessContext, ProcessFunction, RuntimeExecutionMode, StreamExecutionEnvironment,
};
use pyo3::prelude::*;

use crate::function::python_error;
use crate::interpreter::with_interpreter;
use crate::plan::{Plan, RuntimeMode, SinkKind};
use crate::table::sql::TableScope;
use crate::types::TypeInfo;
use crate::value::PyValue;
use crate::JobError;
use steps::{build_steps, stream_of, Built};

/// The engine's configuration of `options`.
pub(crate) fn engine_configuration(options: &HashMap<String, String>) -> pyflink_core::Configuration {
    let mut config = pyflink_core::Configuration::new();
    for (key, value) in options {
        config.set_string(key, value);
    }
    config
}

/// The engine's program for `plan`, with its streams by step.
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
