//! Connecting an operator's inputs: a direct pipeline for forward edges, an exchange through
//! [`ElementDistributor`] for every other partitioning.

use timely::communication::Pull;
use timely::dataflow::channels::pact::{DistributorPact, LogPuller, ParallelizationContract, Pipeline};
use timely::dataflow::channels::Message;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::InputHandleCore;
use timely::dataflow::operators::InputCapability;

use crate::element::Element;
use crate::runtime::graph::{BuildContext, ElementStream, NodePlan};
use crate::runtime::output::Output;
use crate::runtime::partition::{EdgeRouting, ElementDistributor, Partitioner};
use crate::runtime::timestamp::Time;
use crate::runtime::watermark::WatermarkTracker;
use crate::{Data, Result};

type PipelinePuller<T> = <Pipeline as ParallelizationContract<Time, Vec<Element<T>>>>::Puller;
type ExchangePuller<T> = LogPuller<Box<dyn Pull<Message<Time, Vec<Element<T>>>>>>;

/// One connected input of an operator.
pub(crate) enum ElementInput<T: Data> {
    Pipeline(InputHandleCore<Time, Vec<Element<T>>, PipelinePuller<T>>),
    Exchange(InputHandleCore<Time, Vec<Element<T>>, ExchangePuller<T>>),
}

impl<T: Data> ElementInput<T> {
    /// Calls `logic` with every received batch and the capability of its epoch.
    #[inline]
    pub(crate) fn for_each(&mut self, logic: impl FnMut(InputCapability<Time>, &mut Vec<Element<T>>)) {
        match self {
            ElementInput::Pipeline(handle) => handle.for_each(logic),
            ElementInput::Exchange(handle) => handle.for_each(logic),
        }
    }
}

/// A typed input stream of a node with the partitioning of its edge.
pub(crate) struct InputEdge<'s, T: Data> {
    pub(crate) stream: ElementStream<'s, T>,
    pub(crate) partitioner: Partitioner<T>,
}

/// How the watermark channels of one input map into the operator's tracker.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChannelMap {
    /// Index of this input's first channel in the tracker.
    first: usize,
    /// Whether the edge is forward: one channel, whatever the sender's index.
    forward: bool,
}

impl ChannelMap {
    /// The tracker channel of an element sent by upstream instance `sender`.
    #[inline]
    pub(crate) fn channel(self, sender: u32) -> usize {
        if self.forward {
            self.first
        } else {
            self.first + sender as usize
        }
    }
}

/// A connected input and its watermark channels.
pub(crate) struct ConnectedInput<T: Data> {
    pub(crate) handle: ElementInput<T>,
    pub(crate) channels: ChannelMap,
}

/// What an operator does with the records and combined watermarks of one input.
pub(crate) trait BatchHandler<IN, OUT: Data> {
    fn record(&mut self, value: IN, output: &mut Output<OUT>) -> Result<()>;
    fn watermark(&mut self, timestamp: i64, output: &mut Output<OUT>) -> Result<()>;
    /// Called before each watermark: every result of the records so far must be out.
    fn finish(&mut self, output: &mut Output<OUT>) -> Result<()>;
    /// Called after the batch's last record; results may stay owed (see
    /// [`OneInputOperator::end_batch`](crate::runtime::operator::OneInputOperator::end_batch)).
    fn end_batch(&mut self, output: &mut Output<OUT>) -> Result<()> {
        self.finish(output)
    }
}

/// Runs one batch through `handler`: records as they come, watermarks and status changes through
/// the tracker, calling `watermark` when the combined watermark rises. When all input channels
/// become idle the operator's output is marked idle (after any watermark the change released),
/// and active again (before the next watermark) when one of them resumes. The operator's batch
/// is finished before every watermark, and ended (its results maybe still owed) at the end.
#[inline]
pub(crate) fn process_batch<IN: Data, OUT: Data, H: BatchHandler<IN, OUT>>(
    handler: &mut H,
    channels: ChannelMap,
    tracker: &mut WatermarkTracker,
    output: &mut Output<OUT>,
    batch: &mut Vec<Element<IN>>,
) -> Result<()> {
    for element in batch.drain(..) {
        let was_idle = tracker.is_idle();
        let combined = match element {
            Element::Record(record) => {
                output.timestamp = record.timestamp;
                handler.record(record.value, output)?;
                continue;
            }
            Element::Watermark(w) => tracker.on_watermark(channels.channel(w.channel), w.timestamp),
            Element::Status(s) => tracker.on_status(channels.channel(s.channel), s.idle),
        };
        let is_idle = tracker.is_idle();
        if was_idle && !is_idle {
            output.emit_watermark_status(false);
        }
        if let Some(timestamp) = combined {
            handler.finish(output)?;
            output.timestamp = None;
            handler.watermark(timestamp, output)?;
        }
        if is_idle && !was_idle {
            output.emit_watermark_status(true);
        }
    }
    handler.end_batch(output)
}

/// Connects the `position`-th input of the operator being built.
pub(crate) fn connect_input<'s, T: Data>(
    builder: &mut OperatorBuilder<'s, Time>,
    context: &BuildContext<'s>,
    plan: &NodePlan,
    position: usize,
    edge: InputEdge<'s, T>,
    first_channel: usize,
) -> ConnectedInput<T> {
    let upstream = plan.input_parallelism[position];
    let forward = edge.partitioner.is_forward(upstream, plan.parallelism);
    let handle = if forward {
        ElementInput::Pipeline(builder.new_input(edge.stream, Pipeline))
    } else {
        let routing = EdgeRouting {
            partitioner: edge.partitioner,
            sender: context.worker_index(),
            upstream_parallelism: upstream,
            downstream_parallelism: plan.parallelism,
            max_parallelism: plan.max_parallelism,
            job: context.job.clone(),
            operator: plan.name.clone(),
        };
        let pact = DistributorPact(move |peers| ElementDistributor::new(routing, peers));
        ElementInput::Exchange(builder.new_input(edge.stream, pact))
    };
    ConnectedInput { handle, channels: ChannelMap { first: first_channel, forward } }
}

/// The number of watermark channels of an input: one for forward edges, else one per upstream
/// instance.
pub(crate) fn channel_count<T>(partitioner: &Partitioner<T>, upstream: usize, downstream: usize) -> usize {
    if partitioner.is_forward(upstream, downstream) {
        1
    } else {
        upstream
    }
}

/// A tracker over all channels of inputs with the given channel counts.
pub(crate) fn tracker_for(channel_counts: &[usize]) -> WatermarkTracker {
    WatermarkTracker::new(channel_counts.iter().sum::<usize>().max(1))
}
