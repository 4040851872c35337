//! The `print` connector: a sink that prints every row with its change kind (`+I[1, Hi]`,
//! `-U[...]`), prefixed as Flink's print sinks prefix lines (`id:2> `).

use std::io::Write;

use pyflink_core::sinks::{line_prefix, Sink, SinkWriter, SinkWriterContext};
use pyflink_core::{DataStream, FlinkError};

use crate::batch::{batch_to_rows, ChangeBatch};
use crate::connectors::{TableConnector, TableContext};
use crate::error::Result;

/// Prints what is inserted into its tables. Options: `print-identifier` (a prefix for every
/// line), `standard-error` (`true` to print to standard error) and `sink.parallelism`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrintConnector;

const OPTIONS: &[&str] = &["print-identifier", "standard-error", "sink.parallelism"];

impl TableConnector for PrintConnector {
    fn identifier(&self) -> &str {
        "print"
    }

    fn sink(&self, context: &TableContext<'_>, rows: DataStream<ChangeBatch>) -> Result<()> {
        context.reject_metadata("print")?;
        context.check_options("print", &|key| OPTIONS.contains(&key), OPTIONS)?;
        let sink = PrintRows {
            identifier: context.options.get("print-identifier").cloned(),
            to_stderr: context.option("standard-error", false)?,
        };
        let parallelism: usize = context.option("sink.parallelism", 0)?;
        let added = rows.sink_to(sink).name(&format!("Sink: {}[print]", context.table_name));
        if parallelism > 0 {
            added.set_parallelism(parallelism);
        }
        Ok(())
    }
}

/// The sink of a `print` table.
#[derive(Debug, Clone)]
struct PrintRows {
    identifier: Option<String>,
    to_stderr: bool,
}

impl Sink<ChangeBatch> for PrintRows {
    type Writer = PrintRowsWriter;

    fn create_writer(&self, context: &SinkWriterContext) -> pyflink_core::Result<PrintRowsWriter> {
        Ok(PrintRowsWriter {
            prefix: line_prefix(self.identifier.as_deref(), context.subtask_index, context.parallelism),
            to_stderr: self.to_stderr,
            text: String::new(),
        })
    }
}

struct PrintRowsWriter {
    prefix: String,
    to_stderr: bool,
    /// The lines of one batch, written at once.
    text: String,
}

impl SinkWriter<ChangeBatch> for PrintRowsWriter {
    fn write(&mut self, batch: ChangeBatch, _timestamp: Option<i64>) -> pyflink_core::Result<()> {
        use std::fmt::Write as _;
        self.text.clear();
        for row in batch_to_rows(&batch).map_err(|e| FlinkError::Runtime(e.to_string()))? {
            let _ = writeln!(self.text, "{}{row}", self.prefix);
        }
        let written = if self.to_stderr {
            std::io::stderr().lock().write_all(self.text.as_bytes())
        } else {
            std::io::stdout().lock().write_all(self.text.as_bytes())
        };
        written.map_err(|e| FlinkError::Runtime(format!("printing rows failed: {e}")))
    }
}
