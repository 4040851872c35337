//! Evictors remove elements from a window before or after its function runs. A window with an
//! evictor keeps all its elements (no incremental aggregation), as in Flink.

use std::time::Duration;

use crate::time::duration_millis;

/// An element in a window with its timestamp.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TimestampedValue<T> {
    /// The element.
    pub value: T,
    /// Its event timestamp, if it has one.
    pub timestamp: Option<i64>,
}

/// The time an evictor is called at.
#[derive(Debug, Clone, Copy)]
pub struct EvictorContext {
    /// The operator's current watermark.
    pub current_watermark: i64,
    /// The current processing time.
    pub current_processing_time: i64,
}

/// Removes elements of a window when it fires.
pub trait Evictor<T, W>: Send + Sync + 'static {
    /// Called before the window function, with the window's elements in arrival order.
    fn evict_before(&self, elements: &mut Vec<TimestampedValue<T>>, window: &W, ctx: &EvictorContext);

    /// Called after the window function.
    fn evict_after(&self, elements: &mut Vec<TimestampedValue<T>>, window: &W, ctx: &EvictorContext);
}

/// Keeps at most `max_count` elements, dropping the oldest.
#[derive(Debug, Clone, Copy)]
pub struct CountEvictor {
    max_count: usize,
    after: bool,
}

impl CountEvictor {
    /// Keeps the last `max_count` elements, evicting before the window function.
    pub fn of(max_count: usize) -> Self {
        CountEvictor { max_count, after: false }
    }

    /// As [`CountEvictor::of`], evicting after the window function if `do_evict_after`.
    pub fn of_with_evict_after(max_count: usize, do_evict_after: bool) -> Self {
        CountEvictor { max_count, after: do_evict_after }
    }

    fn evict<T>(&self, elements: &mut Vec<TimestampedValue<T>>) {
        if elements.len() > self.max_count {
            elements.drain(..elements.len() - self.max_count);
        }
    }
}

impl<T: 'static, W> Evictor<T, W> for CountEvictor {
    fn evict_before(&self, elements: &mut Vec<TimestampedValue<T>>, _: &W, _: &EvictorContext) {
        if !self.after {
            self.evict(elements);
        }
    }
    fn evict_after(&self, elements: &mut Vec<TimestampedValue<T>>, _: &W, _: &EvictorContext) {
        if self.after {
            self.evict(elements);
        }
    }
}

/// Keeps the elements within `window_size` of the newest element's timestamp: elements with a
/// timestamp at or below `newest - window_size` are evicted.
#[derive(Debug, Clone, Copy)]
pub struct TimeEvictor {
    window_size: i64,
    after: bool,
}

impl TimeEvictor {
    /// Evicts elements older than `window_size` before the window function.
    pub fn of(window_size: Duration) -> Self {
        TimeEvictor { window_size: duration_millis(window_size), after: false }
    }

    /// As [`TimeEvictor::of`], evicting after the window function if `do_evict_after`.
    pub fn of_with_evict_after(window_size: Duration, do_evict_after: bool) -> Self {
        TimeEvictor { window_size: duration_millis(window_size), after: do_evict_after }
    }

    fn evict<T>(&self, elements: &mut Vec<TimestampedValue<T>>) {
        let Some(newest) = elements.iter().filter_map(|e| e.timestamp).max() else {
            return;
        };
        let cutoff = newest - self.window_size;
        elements.retain(|e| e.timestamp.is_none_or(|ts| ts > cutoff));
    }
}

impl<T: 'static, W> Evictor<T, W> for TimeEvictor {
    fn evict_before(&self, elements: &mut Vec<TimestampedValue<T>>, _: &W, _: &EvictorContext) {
        if !self.after {
            self.evict(elements);
        }
    }
    fn evict_after(&self, elements: &mut Vec<TimestampedValue<T>>, _: &W, _: &EvictorContext) {
        if self.after {
            self.evict(elements);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(timestamps: &[i64]) -> Vec<TimestampedValue<i64>> {
        timestamps.iter().map(|&t| TimestampedValue { value: t, timestamp: Some(t) }).collect()
    }

    const CTX: EvictorContext = EvictorContext { current_watermark: 0, current_processing_time: 0 };

    #[test]
    fn count_evictor_keeps_the_newest() {
        let mut elements = values(&[1, 2, 3, 4]);
        Evictor::<i64, ()>::evict_before(&CountEvictor::of(2), &mut elements, &(), &CTX);
        assert_eq!(elements, values(&[3, 4]));
        let after = CountEvictor::of_with_evict_after(1, true);
        Evictor::<i64, ()>::evict_before(&after, &mut elements, &(), &CTX);
        assert_eq!(elements.len(), 2, "an evict-after evictor does nothing before");
        Evictor::<i64, ()>::evict_after(&after, &mut elements, &(), &CTX);
        assert_eq!(elements, values(&[4]));
    }

    #[test]
    fn time_evictor_drops_elements_at_or_below_the_cutoff() {
        let mut elements = values(&[10, 1, 5, 6, 9]);
        Evictor::<i64, ()>::evict_before(&TimeEvictor::of(Duration::from_millis(5)), &mut elements, &(), &CTX);
        assert_eq!(elements, values(&[10, 6, 9]));
    }
}
