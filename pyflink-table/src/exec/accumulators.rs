//! Flink's built-in aggregate functions as the streaming aggregates compute them: `COUNT`,
//! `SUM`, `AVG`, `MIN`, `MAX` and `COUNT(DISTINCT ..)`, each an [`Accumulator`] that takes rows
//! in and, when the input is a changelog, takes retracted rows back out; and the user's
//! aggregate functions ([`UserAggregateFunction`]), whose accumulators are their own.
//!
//! Accumulators are plain serializable values, kept per group in keyed state. Results follow
//! Flink: `SUM` and `AVG` keep the argument's type (integer sums wrap around as Java's do, and
//! an integer average truncates), and are NULL when no non-null value is left; `COUNT` is never
//! NULL.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType as ArrowType, Decimal128Type, Float64Type, Int64Type};
use datafusion::common::ScalarValue;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TableError};
use crate::exec::values::{cast_scalar, OrderedValue};
use crate::functions::aggregate_function::{UserAccumulator, UserAggregateFunction};

/// Which aggregate function a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AggregateKind {
    /// `COUNT(x)` (non-null values) or `COUNT(*)` (rows).
    Count,
    /// `COUNT(DISTINCT x)`.
    CountDistinct,
    /// `SUM(x)`.
    Sum,
    /// `AVG(x)`.
    Avg,
    /// `MIN(x)`.
    Min,
    /// `MAX(x)`.
    Max,
    /// A function of the user's ([`AggregateCall::function`]).
    User,
}

impl AggregateKind {
    /// The function of a DataFusion aggregate named `name`, with `distinct` if the call had it.
    pub(crate) fn of(name: &str, distinct: bool) -> Result<AggregateKind> {
        let kind = match (name.to_ascii_lowercase().as_str(), distinct) {
            ("count", false) => AggregateKind::Count,
            ("count", true) => AggregateKind::CountDistinct,
            ("sum", false) => AggregateKind::Sum,
            ("avg" | "mean", false) => AggregateKind::Avg,
            // The extremes of the distinct values are the extremes of all values.
            ("min", _) => AggregateKind::Min,
            ("max", _) => AggregateKind::Max,
            (name, true) => {
                return Err(TableError::Unsupported(format!(
                    "{}(DISTINCT ..) in streaming aggregates (COUNT, MIN and MAX take DISTINCT)",
                    name.to_ascii_uppercase()
                )))
            }
            (name, false) => {
                return Err(TableError::Unsupported(format!(
                    "the aggregate function {} (so far COUNT, SUM, AVG, MIN and MAX run)",
                    name.to_ascii_uppercase()
                )))
            }
        };
        Ok(kind)
    }
}

/// One aggregate call of a GROUP BY: its function, the input columns it reads, and its result
/// type.
#[derive(Debug, Clone)]
pub(crate) struct AggregateCall {
    pub(crate) kind: AggregateKind,
    /// The argument's column in the aggregate's input, `None` for `COUNT(*)` (and for a user's
    /// function, whose arguments are [`UserCall::arguments`]).
    pub(crate) argument: Option<usize>,
    /// A call of a user's function: the function and its argument columns.
    pub(crate) function: Option<UserCall>,
    /// The argument's type.
    pub(crate) argument_type: ArrowType,
    /// A boolean column: the call only sees rows where it is true (`FILTER (WHERE ..)`).
    pub(crate) filter: Option<usize>,
    /// The result's type.
    pub(crate) output: ArrowType,
}

/// A call of a user's aggregate function.
#[derive(Debug, Clone)]
pub(crate) struct UserCall {
    pub(crate) function: Arc<dyn UserAggregateFunction>,
    /// The columns of the arguments in the aggregate's input.
    pub(crate) arguments: Vec<usize>,
}

