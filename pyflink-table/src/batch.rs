//! `ChangeBatch`: the records of table streams, an Arrow record batch of rows with their change
//! kinds, which the runtime can move between workers and keep in checkpoints (as Arrow IPC
//! bytes); and the conversions between batches and [`Row`]s.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, BooleanBuilder, Float32Array, Float32Builder, Float64Array, Float64Builder,
    Int16Array, Int16Builder, Int32Array, Int32Builder, Int64Array, Int64Builder, Int8Array, Int8Builder,
    LargeStringArray, RecordBatch, StringArray, StringBuilder, StringViewArray, TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::{DataType as ArrowType, SchemaRef, TimeUnit};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use pyflink_core::table::{Row, RowKind, Value};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Result, TableError};

/// A batch of changes to a table: rows of one schema, each with its [`RowKind`] (the
/// runtime's record type for tables). Batches of a table that only grows hold no kinds.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeBatch {
    /// The rows.
    pub rows: RecordBatch,
    /// The kind of each row; `None` when all are insertions.
    pub kinds: Option<Vec<RowKind>>,
}

impl ChangeBatch {
    /// A batch of insertions.
    pub fn inserts(rows: RecordBatch) -> Self {
        ChangeBatch { rows, kinds: None }
    }

    /// The kind of row `index`.
    #[inline]
    pub fn kind(&self, index: usize) -> RowKind {
        self.kinds.as_ref().map_or(RowKind::Insert, |kinds| kinds[index])
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows.num_rows()
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.num_rows() == 0
    }

    /// The `length` rows from `offset` on, with their kinds (the columns are shared, not
    /// copied).
    pub fn slice(&self, offset: usize, length: usize) -> Self {
        let kinds = self.kinds.as_ref().map(|kinds| kinds[offset..offset + length].to_vec());
        ChangeBatch { rows: self.rows.slice(offset, length), kinds }
    }
}

/// The byte Flink writes for each row kind.
fn kind_byte(kind: RowKind) -> u8 {
    match kind {
        RowKind::Insert => 0,
        RowKind::UpdateBefore => 1,
        RowKind::UpdateAfter => 2,
        RowKind::Delete => 3,
    }
}

fn kind_of_byte(byte: u8) -> Option<RowKind> {
    Some(match byte {
        0 => RowKind::Insert,
        1 => RowKind::UpdateBefore,
        2 => RowKind::UpdateAfter,
        3 => RowKind::Delete,
        _ => return None,
    })
}

/// On the wire and in checkpoints: the row kinds (one byte each, none for insertions only)
/// and then the rows as an Arrow IPC stream.
impl Serialize for ChangeBatch {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let kinds: Vec<u8> = self.kinds.iter().flatten().map(|kind| kind_byte(*kind)).collect();
        let mut rows = Vec::new();
        let mut writer = StreamWriter::try_new(&mut rows, &self.rows.schema()).map_err(serde::ser::Error::custom)?;
        writer.write(&self.rows).map_err(serde::ser::Error::custom)?;
        writer.finish().map_err(serde::ser::Error::custom)?;
        drop(writer);
        (ByteBuf(kinds), ByteBuf(rows)).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ChangeBatch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let (ByteBuf(kinds), ByteBuf(bytes)) = <(ByteBuf, ByteBuf)>::deserialize(deserializer)?;
        let mut reader = StreamReader::try_new(bytes.as_slice(), None).map_err(D::Error::custom)?;
        let rows = match reader.next() {
            Some(batch) => batch.map_err(D::Error::custom)?,
            None => return Err(D::Error::custom("an Arrow IPC stream without a batch")),
        };
        let kinds = if kinds.is_empty() {
            None
        } else if kinds.len() != rows.num_rows() {
            return Err(D::Error::custom(format!("{} row kinds for {} rows", kinds.len(), rows.num_rows())));
        } else {
            let decoded: Option<Vec<RowKind>> = kinds.iter().map(|byte| kind_of_byte(*byte)).collect();
            Some(decoded.ok_or_else(|| D::Error::custom("a row kind byte above 3"))?)
        };
        Ok(ChangeBatch { rows, kinds })
    }
}

