//! What a window table function call is (its kind, sizes, time column and partition keys) and
//! the windows it puts a timestamp in.

/// The kind and sizes of a window function, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WindowKind {
    /// `TUMBLE`: windows of `size`, one after another.
    Tumble { size: i64 },
    /// `HOP`: windows of `size` starting every `slide`; a row is in `size / slide` of them.
    Hop { slide: i64, size: i64 },
    /// `CUMULATE`: windows that start every `size` and grow by `step` until they are `size`
    /// long: `[start, start + step)`, `[start, start + 2 * step)`, ...
    Cumulate { step: i64, size: i64 },
    /// `SESSION`: the rows of a partition until a `gap` without rows; a row starts a session
    /// `[time, time + gap)` that merges with the sessions it overlaps or touches.
    Session { gap: i64 },
}

/// A window function call: `kind` over the rows of table `input`, by its time column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WindowTvf {
    pub(crate) kind: WindowKind,
    /// Where windows are aligned: they start at `offset` plus a multiple of their size (slide).
    pub(crate) offset: i64,
    /// The table the function reads.
    pub(crate) input: String,
    /// The position of the time column in the input's columns.
    pub(crate) time_column: usize,
    /// `SESSION`: the positions of the `PARTITION BY` columns, whose rows have sessions of
    /// their own.
    pub(crate) partition: Vec<usize>,
}

impl WindowTvf {
    /// The function's name in SQL.
    pub(crate) fn name(&self) -> &'static str {
        match self.kind {
            WindowKind::Tumble { .. } => "TUMBLE",
            WindowKind::Hop { .. } => "HOP",
            WindowKind::Cumulate { .. } => "CUMULATE",
            WindowKind::Session { .. } => "SESSION",
        }
    }

    /// The size (or slide, or step) windows are aligned to.
    fn alignment(&self) -> i64 {
        match self.kind {
            WindowKind::Tumble { size } => size,
            WindowKind::Hop { slide, .. } => slide,
            WindowKind::Cumulate { size, .. } => size,
            WindowKind::Session { gap } => gap,
        }
    }

    /// The start of the aligned period that holds `timestamp`.
    fn aligned_start(&self, timestamp: i64) -> i64 {
        let alignment = self.alignment();
        timestamp - (timestamp - self.offset).rem_euclid(alignment)
    }

    /// Calls `window(start, end)` for each window that holds `timestamp`, in the order of their
    /// starts (then ends).
    #[inline]
    pub(crate) fn windows(&self, timestamp: i64, mut window: impl FnMut(i64, i64)) {
        match self.kind {
            WindowKind::Tumble { size } => {
                let start = self.aligned_start(timestamp);
                window(start, start + size);
            }
            WindowKind::Hop { slide, size } => {
                let last = self.aligned_start(timestamp);
                let mut start = last;
                // Back to the earliest window that still holds the timestamp.
                while start - slide + size > timestamp {
                    start -= slide;
                }
                while start <= last {
                    window(start, start + size);
                    start += slide;
                }
            }
            WindowKind::Cumulate { step, size } => {
                let start = self.aligned_start(timestamp);
                let mut end = start + ((timestamp - start) / step + 1) * step;
                while end <= start + size {
                    window(start, end);
                    end += step;
                }
            }
            // The row's own session, before it merges with others.
            WindowKind::Session { gap } => window(timestamp, timestamp + gap),
        }
    }

    /// The most windows a timestamp is in.
    pub(crate) fn windows_per_row(&self) -> usize {
        let count = match self.kind {
            WindowKind::Tumble { .. } => 1,
            WindowKind::Hop { slide, size } => (size + slide - 1) / slide,
            WindowKind::Cumulate { step, size } => size / step,
            WindowKind::Session { .. } => 1,
        };
        usize::try_from(count).unwrap_or(1)
    }
}