impl AggregateCall {
    /// A new accumulator for this call; `retracting` when the input is a changelog whose rows
    /// may be taken back.
    pub(crate) fn create_accumulator(&self, retracting: bool) -> Result<Accumulator> {
        if let Some(user) = &self.function {
            return Ok(Accumulator::User(UserAccumulator::Live(user.function.create_accumulator()?)));
        }
        Ok(match (self.kind, &self.argument_type) {
            (AggregateKind::Count, _) => Accumulator::Count(0),
            (AggregateKind::CountDistinct, _) => Accumulator::Counted(BTreeMap::new()),
            (AggregateKind::Min | AggregateKind::Max, _) if retracting => Accumulator::Counted(BTreeMap::new()),
            (AggregateKind::Min | AggregateKind::Max, _) => Accumulator::Extreme(None),
            (AggregateKind::Sum | AggregateKind::Avg, ArrowType::Float16 | ArrowType::Float32 | ArrowType::Float64) => {
                Accumulator::FloatSum { sum: 0.0, count: 0 }
            }
            (AggregateKind::Sum | AggregateKind::Avg, ArrowType::Decimal128(_, _)) => {
                Accumulator::DecimalSum { sum: 0, count: 0 }
            }
            (AggregateKind::Sum | AggregateKind::Avg, _) => Accumulator::IntSum { sum: 0, count: 0 },
            (AggregateKind::User, _) => return Err(without_function()),
        })
    }

    /// This call's view of the argument column of one input batch.
    pub(crate) fn argument(&self, columns: &[ArrayRef]) -> Result<Argument> {
        let filter = self.filter.map(|index| columns[index].as_boolean().clone());
        if let Some(user) = &self.function {
            let arguments = user.arguments.iter().map(|&index| Arc::clone(&columns[index])).collect();
            let values = ArgumentValues::User { function: Arc::clone(&user.function), arguments };
            return Ok(Argument { values, filter });
        }
        let Some(index) = self.argument else { return Ok(Argument { values: ArgumentValues::Rows, filter }) };
        let column = &columns[index];
        let widen = |to: &ArrowType| cast(column, to).map_err(|e| TableError::Execution(e.to_string()));
        let values = match (self.kind, column.data_type()) {
            (AggregateKind::Sum | AggregateKind::Avg, ArrowType::Float16 | ArrowType::Float32 | ArrowType::Float64) => {
                ArgumentValues::Floats(widen(&ArrowType::Float64)?)
            }
            (AggregateKind::Sum | AggregateKind::Avg, ArrowType::Decimal128(_, _)) => {
                ArgumentValues::Decimals(Arc::clone(column))
            }
            (AggregateKind::Sum | AggregateKind::Avg, _) => ArgumentValues::Ints(widen(&ArrowType::Int64)?),
            _ => ArgumentValues::Any(Arc::clone(column)),
        };
        Ok(Argument { values, filter })
    }

    /// The call's result from `accumulator`.
    pub(crate) fn value(&self, accumulator: &Accumulator) -> Result<ScalarValue> {
        let null = || ScalarValue::try_from(&self.output).map_err(|e| TableError::Execution(e.strip_backtrace()));
        let value = match (accumulator, self.kind) {
            (Accumulator::User(UserAccumulator::Live(object)), _) => {
                self.user_function()?.get_value(object.as_ref())?
            }
            (Accumulator::User(stored), _) => {
                let function = self.user_function()?;
                function.get_value(stored.clone().object(function)?)?
            }
            (Accumulator::Count(count), _) => ScalarValue::Int64(Some(*count)),
            (Accumulator::Counted(values), AggregateKind::CountDistinct) => {
                ScalarValue::Int64(Some(i64::try_from(values.len()).unwrap_or(i64::MAX)))
            }
            (Accumulator::Counted(values), AggregateKind::Min) => match values.keys().next() {
                Some(min) => min.to_scalar(&self.argument_type)?,
                None => null()?,
            },
            (Accumulator::Counted(values), _) => match values.keys().next_back() {
                Some(max) => max.to_scalar(&self.argument_type)?,
                None => null()?,
            },
            (Accumulator::Extreme(Some(value)), _) => value.to_scalar(&self.argument_type)?,
            (Accumulator::Extreme(None), _) => null()?,
            (Accumulator::IntSum { count: 0, .. } | Accumulator::FloatSum { count: 0, .. }, _) => null()?,
            (Accumulator::DecimalSum { count: 0, .. }, _) => null()?,
            (Accumulator::IntSum { sum, count }, kind) => {
                let value = if kind == AggregateKind::Avg { sum.wrapping_div(*count) } else { *sum };
                wrapping_int(value, &self.output)
            }
            (Accumulator::FloatSum { sum, count }, kind) => {
                let value = if kind == AggregateKind::Avg { sum / *count as f64 } else { *sum };
                ScalarValue::Float64(Some(value))
            }
            (Accumulator::DecimalSum { sum, count }, kind) => {
                let ArrowType::Decimal128(precision, scale) = self.output else {
                    return Err(TableError::Execution(format!("a decimal sum of type {}", self.output)));
                };
                let value = if kind == AggregateKind::Avg {
                    let input_scale = match self.argument_type {
                        ArrowType::Decimal128(_, s) => s,
                        _ => scale,
                    };
                    rescaled_average(*sum, *count, input_scale, scale)
                } else {
                    *sum
                };
                ScalarValue::Decimal128(Some(value), precision, scale)
            }
        };
        cast_scalar(value, &self.output)
    }
}

