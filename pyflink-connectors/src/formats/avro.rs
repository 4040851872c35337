//! Rows as Avro records in Avro's binary encoding, one record per message and no schema in it
//! (Flink's `AvroRowSerializationSchema` and `AvroRowDeserializationSchema`). The Avro schema
//! (parsed with the `apache-avro` crate) is a record of `boolean`, `int`, `long`, `float`,
//! `double` and `string` fields, each optionally in a union with `null`.
//!
//! The records themselves are encoded and decoded here: for flat records of primitives the
//! binary encoding is a few lines, it needs no allocation but the row's, and it refuses every
//! malformed message (apache-avro 0.22 reads a truncated string in a union with null as null).

use std::sync::Arc;

use apache_avro::Schema;
use pyflink_core::table::{DataType, Row, Value};
use pyflink_core::{FlinkError, Result};

use crate::formats::{check_row, RowType};
use crate::serialization::{DeserializationSchema, SerializationSchema};

/// A parsed Avro record schema and the row type it gives.
#[derive(Debug)]
struct RecordLayout {
    row_type: RowType,
    /// For each field, the position of `null` in its union with null, if it has one (the
    /// value's position being the other).
    null_positions: Vec<Option<u32>>,
}

impl RecordLayout {
    fn parse(avro_schema: &str) -> Result<Self> {
        let invalid = |why: String| FlinkError::InvalidProgram(format!("the Avro schema cannot make rows: {why}"));
        let schema = Schema::parse_str(avro_schema).map_err(|e| invalid(e.to_string()))?;
        let Schema::Record(record) = &schema else {
            return Err(invalid("it is not a record schema".into()));
        };
        let mut fields = Vec::with_capacity(record.fields.len());
        let mut null_positions = Vec::with_capacity(record.fields.len());
        for field in &record.fields {
            let (data_type, null_position) = match &field.schema {
                Schema::Union(union) => match union.variants() {
                    [Schema::Null, other] => (field_type(other), Some(0)),
                    [other, Schema::Null] => (field_type(other), Some(1)),
                    _ => (None, None),
                },
                other => (field_type(other), None),
            };
            let data_type = data_type.ok_or_else(|| {
                invalid(format!(
                    "field '{}' is not a boolean, int, long, float, double or string (or one in a union with null)",
                    field.name
                ))
            })?;
            fields.push((field.name.clone(), data_type));
            null_positions.push(null_position);
        }
        let row_type = RowType::new(fields);
        Ok(RecordLayout { row_type, null_positions })
    }
}

fn field_type(schema: &Schema) -> Option<DataType> {
    Some(match schema {
        Schema::Boolean => DataType::Boolean,
        Schema::Int => DataType::Int,
        Schema::Long => DataType::BigInt,
        Schema::Float => DataType::Float,
        Schema::Double => DataType::Double,
        Schema::String => DataType::String,
        _ => return None,
    })
}

/// Reads Avro records (binary encoded, without schema) as rows with the record's field names.
///
/// ```
/// use pyflink_connectors::formats::avro::{AvroRowDeserializationSchema, AvroRowSerializationSchema};
/// use pyflink_connectors::serialization::{DeserializationSchema, SerializationSchema};
/// use pyflink_core::table::{Row, Value};
///
/// let schema = r#"{"type": "record", "name": "Greeting",
///     "fields": [{"name": "id", "type": "int"}, {"name": "text", "type": ["null", "string"]}]}"#;
/// let writer = AvroRowSerializationSchema::new(schema).unwrap();
/// let bytes = writer.serialize(&Row::of(vec![Value::Int(1), Value::String("hi".into())])).unwrap();
/// assert_eq!(bytes, [2, 2, 4, b'h', b'i']);
/// let reader = AvroRowDeserializationSchema::new(schema).unwrap();
/// assert_eq!(reader.deserialize(&bytes).unwrap().to_string(), "+I[1, hi]");
/// assert_eq!(reader.row_type().fields()[1].0, "text");
/// ```
#[derive(Debug, Clone)]
pub struct AvroRowDeserializationSchema {
    layout: Arc<RecordLayout>,
}

impl AvroRowDeserializationSchema {
    /// A schema reading records of `avro_schema` (Avro's JSON form of a record schema).
    pub fn new(avro_schema: &str) -> Result<Self> {
        Ok(AvroRowDeserializationSchema { layout: Arc::new(RecordLayout::parse(avro_schema)?) })
    }

    /// The row type of the rows read: the record's field names and types.
    pub fn row_type(&self) -> &RowType {
        &self.layout.row_type
    }

    fn read(&self, bytes: &[u8]) -> std::result::Result<Row, String> {
        let mut input = Input::new(bytes);
        let row = self.read_record(&mut input)?;
        if input.position < bytes.len() {
            return Err(format!("{} bytes follow the record", bytes.len() - input.position));
        }
        Ok(row)
    }

