//! Processing time: the wall clock, and how an operator asks its harness to wake it at a time.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The current wall-clock time in milliseconds since the Unix epoch, as Flink's processing time.
pub fn current_processing_time() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Lets an operator instance ask to be called back (`on_processing_time`) once the wall clock
/// reaches a time. Requests combine to the earliest; the harness reads and clears the request
/// before each callback, so the operator registers its next wanted time again in the callback.
#[derive(Debug, Clone)]
pub struct ProcessingTimeService {
    wakeup: Rc<Cell<i64>>,
}

impl Default for ProcessingTimeService {
    fn default() -> Self {
        ProcessingTimeService { wakeup: Rc::new(Cell::new(i64::MAX)) }
    }
}

impl ProcessingTimeService {
    /// The current processing time in milliseconds.
    pub fn current_processing_time(&self) -> i64 {
        current_processing_time()
    }

    /// Asks for a callback once processing time reaches `time`.
    pub fn request_callback(&self, time: i64) {
        if time < self.wakeup.get() {
            self.wakeup.set(time);
        }
    }

    /// The earliest requested callback time, `i64::MAX` when none.
    pub(crate) fn requested(&self) -> i64 {
        self.wakeup.get()
    }

    /// Clears the request before a callback.
    pub(crate) fn take_due(&self, now: i64) -> bool {
        if self.wakeup.get() <= now {
            self.wakeup.set(i64::MAX);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_combine_to_the_earliest_and_clear_when_due() {
        let service = ProcessingTimeService::default();
        let clone = service.clone();
        service.request_callback(50);
        clone.request_callback(20);
        service.request_callback(30);
        assert_eq!(service.requested(), 20);
        assert!(!service.take_due(19));
        assert!(service.take_due(20));
        assert_eq!(service.requested(), i64::MAX);
    }

    #[test]
    fn the_clock_is_wall_time_in_milliseconds() {
        let now = current_processing_time();
        // 2020-01-01 in ms: a sanity bound that catches seconds or nanoseconds.
        assert!(now > 1_577_836_800_000 && now < 10_000_000_000_000, "{now}");
    }
}
