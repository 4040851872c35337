//! Helpers shared by the integration tests: run a job and collect its output.

#![allow(dead_code)]

use pyflink_core::{
    Data, DataStream, ProcessContext, ProcessFunction, Result, RuntimeContext, StreamExecutionEnvironment,
};

/// An environment with the given default parallelism.
pub fn env(parallelism: usize) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    env
}

/// Runs the stream's job and returns its output, failing the test on a job error.
pub fn collect<T: Data>(stream: &DataStream<T>) -> Vec<T> {
    stream.execute_and_collect().expect("job starts").collect::<Result<Vec<T>>>().expect("job succeeds")
}

/// Runs the stream's job and returns its output sorted.
pub fn collect_sorted<T: Data + Ord>(stream: &DataStream<T>) -> Vec<T> {
    let mut out = collect(stream);
    out.sort();
    out
}

/// Tags every record with the index of the parallel instance that saw it.
#[derive(Clone, Default)]
pub struct TagSubtask {
    index: usize,
}

impl<T: Data> ProcessFunction<T, (usize, T)> for TagSubtask {
    fn open(&mut self, context: &RuntimeContext) -> Result<()> {
        self.index = context.get_index_of_this_subtask();
        Ok(())
    }

    fn process_element(&mut self, value: T, ctx: &mut ProcessContext<'_, (usize, T)>) -> Result<()> {
        ctx.collect((self.index, value));
        Ok(())
    }
}
