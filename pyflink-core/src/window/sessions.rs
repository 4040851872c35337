//! Session windows: each element opens a window `[time, time + gap)`, and windows of a key that
//! overlap or touch merge, so a session ends after a gap of inactivity.

use std::marker::PhantomData;
use std::time::Duration;

use crate::time::duration_millis;
use crate::window::assigners::{EventTime, ProcessingTime, WindowAssigner, WindowTime};
use crate::window::triggers::Trigger;
use crate::window::windows::TimeWindow;
use crate::{FlinkError, Result};

/// The gap that ends a session after an element: fixed ([`FixedGap`]) or computed from the
/// element ([`DynamicGap`]).
pub trait SessionGap<T>: Clone + Send + Sync + 'static {
    /// The gap after `element`, in milliseconds.
    fn gap(&self, element: &T) -> Result<i64>;

    /// Checks the gap's parameters; the message says what to fix.
    fn validate(&self, _kind: &str) -> std::result::Result<(), String> {
        Ok(())
    }
}

/// The same gap after every element.
#[derive(Debug, Clone, Copy)]
pub struct FixedGap(i64);

impl<T> SessionGap<T> for FixedGap {
    #[inline]
    fn gap(&self, _: &T) -> Result<i64> {
        Ok(self.0)
    }

    fn validate(&self, kind: &str) -> std::result::Result<(), String> {
        if self.0 <= 0 {
            return Err(format!("{kind} needs a gap above 0 ms, not {} ms", self.0));
        }
        Ok(())
    }
}

/// A gap an extractor computes from each element, in milliseconds (Flink's
/// `SessionWindowTimeGapExtractor`).
#[derive(Debug, Clone, Copy)]
pub struct DynamicGap<F>(F);

impl<T, F: Fn(&T) -> i64 + Clone + Send + Sync + 'static> SessionGap<T> for DynamicGap<F> {
    fn gap(&self, element: &T) -> Result<i64> {
        let gap = (self.0)(element);
        if gap <= 0 {
            return Err(FlinkError::user(format!(
                "the session gap extractor returned {gap} ms; dynamic session gaps must be above 0"
            )));
        }
        Ok(gap)
    }
}

/// Session windows on the clock `D` with the gap `G`; use [`EventTimeSessionWindows`] or
/// [`ProcessingTimeSessionWindows`] and their `with_dynamic_gap` forms.
#[derive(Debug, Clone, Copy)]
pub struct SessionWindows<D, G> {
    gap: G,
    _time: PhantomData<D>,
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
pub type EventTimeSessionWindows = SessionWindows<EventTime, FixedGap>;

/// Event-time session windows whose gap depends on the element.
pub type DynamicEventTimeSessionWindows<F> = SessionWindows<EventTime, DynamicGap<F>>;

/// Processing-time session windows with a fixed gap.
pub type ProcessingTimeSessionWindows = SessionWindows<ProcessingTime, FixedGap>;

/// Processing-time session windows whose gap depends on the element.
pub type DynamicProcessingTimeSessionWindows<F> = SessionWindows<ProcessingTime, DynamicGap<F>>;

impl<D: WindowTime> SessionWindows<D, FixedGap> {
    /// Sessions that end after `gap` without elements.
    pub fn with_gap(gap: Duration) -> Self {
        SessionWindows { gap: FixedGap(duration_millis(gap)), _time: PhantomData }
    }

    /// Sessions whose gap after each element `extractor` computes, in milliseconds.
    pub fn with_dynamic_gap<T, F: Fn(&T) -> i64 + Clone + Send + Sync + 'static>(
        extractor: F,
    ) -> SessionWindows<D, DynamicGap<F>> {
        SessionWindows { gap: DynamicGap(extractor), _time: PhantomData }
    }
}

impl<T, D: WindowTime, G: SessionGap<T>> WindowAssigner<T> for SessionWindows<D, G>
where
    D::Trigger: Trigger<T, TimeWindow>,
{
    type Window = TimeWindow;
    type DefaultTrigger = D::Trigger;

    fn assign_windows(&self, element: &T, timestamp: Option<i64>, windows: &mut Vec<TimeWindow>) -> Result<()> {
        let gap = self.gap.gap(element)?;
        let time = D::time_of(timestamp).ok_or_else(|| {
            FlinkError::InvalidProgram(
                "a record has no timestamp, but an event-time session window needs one; call \
                 assign_timestamps_and_watermarks() before the window"
                    .into(),
            )
        })?;
        windows.push(TimeWindow::new(time, time.saturating_add(gap)));
        Ok(())
    }
    fn default_trigger(&self) -> D::Trigger {
        D::Trigger::default()
    }
    fn is_event_time(&self) -> bool {
        D::IS_EVENT_TIME
    }
    fn is_merging(&self) -> bool {
        true
    }
    fn merge_windows(&self, windows: &[TimeWindow]) -> Result<Vec<(TimeWindow, Vec<usize>)>> {
        Ok(TimeWindow::merge_windows(windows))
    }
    fn validate(&self) -> std::result::Result<(), String> {
        self.gap.validate(&format!("{}SessionWindows", D::NAME))
    }
}
