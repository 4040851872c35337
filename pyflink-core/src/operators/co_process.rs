//! Operators on connected streams: `process` with a [`CoProcessFunction`], and the `map` and
//! `flat_map` of `ConnectedStreams` (Flink's CoMap and CoFlatMap), which are co-process
//! functions over two closures.

use crate::api::functions::{CoProcessFunction, ProcessContext};
use crate::runtime::operator::{RuntimeContext, TwoInputOperator};
use crate::runtime::output::Output;
use crate::{Data, Result};

/// Runs a co-process function.
pub(crate) struct CoProcessOperator<F>(pub(crate) F);

impl<IN1: Data, IN2: Data, OUT: Data, F: CoProcessFunction<IN1, IN2, OUT>> TwoInputOperator<IN1, IN2, OUT>
    for CoProcessOperator<F>
{
    fn open(&mut self, context: &RuntimeContext) -> Result<()> {
        self.0.open(context)
    }

    #[inline]
    fn process_element1(&mut self, value: IN1, out: &mut Output<OUT>) -> Result<()> {
        self.0.process_element1(value, &mut ProcessContext { out })
    }

    #[inline]
    fn process_element2(&mut self, value: IN2, out: &mut Output<OUT>) -> Result<()> {
        self.0.process_element2(value, &mut ProcessContext { out })
    }

    fn close(&mut self) -> Result<()> {
        self.0.close()
    }
}

/// Maps each input with its own function (CoMap).
#[derive(Clone)]
pub(crate) struct CoMap<F1, F2>(pub(crate) F1, pub(crate) F2);

impl<IN1: Data, IN2: Data, OUT: Data, F1, F2> CoProcessFunction<IN1, IN2, OUT> for CoMap<F1, F2>
where
    F1: FnMut(IN1) -> OUT + Clone + Send + Sync + 'static,
    F2: FnMut(IN2) -> OUT + Clone + Send + Sync + 'static,
{
    #[inline]
    fn process_element1(&mut self, value: IN1, ctx: &mut ProcessContext<'_, OUT>) -> Result<()> {
        ctx.collect((self.0)(value));
        Ok(())
    }

    #[inline]
    fn process_element2(&mut self, value: IN2, ctx: &mut ProcessContext<'_, OUT>) -> Result<()> {
        ctx.collect((self.1)(value));
        Ok(())
    }
}

/// Flat-maps each input with its own function (CoFlatMap).
#[derive(Clone)]
pub(crate) struct CoFlatMap<F1, F2>(pub(crate) F1, pub(crate) F2);

impl<IN1: Data, IN2: Data, OUT: Data, I1, I2, F1, F2> CoProcessFunction<IN1, IN2, OUT> for CoFlatMap<F1, F2>
where
    I1: IntoIterator<Item = OUT>,
    I2: IntoIterator<Item = OUT>,
    F1: FnMut(IN1) -> I1 + Clone + Send + Sync + 'static,
    F2: FnMut(IN2) -> I2 + Clone + Send + Sync + 'static,
{
    fn process_element1(&mut self, value: IN1, ctx: &mut ProcessContext<'_, OUT>) -> Result<()> {
        for item in (self.0)(value) {
            ctx.collect(item);
        }
        Ok(())
    }

    fn process_element2(&mut self, value: IN2, ctx: &mut ProcessContext<'_, OUT>) -> Result<()> {
        for item in (self.1)(value) {
            ctx.collect(item);
        }
        Ok(())
    }
}
