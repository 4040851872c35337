//! Windows of the Table API. Group windows (Flink's `Tumble`, `Slide` and `Session`): a table is
//! windowed by a time attribute, grouped by the window's alias (and other keys), and each
//! window of each group becomes one row of aggregates, with the window's `start()`, `end()`
//! and `rowtime()` to select. They run as the window table functions of SQL (`TUMBLE`, `HOP`,
//! `SESSION`) with a window aggregate. OVER windows ([`Over`]): each row goes on with
//! aggregates over the rows before it in its partition, as SQL's `OVER` does.
//!
//! ```
//! use pyflink_core::table::{Row, Value};
//! use pyflink_table::environment::TableEnvironment;
//! use pyflink_table::expressions::{col, lit};
//! use pyflink_table::schema::Schema;
//! use pyflink_table::types::DataType;
//! use pyflink_table::window::Tumble;
//!
//! let env = pyflink_core::StreamExecutionEnvironment::get_execution_environment();
//! env.set_parallelism(1);
//! let t_env = TableEnvironment::from_stream_environment(&env);
//! let rows = [(1_000, "a", 1), (2_000, "a", 2), (7_000, "a", 4)]
//!     .map(|(ts, key, n)| Row::of(vec![Value::Timestamp(ts), Value::String(key.into()), Value::BigInt(n)]));
//! let fields = [
//!     ("ts", DataType::parse("TIMESTAMP(3)").unwrap()),
//!     ("k", DataType::parse("STRING").unwrap()),
//!     ("n", DataType::parse("BIGINT").unwrap()),
//! ];
//! let schema = Schema::new_builder().watermark("ts", "ts").build();
//! let table = t_env.from_data_stream(&env.from_collection(rows.to_vec()), &fields, &schema).unwrap();
//! let sums = table
//!     .window(Tumble::over(lit(5).seconds()).on(col("ts")).alias("w"))
//!     .group_by([col("k"), col("w")])
//!     .select([col("k"), col("n").sum(), col("w").start()])
//!     .unwrap();
//! let rows: Vec<String> = sums.execute().unwrap().collect().unwrap().iter().map(|row| row.to_string()).collect();
//! assert_eq!(rows, ["+I[a, 3, 1970-01-01T00:00]", "+I[a, 4, 1970-01-01T00:00:05]"]);
//! ```

use crate::environment::Table;
use crate::error::{Result, TableError};
use crate::expressions::{quote_identifier, Expression, ROWS_BOUND};
use crate::table_api::select_list;

/// Tumbling windows: windows of one size, one after another.
pub struct Tumble;

impl Tumble {
    /// Windows of `size` (an interval, such as `lit(5).seconds()`).
    pub fn over(size: impl Into<Expression>) -> WindowOn {
        WindowOn { kind: WindowKind::Tumble { size: size.into() } }
    }
}

/// Sliding windows: windows of one size that start every `slide` (SQL's `HOP`).
pub struct Slide;

impl Slide {
    /// Windows of `size`; say how often they start with [`SlideWithSize::every`].
    pub fn over(size: impl Into<Expression>) -> SlideWithSize {
        SlideWithSize { size: size.into() }
    }
}

/// A sliding window whose size is known.
pub struct SlideWithSize {
    size: Expression,
}

impl SlideWithSize {
    /// Windows start every `slide`.
    pub fn every(self, slide: impl Into<Expression>) -> WindowOn {
        WindowOn { kind: WindowKind::Slide { size: self.size, slide: slide.into() } }
    }
}

/// Session windows: the rows of a group until a gap without rows.
pub struct Session;

impl Session {
    /// Sessions that end after `gap` without rows.
    pub fn with_gap(gap: impl Into<Expression>) -> WindowOn {
        WindowOn { kind: WindowKind::Session { gap: gap.into() } }
    }
}

#[derive(Clone)]
enum WindowKind {
    Tumble { size: Expression },
    Slide { size: Expression, slide: Expression },
    Session { gap: Expression },
}

/// A window whose time attribute is still to be named.
pub struct WindowOn {
    kind: WindowKind,
}

impl WindowOn {
    /// Windows by the time attribute `time` (a column with a watermark).
    pub fn on(self, time: impl Into<Expression>) -> WindowAlias {
        WindowAlias { kind: self.kind, time: time.into() }
    }
}

/// A window whose alias is still to be named.
pub struct WindowAlias {
    kind: WindowKind,
    time: Expression,
}

impl WindowAlias {
    /// The window, named `alias` for `group_by` and its properties.
    pub fn alias(self, alias: &str) -> GroupWindow {
        GroupWindow { kind: self.kind, time: self.time, alias: alias.to_string() }
    }
}

