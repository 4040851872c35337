//! Sinks: the [`Sink`] API that connectors implement, and the built-in print, collect and
//! blackhole sinks.
//!
//! A sink gives exactly-once output through two-phase commit: its writers prepare what they
//! wrote in each checkpoint ([`SinkWriter::prepare_commit`]) and the sink commits it when the
//! checkpoint completes ([`Sink::commit`]). Without checkpointing, what writers prepared is
//! committed at end of input.

mod blackhole;
pub(crate) mod collect;
mod print;

pub use blackhole::DiscardingSink;
pub use collect::{CollectIterator, CollectSink, Polled};
pub use print::{line_prefix, PrintSink};

use crate::metrics::{MetricGroup, MetricRegistry};
use crate::runtime::StopSignal;
use crate::{Data, Result};

/// What a sink writer knows about where it runs.
#[derive(Debug, Clone)]
pub struct SinkWriterContext {
    /// The index of this writer, `0 .. parallelism`.
    pub subtask_index: usize,
    /// The number of parallel writers.
    pub parallelism: usize,
    /// The sink instance's metric group, for the writer's own metrics.
    pub metric_group: MetricGroup,
    /// Turns true when the writer's task must stop: calls that wait for an outside system check
    /// it between short waits.
    pub stop: StopSignal,
}

impl SinkWriterContext {
    /// The context of writer `subtask_index` of `parallelism` outside a job: its metrics are
    /// registered nowhere and it is never asked to stop.
    ///
    /// ```
    /// use pyflink_core::sinks::SinkWriterContext;
    /// let context = SinkWriterContext::new(0, 2);
    /// assert!(!context.stop.should_stop());
    /// ```
    pub fn new(subtask_index: usize, parallelism: usize) -> Self {
        let metric_group = MetricRegistry::default().group(vec!["sink".into(), subtask_index.to_string()]);
        SinkWriterContext { subtask_index, parallelism, metric_group, stop: StopSignal::never() }
    }
}

/// A destination for the records of a stream. Each parallel instance gets its own writer.
pub trait Sink<T: Data>: Send + Sync + 'static {
    /// The writer type, created on the worker thread that runs it.
    type Writer: SinkWriter<T>;

    /// Creates the writer of one parallel instance.
    fn create_writer(&self, context: &SinkWriterContext) -> Result<Self::Writer>;

    /// Makes what a writer prepared with [`SinkWriter::prepare_commit`] visible, once the
    /// checkpoint that holds it is complete (Flink's `Committer`). It must be idempotent: after a
    /// failure, the committables of the restored checkpoint are committed again.
    fn commit(&self, _committables: Vec<Vec<u8>>) -> Result<()> {
        Ok(())
    }
}

/// Writes the records of one parallel instance of a sink.
pub trait SinkWriter<T>: 'static {
    /// Writes one record with its timestamp, if it has one.
    fn write(&mut self, value: T, timestamp: Option<i64>) -> Result<()>;

    /// Two-phase commit: called as the checkpoint `checkpoint_id` is taken; returns what
    /// [`Sink::commit`] must commit once that checkpoint completes (a transaction, a staged
    /// file). Writers that write directly return nothing, which makes them at-least-once.
    fn prepare_commit(&mut self, _checkpoint_id: u64) -> Result<Vec<Vec<u8>>> {
        Ok(Vec::new())
    }

    /// Makes everything written so far durable or visible; called at end of input.
    fn flush(&mut self, _end_of_input: bool) -> Result<()> {
        Ok(())
    }

    /// Releases the writer's resources; called once, last.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}