    /// The next record of `input`, which may hold more after it (a block of an Avro file).
    pub(crate) fn read_record(&self, input: &mut Input<'_>) -> std::result::Result<Row, String> {
        let layout = &self.layout;
        let mut values = Vec::with_capacity(layout.row_type.arity());
        for ((name, data_type), null_position) in layout.row_type.fields().iter().zip(&layout.null_positions) {
            let value = input.field(*data_type, *null_position).map_err(|e| format!("field '{name}': {e}"))?;
            values.push(value);
        }
        Ok(Row::of(values))
    }
}

/// The bytes of a message being decoded.
pub(crate) struct Input<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Input<'a> {
    /// The message `bytes`, to read from its start.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Input { bytes, position: 0 }
    }

    /// How many bytes are left to read.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    /// A length-prefixed run of bytes, as Avro writes `bytes` and `string`.
    pub(crate) fn bytes(&mut self) -> std::result::Result<&'a [u8], String> {
        let length = self.long()?;
        let length = usize::try_from(length).map_err(|_| format!("a length of {length}"))?;
        self.take(length)
    }

    pub(crate) fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let end = self.position.checked_add(n).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| format!("the message ends {} bytes early", n.saturating_sub(self.remaining())))?;
        let bytes = self.bytes;
        let taken = &bytes[self.position..end];
        self.position = end;
        Ok(taken)
    }

    /// A zigzag-encoded variable-length long, as Avro writes `int`, `long` and lengths.
    pub(crate) fn long(&mut self) -> std::result::Result<i64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
            }
        }
        Err("a number is longer than ten bytes".into())
    }

    fn field(&mut self, data_type: DataType, null_position: Option<u32>) -> std::result::Result<Value, String> {
        if let Some(null_position) = null_position {
            match self.long()? {
                index if index == i64::from(null_position) => return Ok(Value::Null),
                index if index == 1 - i64::from(null_position) => {}
                index => return Err(format!("union index {index} is neither of the field's two")),
            }
        }
        Ok(match data_type {
            DataType::Boolean => match self.take(1)?[0] {
                0 => Value::Boolean(false),
                1 => Value::Boolean(true),
                other => return Err(format!("{other} is not a boolean (0 or 1)")),
            },
            DataType::Int => {
                let value = self.long()?;
                Value::Int(i32::try_from(value).map_err(|_| format!("{value} is out of the range of int"))?)
            }
            DataType::BigInt => Value::BigInt(self.long()?),
            DataType::Float => Value::Float(f32::from_le_bytes(self.take(4)?.try_into().unwrap_or_default())),
            DataType::Double => Value::Double(f64::from_le_bytes(self.take(8)?.try_into().unwrap_or_default())),
            _ => {
                let length = self.long()?;
                let length = usize::try_from(length).map_err(|_| format!("a string of length {length}"))?;
                let text =
                    std::str::from_utf8(self.take(length)?).map_err(|e| format!("a string is not UTF-8: {e}"))?;
                Value::String(text.to_string())
            }
        })
    }
}

impl DeserializationSchema<Row> for AvroRowDeserializationSchema {
    fn deserialize(&self, bytes: &[u8]) -> Result<Row> {
        self.read(bytes).map_err(|e| FlinkError::Deserialization(format!("Avro: cannot read a row: {e}")))
    }
}

/// Writes rows as Avro records in the binary encoding, without schema.
#[derive(Debug, Clone)]
pub struct AvroRowSerializationSchema {
    layout: Arc<RecordLayout>,
}

impl AvroRowSerializationSchema {
    /// A schema writing records of `avro_schema` (Avro's JSON form of a record schema).
    pub fn new(avro_schema: &str) -> Result<Self> {
        Ok(AvroRowSerializationSchema { layout: Arc::new(RecordLayout::parse(avro_schema)?) })
    }

    /// The row type of the rows written: the record's field names and types.
    pub fn row_type(&self) -> &RowType {
        &self.layout.row_type
    }
}

impl SerializationSchema<Row> for AvroRowSerializationSchema {
    fn serialize(&self, row: &Row) -> Result<Vec<u8>> {
        let layout = &self.layout;
        check_row(row, &layout.row_type, "Avro")?;
        let mut out = Vec::with_capacity(8 * row.arity());
        for (((name, _), value), null_position) in
            layout.row_type.fields().iter().zip(&row.fields).zip(&layout.null_positions)
        {
            match (null_position, value) {
                (Some(position), Value::Null) => write_long(&mut out, i64::from(*position)),
                (Some(position), _) => write_long(&mut out, 1 - i64::from(*position)),
                (None, Value::Null) => {
                    return Err(FlinkError::Connector(format!(
                        "Avro: field '{name}' is null, but its Avro type is not in a union with null"
                    )))
                }
                (None, _) => {}
            }
            match value {
                Value::Null => {}
                Value::Boolean(v) => out.push(u8::from(*v)),
                Value::TinyInt(v) => write_long(&mut out, i64::from(*v)),
                Value::SmallInt(v) => write_long(&mut out, i64::from(*v)),
                Value::Int(v) => write_long(&mut out, i64::from(*v)),
                // Avro's timestamp-millis and local-timestamp-millis: a long.
                Value::BigInt(v) | Value::Timestamp(v) | Value::TimestampLtz(v) => write_long(&mut out, *v),
                Value::Float(v) => out.extend_from_slice(&v.to_le_bytes()),
                Value::Double(v) => out.extend_from_slice(&v.to_le_bytes()),
                Value::String(v) => {
                    write_long(&mut out, v.len() as i64);
                    out.extend_from_slice(v.as_bytes());
                }
            }
        }
        Ok(out)
    }
}

