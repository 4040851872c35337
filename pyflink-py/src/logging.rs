//! The engine's `tracing` events as records of Python's `logging`, so that Python programs see
//! warnings such as a restart or a lost transaction where they see their own logs.
//!
//! An event of target `pyflink_core::runtime::job` goes to the logger
//! `pyflink_rs.pyflink_core.runtime.job` at the matching level (ERROR, WARNING, INFO, DEBUG,
//! and 5 for TRACE): configuring the logger `pyflink_rs` configures them all. Its message is the
//! event's message followed by its fields (`key=value`). Events at INFO and above are
//! forwarded (the engine emits them rarely: restarts, completed checkpoints, warnings), each
//! taking the interpreter briefly to ask the logger whether it is enabled for the level.
//! Rust programs keep `tracing`'s own model: they see events through a subscriber they
//! install (such as `tracing_subscriber::fmt`, which prints to stderr).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

use pyo3::prelude::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// The Python level of a tracing level.
fn python_level(level: &Level) -> u32 {
    match *level {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        Level::DEBUG => 10,
        Level::TRACE => 5,
    }
}

/// Writes an event's message and fields as text.
#[derive(Default)]
struct EventText {
    message: String,
    fields: String,
}

impl Visit for EventText {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let separator = if self.fields.is_empty() { "" } else { ", " };
            let _ = write!(self.fields, "{separator}{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let separator = if self.fields.is_empty() { "" } else { ", " };
            let _ = write!(self.fields, "{separator}{}={value}", field.name());
        }
    }
}

impl EventText {
    fn into_text(self) -> String {
        match self.fields.is_empty() {
            true => self.message,
            false => format!("{} ({})", self.message, self.fields),
        }
    }
}

/// Forwards events to Python's `logging`. Spans are not used by the engine; they get ids and
/// are otherwise ignored.
struct PythonLogging {
    next_span: AtomicU64,
}

impl Subscriber for PythonLogging {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::INFO
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::INFO)
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed).max(1))
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        let mut text = EventText::default();
        event.record(&mut text);
        let logger = format!("pyflink_rs.{}", metadata.target().replace("::", "."));
        log(&logger, python_level(metadata.level()), &text.into_text());
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

/// Logs `message` at `level` to the Python logger `logger`, if the interpreter is running.
fn log(logger: &str, level: u32, message: &str) {
    // SAFETY: Py_IsInitialized only reads the interpreter's state.
    if unsafe { pyo3::ffi::Py_IsInitialized() } == 0 {
        return;
    }
    Python::attach(|py| {
        let logged = (|| -> PyResult<()> {
            if py.import("sys")?.call_method0("is_finalizing")?.is_truthy()? {
                return Ok(());
            }
            let logger = py.import("logging")?.call_method1("getLogger", (logger,))?;
            if logger.call_method1("isEnabledFor", (level,))?.is_truthy()? {
                logger.call_method1("log", (level, message))?;
            }
            Ok(())
        })();
        // Logging must not fail the engine; a broken logging setup shows on stderr instead.
        if let Err(error) = logged {
            eprintln!("pyflink-rs: cannot log to Python ({error}): {message}");
        }
    });
}

/// Makes Python's `logging` the destination of the engine's events, once per process, unless
/// the application installed a subscriber of its own first.
pub(crate) fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        // Refused when another global subscriber exists: that one keeps the events.
        let _ = tracing::subscriber::set_global_default(PythonLogging { next_span: AtomicU64::new(1) });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_as_its_message_and_fields() {
        let mut text = EventText::default();
        text.record_str(&field("message"), "job failed; restarting");
        text.record_str(&field("job"), "counts");
        text.record_debug(&field("restart"), &2);
        assert_eq!(text.into_text(), "job failed; restarting (job=counts, restart=2)");
        assert_eq!(python_level(&Level::WARN), 30);
    }

    /// A field of a callsite with the fields the test uses.
    fn field(name: &str) -> Field {
        static CALLSITE: tracing::callsite::DefaultCallsite = tracing::callsite::DefaultCallsite::new(&META);
        static META: Metadata<'static> = tracing::metadata!(
            name: "test",
            target: "test",
            level: Level::INFO,
            fields: &["message", "job", "restart"],
            callsite: &CALLSITE,
            kind: tracing::metadata::Kind::EVENT,
        );
        META.fields().field(name).expect("a field of the test callsite")
    }
}
