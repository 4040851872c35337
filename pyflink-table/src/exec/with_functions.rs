//! `WithFunctions`: a table operator whose parallel instances each keep their own objects of
//! the user functions they call (see [`crate::function_instances`]): made while the operator
//! works, closed when it closes. Every operator that evaluates expressions or aggregate
//! functions runs inside one, so a Python function anywhere in a query is opened once per
//! operator instance, with that instance's metric group, and closed with it, as in Flink.

use pyflink_core::{
    Data, Key, KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext, OnTimerContext, ProcessContext,
    ProcessFunction, Result, RuntimeContext,
};

use crate::exec::group_aggregate::flink;
use crate::function_instances::FunctionInstances;

/// `operator`, with function objects per parallel instance.
pub(crate) struct WithFunctions<F> {
    operator: F,
    /// The instance's function objects, from `open` on.
    instances: Option<FunctionInstances>,
}

/// `operator` with function objects of its own in each parallel instance.
pub(crate) fn with_functions<F>(operator: F) -> WithFunctions<F> {
    WithFunctions { operator, instances: None }
}

impl<F: Clone> Clone for WithFunctions<F> {
    fn clone(&self) -> Self {
        // Each parallel instance makes its own objects when it opens.
        WithFunctions { operator: self.operator.clone(), instances: None }
    }
}

impl<F> WithFunctions<F> {
    /// Runs `work` on the operator with the instance's function objects current.
    fn run<R>(&mut self, work: impl FnOnce(&mut F) -> R) -> R {
        let WithFunctions { operator, instances } = self;
        FunctionInstances::run(instances, || work(operator))
    }

    fn start(&mut self, runtime: &RuntimeContext) {
        self.instances = Some(FunctionInstances::new(runtime.task_info()));
    }

    /// Closes the operator, then its function objects; the operator's failure comes first.
    fn finish(&mut self, close: impl FnOnce(&mut F) -> Result<()>) -> Result<()> {
        let closed = self.run(close);
        let objects_closed = match self.instances.as_mut() {
            Some(instances) => instances.close().map_err(flink),
            None => Ok(()),
        };
        closed.and(objects_closed)
    }
}

impl<IN: Data, OUT: Data, F: ProcessFunction<IN, OUT>> ProcessFunction<IN, OUT> for WithFunctions<F> {
    fn open(&mut self, context: &RuntimeContext) -> Result<()> {
        self.start(context);
        self.run(|operator| operator.open(context))
    }

    fn process_element(&mut self, value: IN, ctx: &mut ProcessContext<'_, OUT>) -> Result<()> {
        self.run(|operator| operator.process_element(value, ctx))
    }

    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        F::within_batch(batch)
    }

    fn finish_batch(&mut self, ctx: &mut ProcessContext<'_, OUT>) -> Result<()> {
        self.run(|operator| operator.finish_batch(ctx))
    }

    fn end_batch(&mut self, ctx: &mut ProcessContext<'_, OUT>) -> Result<()> {
        self.run(|operator| operator.end_batch(ctx))
    }

    fn owes_results(&self) -> bool {
        self.operator.owes_results()
    }

    fn close(&mut self) -> Result<()> {
        self.finish(ProcessFunction::close)
    }
}

impl<K: Key, IN: Data, OUT: Data, F: KeyedProcessFunction<K, IN, OUT>> KeyedProcessFunction<K, IN, OUT>
    for WithFunctions<F>
{
    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, K>) -> Result<()> {
        self.start(context.runtime());
        self.run(|operator| operator.open(context))
    }

    fn process_element(&mut self, value: IN, ctx: &mut KeyedProcessContext<'_, K, OUT>) -> Result<()> {
        self.run(|operator| operator.process_element(value, ctx))
    }

    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        F::within_batch(batch)
    }

    fn on_timer(&mut self, timestamp: i64, ctx: &mut OnTimerContext<'_, K, OUT>) -> Result<()> {
        self.run(|operator| operator.on_timer(timestamp, ctx))
    }

    fn finish_batch(&mut self, ctx: &mut KeyedProcessContext<'_, K, OUT>) -> Result<()> {
        self.run(|operator| operator.finish_batch(ctx))
    }

    fn end_batch(&mut self, ctx: &mut KeyedProcessContext<'_, K, OUT>) -> Result<()> {
        self.run(|operator| operator.end_batch(ctx))
    }

    fn owes_results(&self) -> bool {
        self.operator.owes_results()
    }

    fn prepare_snapshot(&mut self, ctx: &mut KeyedProcessContext<'_, K, OUT>) -> Result<()> {
        self.run(|operator| operator.prepare_snapshot(ctx))
    }

    fn end_input(&mut self, ctx: &mut KeyedProcessContext<'_, K, OUT>) -> Result<()> {
        self.run(|operator| operator.end_input(ctx))
    }

    fn close(&mut self) -> Result<()> {
        self.finish(KeyedProcessFunction::close)
    }
}
