//! `OrderedValue`: one non-null value of a column, ordered and hashable, as aggregates keep
//! them in state (the values `MIN`/`MAX` with retraction and `COUNT(DISTINCT ..)` count), and
//! its way back into a column of the aggregate's result type.

use std::cmp::Ordering;

use datafusion::arrow::array::{
    Array, AsArray, BinaryArray, BooleanArray, Decimal128Array, LargeBinaryArray, LargeStringArray, StringArray,
    StringViewArray,
};
use datafusion::arrow::datatypes::{
    DataType as ArrowType, Date32Type, Date64Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    Time32MillisecondType, Time32SecondType, Time64MicrosecondType, Time64NanosecondType, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type,
    UInt32Type, UInt64Type, UInt8Type,
};
use datafusion::common::ScalarValue;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TableError};

/// A non-null value, totally ordered within its column's type. Integers of every width, dates,
/// times and timestamps are `Int`; floating point numbers order as IEEE 754's total order
/// (`-0.0` before `0.0`, NaN last), as Java's `Double.compare` does.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum OrderedValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Decimal(i128),
    Str(String),
    Bytes(Vec<u8>),
}

impl OrderedValue {
    /// The value of `column` at `index`; `None` when it is NULL.
    pub(crate) fn at(column: &dyn Array, index: usize) -> Result<Option<OrderedValue>> {
        if column.is_null(index) {
            return Ok(None);
        }
        let value = match column.data_type() {
            ArrowType::Boolean => {
                column.as_any().downcast_ref::<BooleanArray>().map(|a| OrderedValue::Bool(a.value(index)))
            }
            ArrowType::Int8 => Some(OrderedValue::Int(column.as_primitive::<Int8Type>().value(index).into())),
            ArrowType::Int16 => Some(OrderedValue::Int(column.as_primitive::<Int16Type>().value(index).into())),
            ArrowType::Int32 => Some(OrderedValue::Int(column.as_primitive::<Int32Type>().value(index).into())),
            ArrowType::Int64 => Some(OrderedValue::Int(column.as_primitive::<Int64Type>().value(index))),
            ArrowType::UInt8 => Some(OrderedValue::Int(column.as_primitive::<UInt8Type>().value(index).into())),
            ArrowType::UInt16 => Some(OrderedValue::Int(column.as_primitive::<UInt16Type>().value(index).into())),
            ArrowType::UInt32 => Some(OrderedValue::Int(column.as_primitive::<UInt32Type>().value(index).into())),
            ArrowType::UInt64 => {
                Some(OrderedValue::Int(column.as_primitive::<UInt64Type>().value(index).try_into().unwrap_or(i64::MAX)))
            }
            ArrowType::Float32 => Some(OrderedValue::Float(column.as_primitive::<Float32Type>().value(index).into())),
            ArrowType::Float64 => Some(OrderedValue::Float(column.as_primitive::<Float64Type>().value(index))),
            ArrowType::Decimal128(_, _) => {
                column.as_any().downcast_ref::<Decimal128Array>().map(|a| OrderedValue::Decimal(a.value(index)))
            }
            ArrowType::Date32 => Some(OrderedValue::Int(column.as_primitive::<Date32Type>().value(index).into())),
            ArrowType::Date64 => Some(OrderedValue::Int(column.as_primitive::<Date64Type>().value(index))),
            ArrowType::Time32(TimeUnit::Second) => {
                Some(OrderedValue::Int(column.as_primitive::<Time32SecondType>().value(index).into()))
            }
            ArrowType::Time32(_) => {
                Some(OrderedValue::Int(column.as_primitive::<Time32MillisecondType>().value(index).into()))
            }
            ArrowType::Time64(TimeUnit::Microsecond) => {
                Some(OrderedValue::Int(column.as_primitive::<Time64MicrosecondType>().value(index)))
            }
            ArrowType::Time64(_) => Some(OrderedValue::Int(column.as_primitive::<Time64NanosecondType>().value(index))),
            ArrowType::Timestamp(unit, _) => Some(OrderedValue::Int(match unit {
                TimeUnit::Second => column.as_primitive::<TimestampSecondType>().value(index),
                TimeUnit::Millisecond => column.as_primitive::<TimestampMillisecondType>().value(index),
                TimeUnit::Microsecond => column.as_primitive::<TimestampMicrosecondType>().value(index),
                TimeUnit::Nanosecond => column.as_primitive::<TimestampNanosecondType>().value(index),
            })),
            ArrowType::Utf8 => {
                column.as_any().downcast_ref::<StringArray>().map(|a| OrderedValue::Str(a.value(index).to_string()))
            }
            ArrowType::LargeUtf8 => column
                .as_any()
                .downcast_ref::<LargeStringArray>()
                .map(|a| OrderedValue::Str(a.value(index).to_string())),
            ArrowType::Utf8View => {
                column.as_any().downcast_ref::<StringViewArray>().map(|a| OrderedValue::Str(a.value(index).to_string()))
            }
            ArrowType::Binary => {
                column.as_any().downcast_ref::<BinaryArray>().map(|a| OrderedValue::Bytes(a.value(index).to_vec()))
            }
            ArrowType::LargeBinary => {
                column.as_any().downcast_ref::<LargeBinaryArray>().map(|a| OrderedValue::Bytes(a.value(index).to_vec()))
            }
            other => {
                return Err(TableError::Unsupported(format!(
                    "MIN, MAX and DISTINCT aggregates over columns of type {}",
                    crate::types::flink_name(other)
                )))
            }
        };
        value
            .map(Some)
            .ok_or_else(|| TableError::Execution(format!("a column of type {} holds other values", column.data_type())))
    }

