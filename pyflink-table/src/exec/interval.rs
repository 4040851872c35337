//! Interval joins: a join whose condition bounds the event times of its two sides against each
//! other (`l.ts BETWEEN r.ts - INTERVAL '10' MINUTE AND r.ts`), over inputs that only insert.
//! Flink runs these as a time-interval join, which forgets a row once the watermark shows that no
//! row of the other side can still match it, and emits the unmatched rows of an outer join
//! then, so that its result only inserts. [`IntervalBounds::of_join`] recognizes the condition;
//! [`StreamingJoin`](crate::exec::join::StreamingJoin) runs it.

use datafusion::common::ScalarValue;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Join, Operator};

use crate::catalog::Catalog;
use crate::exec::join::JoinSide;
use crate::exec::time_attributes::{time_attribute, TimeAttribute};

/// The time bounds of an interval join: a left row at `tl` and a right row at `tr` may join
/// when `lower <= tl - tr <= upper` (in milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IntervalBounds {
    /// The position of the event-time column among the left side's columns.
    pub(crate) left_time: usize,
    /// The position of the event-time column among the right side's columns.
    pub(crate) right_time: usize,
    pub(crate) lower: i64,
    pub(crate) upper: i64,
}

impl IntervalBounds {
    /// The bounds that `join`'s condition puts on the event times of its sides, if it bounds
    /// them from both ends and both columns are event-time attributes of their inputs.
    pub(crate) fn of_join(catalog: &Catalog, join: &Join) -> Option<IntervalBounds> {
        let filter = join.filter.as_ref()?;
        let mut bounds: Option<(usize, usize)> = None;
        let (mut lower, mut upper) = (i64::MIN, i64::MAX);
        for conjunct in split_conjunction(filter) {
            let comparisons = match conjunct {
                Expr::BinaryExpr(BinaryExpr { left, op, right }) => vec![(left.as_ref(), *op, right.as_ref())],
                Expr::Between(Between { expr, negated: false, low, high }) => {
                    vec![(expr.as_ref(), Operator::GtEq, low.as_ref()), (expr.as_ref(), Operator::LtEq, high.as_ref())]
                }
                _ => continue,
            };
            for (a, op, b) in comparisons {
                let Some((columns, op, offset)) = difference_bound(join, a, op, b) else { continue };
                if *bounds.get_or_insert(columns) != columns {
                    // Bounds on two different pairs of columns: not one interval.
                    return None;
                }
                match op {
                    Operator::GtEq => lower = lower.max(offset),
                    Operator::Gt => lower = lower.max(offset.saturating_add(1)),
                    Operator::LtEq => upper = upper.min(offset),
                    Operator::Lt => upper = upper.min(offset.saturating_sub(1)),
                    Operator::Eq => {
                        lower = lower.max(offset);
                        upper = upper.min(offset);
                    }
                    _ => {}
                }
            }
        }
        let (left_time, right_time) = bounds?;
        if lower == i64::MIN || upper == i64::MAX {
            return None;
        }
        let rowtime = |side: &datafusion::logical_expr::LogicalPlan, column| {
            time_attribute(catalog, side, column) == Some(TimeAttribute::Rowtime)
        };
        (rowtime(&join.left, left_time) && rowtime(&join.right, right_time)).then_some(IntervalBounds {
            left_time,
            right_time,
            lower,
            upper,
        })
    }

    /// The watermark from which a row of `side` at `time` can match no row of the other side
    /// still to come (whose times are above the watermark), and is forgotten.
    pub(crate) fn expiry(&self, side: JoinSide, time: i64) -> i64 {
        match side {
            // A left row matches right rows up to `time - lower`.
            JoinSide::Left => time.saturating_sub(self.lower),
            // A right row matches left rows up to `time + upper`.
            JoinSide::Right => time.saturating_add(self.upper),
        }
    }

    /// The position of the event-time column among the columns of `side`.
    pub(crate) fn time_column(&self, side: JoinSide) -> usize {
        match side {
            JoinSide::Left => self.left_time,
            JoinSide::Right => self.right_time,
        }
    }
}

/// `a op b` as a bound on `tl - tr`: the time columns (left, right), the operator and the
/// offset, when `a` and `b` are times of opposite sides, each plus or minus constant intervals.
fn difference_bound(join: &Join, a: &Expr, op: Operator, b: &Expr) -> Option<((usize, usize), Operator, i64)> {
    if !matches!(op, Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq | Operator::Eq) {
        return None;
    }
    let (a_side, a_column, a_offset) = shifted_time(join, a)?;
    let (b_side, b_column, b_offset) = shifted_time(join, b)?;
    match (a_side, b_side) {
        // tl + a op tr + b  =>  tl - tr op b - a
        (JoinSide::Left, JoinSide::Right) => Some(((a_column, b_column), op, b_offset.checked_sub(a_offset)?)),
        // tr + a op tl + b  =>  tl - tr (op swapped) a - b
        (JoinSide::Right, JoinSide::Left) => Some(((b_column, a_column), op.swap()?, a_offset.checked_sub(b_offset)?)),
        _ => None,
    }
}

/// A column of one side plus or minus constant intervals: the side, the column's position
/// among the side's columns, and the sum of the intervals in milliseconds.
fn shifted_time(join: &Join, expression: &Expr) -> Option<(JoinSide, usize, i64)> {
    match expression {
        Expr::Column(column) => {
            if let Ok(index) = join.left.schema().index_of_column(column) {
                Some((JoinSide::Left, index, 0))
            } else {
                Some((JoinSide::Right, join.right.schema().index_of_column(column).ok()?, 0))
            }
        }
        Expr::BinaryExpr(BinaryExpr { left, op: op @ (Operator::Plus | Operator::Minus), right }) => {
            let (side, column, offset) = shifted_time(join, left)?;
            let Expr::Literal(interval, _) = right.as_ref() else { return None };
            let millis = interval_millis(interval)?;
            let offset = if *op == Operator::Plus { offset.checked_add(millis) } else { offset.checked_sub(millis) };
            Some((side, column, offset?))
        }
        _ => None,
    }
}

/// The length of a day-time interval in milliseconds (intervals of months have none).
fn interval_millis(value: &ScalarValue) -> Option<i64> {
    const DAY: i64 = 86_400_000;
    match value {
        ScalarValue::IntervalDayTime(Some(interval)) => {
            Some(i64::from(interval.days) * DAY + i64::from(interval.milliseconds))
        }
        ScalarValue::IntervalMonthDayNano(Some(interval)) if interval.months == 0 => {
            Some(i64::from(interval.days) * DAY + interval.nanoseconds.div_euclid(1_000_000))
        }
        ScalarValue::DurationMillisecond(Some(millis)) => Some(*millis),
        ScalarValue::DurationSecond(Some(seconds)) => seconds.checked_mul(1_000),
        _ => None,
    }
}
