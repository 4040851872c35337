//! The built-in watermark generators behind [`WatermarkStrategy`](super::WatermarkStrategy).

use crate::time::processing_time::current_processing_time;
use crate::time::watermark_strategy::{WatermarkGenerator, WatermarkOutput};

/// Emits, periodically, the highest timestamp seen minus a fixed delay minus one millisecond:
/// events may arrive up to `delay` milliseconds out of order.
#[derive(Debug, Clone)]
pub(crate) struct BoundedOutOfOrderness {
    max_timestamp: i64,
    delay: i64,
}

impl BoundedOutOfOrderness {
    pub(crate) fn new(delay: i64) -> Self {
        // Start so that the first periodic watermark, before any event, is the lowest possible.
        BoundedOutOfOrderness { max_timestamp: i64::MIN.saturating_add(delay).saturating_add(1), delay }
    }
}

impl<T> WatermarkGenerator<T> for BoundedOutOfOrderness {
    #[inline]
    fn on_event(&mut self, _event: &T, event_timestamp: i64, _output: &mut WatermarkOutput) {
        if event_timestamp > self.max_timestamp {
            self.max_timestamp = event_timestamp;
        }
    }

    fn on_periodic_emit(&mut self, output: &mut WatermarkOutput) {
        let watermark = self.max_timestamp.saturating_sub(self.delay).saturating_sub(1);
        if watermark > i64::MIN {
            output.emit_watermark(watermark);
        }
    }
}

/// Never emits a watermark.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoWatermarks;

impl<T> WatermarkGenerator<T> for NoWatermarks {
    fn on_event(&mut self, _event: &T, _event_timestamp: i64, _output: &mut WatermarkOutput) {}
    fn on_periodic_emit(&mut self, _output: &mut WatermarkOutput) {}
}

/// Wraps a generator and marks the output idle when no event arrived for `timeout` ms of
/// processing time, measured between periodic emits (so detection takes up to one interval
/// longer than the timeout, as in Flink).
pub(crate) struct WithIdleness<T> {
    inner: Box<dyn WatermarkGenerator<T>>,
    timeout: i64,
    events: u64,
    events_at_last_check: u64,
    inactive_since: Option<i64>,
    clock: fn() -> i64,
}

impl<T> WithIdleness<T> {
    pub(crate) fn new(inner: Box<dyn WatermarkGenerator<T>>, timeout: i64) -> Self {
        Self::with_clock(inner, timeout, current_processing_time)
    }

    fn with_clock(inner: Box<dyn WatermarkGenerator<T>>, timeout: i64, clock: fn() -> i64) -> Self {
        WithIdleness { inner, timeout, events: 0, events_at_last_check: 0, inactive_since: None, clock }
    }

    fn is_idle(&mut self) -> bool {
        if self.events != self.events_at_last_check {
            self.events_at_last_check = self.events;
            self.inactive_since = None;
            return false;
        }
        let now = (self.clock)();
        let since = *self.inactive_since.get_or_insert(now);
        now - since >= self.timeout
    }
}

impl<T: 'static> WatermarkGenerator<T> for WithIdleness<T> {
    #[inline]
    fn on_event(&mut self, event: &T, event_timestamp: i64, output: &mut WatermarkOutput) {
        self.events += 1;
        self.inner.on_event(event, event_timestamp, output);
    }

    fn on_periodic_emit(&mut self, output: &mut WatermarkOutput) {
        if self.is_idle() {
            output.mark_idle();
        } else {
            output.mark_active();
            self.inner.on_periodic_emit(output);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::time::watermark_strategy::WatermarkEvent;

    thread_local! {
        static NOW: Cell<i64> = const { Cell::new(0) };
    }

    fn fake_clock() -> i64 {
        NOW.with(Cell::get)
    }

    #[test]
    fn idleness_marks_idle_after_the_timeout_and_active_on_the_next_event() {
        let inner: Box<dyn WatermarkGenerator<()>> = Box::new(BoundedOutOfOrderness::new(0));
        let mut generator = WithIdleness::with_clock(inner, 1000, fake_clock);
        let mut out = WatermarkOutput::default();
        generator.on_event(&(), 50, &mut out);
        generator.on_periodic_emit(&mut out);
        NOW.with(|n| n.set(500));
        generator.on_periodic_emit(&mut out);
        assert!(!out.is_idle(), "inactive for 0 ms at the first quiet check");
        NOW.with(|n| n.set(1400));
        generator.on_periodic_emit(&mut out);
        assert!(!out.is_idle(), "inactive for 900 ms");
        NOW.with(|n| n.set(1500));
        generator.on_periodic_emit(&mut out);
        assert!(out.is_idle(), "inactive for 1000 ms");
        generator.on_event(&(), 60, &mut out);
        generator.on_periodic_emit(&mut out);
        assert!(!out.is_idle());
        let events: Vec<_> = out.drain().collect();
        assert_eq!(
            events,
            vec![
                WatermarkEvent::Watermark(49),
                WatermarkEvent::Idle(true),
                WatermarkEvent::Idle(false),
                WatermarkEvent::Watermark(59)
            ]
        );
    }
}