impl AggregateCall {
    fn user_function(&self) -> Result<&dyn UserAggregateFunction> {
        self.function.as_ref().map(|user| user.function.as_ref()).ok_or_else(without_function)
    }
}

/// The error of a call of kind `User` without its function (a bug of the planner's).
fn without_function() -> TableError {
    TableError::Execution("a user's aggregate call without its function".into())
}

/// `value` as an integer of `output`'s width, wrapping around as Java's arithmetic does.
fn wrapping_int(value: i64, output: &ArrowType) -> ScalarValue {
    match output {
        ArrowType::Int8 => ScalarValue::Int8(Some(value as i8)),
        ArrowType::Int16 => ScalarValue::Int16(Some(value as i16)),
        ArrowType::Int32 => ScalarValue::Int32(Some(value as i32)),
        _ => ScalarValue::Int64(Some(value)),
    }
}

/// `sum / count` of decimals of scale `input_scale`, at scale `output_scale`, rounded half up.
fn rescaled_average(sum: i128, count: i64, input_scale: i8, output_scale: i8) -> i128 {
    let shift = u32::try_from(i32::from(output_scale) - i32::from(input_scale)).unwrap_or(0);
    let scaled = sum.saturating_mul(10i128.saturating_pow(shift));
    let count = i128::from(count);
    let quotient = scaled / count;
    let remainder = scaled % count;
    if remainder.abs() * 2 >= count.abs() {
        quotient + scaled.signum() * count.signum()
    } else {
        quotient
    }
}

/// What a call reads from one input batch.
pub(crate) struct Argument {
    values: ArgumentValues,
    filter: Option<BooleanArray>,
}

enum ArgumentValues {
    /// `COUNT(*)`: every row counts.
    Rows,
    /// Integers, widened to 64 bits.
    Ints(ArrayRef),
    /// Floating point numbers, widened to 64 bits.
    Floats(ArrayRef),
    /// Decimals of the argument's scale.
    Decimals(ArrayRef),
    /// Values of any type, read one by one.
    Any(ArrayRef),
    /// The arguments of a user's function, which it reads itself, nulls included.
    User { function: Arc<dyn UserAggregateFunction>, arguments: Vec<ArrayRef> },
}

/// The state of one aggregate call for one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Accumulator {
    /// Rows or non-null values counted.
    Count(i64),
    /// A sum of integers and how many there are (an average's too).
    IntSum { sum: i64, count: i64 },
    /// A sum of floating point numbers and how many there are.
    FloatSum { sum: f64, count: i64 },
    /// A sum of unscaled decimals and how many there are.
    DecimalSum { sum: i128, count: i64 },
    /// The least or greatest value so far, of an input that is never retracted.
    Extreme(Option<OrderedValue>),
    /// How many times each value is in the group: for `MIN`/`MAX` of a changelog and for
    /// `COUNT(DISTINCT ..)`.
    Counted(BTreeMap<OrderedValue, i64>),
    /// The accumulator of a user's function.
    User(UserAccumulator),
}

