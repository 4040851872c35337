//! The harness of two-input operators (`connect`): like the one-input harness, with one
//! watermark tracker over the channels of both inputs.

use std::marker::PhantomData;
use std::ops::Range;

use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::Capability;
use timely::progress::frontier::MutableAntichain;

use crate::checkpoint::task::TaskCheckpoints;
use crate::element::Element;
use crate::runtime::activation::Activations;
use crate::runtime::batch_pool::recycle;
use crate::runtime::epochs::{acknowledge_closed, downgrade_to, take_snapshot, EpochAlignment, EpochHandler};
use crate::runtime::graph::{BuildContext, NodePlan};
use crate::runtime::input::{
    channel_count, connect_input, process_batch, tracker_for, BatchHandler, ChannelMap, ConnectedInput, InputEdge,
};
use crate::runtime::operator::{RuntimeContext, TwoInputOperator};
use crate::runtime::output::{ElementOutput, ElementSession, Output, SendCapability};
use crate::runtime::teardown::{close_at_teardown, Stage};
use crate::runtime::timestamp::{epoch_of, epoch_start, least_time, Time};
use crate::runtime::wakeup::Wakeups;
use crate::runtime::watermark::WatermarkTracker;
use crate::{Data, Result};

/// Builds a two-input `operator` as node `plan`, fed by `first` and `second`.
pub(crate) fn build_binary<'s, IN1: Data, IN2: Data, OUT: Data, O: TwoInputOperator<IN1, IN2, OUT>>(
    context: &mut BuildContext<'s>,
    plan: &NodePlan,
    first: InputEdge<'s, IN1>,
    second: InputEdge<'s, IN2>,
    operator: O,
) -> Result<()> {
    let mut builder = OperatorBuilder::new(plan.name.clone(), context.scope);
    let counts = [
        channel_count(&first.partitioner, plan.input_parallelism[0], plan.parallelism),
        channel_count(&second.partitioner, plan.input_parallelism[1], plan.parallelism),
    ];
    let first = connect_input(&mut builder, context, plan, 0, first, 0);
    let second = connect_input(&mut builder, context, plan, 1, second, counts[0]);
    let (main_output, stream) = builder.new_output::<Vec<Element<OUT>>>();
    context.set_stream(plan.id, 0, stream);

    let subtask = context.worker_index();
    let active = subtask < plan.parallelism;
    let job = context.job.clone();
    let runtime_context = RuntimeContext::new(plan, subtask, context.restored_operator(plan), &context.job)?;
    let address = builder.operator_info().address;
    let checkpoints = context.task_checkpoints(plan, &address);
    let activator = context.scope.activator_for(address);
    let mut task = BinaryTask {
        alignment: EpochAlignment::new(checkpoints.aligned()),
        checkpoints,
        operator,
        wakeups: Wakeups::new(runtime_context.processing_time.clone(), activator),
        context: runtime_context,
        first,
        second,
        tracker: tracker_for(&counts),
        output: Output::new(subtask, Vec::new()),
        main_output,
        stage: Stage::Created,
    };
    let activations = Activations::new(&job, &plan.name, subtask, active.then(|| task.context.get_metric_group()));
    builder.build(move |capabilities| {
        let mut held = if active { Some(capabilities) } else { None };
        move |frontiers: &[MutableAntichain<Time>]| {
            if held.is_none() || activations.should_stop() {
                task.first.handle.for_each(|_, batch| batch.clear());
                task.second.handle.for_each(|_, batch| batch.clear());
                held = None;
                return;
            }
            let capabilities = held.as_mut().expect("checked above");
            if activations.run(|| task.activate(frontiers, capabilities)) {
                held = None;
            }
        }
    });
    Ok(())
}