/// A group window, ready for [`Table::window`].
#[derive(Clone)]
pub struct GroupWindow {
    kind: WindowKind,
    time: Expression,
    alias: String,
}

impl Table {
    /// The table windowed by `window`, to group by the window's alias.
    pub fn window(&self, window: GroupWindow) -> GroupWindowedTable {
        GroupWindowedTable { table: self.clone(), window }
    }
}

/// A table with a group window, waiting for its keys.
#[derive(Clone)]
pub struct GroupWindowedTable {
    table: Table,
    window: GroupWindow,
}

impl GroupWindowedTable {
    /// Groups the rows by `keys`, which name the window's alias and any other columns.
    pub fn group_by<E: Into<Expression>>(&self, keys: impl IntoIterator<Item = E>) -> WindowGroupedTable {
        WindowGroupedTable { windowed: self.clone(), keys: keys.into_iter().map(Into::into).collect() }
    }
}

/// A windowed table grouped by keys, waiting for the aggregates to compute per window.
#[derive(Clone)]
pub struct WindowGroupedTable {
    windowed: GroupWindowedTable,
    keys: Vec<Expression>,
}

impl WindowGroupedTable {
    /// One row per window and group, of `fields`: keys, aggregates and window properties.
    pub fn select<E: Into<Expression>>(&self, fields: impl IntoIterator<Item = E>) -> Result<Table> {
        let window = &self.windowed.window;
        let (window_keys, keys): (Vec<&Expression>, Vec<&Expression>) =
            self.keys.iter().partition(|key| key.column() == Some(window.alias.as_str()));
        if window_keys.is_empty() {
            return Err(TableError::Validation(format!(
                "A group window expects an alias and the window's alias '{}' must be a grouping key",
                window.alias
            )));
        }
        let keys: Vec<String> = keys.iter().map(|key| key.to_sql()).collect();
        let table = quote_identifier(&self.windowed.table.sql_name()?);
        let time = window.time.to_sql();
        let call = match &window.kind {
            WindowKind::Tumble { size } => format!("TUMBLE(TABLE {table}, DESCRIPTOR({time}), {})", size.to_sql()),
            WindowKind::Slide { size, slide } => {
                format!("HOP(TABLE {table}, DESCRIPTOR({time}), {}, {})", slide.to_sql(), size.to_sql())
            }
            WindowKind::Session { gap } => {
                let partition =
                    if keys.is_empty() { String::new() } else { format!(" PARTITION BY {}", keys.join(", ")) };
                format!("SESSION(TABLE {table}{partition}, DESCRIPTOR({time}), {})", gap.to_sql())
            }
        };
        let mut group_by = keys;
        group_by.extend(["window_start", "window_end", "window_time"].map(String::from));
        let sql = format!("SELECT {} FROM TABLE({call}) GROUP BY {}", select_list(fields)?, group_by.join(", "));
        self.windowed.table.env.sql_query(&sql)
    }
}

/// OVER windows: aggregates over the rows before each row of a partition, in time order.
///
/// ```
/// use pyflink_core::table::{Row, Value};
/// use pyflink_table::environment::TableEnvironment;
/// use pyflink_table::expressions::{col, current_row, row_interval};
/// use pyflink_table::schema::Schema;
/// use pyflink_table::types::DataType;
/// use pyflink_table::window::Over;
///
/// let env = pyflink_core::StreamExecutionEnvironment::get_execution_environment();
/// env.set_parallelism(1);
/// let t_env = TableEnvironment::from_stream_environment(&env);
/// let rows = [(1_000, 5), (2_000, 1), (3_000, 7), (4_000, 2)]
///     .map(|(ts, n)| Row::of(vec![Value::Timestamp(ts), Value::BigInt(n)]));
/// let fields = [("ts", DataType::parse("TIMESTAMP(3)").unwrap()), ("n", DataType::parse("BIGINT").unwrap())];
/// let schema = Schema::new_builder().watermark("ts", "ts").build();
/// let table = t_env.from_data_stream(&env.from_collection(rows.to_vec()), &fields, &schema).unwrap();
/// let window = Over::partition_by::<_, &str>([]).order_by(col("ts")).preceding(row_interval(1)).following(current_row()).alias("w");
/// let maxima = table.over_window(window).select([col("n"), col("n").max().over(col("w"))]).unwrap();
/// let rows: Vec<String> = maxima.execute().unwrap().collect().unwrap().iter().map(|row| row.to_string()).collect();
/// assert_eq!(rows, ["+I[5, 5]", "+I[1, 5]", "+I[7, 7]", "+I[2, 7]"]);
/// ```
pub struct Over;

impl Over {
    /// Windows of the rows of each value of `keys` (none: one partition of all rows).
    pub fn partition_by<I, E>(keys: I) -> OverPartitioned
    where
        I: IntoIterator<Item = E>,
        E: Into<Expression>,
    {
        OverPartitioned { keys: keys.into_iter().map(Into::into).collect() }
    }