impl Accumulator {
    /// Adds (`sign` 1) or takes back (`sign` -1) row `row` of `argument`, for a call of `kind`.
    #[inline]
    pub(crate) fn apply(&mut self, kind: AggregateKind, argument: &Argument, row: usize, sign: i64) -> Result<()> {
        if let Some(filter) = &argument.filter {
            if !filter.is_valid(row) || !filter.value(row) {
                return Ok(());
            }
        }
        match (self, &argument.values) {
            (Accumulator::User(accumulator), ArgumentValues::User { function, arguments }) => {
                let object = accumulator.object(function.as_ref())?;
                if sign > 0 {
                    function.accumulate(object, arguments, row)?;
                } else {
                    function.retract(object, arguments, row)?;
                }
            }
            (Accumulator::Count(count), ArgumentValues::Rows) => *count += sign,
            (_, values) if values.is_null(row) => {}
            (Accumulator::Count(count), _) => *count += sign,
            (Accumulator::IntSum { sum, count }, ArgumentValues::Ints(values)) => {
                *sum = sum.wrapping_add(values.as_primitive::<Int64Type>().value(row).wrapping_mul(sign));
                *count += sign;
            }
            (Accumulator::FloatSum { sum, count }, ArgumentValues::Floats(values)) => {
                *sum += values.as_primitive::<Float64Type>().value(row) * sign as f64;
                *count += sign;
            }
            (Accumulator::DecimalSum { sum, count }, ArgumentValues::Decimals(values)) => {
                *sum = sum.wrapping_add(values.as_primitive::<Decimal128Type>().value(row) * i128::from(sign));
                *count += sign;
            }
            (Accumulator::Extreme(current), ArgumentValues::Any(values)) => {
                let Some(value) = OrderedValue::at(values.as_ref(), row)? else { return Ok(()) };
                let better = match current {
                    None => true,
                    Some(held) if kind == AggregateKind::Min => value < *held,
                    Some(held) => value > *held,
                };
                if better {
                    *current = Some(value);
                }
            }
            (Accumulator::Counted(counts), ArgumentValues::Any(values)) => {
                let Some(value) = OrderedValue::at(values.as_ref(), row)? else { return Ok(()) };
                let count = counts.entry(value.clone()).or_insert(0);
                *count += sign;
                if *count == 0 {
                    counts.remove(&value);
                }
            }
            (accumulator, _) => {
                return Err(TableError::Execution(format!(
                    "the accumulator {accumulator:?} of {kind:?} was given another kind of argument"
                )))
            }
        }
        Ok(())
    }

    /// Adds what `other`, an accumulator of the same call over other rows, holds: the
    /// accumulator of both sets of rows.
    pub(crate) fn merge(&mut self, call: &AggregateCall, other: Accumulator) -> Result<()> {
        let kind = call.kind;
        match (self, other) {
            (Accumulator::User(accumulator), Accumulator::User(mut other)) => {
                let function = call.user_function()?;
                function.merge(accumulator.object(function)?, other.object(function)?)?;
            }
            (Accumulator::Count(count), Accumulator::Count(more)) => *count += more,
            (Accumulator::IntSum { sum, count }, Accumulator::IntSum { sum: more, count: n }) => {
                *sum = sum.wrapping_add(more);
                *count += n;
            }
            (Accumulator::FloatSum { sum, count }, Accumulator::FloatSum { sum: more, count: n }) => {
                *sum += more;
                *count += n;
            }
            (Accumulator::DecimalSum { sum, count }, Accumulator::DecimalSum { sum: more, count: n }) => {
                *sum = sum.wrapping_add(more);
                *count += n;
            }
            (Accumulator::Extreme(current), Accumulator::Extreme(Some(value))) => {
                let better = match current {
                    None => true,
                    Some(held) if kind == AggregateKind::Min => value < *held,
                    Some(held) => value > *held,
                };
                if better {
                    *current = Some(value);
                }
            }
            (Accumulator::Extreme(_), Accumulator::Extreme(None)) => {}
            (Accumulator::Counted(counts), Accumulator::Counted(more)) => {
                for (value, n) in more {
                    let count = counts.entry(value.clone()).or_insert(0);
                    *count += n;
                    if *count == 0 {
                        counts.remove(&value);
                    }
                }
            }
            (accumulator, other) => {
                return Err(TableError::Execution(format!(
                    "the accumulators {accumulator:?} and {other:?} of {kind:?} cannot be merged"
                )))
            }
        }
        Ok(())
    }
}