    /// The value as a scalar of `data_type`, the type of the column it was read from.
    pub(crate) fn to_scalar(&self, data_type: &ArrowType) -> Result<ScalarValue> {
        let scalar = match (self, data_type) {
            (OrderedValue::Bool(v), _) => ScalarValue::Boolean(Some(*v)),
            (OrderedValue::Int(v), _) => int_scalar(*v, data_type),
            (OrderedValue::Float(v), _) => ScalarValue::Float64(Some(*v)),
            (OrderedValue::Decimal(v), ArrowType::Decimal128(precision, scale)) => {
                ScalarValue::Decimal128(Some(*v), *precision, *scale)
            }
            (OrderedValue::Decimal(v), _) => ScalarValue::Decimal128(Some(*v), 38, 0),
            (OrderedValue::Str(v), _) => ScalarValue::Utf8(Some(v.clone())),
            (OrderedValue::Bytes(v), _) => ScalarValue::Binary(Some(v.clone())),
        };
        cast_scalar(scalar, data_type)
    }
}

/// The integer `v` as a scalar of `data_type` (an integer or temporal type); the caller
/// casts it further where the type is another.
fn int_scalar(v: i64, data_type: &ArrowType) -> ScalarValue {
    // The value came from a column of this type, so it fits it.
    let narrow = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
    match data_type {
        ArrowType::Date32 => ScalarValue::Date32(Some(narrow(v))),
        ArrowType::Date64 => ScalarValue::Date64(Some(v)),
        ArrowType::Time32(TimeUnit::Second) => ScalarValue::Time32Second(Some(narrow(v))),
        ArrowType::Time32(_) => ScalarValue::Time32Millisecond(Some(narrow(v))),
        ArrowType::Time64(TimeUnit::Microsecond) => ScalarValue::Time64Microsecond(Some(v)),
        ArrowType::Time64(_) => ScalarValue::Time64Nanosecond(Some(v)),
        ArrowType::Timestamp(TimeUnit::Second, zone) => ScalarValue::TimestampSecond(Some(v), zone.clone()),
        ArrowType::Timestamp(TimeUnit::Millisecond, zone) => ScalarValue::TimestampMillisecond(Some(v), zone.clone()),
        ArrowType::Timestamp(TimeUnit::Microsecond, zone) => ScalarValue::TimestampMicrosecond(Some(v), zone.clone()),
        ArrowType::Timestamp(TimeUnit::Nanosecond, zone) => ScalarValue::TimestampNanosecond(Some(v), zone.clone()),
        _ => ScalarValue::Int64(Some(v)),
    }
}

/// `scalar` as a value of `data_type`.
pub(crate) fn cast_scalar(scalar: ScalarValue, data_type: &ArrowType) -> Result<ScalarValue> {
    if &scalar.data_type() == data_type {
        return Ok(scalar);
    }
    scalar.cast_to(data_type).map_err(|e| TableError::Execution(e.strip_backtrace()))
}

impl PartialEq for OrderedValue {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for OrderedValue {}

impl PartialOrd for OrderedValue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrderedValue {
    fn cmp(&self, other: &Self) -> Ordering {
        use OrderedValue::*;
        match (self, other) {
            (Bool(a), Bool(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => a.total_cmp(b),
            (Decimal(a), Decimal(b)) => a.cmp(b),
            (Str(a), Str(b)) => a.cmp(b),
            (Bytes(a), Bytes(b)) => a.cmp(b),
            // One column holds one kind of value; across kinds, any fixed order will do.
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl OrderedValue {
    fn rank(&self) -> u8 {
        match self {
            OrderedValue::Bool(_) => 0,
            OrderedValue::Int(_) => 1,
            OrderedValue::Float(_) => 2,
            OrderedValue::Decimal(_) => 3,
            OrderedValue::Str(_) => 4,
            OrderedValue::Bytes(_) => 5,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Float64Array, Int32Array, TimestampMillisecondArray};

    use super::*;

    #[test]
    fn values_read_from_a_column_go_back_as_scalars_of_its_type() {
        let ints: Arc<dyn Array> = Arc::new(Int32Array::from(vec![Some(7), None]));
        let seven = OrderedValue::at(ints.as_ref(), 0).unwrap().unwrap();
        assert_eq!(seven.to_scalar(&ArrowType::Int32).unwrap(), ScalarValue::Int32(Some(7)));
        assert_eq!(OrderedValue::at(ints.as_ref(), 1).unwrap(), None);
        let times: Arc<dyn Array> = Arc::new(TimestampMillisecondArray::from(vec![1_000]));
        let time = OrderedValue::at(times.as_ref(), 0).unwrap().unwrap();
        assert_eq!(time.to_scalar(times.data_type()).unwrap(), ScalarValue::TimestampMillisecond(Some(1_000), None));
    }

    #[test]
    fn floats_order_as_java_compares_them() {
        let floats: Arc<dyn Array> = Arc::new(Float64Array::from(vec![f64::NAN, 0.0, -0.0, -1.5]));
        let mut values: Vec<OrderedValue> =
            (0..4).map(|i| OrderedValue::at(floats.as_ref(), i).unwrap().unwrap()).collect();
        values.sort();
        let order: Vec<String> = values
            .iter()
            .map(|v| if let OrderedValue::Float(f) = v { f.to_string() } else { unreachable!() })
            .collect();
        assert_eq!(order, vec!["-1.5", "-0", "0", "NaN"]);
    }
}