struct BinaryTask<IN1: Data, IN2: Data, OUT: Data, O: TwoInputOperator<IN1, IN2, OUT>> {
    operator: O,
    context: RuntimeContext,
    first: ConnectedInput<IN1>,
    second: ConnectedInput<IN2>,
    tracker: WatermarkTracker,
    output: Output<OUT>,
    main_output: ElementOutput<OUT>,
    wakeups: Wakeups,
    /// Whether the operator is open: one that is when the task is dropped is closed then.
    stage: Stage,
    alignment: EpochAlignment<Either<IN1, IN2>>,
    checkpoints: TaskCheckpoints,
}

/// A batch of the first or the second input, held back for a later epoch.
enum Either<IN1, IN2> {
    First(Vec<Element<IN1>>),
    Second(Vec<Element<IN2>>),
}

/// Feeds the first input's records to `process_element1`; `P` is the other input's type.
struct First<'a, O, P>(&'a mut O, PhantomData<P>);
/// Feeds the second input's records to `process_element2`; `P` is the other input's type.
struct Second<'a, O, P>(&'a mut O, PhantomData<P>);

impl<IN1: Data, IN2: Data, OUT: Data, O: TwoInputOperator<IN1, IN2, OUT>> BatchHandler<IN1, OUT> for First<'_, O, IN2> {
    #[inline]
    fn record(&mut self, value: IN1, output: &mut Output<OUT>) -> Result<()> {
        self.0.process_element1(value, output)
    }
    fn watermark(&mut self, timestamp: i64, output: &mut Output<OUT>) -> Result<()> {
        output.input_watermark = timestamp;
        self.0.process_watermark(timestamp, output)
    }
    #[inline]
    fn finish(&mut self, output: &mut Output<OUT>) -> Result<()> {
        self.0.finish_batch(output)
    }
}

impl<IN1: Data, IN2: Data, OUT: Data, O: TwoInputOperator<IN1, IN2, OUT>> BatchHandler<IN2, OUT>
    for Second<'_, O, IN1>
{
    #[inline]
    fn record(&mut self, value: IN2, output: &mut Output<OUT>) -> Result<()> {
        self.0.process_element2(value, output)
    }
    fn watermark(&mut self, timestamp: i64, output: &mut Output<OUT>) -> Result<()> {
        output.input_watermark = timestamp;
        self.0.process_watermark(timestamp, output)
    }
    #[inline]
    fn finish(&mut self, output: &mut Output<OUT>) -> Result<()> {
        self.0.finish_batch(output)
    }
}

