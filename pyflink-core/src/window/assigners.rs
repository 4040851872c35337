//! Window assigners: which windows an element belongs to, whether they follow event or
//! processing time, and which trigger fires them by default.

use std::time::Duration;

use crate::time::{current_processing_time, duration_millis};
use crate::window::triggers::{EventTimeTrigger, NeverTrigger, ProcessingTimeTrigger, Trigger};
use crate::window::windows::{GlobalWindow, TimeWindow, Window};
use crate::{FlinkError, Result};

/// Assigns elements to windows.
pub trait WindowAssigner<T>: Clone + Send + Sync + 'static {
    /// The window type.
    type Window: Window;
    /// The trigger used unless `WindowedStream::trigger` sets another.
    type DefaultTrigger: Trigger<T, Self::Window>;

    /// Appends the windows of `element` (with event timestamp `timestamp`) to `windows`.
    fn assign_windows(&self, element: &T, timestamp: Option<i64>, windows: &mut Vec<Self::Window>) -> Result<()>;

    /// The trigger that fires these windows by default.
    fn default_trigger(&self) -> Self::DefaultTrigger;

    /// Whether windows follow event time (watermarks) rather than the wall clock.
    fn is_event_time(&self) -> bool;

    /// Whether windows of a key can merge (session windows).
    fn is_merging(&self) -> bool {
        false
    }

    /// For merging assigners: groups `windows` into merged windows, each with the indexes of
    /// the windows it covers.
    fn merge_windows(&self, windows: &[Self::Window]) -> Vec<(Self::Window, Vec<usize>)> {
        windows.iter().cloned().enumerate().map(|(i, w)| (w, vec![i])).collect()
    }

    /// Checks the assigner's parameters; the message says what to fix.
    fn validate(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}

/// The error of an event-time window on a record without timestamp.
fn missing_timestamp() -> FlinkError {
    FlinkError::InvalidProgram(
        "a record has no timestamp, but an event-time window needs one; call assign_timestamps_and_watermarks() \
         before the window, or use a processing-time window"
            .into(),
    )
}

fn validate_size_and_offset(kind: &str, size: i64, offset: i64, offset_bound: i64) -> std::result::Result<(), String> {
    if size <= 0 {
        return Err(format!("{kind} needs a size above 0 ms, not {size} ms"));
    }
    if offset.abs() >= offset_bound {
        return Err(format!("{kind} needs |offset| < {offset_bound} ms, not {offset} ms"));
    }
    Ok(())
}

fn tumbling_window(timestamp: i64, size: i64, offset: i64) -> TimeWindow {
    let start = TimeWindow::get_window_start_with_offset(timestamp, offset, size);
    TimeWindow::new(start, start.saturating_add(size))
}

fn sliding_windows(timestamp: i64, size: i64, slide: i64, offset: i64, windows: &mut Vec<TimeWindow>) {
    let mut start = TimeWindow::get_window_start_with_offset(timestamp, offset, slide);
    while start > timestamp - size {
        windows.push(TimeWindow::new(start, start + size));
        start -= slide;
    }
}

/// Tumbling (fixed-size, non-overlapping) windows in event time.
///
/// ```
/// use std::time::Duration;
/// use pyflink_core::window::{TimeWindow, TumblingEventTimeWindows, WindowAssigner};
/// let assigner = TumblingEventTimeWindows::of(Duration::from_millis(5));
/// let mut windows = Vec::new();
/// assigner.assign_windows(&(), Some(7), &mut windows).unwrap();
/// assert_eq!(windows, vec![TimeWindow::new(5, 10)]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TumblingEventTimeWindows {
    size: i64,
    offset: i64,
}

impl TumblingEventTimeWindows {
    /// Windows of length `size`, aligned to the epoch.
    pub fn of(size: Duration) -> Self {
        TumblingEventTimeWindows { size: duration_millis(size), offset: 0 }
    }

    /// Shifts the windows by `offset_millis` (may be negative, for example for time zones);
    /// its magnitude must be below the size.
    pub fn with_offset(mut self, offset_millis: i64) -> Self {
        self.offset = offset_millis;
        self
    }
}

impl<T> WindowAssigner<T> for TumblingEventTimeWindows {
    type Window = TimeWindow;
    type DefaultTrigger = EventTimeTrigger;

    #[inline]
    fn assign_windows(&self, _: &T, timestamp: Option<i64>, windows: &mut Vec<TimeWindow>) -> Result<()> {
        let timestamp = timestamp.ok_or_else(missing_timestamp)?;
        windows.push(tumbling_window(timestamp, self.size, self.offset));
        Ok(())
    }
    fn default_trigger(&self) -> EventTimeTrigger {
        EventTimeTrigger
    }
    fn is_event_time(&self) -> bool {
        true
    }
    fn validate(&self) -> std::result::Result<(), String> {
        validate_size_and_offset("TumblingEventTimeWindows", self.size, self.offset, self.size)
    }
}

/// Tumbling windows in processing time: each element goes to the window of the wall-clock time
/// at which it is processed.
#[derive(Debug, Clone, Copy)]
pub struct TumblingProcessingTimeWindows {
    size: i64,
    offset: i64,
}

impl TumblingProcessingTimeWindows {
    /// Windows of length `size`, aligned to the epoch.
    pub fn of(size: Duration) -> Self {
        TumblingProcessingTimeWindows { size: duration_millis(size), offset: 0 }
    }