impl Accumulator {
    /// Makes a user's function's accumulator read from state its object again, once, before
    /// the rows of a batch are applied and its value is asked for.
    pub(crate) fn restore(&mut self, call: &AggregateCall) -> Result<()> {
        if let Accumulator::User(accumulator @ UserAccumulator::Stored(_)) = self {
            accumulator.object(call.user_function()?)?;
        }
        Ok(())
    }

    /// The accumulator as it is written to keyed state: a user's function's as bytes, so that
    /// what state holds never changes behind its back (see [`UserAccumulator`]).
    pub(crate) fn stored(self) -> Result<Accumulator> {
        match self {
            Accumulator::User(user) => Ok(Accumulator::User(user.stored()?)),
            other => Ok(other),
        }
    }
}

impl ArgumentValues {
    #[inline]
    fn is_null(&self, row: usize) -> bool {
        match self {
            ArgumentValues::Rows | ArgumentValues::User { .. } => false,
            ArgumentValues::Ints(a)
            | ArgumentValues::Floats(a)
            | ArgumentValues::Decimals(a)
            | ArgumentValues::Any(a) => a.is_null(row),
        }
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Decimal128Array, Int32Array, StringArray};

    use super::*;

    fn call(kind: AggregateKind, argument_type: ArrowType, output: ArrowType) -> AggregateCall {
        AggregateCall { kind, argument: Some(0), function: None, argument_type, filter: None, output }
    }

    fn run(call: &AggregateCall, column: ArrayRef, signs: &[i64], retracting: bool) -> ScalarValue {
        let mut accumulator = call.create_accumulator(retracting).unwrap();
        let argument = call.argument(&[column]).unwrap();
        for (row, sign) in signs.iter().enumerate() {
            accumulator.apply(call.kind, &argument, row, *sign).unwrap();
        }
        call.value(&accumulator).unwrap()
    }

    #[test]
    fn integer_sums_and_averages_keep_the_argument_type_as_flink_does() {
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![Some(i32::MAX), Some(1), None, Some(4)]));
        let sum = call(AggregateKind::Sum, ArrowType::Int32, ArrowType::Int32);
        assert_eq!(run(&sum, ints, &[1, 1, 1, 0], false), ScalarValue::Int32(Some(i32::MIN)));
        let avg = call(AggregateKind::Avg, ArrowType::Int32, ArrowType::Int32);
        let small: ArrayRef = Arc::new(Int32Array::from(vec![1, 2, 4]));
        assert_eq!(run(&avg, small, &[1, 1, 1], false), ScalarValue::Int32(Some(2)));
        // Everything taken back: the sum is NULL again.
        let twice: ArrayRef = Arc::new(Int32Array::from(vec![5, 5]));
        assert_eq!(run(&sum, twice, &[1, -1], true), ScalarValue::Int32(None));
    }

    #[test]
    fn a_retracted_extreme_gives_way_to_the_next_one() {
        let words: ArrayRef = Arc::new(StringArray::from(vec!["b", "a", "c", "a"]));
        let min = call(AggregateKind::Min, ArrowType::Utf8, ArrowType::Utf8);
        assert_eq!(run(&min, Arc::clone(&words), &[1, 1, 1, -1], true), ScalarValue::Utf8(Some("b".into())));
        let distinct = call(AggregateKind::CountDistinct, ArrowType::Utf8, ArrowType::Int64);
        assert_eq!(run(&distinct, words, &[1, 1, 1, 1], true), ScalarValue::Int64(Some(3)));
    }

    #[test]
    fn a_decimal_average_has_six_digits_after_the_point_rounded_half_up() {
        let prices: ArrayRef =
            Arc::new(Decimal128Array::from(vec![100, 200, 201]).with_precision_and_scale(10, 2).unwrap());
        let avg = call(AggregateKind::Avg, ArrowType::Decimal128(10, 2), ArrowType::Decimal128(38, 6));
        // (1.00 + 2.00 + 2.01) / 3 = 1.67
        assert_eq!(run(&avg, prices, &[1, 1, 1], false), ScalarValue::Decimal128(Some(1_670_000), 38, 6));
        assert_eq!(rescaled_average(2, 3, 0, 0), 1);
        assert_eq!(rescaled_average(-2, 3, 0, 0), -1);
    }
}
