//! Window assigners: which windows an element belongs to, whether they follow event or
//! processing time, and which trigger fires them by default.

use std::fmt::Debug;
use std::marker::PhantomData;
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
    /// the windows it covers; an error fails the task (an assigner in user code).
    fn merge_windows(&self, windows: &[Self::Window]) -> Result<Vec<(Self::Window, Vec<usize>)>> {
        Ok(windows.iter().cloned().enumerate().map(|(i, w)| (w, vec![i])).collect())
    }

    /// Checks the assigner's parameters; the message says what to fix.
    fn validate(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}

/// The clock time windows follow: [`EventTime`] (the records' timestamps and the watermark) or
/// [`ProcessingTime`] (the wall clock when a record is processed).
pub trait WindowTime: Debug + Clone + Copy + Send + Sync + 'static {
    /// The trigger that fires windows when this clock passes their end.
    type Trigger: Default + Clone + Send + Sync + 'static;
    /// Whether windows follow event time.
    const IS_EVENT_TIME: bool;
    /// `EventTime` or `ProcessingTime`, as in the names of Flink's assigners.
    const NAME: &'static str;

    /// The time an element is placed at: its event timestamp (none if it has none), or the
    /// current processing time.
    fn time_of(timestamp: Option<i64>) -> Option<i64>;
}

/// Windows follow the records' event timestamps and fire on the watermark.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventTime;

impl WindowTime for EventTime {
    type Trigger = EventTimeTrigger;
    const IS_EVENT_TIME: bool = true;
    const NAME: &'static str = "EventTime";

    #[inline]
    fn time_of(timestamp: Option<i64>) -> Option<i64> {
        timestamp
    }
}

/// Windows follow the wall clock at which records are processed.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessingTime;

impl WindowTime for ProcessingTime {
    type Trigger = ProcessingTimeTrigger;
    const IS_EVENT_TIME: bool = false;
    const NAME: &'static str = "ProcessingTime";

    fn time_of(_: Option<i64>) -> Option<i64> {
        Some(current_processing_time())
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

/// Tumbling (fixed-size, non-overlapping) windows on the clock `D`; use
/// [`TumblingEventTimeWindows`] or [`TumblingProcessingTimeWindows`].
#[derive(Debug, Clone, Copy)]
pub struct TumblingWindows<D> {
    size: i64,
    offset: i64,
    _time: PhantomData<D>,
}

/// Tumbling windows in event time.
///
/// ```
/// use std::time::Duration;
/// use pyflink_core::window::{TimeWindow, TumblingEventTimeWindows, WindowAssigner};
/// let assigner = TumblingEventTimeWindows::of(Duration::from_millis(5));
/// let mut windows = Vec::new();
/// assigner.assign_windows(&(), Some(7), &mut windows).unwrap();
/// assert_eq!(windows, vec![TimeWindow::new(5, 10)]);
/// ```
pub type TumblingEventTimeWindows = TumblingWindows<EventTime>;

/// Tumbling windows in processing time: each element goes to the window of the wall-clock time
/// at which it is processed.
pub type TumblingProcessingTimeWindows = TumblingWindows<ProcessingTime>;

impl<D: WindowTime> TumblingWindows<D> {
    /// Windows of length `size`, aligned to the epoch.
    pub fn of(size: Duration) -> Self {
        TumblingWindows { size: duration_millis(size), offset: 0, _time: PhantomData }
    }

    /// Shifts the windows by `offset_millis` (may be negative, for example for time zones);
    /// its magnitude must be below the size.
    pub fn with_offset(mut self, offset_millis: i64) -> Self {
        self.offset = offset_millis;
        self
    }
}

impl<T, D: WindowTime> WindowAssigner<T> for TumblingWindows<D>
where
    D::Trigger: Trigger<T, TimeWindow>,
{
    type Window = TimeWindow;
    type DefaultTrigger = D::Trigger;

    #[inline]
    fn assign_windows(&self, _: &T, timestamp: Option<i64>, windows: &mut Vec<TimeWindow>) -> Result<()> {
        let time = D::time_of(timestamp).ok_or_else(missing_timestamp)?;
        let start = TimeWindow::get_window_start_with_offset(time, self.offset, self.size);
        windows.push(TimeWindow::new(start, start.saturating_add(self.size)));
        Ok(())
    }
    fn default_trigger(&self) -> D::Trigger {
        D::Trigger::default()
    }
    fn is_event_time(&self) -> bool {
        D::IS_EVENT_TIME
    }
    fn validate(&self) -> std::result::Result<(), String> {
        validate_size_and_offset(&format!("Tumbling{}Windows", D::NAME), self.size, self.offset, self.size)
    }
}

/// Sliding (fixed-size, overlapping) windows on the clock `D`: a window of length `size`
/// starts every `slide`, so each element belongs to `size / slide` windows. Use
/// [`SlidingEventTimeWindows`] or [`SlidingProcessingTimeWindows`].
#[derive(Debug, Clone, Copy)]
pub struct SlidingWindows<D> {
    size: i64,
    slide: i64,
    offset: i64,
    _time: PhantomData<D>,
}

/// Sliding windows in event time.
///
/// ```
/// use std::time::Duration;
/// use pyflink_core::window::{SlidingEventTimeWindows, TimeWindow, WindowAssigner};
/// let assigner = SlidingEventTimeWindows::of(Duration::from_millis(5), Duration::from_millis(2));
/// let mut windows = Vec::new();
/// assigner.assign_windows(&(), Some(1), &mut windows).unwrap();
/// assert_eq!(windows, vec![TimeWindow::new(0, 5), TimeWindow::new(-2, 3)]);
/// ```
pub type SlidingEventTimeWindows = SlidingWindows<EventTime>;

/// Sliding windows in processing time.
pub type SlidingProcessingTimeWindows = SlidingWindows<ProcessingTime>;

impl<D: WindowTime> SlidingWindows<D> {
    /// Windows of length `size` starting every `slide`.
    pub fn of(size: Duration, slide: Duration) -> Self {
        SlidingWindows { size: duration_millis(size), slide: duration_millis(slide), offset: 0, _time: PhantomData }
    }

    /// Shifts the windows by `offset_millis`; its magnitude must be below the slide.
    pub fn with_offset(mut self, offset_millis: i64) -> Self {
        self.offset = offset_millis;
        self
    }
}

impl<T, D: WindowTime> WindowAssigner<T> for SlidingWindows<D>
where
    D::Trigger: Trigger<T, TimeWindow>,
{
    type Window = TimeWindow;
    type DefaultTrigger = D::Trigger;

    #[inline]
    fn assign_windows(&self, _: &T, timestamp: Option<i64>, windows: &mut Vec<TimeWindow>) -> Result<()> {
        let time = D::time_of(timestamp).ok_or_else(missing_timestamp)?;
        let mut start = TimeWindow::get_window_start_with_offset(time, self.offset, self.slide);
        while start > time - self.size {
            windows.push(TimeWindow::new(start, start + self.size));
            start -= self.slide;
        }
        Ok(())
    }
    fn default_trigger(&self) -> D::Trigger {
        D::Trigger::default()
    }
    fn is_event_time(&self) -> bool {
        D::IS_EVENT_TIME
    }
    fn validate(&self) -> std::result::Result<(), String> {
        let kind = format!("Sliding{}Windows", D::NAME);
        if self.slide <= 0 {
            return Err(format!("{kind} needs a slide above 0 ms, not {} ms", self.slide));
        }
        validate_size_and_offset(&kind, self.size, self.offset, self.slide)
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
