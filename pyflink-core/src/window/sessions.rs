//! Session windows: each element opens a window `[timestamp, timestamp + gap)`, and windows of a
//! key that overlap or touch merge, so a session ends after a gap of inactivity.

use std::time::Duration;

use crate::time::{current_processing_time, duration_millis};
use crate::window::assigners::WindowAssigner;
use crate::window::triggers::{EventTimeTrigger, ProcessingTimeTrigger};
use crate::window::windows::TimeWindow;
use crate::{FlinkError, Result};

fn session_window(timestamp: Option<i64>, gap: i64) -> Result<TimeWindow> {
    let timestamp = timestamp.ok_or_else(|| {
        FlinkError::InvalidProgram(
            "a record has no timestamp, but an event-time session window needs one; call \
             assign_timestamps_and_watermarks() before the window"
                .into(),
        )
    })?;
    Ok(TimeWindow::new(timestamp, timestamp.saturating_add(gap)))
}

fn dynamic_gap(gap: i64) -> Result<i64> {
    if gap <= 0 {
        return Err(FlinkError::user(format!(
            "the session gap extractor returned {gap} ms; dynamic session gaps must be above 0"
        )));
    }
    Ok(gap)
}

fn validate_gap(kind: &str, gap: i64) -> std::result::Result<(), String> {
    if gap <= 0 {
        return Err(format!("{kind} needs a gap above 0 ms, not {gap} ms"));
    }
    Ok(())
}

/// Event-time session windows with a fixed gap.
///
/// ```
/// use std::time::Duration;
/// use pyflink_core::window::{EventTimeSessionWindows, WindowAssigner, TimeWindow};
/// let sessions = EventTimeSessionWindows::with_gap(Duration::from_millis(5));
/// let mut windows = Vec::new();
/// WindowAssigner::<()>::assign_windows(&sessions, &(), Some(3), &mut windows).unwrap();
/// assert_eq!(windows, vec![TimeWindow::new(3, 8)]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct EventTimeSessionWindows {
    gap: i64,
}

impl EventTimeSessionWindows {
    /// Sessions that end after `gap` without elements.
    pub fn with_gap(gap: Duration) -> Self {
        EventTimeSessionWindows { gap: duration_millis(gap) }
    }

    /// Sessions whose gap after each element `extractor` computes, in milliseconds.
    pub fn with_dynamic_gap<T, F: Fn(&T) -> i64 + Clone + Send + Sync + 'static>(
        extractor: F,
    ) -> DynamicEventTimeSessionWindows<F> {
        DynamicEventTimeSessionWindows { extractor }
    }
}

impl<T> WindowAssigner<T> for EventTimeSessionWindows {
    type Window = TimeWindow;
    type DefaultTrigger = EventTimeTrigger;

    fn assign_windows(&self, _: &T, timestamp: Option<i64>, windows: &mut Vec<TimeWindow>) -> Result<()> {
        windows.push(session_window(timestamp, self.gap)?);
        Ok(())
    }
    fn default_trigger(&self) -> EventTimeTrigger {
        EventTimeTrigger
    }
    fn is_event_time(&self) -> bool {
        true
    }
    fn is_merging(&self) -> bool {
        true
    }
    fn merge_windows(&self, windows: &[TimeWindow]) -> Vec<(TimeWindow, Vec<usize>)> {
        TimeWindow::merge_windows(windows)
    }
    fn validate(&self) -> std::result::Result<(), String> {
        validate_gap("EventTimeSessionWindows", self.gap)
    }
}

/// Event-time session windows whose gap depends on the element.
#[derive(Debug, Clone, Copy)]
pub struct DynamicEventTimeSessionWindows<F> {
    extractor: F,
}

impl<T, F: Fn(&T) -> i64 + Clone + Send + Sync + 'static> WindowAssigner<T> for DynamicEventTimeSessionWindows<F> {
    type Window = TimeWindow;
    type DefaultTrigger = EventTimeTrigger;

    fn assign_windows(&self, element: &T, timestamp: Option<i64>, windows: &mut Vec<TimeWindow>) -> Result<()> {
        let gap = dynamic_gap((self.extractor)(element))?;
        windows.push(session_window(timestamp, gap)?);
        Ok(())
    }
    fn default_trigger(&self) -> EventTimeTrigger {
        EventTimeTrigger
    }
    fn is_event_time(&self) -> bool {
        true
    }
    fn is_merging(&self) -> bool {
        true
    }
    fn merge_windows(&self, windows: &[TimeWindow]) -> Vec<(TimeWindow, Vec<usize>)> {
        TimeWindow::merge_windows(windows)
    }
}

/// Processing-time session windows with a fixed gap.
#[derive(Debug, Clone, Copy)]
pub struct ProcessingTimeSessionWindows {
    gap: i64,
}

impl ProcessingTimeSessionWindows {
    /// Sessions that end after `gap` of wall-clock time without elements.
    pub fn with_gap(gap: Duration) -> Self {
        ProcessingTimeSessionWindows { gap: duration_millis(gap) }
    }

    /// Sessions whose gap after each element `extractor` computes, in milliseconds.
    pub fn with_dynamic_gap<T, F: Fn(&T) -> i64 + Clone + Send + Sync + 'static>(
        extractor: F,
    ) -> DynamicProcessingTimeSessionWindows<F> {
        DynamicProcessingTimeSessionWindows { extractor }
    }
}

impl<T> WindowAssigner<T> for ProcessingTimeSessionWindows {
    type Window = TimeWindow;
    type DefaultTrigger = ProcessingTimeTrigger;

    fn assign_windows(&self, _: &T, _: Option<i64>, windows: &mut Vec<TimeWindow>) -> Result<()> {
        let now = current_processing_time();
        windows.push(TimeWindow::new(now, now.saturating_add(self.gap)));
        Ok(())
    }
    fn default_trigger(&self) -> ProcessingTimeTrigger {
        ProcessingTimeTrigger
    }
    fn is_event_time(&self) -> bool {
        false
    }
    fn is_merging(&self) -> bool {
        true
    }
    fn merge_windows(&self, windows: &[TimeWindow]) -> Vec<(TimeWindow, Vec<usize>)> {
        TimeWindow::merge_windows(windows)
    }
    fn validate(&self) -> std::result::Result<(), String> {
        validate_gap("ProcessingTimeSessionWindows", self.gap)
    }
}

/// Processing-time session windows whose gap depends on the element.
#[derive(Debug, Clone, Copy)]
pub struct DynamicProcessingTimeSessionWindows<F> {
    extractor: F,
}

impl<T, F: Fn(&T) -> i64 + Clone + Send + Sync + 'static> WindowAssigner<T> for DynamicProcessingTimeSessionWindows<F> {
    type Window = TimeWindow;
    type DefaultTrigger = ProcessingTimeTrigger;

    fn assign_windows(&self, element: &T, _: Option<i64>, windows: &mut Vec<TimeWindow>) -> Result<()> {
        let gap = dynamic_gap((self.extractor)(element))?;
        let now = current_processing_time();
        windows.push(TimeWindow::new(now, now.saturating_add(gap)));
        Ok(())
    }
    fn default_trigger(&self) -> ProcessingTimeTrigger {
        ProcessingTimeTrigger
    }
    fn is_event_time(&self) -> bool {
        false
    }
    fn is_merging(&self) -> bool {
        true
    }
    fn merge_windows(&self, windows: &[TimeWindow]) -> Vec<(TimeWindow, Vec<usize>)> {
        TimeWindow::merge_windows(windows)
    }
}
