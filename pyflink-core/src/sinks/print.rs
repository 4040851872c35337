//! The print sink: every record on standard output (or error), as Flink's `PrintSink` writes it.

use std::io::Write;
use std::marker::PhantomData;

use crate::sinks::{Sink, SinkWriter, SinkWriterContext};
use crate::{Data, FlinkDisplay, FlinkError, Result};

/// Prints each record on its own line. With parallelism above 1 each line starts with the
/// writer's number, `2> value`; with an identifier it starts `id:2> value` (or `id> value`).
#[derive(Debug, Clone)]
pub struct PrintSink<T> {
    identifier: Option<String>,
    to_stderr: bool,
    _records: PhantomData<fn(T)>,
}

impl<T> PrintSink<T> {
    /// Prints to standard output.
    pub fn new() -> Self {
        PrintSink { identifier: None, to_stderr: false, _records: PhantomData }
    }

    /// Prints to standard error instead.
    pub fn to_stderr(mut self) -> Self {
        self.to_stderr = true;
        self
    }

    /// Prefixes every line with `identifier`.
    pub fn with_identifier(mut self, identifier: impl Into<String>) -> Self {
        self.identifier = Some(identifier.into());
        self
    }
}

impl<T> Default for PrintSink<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The line prefix Flink's print sinks use for writer `index` (0-based) of `parallelism`,
/// with an optional identifier: `""`, `"2> "`, `"id> "` or `"id:2> "`.
///
/// ```
/// use pyflink_core::sinks::line_prefix;
/// assert_eq!(line_prefix(Some("orders"), 1, 4), "orders:2> ");
/// assert_eq!(line_prefix(None, 0, 1), "");
/// ```
pub fn line_prefix(identifier: Option<&str>, index: usize, parallelism: usize) -> String {
    match (identifier, parallelism > 1) {
        (Some(id), true) => format!("{id}:{}> ", index + 1),
        (Some(id), false) => format!("{id}> "),
        (None, true) => format!("{}> ", index + 1),
        (None, false) => String::new(),
    }
}

impl<T: Data + FlinkDisplay> Sink<T> for PrintSink<T> {
    type Writer = PrintWriter;
    fn create_writer(&self, context: &SinkWriterContext) -> Result<PrintWriter> {
        Ok(PrintWriter {
            prefix: line_prefix(self.identifier.as_deref(), context.subtask_index, context.parallelism),
            to_stderr: self.to_stderr,
            line: String::new(),
        })
    }
}

/// The writer of [`PrintSink`].
pub struct PrintWriter {
    prefix: String,
    to_stderr: bool,
    line: String,
}

impl<T: FlinkDisplay> SinkWriter<T> for PrintWriter {
    fn write(&mut self, value: T, _timestamp: Option<i64>) -> Result<()> {
        self.line.clear();
        self.line.push_str(&self.prefix);
        value.fmt_flink(&mut self.line);
        self.line.push('\n');
        let written = if self.to_stderr {
            std::io::stderr().lock().write_all(self.line.as_bytes())
        } else {
            std::io::stdout().lock().write_all(self.line.as_bytes())
        };
        written.map_err(|e| FlinkError::Runtime(format!("print sink cannot write: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::line_prefix;

    #[test]
    fn prefixes_follow_flink() {
        assert_eq!(line_prefix(None, 0, 1), "");
        assert_eq!(line_prefix(None, 2, 4), "3> ");
        assert_eq!(line_prefix(Some("out"), 0, 1), "out> ");
        assert_eq!(line_prefix(Some("out"), 1, 2), "out:2> ");
    }
}