impl<IN1: Data, IN2: Data, OUT: Data, O: TwoInputOperator<IN1, IN2, OUT>> BinaryTask<IN1, IN2, OUT, O> {
    /// Processes what has arrived on both inputs; true once both inputs have ended.
    fn activate(&mut self, frontiers: &[MutableAntichain<Time>], held: &mut [Capability<Time>]) -> Result<bool> {
        if self.stage == Stage::Created {
            self.operator.open(&self.context)?;
            self.stage = Stage::Open;
        }
        if let Some(checkpoint_id) = self.checkpoints.newly_completed() {
            self.operator.notify_checkpoint_complete(checkpoint_id)?;
        }
        let BinaryTask {
            operator,
            first,
            second,
            tracker,
            output,
            main_output,
            wakeups,
            alignment,
            checkpoints,
            context,
            stage,
        } = self;
        let mut session = main_output.activate();
        if let Some(now) = wakeups.due() {
            operator.on_processing_time(now, output)?;
            output.flush(&mut session, SendCapability::Held(held));
        }
        let mut failure = None;
        let channels = first.channels;
        first.handle.for_each(|capability, batch| {
            let epoch = epoch_of(capability.least().copied().unwrap_or_default());
            if alignment.holds_back(epoch) {
                alignment.hold(epoch, Either::First(std::mem::take(batch)));
                return;
            }
            if failure.is_none() {
                let mut handler = First::<O, IN2>(&mut *operator, PhantomData);
                failure = process_batch(&mut handler, channels, tracker, output, batch).err();
            }
            recycle(batch);
            output.flush(&mut session, SendCapability::Input(&capability));
        });
        let channels = second.channels;
        second.handle.for_each(|capability, batch| {
            let epoch = epoch_of(capability.least().copied().unwrap_or_default());
            if alignment.holds_back(epoch) {
                alignment.hold(epoch, Either::Second(std::mem::take(batch)));
                return;
            }
            if failure.is_none() {
                let mut handler = Second::<O, IN1>(&mut *operator, PhantomData);
                failure = process_batch(&mut handler, channels, tracker, output, batch).err();
            }
            recycle(batch);
            output.flush(&mut session, SendCapability::Input(&capability));
        });
        if let Some(error) = failure {
            return Err(error);
        }
        let frontier = least_time(frontiers);
        let mut epochs = BinaryEpochs {
            operator: &mut *operator,
            channels: [first.channels, second.channels],
            tracker,
            output,
            session: &mut session,
            held,
            checkpoints,
            context,
            _inputs: PhantomData,
        };
        alignment.advance(frontier.map(epoch_of), &mut epochs)?;
        if let Some(frontier) = frontier {
            downgrade_to(held, frontier);
            wakeups.schedule();
            return Ok(false);
        }
        operator.end_input(output)?;
        output.flush(&mut session, SendCapability::Held(held));
        if checkpoints.enabled() {
            let epoch = alignment.epoch();
            let snapshot = take_snapshot(checkpoints, epoch, |c| {
                operator.snapshot_state(c)?;
                context.snapshot_operator_state(c)
            })?;
            checkpoints.finish(epoch, snapshot);
        }
        *stage = Stage::Closed;
        operator.close()?;
        Ok(true)
    }
}

/// Closes epochs of a two-input task: snapshots, then the held-back batches of the next epoch.
impl<IN1: Data, IN2: Data, OUT: Data, O: TwoInputOperator<IN1, IN2, OUT>> Drop for BinaryTask<IN1, IN2, OUT, O> {
    fn drop(&mut self) {
        let (name, subtask) = (self.context.get_task_name(), self.context.get_index_of_this_subtask());
        close_at_teardown(self.stage, name, subtask, || self.operator.close());
    }
}
struct BinaryEpochs<'a, 's, IN1, IN2, OUT: Data, O> {
    operator: &'a mut O,
    channels: [ChannelMap; 2],
    tracker: &'a mut WatermarkTracker,
    output: &'a mut Output<OUT>,
    session: &'a mut ElementSession<'s, OUT>,
    held: &'a mut [Capability<Time>],
    checkpoints: &'a TaskCheckpoints,
    context: &'a RuntimeContext,
    _inputs: PhantomData<(IN1, IN2)>,
}

impl<IN1: Data, IN2: Data, OUT: Data, O: TwoInputOperator<IN1, IN2, OUT>> EpochHandler<Either<IN1, IN2>>
    for BinaryEpochs<'_, '_, IN1, IN2, OUT, O>
{
    fn close(&mut self, closed: Range<u64>) -> Result<()> {
        acknowledge_closed(self.checkpoints, closed, |c| {
            self.operator.snapshot_state(c)?;
            self.context.snapshot_operator_state(c)
        })
    }

    fn process(&mut self, epoch: u64, batch: Either<IN1, IN2>) -> Result<()> {
        downgrade_to(self.held, epoch_start(epoch));
        let result = match batch {
            Either::First(mut batch) => {
                let mut handler = First::<O, IN2>(&mut *self.operator, PhantomData);
                process_batch(&mut handler, self.channels[0], self.tracker, self.output, &mut batch)
            }
            Either::Second(mut batch) => {
                let mut handler = Second::<O, IN1>(&mut *self.operator, PhantomData);
                process_batch(&mut handler, self.channels[1], self.tracker, self.output, &mut batch)
            }
        };
        self.output.flush(self.session, SendCapability::Held(self.held));
        result
    }
}