    /// Windows of all rows, as one partition.
    pub fn order_by(time: impl Into<Expression>) -> OverOrdered {
        OverOrdered { keys: Vec::new(), time: time.into(), preceding: None, following: None }
    }
}

/// An OVER window whose order is still to be named.
pub struct OverPartitioned {
    keys: Vec<Expression>,
}

impl OverPartitioned {
    /// Rows in the order of `time`, an event-time attribute.
    pub fn order_by(self, time: impl Into<Expression>) -> OverOrdered {
        OverOrdered { keys: self.keys, time: time.into(), preceding: None, following: None }
    }
}

/// An ordered OVER window, whose frame and alias are still to be named.
pub struct OverOrdered {
    keys: Vec<Expression>,
    time: Expression,
    preceding: Option<Expression>,
    following: Option<Expression>,
}

impl OverOrdered {
    /// Where the frame starts: [`row_interval`](crate::expressions::row_interval)`(n)`, an
    /// interval (`lit(10).seconds()`), or [`unbounded_row`](crate::expressions::unbounded_row) /
    /// [`unbounded_range`](crate::expressions::unbounded_range) (the default).
    pub fn preceding(mut self, bound: Expression) -> Self {
        self.preceding = Some(bound);
        self
    }

    /// Where the frame ends: [`current_row`](crate::expressions::current_row) or
    /// [`current_range`](crate::expressions::current_range), the only ends Flink has.
    pub fn following(mut self, bound: Expression) -> Self {
        self.following = Some(bound);
        self
    }

    /// The window, named `alias` for the aggregates' `over`.
    pub fn alias(self, alias: &str) -> OverWindow {
        OverWindow { window: self, alias: alias.to_string() }
    }
}

/// An OVER window, ready for [`Table::over_window`].
pub struct OverWindow {
    window: OverOrdered,
    alias: String,
}

impl OverWindow {
    /// The window's SQL: `PARTITION BY .. ORDER BY .. ROWS|RANGE BETWEEN .. PRECEDING AND CURRENT ROW`.
    fn to_sql(&self) -> Result<String> {
        let window = &self.window;
        let mut sql = String::new();
        if !window.keys.is_empty() {
            let keys: Vec<String> = window.keys.iter().map(Expression::to_sql).collect();
            sql.push_str(&format!("PARTITION BY {} ", keys.join(", ")));
        }
        sql.push_str(&format!("ORDER BY {}", window.time.to_sql()));
        let preceding = window.preceding.as_ref().map_or("UNBOUNDED".to_string(), Expression::to_sql);
        let rows_suffix = format!(" {ROWS_BOUND}");
        let (units, start) = match preceding.strip_suffix(&rows_suffix) {
            Some(rows) => ("ROWS", rows.to_string()),
            None => ("RANGE", preceding.clone()),
        };
        if let Some(following) = &window.following {
            let following = following.to_sql();
            let end_units = if following.ends_with(&rows_suffix) { "ROWS" } else { "RANGE" };
            if !following.starts_with("CURRENT") {
                return Err(TableError::Validation(format!(
                    "OVER windows end at the current row; following({following}) is not supported"
                )));
            }
            if end_units != units {
                return Err(TableError::Validation(
                    "Preceding and following bounds of an OVER window must be of the same kind: rows (row_interval, \
                     UNBOUNDED_ROW, CURRENT_ROW) or time (intervals, UNBOUNDED_RANGE, CURRENT_RANGE)"
                        .into(),
                ));
            }
        }
        sql.push_str(&format!(" {units} BETWEEN {start} PRECEDING AND CURRENT ROW"));
        Ok(sql)
    }
}

impl Table {
    /// The table with OVER window `window`, for aggregates `.over(col(alias))` in
    /// [`OverWindowedTable::select`].
    pub fn over_window(&self, window: OverWindow) -> OverWindowedTable {
        OverWindowedTable { table: self.clone(), window }
    }
}

/// A table with an OVER window, waiting for the columns to select.
pub struct OverWindowedTable {
    table: Table,
    window: OverWindow,
}

impl OverWindowedTable {
    /// The rows with `fields`: columns, and aggregates over the window.
    pub fn select<E: Into<Expression>>(&self, fields: impl IntoIterator<Item = E>) -> Result<Table> {
        let table = quote_identifier(&self.table.sql_name()?);
        let sql = format!(
            "SELECT {} FROM {table} WINDOW {} AS ({})",
            select_list(fields)?,
            quote_identifier(&self.window.alias),
            self.window.to_sql()?
        );
        self.table.env.sql_query(&sql)
    }
}