/// Bytes that serialize as bytes rather than as a sequence of numbers.
struct ByteBuf(Vec<u8>);

impl Serialize for ByteBuf {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        serde_bytes_vec(deserializer, "the bytes of an Arrow IPC stream").map(ByteBuf)
    }
}

/// Reads bytes written with `serialize_bytes` (formats that write them as a sequence included);
/// `what` says what they are, in the error of other input.
pub(crate) fn serde_bytes_vec<'de, D: Deserializer<'de>>(
    deserializer: D,
    what: &'static str,
) -> std::result::Result<Vec<u8>, D::Error> {
    struct Bytes(&'static str);
    impl<'de> serde::de::Visitor<'de> for Bytes {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> std::result::Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
        fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> std::result::Result<Vec<u8>, E> {
            Ok(v)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Vec<u8>, A::Error> {
            let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(byte) = seq.next_element()? {
                bytes.push(byte);
            }
            Ok(bytes)
        }
    }
    deserializer.deserialize_byte_buf(Bytes(what))
}

/// The rows at `positions` of `rows`, in that order.
pub(crate) fn take_rows(rows: &RecordBatch, positions: Vec<u32>) -> Result<RecordBatch> {
    let positions = datafusion::arrow::array::UInt32Array::from(positions);
    let columns = rows
        .columns()
        .iter()
        .map(|column| datafusion::arrow::compute::take(column.as_ref(), &positions, None))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(TableError::execution)?;
    RecordBatch::try_new(rows.schema(), columns).map_err(TableError::execution)
}

/// The rows `rows` as a batch of `schema`; each value must fit its column's type (an integer
/// fits any wider integer column, a FLOAT a DOUBLE column).
pub fn rows_to_batch(rows: &[Row], schema: &SchemaRef) -> Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (index, field) in schema.fields().iter().enumerate() {
        let values = rows.iter().map(|row| row.fields.get(index).unwrap_or(&Value::Null));
        let bad = |row: usize, value: &Value| TableError::InvalidValue {
            row,
            column: field.name().clone(),
            expected: field.data_type().to_string(),
            found: format!("{value:?}"),
        };
        let column: ArrayRef = match field.data_type() {
            ArrowType::Boolean => column::<BooleanBuilder, _>(values, bad, |v| match v {
                Value::Boolean(b) => Some(*b),
                _ => None,
            })?,
            ArrowType::Int8 => {
                column::<Int8Builder, _>(values, bad, |v| integer(v).and_then(|i| i8::try_from(i).ok()))?
            }
            ArrowType::Int16 => {
                column::<Int16Builder, _>(values, bad, |v| integer(v).and_then(|i| i16::try_from(i).ok()))?
            }
            ArrowType::Int32 => {
                column::<Int32Builder, _>(values, bad, |v| integer(v).and_then(|i| i32::try_from(i).ok()))?
            }
            ArrowType::Int64 => column::<Int64Builder, _>(values, bad, integer)?,
            ArrowType::Float32 => column::<Float32Builder, _>(values, bad, |v| match v {
                Value::Float(f) => Some(*f),
                _ => None,
            })?,
            ArrowType::Float64 => column::<Float64Builder, _>(values, bad, |v| match v {
                Value::Double(d) => Some(*d),
                Value::Float(f) => Some(f64::from(*f)),
                _ => None,
            })?,
            ArrowType::Utf8 => column::<StringBuilder, _>(values, bad, |v| match v {
                Value::String(s) => Some(s.as_str()),
                _ => None,
            })?,
            ArrowType::Timestamp(TimeUnit::Millisecond, time_zone) => {
                let local = time_zone.is_none();
                let column = column::<TimestampMillisecondBuilder, _>(values, bad, |v| match v {
                    Value::Timestamp(millis) if local => Some(*millis),
                    Value::TimestampLtz(millis) if !local => Some(*millis),
                    _ => None,
                })?;
                datafusion::arrow::compute::cast(&column, field.data_type())
                    .map_err(|e| TableError::Execution(e.to_string()))?
            }
            other => {
                return Err(TableError::Unsupported(format!(
                    "columns of Arrow type {other} in rows given to the environment"
                )))
            }
        };
        columns.push(column);
    }
    RecordBatch::try_new(Arc::clone(schema), columns).map_err(|e| TableError::Execution(e.to_string()))
}

/// The value of an integer of any width.
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::TinyInt(v) => Some(i64::from(*v)),
        Value::SmallInt(v) => Some(i64::from(*v)),
        Value::Int(v) => Some(i64::from(*v)),
        Value::BigInt(v) => Some(*v),
        _ => None,
    }
}

