//! `ArrowBatch`: the records of table streams, an Arrow record batch that the runtime can move
//! between workers and keep in checkpoints (as Arrow IPC bytes); and the conversions between
//! batches and [`Row`]s.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, BooleanBuilder, Float32Array, Float32Builder, Float64Array, Float64Builder,
    Int16Array, Int16Builder, Int32Array, Int32Builder, Int64Array, Int64Builder, Int8Array, Int8Builder,
    LargeStringArray, RecordBatch, StringArray, StringBuilder, StringViewArray,
};
use datafusion::arrow::datatypes::{DataType as ArrowType, SchemaRef};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use pyflink_core::table::{Row, RowKind, Value};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Result, TableError};

/// A batch of rows of one schema, all insertions (the runtime's record type for tables).
#[derive(Debug, Clone, PartialEq)]
pub struct ArrowBatch(pub RecordBatch);

impl Serialize for ArrowBatch {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut bytes = Vec::new();
        let mut writer = StreamWriter::try_new(&mut bytes, &self.0.schema()).map_err(serde::ser::Error::custom)?;
        writer.write(&self.0).map_err(serde::ser::Error::custom)?;
        writer.finish().map_err(serde::ser::Error::custom)?;
        drop(writer);
        serializer.serialize_bytes(&bytes)
    }
}

impl<'de> Deserialize<'de> for ArrowBatch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let bytes: Vec<u8> = serde_bytes_vec(deserializer)?;
        let mut reader = StreamReader::try_new(bytes.as_slice(), None).map_err(D::Error::custom)?;
        match reader.next() {
            Some(batch) => Ok(ArrowBatch(batch.map_err(D::Error::custom)?)),
            None => Err(D::Error::custom("an Arrow IPC stream without a batch")),
        }
    }
}

/// Reads bytes written with `serialize_bytes` (formats that write them as a sequence included).
fn serde_bytes_vec<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Vec<u8>, D::Error> {
    struct Bytes;
    impl<'de> serde::de::Visitor<'de> for Bytes {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "the bytes of an Arrow IPC stream")
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
    deserializer.deserialize_byte_buf(Bytes)
}

/// The rows `rows` as a batch of `schema`; each value must fit its column's type (an integer
/// fits any wider integer column).
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
            ArrowType::Boolean => {
                let mut builder = BooleanBuilder::with_capacity(rows.len());
                for (row, value) in values.enumerate() {
                    match value {
                        Value::Null => builder.append_null(),
                        Value::Boolean(v) => builder.append_value(*v),
                        other => return Err(bad(row, other)),
                    }
                }
                Arc::new(builder.finish())
            }
            ArrowType::Int8 => integer_column::<Int8Builder, i8>(values, |v| i8::try_from(v).ok(), bad)?,
            ArrowType::Int16 => integer_column::<Int16Builder, i16>(values, |v| i16::try_from(v).ok(), bad)?,
            ArrowType::Int32 => integer_column::<Int32Builder, i32>(values, |v| i32::try_from(v).ok(), bad)?,
            ArrowType::Int64 => integer_column::<Int64Builder, i64>(values, Some, bad)?,
            ArrowType::Float32 => {
                let mut builder = Float32Builder::with_capacity(rows.len());
                for (row, value) in values.enumerate() {
                    match value {
                        Value::Null => builder.append_null(),
                        Value::Float(v) => builder.append_value(*v),
                        other => return Err(bad(row, other)),
                    }
                }
                Arc::new(builder.finish())
            }
            ArrowType::Float64 => {
                let mut builder = Float64Builder::with_capacity(rows.len());
                for (row, value) in values.enumerate() {
                    match value {
                        Value::Null => builder.append_null(),
                        Value::Double(v) => builder.append_value(*v),
                        Value::Float(v) => builder.append_value(f64::from(*v)),
                        other => return Err(bad(row, other)),
                    }
                }
                Arc::new(builder.finish())
            }
            ArrowType::Utf8 => {
                let mut builder = StringBuilder::new();
                for (row, value) in values.enumerate() {
                    match value {
                        Value::Null => builder.append_null(),
                        Value::String(v) => builder.append_value(v),
                        other => return Err(bad(row, other)),
                    }
                }
                Arc::new(builder.finish())
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

/// A column of integers of one width from `values`, which may be of any narrower width.
fn integer_column<'v, B, T>(
    values: impl Iterator<Item = &'v Value>,
    narrow: impl Fn(i64) -> Option<T>,
    bad: impl Fn(usize, &Value) -> TableError,
) -> Result<ArrayRef>
where
    B: IntegerBuilder<T>,
{
    let mut builder = B::default();
    for (row, value) in values.enumerate() {
        let wide = match value {
            Value::Null => {
                builder.null();
                continue;
            }
            Value::TinyInt(v) => i64::from(*v),
            Value::SmallInt(v) => i64::from(*v),
            Value::Int(v) => i64::from(*v),
            Value::BigInt(v) => *v,
            other => return Err(bad(row, other)),
        };
        match narrow(wide) {
            Some(v) => builder.value(v),
            None => return Err(bad(row, value)),
        }
    }
    Ok(builder.array())
}

/// The Arrow builders of integer columns, as [`integer_column`] uses them.
trait IntegerBuilder<T>: Default {
    fn null(&mut self);
    fn value(&mut self, value: T);
    fn array(self) -> ArrayRef;
}

macro_rules! integer_builder {
    ($builder:ty, $native:ty) => {
        impl IntegerBuilder<$native> for $builder {
            fn null(&mut self) {
                self.append_null();
            }
            fn value(&mut self, value: $native) {
                self.append_value(value);
            }
            fn array(mut self) -> ArrayRef {
                Arc::new(self.finish())
            }
        }
    };
}

integer_builder!(Int8Builder, i8);
integer_builder!(Int16Builder, i16);
integer_builder!(Int32Builder, i32);
integer_builder!(Int64Builder, i64);

/// The rows of `batch`, all insertions.
pub fn batch_to_rows(batch: &RecordBatch) -> Result<Vec<Row>> {
    let mut rows: Vec<Row> = (0..batch.num_rows()).map(|_| Row { kind: RowKind::Insert, fields: Vec::new() }).collect();
    for column in batch.columns() {
        for (index, row) in rows.iter_mut().enumerate() {
            row.fields.push(value_at(column.as_ref(), index)?);
        }
    }
    Ok(rows)
}

/// The value of `column` at `index`.
fn value_at(column: &dyn Array, index: usize) -> Result<Value> {
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
        ArrowType::Float32 => any.downcast_ref::<Float32Array>().map(|a| Value::Float(a.value(index))),
        ArrowType::Float64 => any.downcast_ref::<Float64Array>().map(|a| Value::Double(a.value(index))),
        ArrowType::Utf8 => any.downcast_ref::<StringArray>().map(|a| Value::String(a.value(index).to_string())),
        ArrowType::LargeUtf8 => {
            any.downcast_ref::<LargeStringArray>().map(|a| Value::String(a.value(index).to_string()))
        }
        ArrowType::Utf8View => any.downcast_ref::<StringViewArray>().map(|a| Value::String(a.value(index).to_string())),
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
        let encoded = bincode::serialize(&ArrowBatch(batch.clone())).unwrap();
        let decoded: ArrowBatch = bincode::deserialize(&encoded).unwrap();
        assert_eq!(decoded.0, batch);
        let back = batch_to_rows(&decoded.0).unwrap();
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