/// Appends `value` zigzag-encoded as a variable-length long.
pub(crate) fn write_long(out: &mut Vec<u8>, value: i64) {
    let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
    while zigzag >= 0x80 {
        out.push((zigzag as u8 & 0x7f) | 0x80);
        zigzag >>= 7;
    }
    out.push(zigzag as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"{"type": "record", "name": "R", "fields": [
        {"name": "flag", "type": "boolean"}, {"name": "n", "type": "long"},
        {"name": "x", "type": ["double", "null"]}, {"name": "s", "type": ["null", "string"]}]}"#;

    #[test]
    fn rows_written_are_read_back_equal() {
        let writer = AvroRowSerializationSchema::new(SCHEMA).unwrap();
        let reader = AvroRowDeserializationSchema::new(SCHEMA).unwrap();
        for row in [
            Row::of(vec![Value::Boolean(true), Value::BigInt(-7), Value::Double(0.5), Value::String("née".into())]),
            Row::of(vec![Value::Boolean(false), Value::BigInt(i64::MAX), Value::Null, Value::Null]),
        ] {
            assert_eq!(reader.deserialize(&writer.serialize(&row).unwrap()).unwrap(), row);
        }
        assert_eq!(reader.row_type().fields()[2], ("x".to_string(), DataType::Double));
    }

    #[test]
    fn records_are_encoded_as_apache_avro_encodes_them() {
        use apache_avro::types::Value as Avro;
        let schema = Schema::parse_str(SCHEMA).unwrap();
        let reference = apache_avro::writer::datum::GenericDatumWriter::builder(&schema).build().unwrap();
        let ours = AvroRowSerializationSchema::new(SCHEMA).unwrap();
        for (flag, n, x, s) in [(true, -300i64, None, Some("née")), (false, i64::MIN, Some(-0.25), None)] {
            let row = Row::of(vec![
                Value::Boolean(flag),
                Value::BigInt(n),
                x.map_or(Value::Null, Value::Double),
                s.map_or(Value::Null, |s| Value::String(s.into())),
            ]);
            let record = Avro::Record(vec![
                ("flag".into(), Avro::Boolean(flag)),
                ("n".into(), Avro::Long(n)),
                (
                    "x".into(),
                    x.map_or(Avro::Union(1, Box::new(Avro::Null)), |x| Avro::Union(0, Box::new(Avro::Double(x)))),
                ),
                (
                    "s".into(),
                    s.map_or(Avro::Union(0, Box::new(Avro::Null)), |s| {
                        Avro::Union(1, Box::new(Avro::String(s.into())))
                    }),
                ),
            ]);
            assert_eq!(ours.serialize(&row).unwrap(), reference.write_value_to_vec(record).unwrap());
        }
    }

    #[test]
    fn bad_schemas_rows_and_messages_say_what_is_wrong() {
        let error = AvroRowSerializationSchema::new(r#"{"type": "array", "items": "int"}"#).unwrap_err();
        assert!(error.to_string().contains("not a record schema"), "{error}");
        let nested =
            r#"{"type": "record", "name": "R", "fields": [{"name": "m", "type": {"type": "map", "values": "int"}}]}"#;
        assert!(AvroRowSerializationSchema::new(nested).unwrap_err().to_string().contains("field 'm'"));
        assert!(AvroRowSerializationSchema::new("{oops").is_err());

        let writer = AvroRowSerializationSchema::new(SCHEMA).unwrap();
        let no_null = Row::of(vec![Value::Null, Value::BigInt(1), Value::Null, Value::Null]);
        assert!(writer.serialize(&no_null).unwrap_err().to_string().contains("field 'flag' is null"));

        let reader = AvroRowDeserializationSchema::new(SCHEMA).unwrap();
        let row = Row::of(vec![Value::Boolean(true), Value::BigInt(1), Value::Null, Value::String("abc".into())]);
        let good = writer.serialize(&row).unwrap();
        let error = reader.deserialize(&good[..good.len() - 1]).unwrap_err().to_string();
        assert!(error.contains("field 's': the message ends 1 bytes early"), "{error}");
        let mut longer = good.clone();
        longer.push(0);
        assert!(reader.deserialize(&longer).unwrap_err().to_string().contains("1 bytes follow the record"));
        assert!(reader.deserialize(&[1, 0xff, 0xff, 0xff]).is_err());
        let error = reader.deserialize(&[2, 2, 2, 0]).unwrap_err().to_string();
        assert!(error.contains("field 'flag': 2 is not a boolean"), "{error}");
        let error = reader.deserialize(&[1, 2, 4, 0]).unwrap_err().to_string();
        assert!(error.contains("field 'x': union index 2"), "{error}");
        let error = reader.deserialize(&[1, 2, 2, 2, 2, 0xff]).unwrap_err().to_string();
        assert!(error.contains("not UTF-8"), "{error}");
    }
}
