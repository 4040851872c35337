//! Closing operators whose task stops before its input ends (a cancelled or failed job).
//!
//! An operator is closed once, whatever ends it, as Flink does since FLIP-147: at the end of its
//! input by its task, or, when the job stops early, as the task is dropped with its dataflow on
//! the worker thread. So a user function's `close()` always follows its `open()`, and a sink
//! writer's `close()` (which aborts an open Kafka transaction) runs on cancellation too.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::runtime::job::panic_message;
use crate::Result;

/// Where an operator instance is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Not opened yet: nothing to close.
    Created,
    /// Opened and not closed.
    Open,
    /// Closed.
    Closed,
}

/// Closes an instance still open as its task is dropped. The job is already stopping, so an
/// error or a panic of `close` is logged rather than raised.
pub(crate) fn close_at_teardown(stage: Stage, operator: &str, subtask: usize, close: impl FnOnce() -> Result<()>) {
    // A task dropped while its thread unwinds must not panic again.
    if stage != Stage::Open || std::thread::panicking() {
        return;
    }
    match catch_unwind(AssertUnwindSafe(close)) {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(operator, subtask, %error, "closing an operator of a stopped task failed")
        }
        Err(payload) => {
            let panic = panic_message(payload.as_ref());
            tracing::warn!(operator, subtask, %panic, "closing an operator of a stopped task panicked")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FlinkError;

    #[test]
    fn only_an_open_instance_is_closed_and_its_failures_are_contained() {
        let mut calls = 0;
        close_at_teardown(Stage::Created, "op", 0, || {
            calls += 1;
            Ok(())
        });
        close_at_teardown(Stage::Closed, "op", 0, || {
            calls += 1;
            Ok(())
        });
        assert_eq!(calls, 0);
        close_at_teardown(Stage::Open, "op", 0, || Err(FlinkError::Runtime("broken".into())));
        close_at_teardown(Stage::Open, "op", 0, || panic!("close panicked"));
        close_at_teardown(Stage::Open, "op", 0, || {
            calls += 1;
            Ok(())
        });
        assert_eq!(calls, 1);
    }
}
