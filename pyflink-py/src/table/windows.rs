//! The Table API's windows from Python (`pyflink.table.window`'s `Tumble`, `Slide`, `Session`
//! and `Over`): a window crosses as a spec of SQL expressions and becomes
//! [`pyflink_table::window`]'s.

use std::sync::Arc;

use pyflink_table::expressions::Expression;
use pyflink_table::window::{GroupWindow, Over, OverWindow, Session, Slide, Tumble};

use crate::table::sql::{expressions, ExpressionSpec, SqlTable};
use crate::JobError;

/// A group window as Python's `Tumble`, `Slide` or `Session` describes it.
#[derive(Debug, Clone)]
pub struct GroupWindowSpec {
    /// `TUMBLE`, `SLIDE` or `SESSION`.
    pub kind: String,
    /// The size of tumbling and sliding windows, the gap of sessions.
    pub size: ExpressionSpec,
    /// How often sliding windows start.
    pub slide: Option<ExpressionSpec>,
    /// The time attribute.
    pub time: ExpressionSpec,
    /// The window's alias.
    pub alias: String,
}

impl GroupWindowSpec {
    fn window(self) -> Result<GroupWindow, JobError> {
        let size = Expression::from(self.size);
        let window = match (self.kind.as_str(), self.slide) {
            ("TUMBLE", None) => Tumble::over(size),
            ("SLIDE", Some(slide)) => Slide::over(size).every(Expression::from(slide)),
            ("SESSION", None) => Session::with_gap(size),
            (kind, _) => return Err(JobError::InvalidProgram(format!("an unknown group window {kind}"))),
        };
        Ok(window.on(Expression::from(self.time)).alias(&self.alias))
    }
}

/// An OVER window as Python's `Over` describes it.
#[derive(Debug, Clone)]
pub struct OverWindowSpec {
    /// The `PARTITION BY` keys.
    pub partition_by: Vec<ExpressionSpec>,
    /// The time attribute the rows are ordered by.
    pub order_by: ExpressionSpec,
    /// Where the frame starts (`row_interval(n)`, an interval, `UNBOUNDED_ROW`, ...).
    pub preceding: Option<ExpressionSpec>,
    /// Where it ends (`CURRENT_ROW`, `CURRENT_RANGE`).
    pub following: Option<ExpressionSpec>,
    /// The window's alias.
    pub alias: String,
}

impl OverWindowSpec {
    fn window(self) -> OverWindow {
        let mut window = Over::partition_by(expressions(self.partition_by)).order_by(Expression::from(self.order_by));
        if let Some(preceding) = self.preceding {
            window = window.preceding(Expression::from(preceding));
        }
        if let Some(following) = self.following {
            window = window.following(Expression::from(following));
        }
        window.alias(&self.alias)
    }
}

impl SqlTable {
    /// `window(window).group_by(keys).select(fields)`.
    pub fn window_group_select(
        &self,
        window: GroupWindowSpec,
        keys: Vec<ExpressionSpec>,
        fields: Vec<ExpressionSpec>,
    ) -> Result<Arc<SqlTable>, JobError> {
        let window = window.window()?;
        self.derive(move |table| table.window(window).group_by(expressions(keys)).select(expressions(fields)))
    }

    /// `over_window(window).select(fields)`.
    pub fn over_window_select(
        &self,
        window: OverWindowSpec,
        fields: Vec<ExpressionSpec>,
    ) -> Result<Arc<SqlTable>, JobError> {
        self.derive(move |table| table.over_window(window.window()).select(expressions(fields)))
    }
}