/// A column of `values` built with `B`: `fit` gives each value as the column holds it, or
/// `None` when it does not fit, which is an error made by `bad`.
fn column<'v, B, T>(
    values: impl Iterator<Item = &'v Value>,
    bad: impl Fn(usize, &Value) -> TableError,
    fit: impl Fn(&'v Value) -> Option<T>,
) -> Result<ArrayRef>
where
    B: ColumnBuilder<T>,
{
    let mut builder = B::default();
    for (row, value) in values.enumerate() {
        if matches!(value, Value::Null) {
            builder.push(None);
            continue;
        }
        match fit(value) {
            Some(v) => builder.push(Some(v)),
            None => return Err(bad(row, value)),
        }
    }
    Ok(builder.array())
}

/// The Arrow builders [`column`] uses.
trait ColumnBuilder<T>: Default {
    fn push(&mut self, value: Option<T>);
    fn array(self) -> ArrayRef;
}

macro_rules! column_builder {
    ($builder:ty, $native:ty) => {
        impl<'v> ColumnBuilder<$native> for $builder {
            fn push(&mut self, value: Option<$native>) {
                self.append_option(value);
            }
            fn array(mut self) -> ArrayRef {
                Arc::new(self.finish())
            }
        }
    };
}

column_builder!(BooleanBuilder, bool);
column_builder!(Int8Builder, i8);
column_builder!(Int16Builder, i16);
column_builder!(Int32Builder, i32);
column_builder!(Int64Builder, i64);
column_builder!(Float32Builder, f32);
column_builder!(Float64Builder, f64);
column_builder!(StringBuilder, &'v str);
column_builder!(TimestampMillisecondBuilder, i64);

/// The rows of `batch`, with their kinds.
pub fn batch_to_rows(batch: &ChangeBatch) -> Result<Vec<Row>> {
    let mut rows: Vec<Row> =
        (0..batch.len()).map(|index| Row { kind: batch.kind(index), fields: Vec::new() }).collect();
    for column in batch.rows.columns() {
        for (index, row) in rows.iter_mut().enumerate() {
            row.fields.push(value_at(column.as_ref(), index)?);
        }
    }
    Ok(rows)
}

/// The raw value (in the column's unit) of the timestamp column `column` at `index`.
fn timestamp_value(column: &dyn Array, index: usize) -> Result<i64> {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::{
        TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
    };
    let value = match column.data_type() {
        ArrowType::Timestamp(TimeUnit::Second, _) => {
            column.as_primitive_opt::<TimestampSecondType>().map(|a| a.value(index))
        }
        ArrowType::Timestamp(TimeUnit::Millisecond, _) => {
            column.as_primitive_opt::<TimestampMillisecondType>().map(|a| a.value(index))
        }
        ArrowType::Timestamp(TimeUnit::Microsecond, _) => {
            column.as_primitive_opt::<TimestampMicrosecondType>().map(|a| a.value(index))
        }
        ArrowType::Timestamp(TimeUnit::Nanosecond, _) => {
            column.as_primitive_opt::<TimestampNanosecondType>().map(|a| a.value(index))
        }
        _ => None,
    };
    value.ok_or_else(|| TableError::Execution(format!("a column of type {} holds other values", column.data_type())))
}

/// The value of `column` at `index`.
pub(crate) fn value_at(column: &dyn Array, index: usize) -> Result<Value> {
    if column.is_null(index) {
        return Ok(Value::Null);
    }
    let any = column.as_any();
    let value = match column.data_type() {
        ArrowType::Boolean => any.downcast_ref::<BooleanArray>().map(|a| Value::Boolean(a.value(index))),
        ArrowType::Int8 => any.downcast_ref::<Int8Array>().map(|a| Value::TinyInt(a.value(index))),
        ArrowType::Int16 => any.downcast_ref::<Int16Array>().map(|a| Value::SmallInt(a.value(index))),
        ArrowType::Int32 => any.downcast_ref::<Int32Array>().map(|a| Value::Int(a.value(index))),
        ArrowType::Int64 => any.downcast_ref::<Int64Array>().map(|a| Value::BigInt(a.value(index))),
        // Row numbers (ROW_NUMBER()) and other counts DataFusion makes unsigned are BIGINTs.
        ArrowType::UInt64 => any
            .downcast_ref::<datafusion::arrow::array::UInt64Array>()
            .map(|a| Value::BigInt(i64::try_from(a.value(index)).unwrap_or(i64::MAX))),
        ArrowType::Float32 => any.downcast_ref::<Float32Array>().map(|a| Value::Float(a.value(index))),
        ArrowType::Float64 => any.downcast_ref::<Float64Array>().map(|a| Value::Double(a.value(index))),
        ArrowType::Utf8 => any.downcast_ref::<StringArray>().map(|a| Value::String(a.value(index).to_string())),
        ArrowType::LargeUtf8 => {
            any.downcast_ref::<LargeStringArray>().map(|a| Value::String(a.value(index).to_string()))
        }
        ArrowType::Utf8View => any.downcast_ref::<StringViewArray>().map(|a| Value::String(a.value(index).to_string())),
        ArrowType::Timestamp(unit, time_zone) => {
            let raw = timestamp_value(column, index)?;
            let millis = match unit {
                TimeUnit::Second => raw.saturating_mul(1000),
                TimeUnit::Millisecond => raw,
                TimeUnit::Microsecond => raw.div_euclid(1000),
                TimeUnit::Nanosecond => raw.div_euclid(1_000_000),
            };
            Some(if time_zone.is_some() { Value::TimestampLtz(millis) } else { Value::Timestamp(millis) })
        }
        other => {
            return Err(TableError::Unsupported(format!("collecting values of Arrow type {other} as rows")));
        }
    };
    value.ok_or_else(|| TableError::Execution(format!("a column of type {} holds other values", column.data_type())))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", ArrowType::Int64, true),
            Field::new("name", ArrowType::Utf8, true),
            Field::new("score", ArrowType::Float64, true),
        ]))
    }

    #[test]
    fn rows_become_a_batch_and_back_and_the_batch_survives_serialization() {
        let rows = vec![
            Row::of(vec![Value::Int(1), Value::String("a".into()), Value::Double(1.5)]),
            Row::of(vec![Value::BigInt(2), Value::Null, Value::Float(2.5)]),
        ];
        let batch = rows_to_batch(&rows, &schema()).unwrap();
        let changes = ChangeBatch { rows: batch, kinds: Some(vec![RowKind::Insert, RowKind::UpdateBefore]) };
        let encoded = bincode::serialize(&changes).unwrap();
        let decoded: ChangeBatch = bincode::deserialize(&encoded).unwrap();
        assert_eq!(decoded, changes);
        let inserts = ChangeBatch::inserts(changes.rows.clone());
        let decoded: ChangeBatch = bincode::deserialize(&bincode::serialize(&inserts).unwrap()).unwrap();
        assert_eq!(decoded, inserts);
        let back = batch_to_rows(&changes).unwrap();
        assert_eq!(back[1].kind, RowKind::UpdateBefore);
        assert_eq!(back[0].fields, vec![Value::BigInt(1), Value::String("a".into()), Value::Double(1.5)]);
        assert_eq!(back[1].fields, vec![Value::BigInt(2), Value::Null, Value::Double(2.5)]);
    }

    #[test]
    fn a_value_that_does_not_fit_its_column_names_row_and_column() {
        let rows = vec![Row::of(vec![Value::String("x".into()), Value::Null, Value::Null])];
        let error = rows_to_batch(&rows, &schema()).unwrap_err().to_string();
        assert_eq!(error, "row 0, column 'id': a value of type Int64 expected, found String(\"x\")");
    }
}
