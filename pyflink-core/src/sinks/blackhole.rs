//! A sink that drops every record (Flink's `DiscardingSink`, the `blackhole` connector).

use crate::sinks::{Sink, SinkWriter, SinkWriterContext};
use crate::{Data, Result};

/// Drops every record; useful for benchmarks.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiscardingSink;

/// The writer of [`DiscardingSink`].
#[derive(Debug, Default)]
pub struct DiscardingWriter;

impl<T: Data> Sink<T> for DiscardingSink {
    type Writer = DiscardingWriter;
    fn create_writer(&self, _context: &SinkWriterContext) -> Result<DiscardingWriter> {
        Ok(DiscardingWriter)
    }
}

impl<T> SinkWriter<T> for DiscardingWriter {
    #[inline]
    fn write(&mut self, value: T, _timestamp: Option<i64>) -> Result<()> {
        drop(value);
        Ok(())
    }
}
