//! Helpers shared by the integration tests: run a job and collect its output.

#![allow(dead_code)]

pub mod checkpointing;

use std::time::Duration;

use pyflink_core::time::{WatermarkGenerator, WatermarkOutput, WatermarkStrategy};
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

/// `(key, timestamp, value)`: the events of the event-time tests.
pub type Event = (u8, i64, i64);

/// Emits `max timestamp - delay - 1` after every event, so watermarks follow the input
/// deterministically.
struct Punctuated {
    delay: i64,
    max: i64,
}

impl WatermarkGenerator<Event> for Punctuated {
    fn on_event(&mut self, _: &Event, timestamp: i64, output: &mut WatermarkOutput) {
        self.max = self.max.max(timestamp);
        output.emit_watermark(self.max - self.delay - 1);
    }
    fn on_periodic_emit(&mut self, _: &mut WatermarkOutput) {}
}

/// `events` with their timestamps and punctuated watermarks, from one source instance: every
/// downstream instance sees records and watermarks interleaved as the input orders them.
pub fn timed_source(env: &StreamExecutionEnvironment, events: &[Event], delay: i64) -> DataStream<Event> {
    env.set_auto_watermark_interval(Duration::ZERO);
    let strategy = WatermarkStrategy::for_generator(move || Punctuated { delay, max: i64::MIN })
        .with_timestamp_assigner(|e: &Event, _| e.1);
    env.from_collection(events.to_vec()).assign_timestamps_and_watermarks(strategy).set_parallelism(1)
}

/// Forwards records one batch late, as an operator whose bundles another process computes:
/// at the end of a batch its records go "away", and come back (are emitted, with their own
/// timestamps) when the next batch ends or when the runtime asks for owed results.
#[derive(Clone)]
pub struct Deferring<T> {
    pending: Vec<(T, Option<i64>)>,
    away: Vec<(T, Option<i64>)>,
}

impl<T> Default for Deferring<T> {
    fn default() -> Self {
        Deferring { pending: Vec::new(), away: Vec::new() }
    }
}

fn emit_all<T: Data>(records: &mut Vec<(T, Option<i64>)>, ctx: &mut ProcessContext<'_, T>) {
    for (value, timestamp) in records.drain(..) {
        ctx.set_timestamp(timestamp);
        ctx.collect(value);
    }
}

impl<T: Data> ProcessFunction<T, T> for Deferring<T> {
    fn process_element(&mut self, value: T, ctx: &mut ProcessContext<'_, T>) -> Result<()> {
        self.pending.push((value, ctx.timestamp()));
        Ok(())
    }

    fn end_batch(&mut self, ctx: &mut ProcessContext<'_, T>) -> Result<()> {
        emit_all(&mut self.away, ctx);
        std::mem::swap(&mut self.away, &mut self.pending);
        Ok(())
    }

    fn finish_batch(&mut self, ctx: &mut ProcessContext<'_, T>) -> Result<()> {
        emit_all(&mut self.away, ctx);
        emit_all(&mut self.pending, ctx);
        Ok(())
    }

    fn owes_results(&self) -> bool {
        !self.away.is_empty()
    }
}