/// Checks the sizes of a window function: positive, and a cumulating window's size a whole
/// multiple of its step, as Flink requires. Flink also wants a hopping window's size to be a
/// multiple of its slide in window functions (not in group windows); here any slide works.
pub(crate) fn check_sizes(kind: &WindowKind) -> std::result::Result<(), String> {
    let (name, small, small_name, size) = match *kind {
        WindowKind::Tumble { size } => ("TUMBLE", size, "size", size),
        WindowKind::Hop { slide, size } => ("HOP", slide, "slide", size),
        WindowKind::Cumulate { step, size } => ("CUMULATE", step, "step", size),
        WindowKind::Session { gap } => ("SESSION", gap, "gap", gap),
    };
    if small <= 0 || size <= 0 {
        return Err(format!("{name} window must have a positive {small_name} and size, but got {small_name} {small} ms and size {size} ms"));
    }
    if matches!(kind, WindowKind::Cumulate { .. }) && size % small != 0 {
        return Err(format!(
            "{name} table function based aggregate requires size must be an integral multiple of {small_name}, but got size {size} ms and {small_name} {small} ms"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows_of(kind: WindowKind, offset: i64, timestamp: i64) -> Vec<(i64, i64)> {
        let tvf = WindowTvf { kind, offset, input: "t".into(), time_column: 0, partition: Vec::new() };
        let mut windows = Vec::new();
        tvf.windows(timestamp, |start, end| windows.push((start, end)));
        windows
    }

    #[test]
    fn tumbling_windows_hold_their_start_but_not_their_end() {
        let kind = WindowKind::Tumble { size: 10 };
        assert_eq!(windows_of(kind, 0, 0), vec![(0, 10)]);
        assert_eq!(windows_of(kind, 0, 9), vec![(0, 10)]);
        assert_eq!(windows_of(kind, 0, 10), vec![(10, 20)]);
        assert_eq!(windows_of(kind, 0, -1), vec![(-10, 0)]);
        assert_eq!(windows_of(kind, 3, 2), vec![(-7, 3)]);
    }

    #[test]
    fn a_row_is_in_size_over_slide_hopping_windows() {
        let kind = WindowKind::Hop { slide: 5, size: 15 };
        assert_eq!(windows_of(kind, 0, 12), vec![(0, 15), (5, 20), (10, 25)]);
        assert_eq!(windows_of(kind, 0, 15), vec![(5, 20), (10, 25), (15, 30)]);
    }

    #[test]
    fn a_slide_that_does_not_divide_the_size_gives_windows_of_the_size() {
        let kind = WindowKind::Hop { slide: 2, size: 5 };
        assert_eq!(windows_of(kind, 0, 4), vec![(0, 5), (2, 7), (4, 9)]);
        assert_eq!(windows_of(kind, 0, 1), vec![(-2, 3), (0, 5)]);
    }

    #[test]
    fn cumulating_windows_grow_by_step_within_their_size() {
        let kind = WindowKind::Cumulate { step: 2, size: 6 };
        assert_eq!(windows_of(kind, 0, 0), vec![(0, 2), (0, 4), (0, 6)]);
        assert_eq!(windows_of(kind, 0, 3), vec![(0, 4), (0, 6)]);
        assert_eq!(windows_of(kind, 0, 5), vec![(0, 6)]);
        assert_eq!(windows_of(kind, 0, 6), vec![(6, 8), (6, 10), (6, 12)]);
    }

    #[test]
    fn sizes_must_divide() {
        assert!(check_sizes(&WindowKind::Cumulate { step: 4, size: 10 }).unwrap_err().contains("integral multiple"));
        assert!(check_sizes(&WindowKind::Hop { slide: 4, size: 10 }).is_ok());
        assert!(check_sizes(&WindowKind::Tumble { size: 0 }).is_err());
        assert!(check_sizes(&WindowKind::Cumulate { step: 2, size: 10 }).is_ok());
    }
}
