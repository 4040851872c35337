//! Flink's window table functions, `TUMBLE`, `HOP` and `CUMULATE`:
//!
//! ```sql
//! SELECT window_start, window_end, item, SUM(price)
//! FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '10' MINUTES))
//! GROUP BY window_start, window_end, item
//! ```
//!
//! A window function call keeps the rows of its table and adds the columns `window_start`,
//! `window_end` and `window_time` (the window's last millisecond, the event time of results
//! of the window); a row in several windows (hopping and cumulating ones) appears once per
//! window. An aggregate grouped by `window_start` and `window_end` is a window aggregate: in
//! streaming mode it emits each window's results once, final, when the watermark passes the
//! window's end.
//!
//! The group window syntax of older Flink SQL (`GROUP BY TUMBLE(ts, INTERVAL '1' HOUR)` with
//! `TUMBLE_START(...)`) is rewritten into the same window aggregate by
//! [`rewrite_group_window`].
//!
//! DataFusion's SQL parser does not know the `TABLE(...)` and `DESCRIPTOR(...)` arguments, so
//! [`rewrite`] turns each call into a table function call DataFusion plans
//! (`TUMBLE('orders', 'ts', INTERVAL '10' MINUTES, ...)`), answered by a [`WindowSource`].

mod group_window;
mod rewrite;
mod source;
mod tvf;

pub(crate) use group_window::rewrite_group_window;
pub(crate) use rewrite::rewrite_window_calls;
pub(crate) use source::{window_source, WindowSource};
pub(crate) use tvf::{WindowKind, WindowTvf};
