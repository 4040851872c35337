//! The harness of one-input operators: it connects the inputs, and on every activation reads the
//! input batches, combines watermarks, closes checkpoint epochs, calls the operator's life-cycle
//! methods, sends its output, and turns panics and errors into a task failure that stops the job.

use std::ops::Range;

use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::Capability;
use timely::progress::frontier::MutableAntichain;

use crate::checkpoint::task::TaskCheckpoints;
use crate::element::Element;
use crate::runtime::activation::Activations;
use crate::runtime::batch_pool::recycle;
use crate::runtime::epochs::{acknowledge_closed, downgrade_to, take_snapshot, EpochAlignment, EpochHandler};
use crate::runtime::graph::{BuildContext, GraphNode, NodePlan};
use crate::runtime::input::{
    channel_count, connect_input, process_batch, tracker_for, BatchHandler, ChannelMap, ConnectedInput, InputEdge,
};
use crate::runtime::operator::{OneInputOperator, RuntimeContext};
use crate::runtime::output::{ElementOutput, ElementSession, Output, SendCapability, SidePort};
use crate::runtime::teardown::{close_at_teardown, Stage};
use crate::runtime::timestamp::{epoch_of, epoch_start, least_time, Time};
use crate::runtime::wakeup::Wakeups;
use crate::runtime::watermark::WatermarkTracker;
use crate::{Data, Result};

