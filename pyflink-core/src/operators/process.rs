//! `process`: runs a [`ProcessFunction`] with its life cycle and side outputs.

use crate::api::functions::{ProcessContext, ProcessFunction};
use crate::checkpoint::StateSnapshotContext;
use crate::runtime::operator::{OneInputOperator, RuntimeContext};
use crate::runtime::output::Output;
use crate::{Data, Result};

/// Runs a process function.
pub(crate) struct ProcessOperator<F>(pub(crate) F);

impl<IN: Data, OUT: Data, F: ProcessFunction<IN, OUT>> OneInputOperator<IN, OUT> for ProcessOperator<F> {
    fn open(&mut self, context: &RuntimeContext) -> Result<()> {
        self.0.open(context)
    }

    #[inline]
    fn process_element(&mut self, value: IN, out: &mut Output<OUT>) -> Result<()> {
        self.0.process_element(value, &mut ProcessContext { out })
    }

    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        F::within_batch(batch)
    }

    fn finish_batch(&mut self, out: &mut Output<OUT>) -> Result<()> {
        self.0.finish_batch(&mut ProcessContext { out })
    }

    fn end_batch(&mut self, out: &mut Output<OUT>) -> Result<()> {
        self.0.end_batch(&mut ProcessContext { out })
    }

    fn owes_results(&self) -> bool {
        self.0.owes_results()
    }

    fn snapshot_state(&mut self, context: &mut StateSnapshotContext) -> Result<()> {
        self.0.snapshot_state(context.checkpoint_id())
    }

    fn close(&mut self) -> Result<()> {
        self.0.close()
    }
}