    /// Shifts the windows by `offset_millis`; its magnitude must be below the size.
    pub fn with_offset(mut self, offset_millis: i64) -> Self {
        self.offset = offset_millis;
        self
    }
}

impl<T> WindowAssigner<T> for TumblingProcessingTimeWindows {
    type Window = TimeWindow;
    type DefaultTrigger = ProcessingTimeTrigger;

    fn assign_windows(&self, _: &T, _: Option<i64>, windows: &mut Vec<TimeWindow>) -> Result<()> {
        windows.push(tumbling_window(current_processing_time(), self.size, self.offset));
        Ok(())
    }
    fn default_trigger(&self) -> ProcessingTimeTrigger {
        ProcessingTimeTrigger
    }
    fn is_event_time(&self) -> bool {
        false
    }
    fn validate(&self) -> std::result::Result<(), String> {
        validate_size_and_offset("TumblingProcessingTimeWindows", self.size, self.offset, self.size)
    }
}

/// Sliding (fixed-size, overlapping) windows in event time: a window of length `size` starts
/// every `slide`, so each element belongs to `size / slide` windows.
///
/// ```
/// use std::time::Duration;
/// use pyflink_core::window::{SlidingEventTimeWindows, TimeWindow, WindowAssigner};
/// let assigner = SlidingEventTimeWindows::of(Duration::from_millis(5), Duration::from_millis(2));
/// let mut windows = Vec::new();
/// assigner.assign_windows(&(), Some(1), &mut windows).unwrap();
/// assert_eq!(windows, vec![TimeWindow::new(0, 5), TimeWindow::new(-2, 3)]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SlidingEventTimeWindows {
    size: i64,
    slide: i64,
    offset: i64,
}

impl SlidingEventTimeWindows {
    /// Windows of length `size` starting every `slide`.
    pub fn of(size: Duration, slide: Duration) -> Self {
        SlidingEventTimeWindows { size: duration_millis(size), slide: duration_millis(slide), offset: 0 }
    }

    /// Shifts the windows by `offset_millis`; its magnitude must be below the slide.
    pub fn with_offset(mut self, offset_millis: i64) -> Self {
        self.offset = offset_millis;
        self
    }
}

impl<T> WindowAssigner<T> for SlidingEventTimeWindows {
    type Window = TimeWindow;
    type DefaultTrigger = EventTimeTrigger;

    #[inline]
    fn assign_windows(&self, _: &T, timestamp: Option<i64>, windows: &mut Vec<TimeWindow>) -> Result<()> {
        let timestamp = timestamp.ok_or_else(missing_timestamp)?;
        sliding_windows(timestamp, self.size, self.slide, self.offset, windows);
        Ok(())
    }
    fn default_trigger(&self) -> EventTimeTrigger {
        EventTimeTrigger
    }
    fn is_event_time(&self) -> bool {
        true
    }
    fn validate(&self) -> std::result::Result<(), String> {
        if self.slide <= 0 {
            return Err(format!("SlidingEventTimeWindows needs a slide above 0 ms, not {} ms", self.slide));
        }
        validate_size_and_offset("SlidingEventTimeWindows", self.size, self.offset, self.slide)
    }
}

/// Sliding windows in processing time.
#[derive(Debug, Clone, Copy)]
pub struct SlidingProcessingTimeWindows {
    size: i64,
    slide: i64,
    offset: i64,
}

impl SlidingProcessingTimeWindows {
    /// Windows of length `size` starting every `slide`.
    pub fn of(size: Duration, slide: Duration) -> Self {
        SlidingProcessingTimeWindows { size: duration_millis(size), slide: duration_millis(slide), offset: 0 }
    }

    /// Shifts the windows by `offset_millis`; its magnitude must be below the slide.
    pub fn with_offset(mut self, offset_millis: i64) -> Self {
        self.offset = offset_millis;
        self
    }
}

impl<T> WindowAssigner<T> for SlidingProcessingTimeWindows {
    type Window = TimeWindow;
    type DefaultTrigger = ProcessingTimeTrigger;

    fn assign_windows(&self, _: &T, _: Option<i64>, windows: &mut Vec<TimeWindow>) -> Result<()> {
        sliding_windows(current_processing_time(), self.size, self.slide, self.offset, windows);
        Ok(())
    }
    fn default_trigger(&self) -> ProcessingTimeTrigger {
        ProcessingTimeTrigger
    }
    fn is_event_time(&self) -> bool {
        false
    }
    fn validate(&self) -> std::result::Result<(), String> {
        if self.slide <= 0 {
            return Err(format!("SlidingProcessingTimeWindows needs a slide above 0 ms, not {} ms", self.slide));
        }
        validate_size_and_offset("SlidingProcessingTimeWindows", self.size, self.offset, self.slide)
    }
}

/// One window per key that collects every element; it fires only through a custom trigger.
#[derive(Debug, Clone, Copy, Default)]
pub struct GlobalWindows;

impl GlobalWindows {
    /// The global window assigner.
    pub fn create() -> Self {
        GlobalWindows
    }
}

impl<T> WindowAssigner<T> for GlobalWindows {
    type Window = GlobalWindow;
    type DefaultTrigger = NeverTrigger;

    #[inline]
    fn assign_windows(&self, _: &T, _: Option<i64>, windows: &mut Vec<GlobalWindow>) -> Result<()> {
        windows.push(GlobalWindow);
        Ok(())
    }
    fn default_trigger(&self) -> NeverTrigger {
        NeverTrigger
    }
    fn is_event_time(&self) -> bool {
        false
    }
}
