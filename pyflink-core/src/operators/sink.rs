//! The sink operator: hands every record to a [`SinkWriter`].

use std::collections::BTreeMap;
use std::sync::Arc;

use pyflink_state::codec;

use crate::checkpoint::StateSnapshotContext;
use crate::runtime::operator::{OneInputOperator, RuntimeContext};
use crate::runtime::output::Output;
use crate::sinks::{Sink, SinkWriter, SinkWriterContext};
use crate::{Data, Result};

/// The file of a sink instance in checkpoints: its prepared, uncommitted committables.
const COMMITTABLES: &str = "committables";

/// Prepared committables by the id of the checkpoint they belong to.
type Committables = BTreeMap<u64, Vec<Vec<u8>>>;

/// Writes records through the writer it creates on open, and commits what the writer prepares
/// when checkpoints complete.
pub(crate) struct SinkOperator<T: Data, S: Sink<T>> {
    pub(crate) sink: Arc<S>,
    pub(crate) writer: Option<S::Writer>,
    pub(crate) pending: Committables,
    pub(crate) checkpointing: bool,
}

impl<T: Data, S: Sink<T>> SinkOperator<T, S> {
    pub(crate) fn new(sink: Arc<S>) -> Self {
        SinkOperator { sink, writer: None, pending: BTreeMap::new(), checkpointing: false }
    }

    /// Commits the pending committables of checkpoints up to `checkpoint_id`.
    fn commit_up_to(&mut self, checkpoint_id: u64) -> Result<()> {
        let later = self.pending.split_off(&(checkpoint_id + 1));
        let due = std::mem::replace(&mut self.pending, later);
        let committables: Vec<Vec<u8>> = due.into_values().flatten().collect();
        if committables.is_empty() {
            return Ok(());
        }
        self.sink.commit(committables)
    }
}

impl<T: Data, S: Sink<T>> OneInputOperator<T, ()> for SinkOperator<T, S> {
    fn open(&mut self, context: &RuntimeContext) -> Result<()> {
        self.checkpointing = context.is_checkpointing_enabled();
        // The restored checkpoint is complete, so what its writers prepared is committed now
        // (again, if the commit happened before the failure); each is committed by one instance.
        if let Some(restored) = context.restored() {
            for (subtask, bytes) in restored.files(COMMITTABLES)? {
                if subtask % context.parallelism == context.subtask_index {
                    let committables: Committables = codec::decode(&bytes, "sink committables")?;
                    let all: Vec<Vec<u8>> = committables.into_values().flatten().collect();
                    if !all.is_empty() {
                        self.sink.commit(all)?;
                    }
                }
            }
        }
        let writer_context = SinkWriterContext {
            subtask_index: context.subtask_index,
            parallelism: context.parallelism,
            metric_group: context.get_metric_group().clone(),
            stop: context.stop_signal().clone(),
        };
        self.writer = Some(self.sink.create_writer(&writer_context)?);
        Ok(())
    }

    fn snapshot_state(&mut self, context: &mut StateSnapshotContext) -> Result<()> {
        let Some(writer) = self.writer.as_mut() else { return Ok(()) };
        let prepared = writer.prepare_commit(context.checkpoint_id())?;
        if !prepared.is_empty() {
            self.pending.entry(context.checkpoint_id()).or_default().extend(prepared);
        }
        context.add_file(COMMITTABLES, codec::encode(&self.pending)?);
        Ok(())
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<()> {
        self.commit_up_to(checkpoint_id)
    }

    fn awaits_final_checkpoint(&self) -> bool {
        !self.pending.is_empty()
    }

    #[inline]
    fn process_element(&mut self, value: T, out: &mut Output<()>) -> Result<()> {
        let writer = self.writer.as_mut().expect("opened before the first record");
        writer.write(value, out.timestamp())
    }

    fn process_watermark(&mut self, _timestamp: i64, _out: &mut Output<()>) -> Result<()> {
        Ok(())
    }

    fn end_input(&mut self, _out: &mut Output<()>) -> Result<()> {
        let Some(writer) = self.writer.as_mut() else { return Ok(()) };
        writer.flush(true)?;
        if !self.checkpointing {
            // No checkpoint will complete: what is prepared is committed as the job finishes.
            let prepared = writer.prepare_commit(0)?;
            if !prepared.is_empty() {
                self.sink.commit(prepared)?;
            }
        }
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        match self.writer.as_mut() {
            Some(writer) => writer.close(),
            None => Ok(()),
        }
    }
}
