//! The windows elements are grouped into: [`TimeWindow`] (a half-open time interval) and
//! [`GlobalWindow`] (one window holding everything, for count windows and custom triggers).

use std::fmt::Debug;
use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A window: a group of elements that a trigger evaluates together.
pub trait Window: Clone + Eq + Hash + Debug + Send + Sync + Serialize + DeserializeOwned + 'static {
    /// The largest timestamp that still belongs to the window; results of the window carry it.
    fn max_timestamp(&self) -> i64;
}

/// The time interval `[start, end)` in milliseconds.
///
/// ```
/// use pyflink_core::window::{TimeWindow, Window};
/// let w = TimeWindow::new(0, 5);
/// assert_eq!(w.max_timestamp(), 4);
/// assert!(w.intersects(&TimeWindow::new(5, 10)), "adjacent windows intersect, as in Flink");
/// assert_eq!(w.cover(&TimeWindow::new(3, 8)), TimeWindow::new(0, 8));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TimeWindow {
    /// The first millisecond of the window.
    pub start: i64,
    /// The first millisecond after the window.
    pub end: i64,
}

impl TimeWindow {
    /// The window `[start, end)`.
    pub fn new(start: i64, end: i64) -> Self {
        TimeWindow { start, end }
    }

    /// Whether the two windows overlap or touch.
    pub fn intersects(&self, other: &TimeWindow) -> bool {
        self.start <= other.end && self.end >= other.start
    }

    /// The smallest window that contains both.
    pub fn cover(&self, other: &TimeWindow) -> TimeWindow {
        TimeWindow { start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    /// The start of the window of length `size`, shifted by `offset`, that contains `timestamp`.
    ///
    /// ```
    /// use pyflink_core::window::TimeWindow;
    /// assert_eq!(TimeWindow::get_window_start_with_offset(7, 0, 5), 5);
    /// assert_eq!(TimeWindow::get_window_start_with_offset(-1, 0, 5), -5);
    /// assert_eq!(TimeWindow::get_window_start_with_offset(7, 3, 5), 3);
    /// ```
    pub fn get_window_start_with_offset(timestamp: i64, offset: i64, size: i64) -> i64 {
        let remainder = (timestamp - offset).rem_euclid(size);
        timestamp - remainder
    }

    /// Merges overlapping windows, as session windows do: the windows sorted by start, each
    /// group of transitively intersecting windows covered by one window. Returns each merged
    /// window with the indexes (into `windows`) it covers.
    pub fn merge_windows(windows: &[TimeWindow]) -> Vec<(TimeWindow, Vec<usize>)> {
        let mut order: Vec<usize> = (0..windows.len()).collect();
        order.sort_by_key(|&i| (windows[i].start, windows[i].end));
        let mut merged: Vec<(TimeWindow, Vec<usize>)> = Vec::new();
        for i in order {
            match merged.last_mut() {
                Some((current, members)) if current.intersects(&windows[i]) => {
                    *current = current.cover(&windows[i]);
                    members.push(i);
                }
                _ => merged.push((windows[i], vec![i])),
            }
        }
        merged
    }
}

impl Window for TimeWindow {
    fn max_timestamp(&self) -> i64 {
        self.end - 1
    }
}

/// The single window of [`GlobalWindows`](super::GlobalWindows), which never ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct GlobalWindow;

impl Window for GlobalWindow {
    fn max_timestamp(&self) -> i64 {
        i64::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_covers_chains_of_intersecting_windows() {
        let windows = [TimeWindow::new(8, 13), TimeWindow::new(1, 6), TimeWindow::new(15, 20), TimeWindow::new(4, 9)];
        let merged = TimeWindow::merge_windows(&windows);
        assert_eq!(merged, vec![(TimeWindow::new(1, 13), vec![1, 3, 0]), (TimeWindow::new(15, 20), vec![2])]);
    }
}
