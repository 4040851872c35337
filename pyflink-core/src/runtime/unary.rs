//! The harness of one-input operators: it connects the inputs, and on every activation reads the
//! input batches, combines watermarks, calls the operator's life-cycle methods, sends its output,
//! and turns panics and errors into a task failure that stops the job.

use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::Capability;
use timely::progress::frontier::MutableAntichain;

use crate::element::Element;
use crate::runtime::batch_pool::recycle;
use crate::runtime::graph::{BuildContext, GraphNode, NodePlan};
use crate::runtime::input::{
    channel_count, connect_input, process_batch, tracker_for, BatchHandler, ConnectedInput, InputEdge,
};
use crate::runtime::job::activate_guarded;
use crate::runtime::operator::{OneInputOperator, RuntimeContext};
use crate::runtime::output::{ElementOutput, Output, SendCapability, SidePort};
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
    let runtime_context = RuntimeContext::new(plan, subtask);
    let activator = context.scope.activator_for(builder.operator_info().address);
    let mut task = UnaryTask {
        operator,
        wakeups: Wakeups::new(runtime_context.processing_time.clone(), activator),
        context: runtime_context,
        inputs: connected,
        tracker,
        output: Output::new(subtask, sides),
        main_output,
        opened: false,
    };
    let name = plan.name.clone();
    builder.build(move |capabilities| {
        let mut held = if active { Some(capabilities) } else { None };
        move |frontiers: &[MutableAntichain<u64>]| {
            if held.is_none() || job.should_stop() {
                task.discard_input();
                held = None;
                return;
            }
            let capabilities = held.as_mut().expect("checked above");
            if activate_guarded(&job, &name, subtask, || task.activate(frontiers, capabilities)) {
                held = None;
            }
        }
    });
    Ok(())
}

/// One instance of a one-input operator with its inputs and outputs.
struct UnaryTask<IN: Data, OUT: Data, O> {
    operator: O,
    context: RuntimeContext,
    inputs: Vec<ConnectedInput<IN>>,
    tracker: WatermarkTracker,
    output: Output<OUT>,
    main_output: ElementOutput<OUT>,
    wakeups: Wakeups,
    opened: bool,
}

impl<IN: Data, OUT: Data, O: OneInputOperator<IN, OUT>> UnaryTask<IN, OUT, O> {
    /// Processes what has arrived; returns true once the operator has finished (all inputs ended).
    fn activate(&mut self, frontiers: &[MutableAntichain<u64>], held: &mut [Capability<u64>]) -> Result<bool> {
        if !self.opened {
            self.operator.open(&self.context)?;
            self.opened = true;
        }
        let UnaryTask { operator, inputs, tracker, output, main_output, wakeups, .. } = self;
        let mut session = main_output.activate();
        if let Some(now) = wakeups.due() {
            operator.on_processing_time(now, output)?;
            output.flush(&mut session, SendCapability::Held(held));
        }
        for input in inputs.iter_mut() {
            let mut failure = None;
            input.handle.for_each(|capability, batch| {
                if failure.is_none() {
                    if let Err(error) =
                        process_batch(&mut Unary(&mut *operator), input.channels, tracker, output, batch)
                    {
                        failure = Some(error);
                    }
                }
                recycle(batch);
                output.flush(&mut session, SendCapability::Input(&capability));
            });
            if let Some(error) = failure {
                return Err(error);
            }
        }
        if frontiers.iter().all(|f| f.frontier().is_empty()) {
            operator.end_input(output)?;
            output.flush(&mut session, SendCapability::Held(held));
            operator.close()?;
            return Ok(true);
        }
        downgrade(held, frontiers);
        wakeups.schedule();
        Ok(false)
    }

    /// Drops whatever arrives at an idle or stopped instance.
    fn discard_input(&mut self) {
        for input in &mut self.inputs {
            input.handle.for_each(|_, batch| batch.clear());
        }
    }
}

/// Feeds records and watermarks of the single input to a one-input operator.
struct Unary<'a, O>(&'a mut O);

impl<IN: Data, OUT: Data, O: OneInputOperator<IN, OUT>> BatchHandler<IN, OUT> for Unary<'_, O> {
    #[inline]
    fn record(&mut self, value: IN, output: &mut Output<OUT>) -> Result<()> {
        self.0.process_element(value, output)
    }
    fn watermark(&mut self, timestamp: i64, output: &mut Output<OUT>) -> Result<()> {
        self.0.process_watermark(timestamp, output)
    }
}

/// Moves the held capabilities up to the least epoch still possible at the inputs.
pub(crate) fn downgrade(held: &mut [Capability<u64>], frontiers: &[MutableAntichain<u64>]) {
    let least = frontiers.iter().filter_map(|f| f.frontier().iter().min().copied()).min();
    if let Some(least) = least {
        for capability in held.iter_mut() {
            if *capability.time() < least {
                capability.downgrade(&least);
            }
        }
    }
}