/// Builds `operator` as the node `plan` on this worker, fed by `inputs`, and registers its output
/// streams. Instances at indexes at or above the node's parallelism are idle: they hold no
/// capability and receive no records, so a parallelism-1 operator really runs once.
pub(crate) fn build_unary<'s, IN: Data, OUT: Data, O: OneInputOperator<IN, OUT>>(
    context: &mut BuildContext<'s>,
    node: &GraphNode,
    plan: &NodePlan,
    inputs: Vec<InputEdge<'s, IN>>,
    operator: O,
) -> Result<()> {
    let mut builder = OperatorBuilder::new(plan.name.clone(), context.scope);
    let counts: Vec<usize> = inputs
        .iter()
        .zip(&plan.input_parallelism)
        .map(|(edge, &up)| channel_count(&edge.partitioner, up, plan.parallelism))
        .collect();
    let tracker = tracker_for(&counts);
    let mut connected = Vec::with_capacity(inputs.len());
    let mut first_channel = 0;
    for (position, edge) in inputs.into_iter().enumerate() {
        connected.push(connect_input(&mut builder, context, plan, position, edge, first_channel));
        first_channel += counts[position];
    }
    let (main_output, main_stream) = builder.new_output::<Vec<Element<OUT>>>();
    context.set_stream(plan.id, 0, main_stream);
    let sides: Vec<Box<dyn SidePort>> = node
        .side_outputs
        .iter()
        .enumerate()
        .map(|(i, spec)| (spec.factory)(&mut builder, context, plan.id, i + 1))
        .collect();

    let subtask = context.worker_index();
    let active = subtask < plan.parallelism;
    let job = context.job.clone();
    let runtime_context = RuntimeContext::new(plan, subtask, context.restored_operator(plan), &context.job)?;
    let address = builder.operator_info().address;
    let checkpoints = context.task_checkpoints(plan, &address);
    let activator = context.scope.activator_for(address);
    let mut task = UnaryTask {
        operator,
        wakeups: Wakeups::new(runtime_context.processing_time.clone(), activator),
        context: runtime_context,
        channels: connected.iter().map(|c| c.channels).collect(),
        inputs: connected,
        tracker,
        output: Output::new(subtask, sides),
        main_output,
        stage: Stage::Created,
        alignment: EpochAlignment::new(checkpoints.aligned()),
        checkpoints,
        awaiting_final_checkpoint: false,
        owed: None,
    };
    let activations = Activations::new(&job, &plan.name, subtask, active.then(|| task.context.get_metric_group()));
    builder.build(move |capabilities| {
        let mut held = if active { Some(capabilities) } else { None };
        move |frontiers: &[MutableAntichain<Time>]| {
            if held.is_none() || activations.should_stop() {
                task.discard_input();
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

/// One instance of a one-input operator with its inputs and outputs.
struct UnaryTask<IN: Data, OUT: Data, O: OneInputOperator<IN, OUT>> {
    operator: O,
    context: RuntimeContext,
    inputs: Vec<ConnectedInput<IN>>,
    /// The watermark channels of each input, by position.
    channels: Vec<ChannelMap>,
    tracker: WatermarkTracker,
    output: Output<OUT>,
    main_output: ElementOutput<OUT>,
    wakeups: Wakeups,
    /// Whether the operator is open: one that is when the task is dropped is closed then.
    stage: Stage,
    alignment: EpochAlignment<(usize, Vec<Element<IN>>)>,
    checkpoints: TaskCheckpoints,
    /// Input has ended; the operator waits for the final checkpoint before it closes.
    awaiting_final_checkpoint: bool,
    /// The least time of the batches whose results the operator still owes (see
    /// [`OneInputOperator::end_batch`]); they are all of one epoch.
    owed: Option<Time>,
}

impl<IN: Data, OUT: Data, O: OneInputOperator<IN, OUT>> UnaryTask<IN, OUT, O> {
    /// Processes what has arrived; returns true once the operator has finished (all inputs ended).
    fn activate(&mut self, frontiers: &[MutableAntichain<Time>], held: &mut [Capability<Time>]) -> Result<bool> {
        if self.stage == Stage::Created {
            self.operator.open(&self.context)?;
            self.stage = Stage::Open;
        }
        if let Some(checkpoint_id) = self.checkpoints.newly_completed() {
            self.operator.notify_checkpoint_complete(checkpoint_id)?;
        }
        if self.awaiting_final_checkpoint {
            if !self.checkpoints.is_complete(self.alignment.epoch()) {
                return Ok(false);
            }
            self.stage = Stage::Closed;
            self.operator.close()?;
            return Ok(true);
        }
        let UnaryTask {
            operator,
            inputs,
            channels,
            tracker,
            output,
            main_output,
            wakeups,
            alignment,
            checkpoints,
            context,
            owed,
            ..
        } = self;
        let mut session = main_output.activate();
        // Results owed since the last activation go first: everything below follows them.
        settle(operator, output, &mut session, held, owed)?;
        if let Some(now) = wakeups.due() {
            operator.on_processing_time(now, output)?;
            output.flush(&mut session, SendCapability::Held(held));
        }
        // Everything that has arrived is processed in one batch scope of the operator.
        O::within_batch(&mut || {
            for (position, input) in inputs.iter_mut().enumerate() {
                let mut failure = None;
                input.handle.for_each(|capability, batch| {
                    let time = capability.least().copied().unwrap_or_default();
                    let epoch = epoch_of(time);
                    if alignment.holds_back(epoch) {
                        alignment.hold(epoch, (position, std::mem::take(batch)));
                        return;
                    }
                    if failure.is_none() {
                        // Owed results of another epoch go out under their own epoch first.
                        let result = match *owed {
                            Some(since) if epoch_of(since) != epoch => {
                                settle(operator, output, &mut session, held, owed)
                            }
                            _ => Ok(()),
                        }
                        .and_then(|()| {
                            process_batch(&mut Unary(&mut *operator), channels[position], tracker, output, batch)
                        });
                        match result {
                            Err(error) => failure = Some(error),
                            Ok(()) if operator.owes_results() => *owed = Some(owed.map_or(time, |t| t.min(time))),
                            Ok(()) => {}
                        }
                    }
                    recycle(batch);
                    output.flush(&mut session, SendCapability::Input(&capability));
                });
                if let Some(error) = failure {
                    return Err(error);
                }
            }
            Ok(())
        })?;
        let frontier = least_time(frontiers);
        let mut epochs = UnaryEpochs {
            operator: &mut *operator,
            channels,
            tracker,
            output,
            session: &mut session,
            held,
            checkpoints,
            context,
            owed,
        };
        alignment.advance(frontier.map(epoch_of), &mut epochs)?;
        if let Some(frontier) = frontier {
            // Up to the input frontier, but not past results still owed.
            downgrade_to(held, owed.map_or(frontier, |since| since.min(frontier)));
            wakeups.schedule();
            if owed.is_some() {
                // The results are being computed elsewhere: collect them at the next activation.
                wakeups.activate();
            }
            return Ok(false);
        }
        settle(operator, output, &mut session, held, owed)?;
        operator.end_input(output)?;
        output.flush(&mut session, SendCapability::Held(held));
        drop(session);
        if checkpoints.enabled() {
            let epoch = alignment.epoch();
            let snapshot = take_snapshot(checkpoints, epoch, |c| {
                operator.snapshot_state(c)?;
                context.snapshot_operator_state(c)
            })?;
            checkpoints.finish(epoch, snapshot);
            if operator.awaits_final_checkpoint() {
                self.awaiting_final_checkpoint = true;
                return Ok(false);
            }
        }
        self.stage = Stage::Closed;
        self.operator.close()?;
        Ok(true)
    }

    /// Drops whatever arrives at an idle or stopped instance.
    fn discard_input(&mut self) {
        for input in &mut self.inputs {
            input.handle.for_each(|_, batch| batch.clear());
        }
    }
}

/// Closes epochs of a one-input task: snapshots, then the held-back batches of the next epoch.
impl<IN: Data, OUT: Data, O: OneInputOperator<IN, OUT>> Drop for UnaryTask<IN, OUT, O> {
    fn drop(&mut self) {
        let (name, subtask) = (self.context.get_task_name(), self.context.get_index_of_this_subtask());
        close_at_teardown(self.stage, name, subtask, || self.operator.close());
    }
}
struct UnaryEpochs<'a, 's, OUT: Data, O> {
    operator: &'a mut O,
    channels: &'a [ChannelMap],
    tracker: &'a mut WatermarkTracker,
    output: &'a mut Output<OUT>,
    session: &'a mut ElementSession<'s, OUT>,
    held: &'a mut [Capability<Time>],
    checkpoints: &'a TaskCheckpoints,
    context: &'a RuntimeContext,
    owed: &'a mut Option<Time>,
}

impl<IN: Data, OUT: Data, O: OneInputOperator<IN, OUT>> EpochHandler<(usize, Vec<Element<IN>>)>
    for UnaryEpochs<'_, '_, OUT, O>
{
    fn close(&mut self, closed: Range<u64>) -> Result<()> {
        // The snapshot holds the state the owed results leave behind.
        settle(self.operator, self.output, self.session, self.held, self.owed)?;
        acknowledge_closed(self.checkpoints, closed, |c| {
            self.operator.snapshot_state(c)?;
            self.context.snapshot_operator_state(c)
        })
    }

    fn process(&mut self, epoch: u64, (position, mut batch): (usize, Vec<Element<IN>>)) -> Result<()> {
        downgrade_to(self.held, epoch_start(epoch));
        let (operator, channels, tracker, output) =
            (&mut *self.operator, self.channels[position], &mut *self.tracker, &mut *self.output);
        let result =
            O::within_batch(&mut || process_batch(&mut Unary(&mut *operator), channels, tracker, output, &mut batch));
        self.output.flush(self.session, SendCapability::Held(self.held));
        if result.is_ok() && self.operator.owes_results() {
            *self.owed = Some(epoch_start(epoch));
        }
        result
    }
}

/// Emits the results `operator` owes for batches since the time `owed` (see
/// [`OneInputOperator::end_batch`]), under a capability for that time, which the held ones
/// never pass while results are owed.
fn settle<IN: Data, OUT: Data, O: OneInputOperator<IN, OUT>>(
    operator: &mut O,
    output: &mut Output<OUT>,
    session: &mut ElementSession<'_, OUT>,
    held: &[Capability<Time>],
    owed: &mut Option<Time>,
) -> Result<()> {
    let Some(since) = owed.take() else {
        return Ok(());
    };
    operator.finish_batch(output)?;
    if held.iter().all(|capability| *capability.time() == since) {
        output.flush(session, SendCapability::Held(held));
    } else {
        debug_assert!(held.iter().all(|capability| *capability.time() <= since));
        let at_time: Vec<Capability<Time>> =
            held.iter().map(|capability| capability.delayed(&since.max(*capability.time()))).collect();
        output.flush(session, SendCapability::Held(&at_time));
    }
    Ok(())
}

/// Feeds records and watermarks of the single input to a one-input operator.
struct Unary<'a, O>(&'a mut O);

impl<IN: Data, OUT: Data, O: OneInputOperator<IN, OUT>> BatchHandler<IN, OUT> for Unary<'_, O> {
    #[inline]
    fn record(&mut self, value: IN, output: &mut Output<OUT>) -> Result<()> {
        self.0.process_element(value, output)
    }
    fn watermark(&mut self, timestamp: i64, output: &mut Output<OUT>) -> Result<()> {
        output.input_watermark = timestamp;
        self.0.process_watermark(timestamp, output)
    }
    #[inline]
    fn finish(&mut self, output: &mut Output<OUT>) -> Result<()> {
        self.0.finish_batch(output)
    }
    #[inline]
    fn end_batch(&mut self, output: &mut Output<OUT>) -> Result<()> {
        self.0.end_batch(output)
    }
}
