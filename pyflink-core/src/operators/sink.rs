//! The sink operator: hands every record to a [`SinkWriter`].

use std::sync::Arc;

use crate::runtime::operator::{OneInputOperator, RuntimeContext};
use crate::runtime::output::Output;
use crate::sinks::{Sink, SinkWriter, SinkWriterContext};
use crate::{Data, Result};

/// Writes records through the writer it creates on open.
pub(crate) struct SinkOperator<T: Data, S: Sink<T>> {
    pub(crate) sink: Arc<S>,
    pub(crate) writer: Option<S::Writer>,
}

impl<T: Data, S: Sink<T>> OneInputOperator<T, ()> for SinkOperator<T, S> {
    fn open(&mut self, context: &RuntimeContext) -> Result<()> {
        let writer_context =
            SinkWriterContext { subtask_index: context.subtask_index, parallelism: context.parallelism };
        self.writer = Some(self.sink.create_writer(&writer_context)?);
        Ok(())
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
        match self.writer.as_mut() {
            Some(writer) => writer.flush(true),
            None => Ok(()),
        }
    }

    fn close(&mut self) -> Result<()> {
        match self.writer.as_mut() {
            Some(writer) => writer.close(),
            None => Ok(()),
        }
    }
}
