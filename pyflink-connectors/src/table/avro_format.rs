//! The `avro` format of Kafka tables: each record's value (or key) is one row as an Avro
//! record in Avro's binary encoding, without a schema, as Flink's `avro` format writes it.
//! The Avro schema is derived from the table's columns as Flink derives it (a record named
//! `record`; a nullable column is a union of `null` and its type), so that the writer and
//! the reader of a topic agree as long as their tables do, and other Avro clients read them
//! with that schema (the tests check both ways against the `apache-avro` crate).
//!
//! Types: BOOLEAN `boolean`; TINYINT, SMALLINT, INT `int`; BIGINT `long`; FLOAT `float`;
//! DOUBLE `double`; CHAR/VARCHAR/STRING `string`; BINARY/VARBINARY/BYTES `bytes`; DECIMAL
//! `bytes` with logical type `decimal`; DATE `int` (`date`); TIME `int` (`time-millis`);
//! TIMESTAMP and TIMESTAMP_LTZ `long` (`timestamp-millis` up to precision 3,
//! `timestamp-micros` above). A message that cannot be read fails the job, as Flink's format
//! has no option to skip it.

use std::sync::Arc;

use pyflink_core::FlinkError;
use pyflink_table::batch::ChangeBatch;
use pyflink_table::connectors::TableContext;
use pyflink_table::datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanBuilder, Decimal128Builder, Float32Builder, Float64Builder,
    Int32Builder, Int64Builder, RecordBatch, StringBuilder,
};
use pyflink_table::datafusion::arrow::compute::{cast_with_options, CastOptions};
use pyflink_table::datafusion::arrow::datatypes::{
    DataType as ArrowType, Decimal128Type, Float32Type, Float64Type, Int32Type, Int64Type, SchemaRef, TimeUnit,
};
use pyflink_table::{Result, TableError};

use super::line_format::check_append_only;
use crate::formats::avro::{write_long, Input};

/// The options of the `avro` format.
pub(crate) const AVRO_OPTIONS: &[&str] = &["avro.encoding"];

/// How a column is on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Wire {
    Boolean,
    /// An `int`; a TIME's value is in milliseconds, `scale` times the column's unit.
    Int {
        scale: i64,
    },
    /// A `long`; a TIMESTAMP's value is `scale` times the column's unit (negative: divided).
    Long {
        scale: i64,
    },
    Float,
    Double,
    String,
    Bytes,
    Decimal {
        precision: u8,
        scale: i8,
    },
}

/// Reads and writes the rows of some of a table's columns as Avro records.
#[derive(Debug, Clone)]
pub(crate) struct AvroCodec {
    schema: SchemaRef,
    wires: Vec<Wire>,
    table: Arc<str>,
    connector: Arc<str>,
}

impl AvroCodec {
    /// The codec of the columns `context` describes; fails on a column Avro cannot hold.
    pub(crate) fn new(context: &TableContext<'_>) -> Result<Self> {
        if let Some(encoding) = context.options.get("avro.encoding").filter(|e| !e.eq_ignore_ascii_case("binary")) {
            return Err(TableError::Unsupported(format!(
                "'avro.encoding' = '{encoding}' of table '{}': the avro format writes the binary encoding",
                context.table_name
            )));
        }
        let wires = context
            .schema
            .fields()
            .iter()
            .map(|field| {
                wire_of(field.data_type()).ok_or_else(|| {
                    TableError::Validation(format!(
                        "table '{}': the 'avro' format cannot hold the column '{}' of type {}",
                        context.table_name,
                        field.name(),
                        pyflink_table::types::flink_name(field.data_type())
                    ))
                })
            })
            .collect::<Result<_>>()?;
        Ok(AvroCodec {
            schema: Arc::clone(&context.schema),
            wires,
            table: context.table_name.into(),
            connector: context.options.get("connector").map_or("kafka", String::as_str).into(),
        })
    }

    /// The Avro schema of the records, in Avro's JSON form, as Flink derives it from the columns.
    #[cfg(test)]
    fn avro_schema(&self) -> String {
        let fields: Vec<String> = self
            .schema
            .fields()
            .iter()
            .zip(&self.wires)
            .map(|(field, wire)| {
                let data_type = self.avro_type(*wire, field.data_type());
                if field.is_nullable() {
                    format!(r#"{{"name":"{}","type":["null",{data_type}],"default":null}}"#, field.name())
                } else {
                    format!(r#"{{"name":"{}","type":{data_type}}}"#, field.name())
                }
            })
            .collect();
        format!(
            r#"{{"type":"record","name":"record","namespace":"org.apache.flink.avro.generated","fields":[{}]}}"#,
            fields.join(",")
        )
    }

    #[cfg(test)]
    fn avro_type(&self, wire: Wire, data_type: &ArrowType) -> String {
        match (wire, data_type) {
            (Wire::Boolean, _) => r#""boolean""#.into(),
            (Wire::Int { .. }, ArrowType::Date32) => r#"{"type":"int","logicalType":"date"}"#.into(),
            (Wire::Int { .. }, ArrowType::Time32(_)) => r#"{"type":"int","logicalType":"time-millis"}"#.into(),
            (Wire::Int { .. }, _) => r#""int""#.into(),
            (Wire::Long { .. }, ArrowType::Timestamp(TimeUnit::Second | TimeUnit::Millisecond, _)) => {
                r#"{"type":"long","logicalType":"timestamp-millis"}"#.into()
            }
            (Wire::Long { .. }, ArrowType::Timestamp(..)) => {
                r#"{"type":"long","logicalType":"timestamp-micros"}"#.into()
            }
            (Wire::Long { .. }, _) => r#""long""#.into(),
            (Wire::Float, _) => r#""float""#.into(),
            (Wire::Double, _) => r#""double""#.into(),
            (Wire::String, _) => r#""string""#.into(),
            (Wire::Bytes, _) => r#""bytes""#.into(),
            (Wire::Decimal { precision, scale }, _) => {
                format!(r#"{{"type":"bytes","logicalType":"decimal","precision":{precision},"scale":{scale}}}"#)
            }
        }
    }

    /// The rows of `messages`, one per message.
    pub(crate) fn decode<'m>(
        &self,
        messages: impl ExactSizeIterator<Item = &'m [u8]>,
    ) -> pyflink_core::Result<Option<RecordBatch>> {
        let count = messages.len();
        if count == 0 {
            return Ok(None);
        }
        let mut columns: Vec<Column> = self.wires.iter().map(|wire| Column::new(*wire, count)).collect();
        for message in messages {
            let mut input = Input::new(message);
            for ((column, field), wire) in columns.iter_mut().zip(self.schema.fields()).zip(&self.wires) {
                let present = !field.is_nullable()
                    || match input.long() {
                        Ok(0) => false,
                        Ok(1) => true,
                        Ok(index) => return Err(self.unreadable(&format!("union index {index} of '{}'", field.name()))),
                        Err(e) => return Err(self.unreadable(&e)),
                    };
                column
                    .read(*wire, present, &mut input)
                    .map_err(|e| self.unreadable(&format!("'{}': {e}", field.name())))?;
            }
            if input.remaining() > 0 {
                return Err(self.unreadable(&format!("{} bytes follow the record", input.remaining())));
            }
        }
        let arrays = columns
            .into_iter()
            .zip(self.schema.fields())
            .map(|(column, field)| {
                let built = column.finish();
                cast_with_options(&built, field.data_type(), &CastOptions { safe: false, ..CastOptions::default() })
                    .map_err(|e| self.unreadable(&format!("'{}': {e}", field.name())))
            })
            .collect::<pyflink_core::Result<Vec<_>>>()?;
        RecordBatch::try_new(Arc::clone(&self.schema), arrays).map(Some).map_err(|e| self.unreadable(&e))
    }

    /// The rows of `batch` as one message each; fails on a change other than an insertion.
    pub(crate) fn encode(&self, batch: &ChangeBatch) -> pyflink_core::Result<Vec<Vec<u8>>> {
        check_append_only(batch, &self.connector, &self.table)?;
        let columns = batch
            .rows
            .columns()
            .iter()
            .zip(&self.wires)
            .map(|(column, wire)| WireColumn::of(column, *wire))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| FlinkError::Runtime(format!("{} table '{}': {e}", self.connector, self.table)))?;
        let mut messages = Vec::with_capacity(batch.len());
        for row in 0..batch.len() {
            let mut out = Vec::with_capacity(8 * columns.len());
            for (column, field) in columns.iter().zip(self.schema.fields()) {
                let present = column.is_valid(row);
                if field.is_nullable() {
                    write_long(&mut out, i64::from(present));
                } else if !present {
                    return Err(FlinkError::Runtime(format!(
                        "{} table '{}': the NOT NULL column '{}' is null",
                        self.connector,
                        self.table,
                        field.name()
                    )));
                }
                if present {
                    column.write(row, &mut out);
                }
            }
            messages.push(out);
        }
        Ok(messages)
    }

    fn unreadable(&self, why: &dyn std::fmt::Display) -> FlinkError {
        FlinkError::Deserialization(format!(
            "Failed to deserialize Avro record of {} table '{}': {why}",
            self.connector, self.table
        ))
    }
}

/// How a column of `data_type` is on the wire, if Avro can hold it.
fn wire_of(data_type: &ArrowType) -> Option<Wire> {
    Some(match data_type {
        ArrowType::Boolean => Wire::Boolean,
        ArrowType::Int8 | ArrowType::Int16 | ArrowType::Int32 | ArrowType::Date32 => Wire::Int { scale: 1 },
        ArrowType::Time32(TimeUnit::Millisecond) => Wire::Int { scale: 1 },
        ArrowType::Time32(TimeUnit::Second) => Wire::Int { scale: 1000 },
        ArrowType::Int64 => Wire::Long { scale: 1 },
        ArrowType::Timestamp(TimeUnit::Second, _) => Wire::Long { scale: 1000 },
        ArrowType::Timestamp(TimeUnit::Millisecond | TimeUnit::Microsecond, _) => Wire::Long { scale: 1 },
        ArrowType::Timestamp(TimeUnit::Nanosecond, _) => Wire::Long { scale: -1000 },
        ArrowType::Float32 => Wire::Float,
        ArrowType::Float64 => Wire::Double,
        ArrowType::Utf8 => Wire::String,
        ArrowType::Binary => Wire::Bytes,
        ArrowType::Decimal128(precision, scale) => Wire::Decimal { precision: *precision, scale: *scale },
        _ => return None,
    })
}

/// A wire value in the column's unit.
fn from_wire(value: i64, scale: i64) -> Option<i64> {
    if scale >= 0 {
        Some(value / scale)
    } else {
        value.checked_mul(-scale)
    }
}

/// A column's value on the wire.
fn to_wire(value: i64, scale: i64) -> i64 {
    if scale >= 0 {
        value.saturating_mul(scale)
    } else {
        value / -scale
    }
}

/// A column being read, in its wire type (cast to the column's type at the end).
enum Column {
    Boolean(BooleanBuilder),
    Int(Int32Builder),
    Long(Int64Builder),
    Float(Float32Builder),
    Double(Float64Builder),
    String(StringBuilder),
    Bytes(BinaryBuilder),
    Decimal(Decimal128Builder),
}

impl Column {
    fn new(wire: Wire, capacity: usize) -> Self {
        match wire {
            Wire::Boolean => Column::Boolean(BooleanBuilder::with_capacity(capacity)),
            Wire::Int { .. } => Column::Int(Int32Builder::with_capacity(capacity)),
            Wire::Long { .. } => Column::Long(Int64Builder::with_capacity(capacity)),
            Wire::Float => Column::Float(Float32Builder::with_capacity(capacity)),
            Wire::Double => Column::Double(Float64Builder::with_capacity(capacity)),
            Wire::String => Column::String(StringBuilder::with_capacity(capacity, 16 * capacity)),
            Wire::Bytes => Column::Bytes(BinaryBuilder::with_capacity(capacity, 16 * capacity)),
            Wire::Decimal { precision, scale } => Column::Decimal(
                Decimal128Builder::with_capacity(capacity).with_data_type(ArrowType::Decimal128(precision, scale)),
            ),
        }
    }

    /// Reads the next value (a NULL unless `present`).
    fn read(&mut self, wire: Wire, present: bool, input: &mut Input<'_>) -> std::result::Result<(), String> {
        if !present {
            match self {
                Column::Boolean(b) => b.append_null(),
                Column::Int(b) => b.append_null(),
                Column::Long(b) => b.append_null(),
                Column::Float(b) => b.append_null(),
                Column::Double(b) => b.append_null(),
                Column::String(b) => b.append_null(),
                Column::Bytes(b) => b.append_null(),
                Column::Decimal(b) => b.append_null(),
            }
            return Ok(());
        }
        match (self, wire) {
            (Column::Boolean(b), _) => match input.take(1)?[0] {
                0 => b.append_value(false),
                1 => b.append_value(true),
                other => return Err(format!("{other} is not a boolean (0 or 1)")),
            },
            (Column::Int(b), Wire::Int { scale }) => {
                let value = input.long()?;
                let value = i32::try_from(value / scale).map_err(|_| format!("{value} is out of the range of int"))?;
                b.append_value(value);
            }
            (Column::Long(b), Wire::Long { scale }) => {
                let value = input.long()?;
                b.append_value(from_wire(value, scale).ok_or_else(|| format!("{value} is out of range"))?);
            }
            (Column::Float(b), _) => b.append_value(f32::from_le_bytes(input.take(4)?.try_into().unwrap_or_default())),
            (Column::Double(b), _) => b.append_value(f64::from_le_bytes(input.take(8)?.try_into().unwrap_or_default())),
            (Column::String(b), _) => {
                let bytes = input.bytes()?;
                b.append_value(std::str::from_utf8(bytes).map_err(|e| format!("a string is not UTF-8: {e}"))?);
            }
            (Column::Bytes(b), _) => b.append_value(input.bytes()?),
            (Column::Decimal(b), _) => {
                let bytes = input.bytes()?;
                if bytes.len() > 16 {
                    return Err(format!("a decimal of {} bytes is larger than DECIMAL(38) holds", bytes.len()));
                }
                // Big-endian two's complement, sign-extended to 128 bits.
                let fill = if bytes.first().is_some_and(|b| b & 0x80 != 0) { 0xff } else { 0 };
                let mut full = [fill; 16];
                full[16 - bytes.len()..].copy_from_slice(bytes);
                b.append_value(i128::from_be_bytes(full));
            }
            (_, wire) => return Err(format!("no reader for {wire:?}")),
        }
        Ok(())
    }

    fn finish(self) -> ArrayRef {
        match self {
            Column::Boolean(mut b) => Arc::new(b.finish()),
            Column::Int(mut b) => Arc::new(b.finish()),
            Column::Long(mut b) => Arc::new(b.finish()),
            Column::Float(mut b) => Arc::new(b.finish()),
            Column::Double(mut b) => Arc::new(b.finish()),
            Column::String(mut b) => Arc::new(b.finish()),
            Column::Bytes(mut b) => Arc::new(b.finish()),
            Column::Decimal(mut b) => Arc::new(b.finish()),
        }
    }
}

/// A column being written, as its wire type.
struct WireColumn {
    array: ArrayRef,
    wire: Wire,
}

impl WireColumn {
    /// `column` cast to its wire type, in the wire's unit.
    fn of(column: &ArrayRef, wire: Wire) -> std::result::Result<Self, String> {
        let target = match wire {
            Wire::Int { .. } => ArrowType::Int32,
            Wire::Long { .. } => ArrowType::Int64,
            _ => return Ok(WireColumn { array: Arc::clone(column), wire }),
        };
        let array = cast_with_options(column, &target, &CastOptions { safe: false, ..CastOptions::default() })
            .map_err(|e| e.to_string())?;
        Ok(WireColumn { array, wire })
    }

    fn is_valid(&self, row: usize) -> bool {
        self.array.is_valid(row)
    }

    fn write(&self, row: usize, out: &mut Vec<u8>) {
        let array = self.array.as_ref();
        match self.wire {
            Wire::Boolean => out.push(u8::from(array.as_boolean().value(row))),
            Wire::Int { scale } => {
                write_long(out, to_wire(i64::from(array.as_primitive::<Int32Type>().value(row)), scale))
            }
            Wire::Long { scale } => write_long(out, to_wire(array.as_primitive::<Int64Type>().value(row), scale)),
            Wire::Float => out.extend_from_slice(&array.as_primitive::<Float32Type>().value(row).to_le_bytes()),
            Wire::Double => out.extend_from_slice(&array.as_primitive::<Float64Type>().value(row).to_le_bytes()),
            Wire::String => write_bytes(out, array.as_string::<i32>().value(row).as_bytes()),
            Wire::Bytes => write_bytes(out, array.as_binary::<i32>().value(row)),
            Wire::Decimal { .. } => {
                let bytes = array.as_primitive::<Decimal128Type>().value(row).to_be_bytes();
                // The fewest bytes of the two's complement, as Java's BigInteger writes it.
                let mut start = 0;
                while start < 15
                    && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
                        || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
                {
                    start += 1;
                }
                write_bytes(out, &bytes[start..]);
            }
        }
    }
}

fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_long(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use apache_avro::reader::datum::GenericDatumReader;
    use apache_avro::types::Value as AvroValue;
    use apache_avro::writer::datum::GenericDatumWriter;
    use apache_avro::Schema;
    use pyflink_core::StreamExecutionEnvironment;
    use pyflink_table::datafusion::arrow::array::{
        BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int16Array, Int64Array, StringArray,
        TimestampMillisecondArray,
    };
    use pyflink_table::datafusion::arrow::datatypes::{Field, Schema as ArrowSchema};

    use super::*;

    fn codec(env: &StreamExecutionEnvironment) -> AvroCodec {
        let schema = Arc::new(ArrowSchema::new(vec![
            Field::new("id", ArrowType::Int64, false),
            Field::new("name", ArrowType::Utf8, true),
            Field::new("small", ArrowType::Int16, true),
            Field::new("ok", ArrowType::Boolean, true),
            Field::new("price", ArrowType::Decimal128(10, 2), true),
            Field::new("day", ArrowType::Date32, true),
            Field::new("at", ArrowType::Timestamp(TimeUnit::Millisecond, None), true),
            Field::new("ratio", ArrowType::Float64, true),
            Field::new("raw", ArrowType::Binary, true),
        ]));
        let options = BTreeMap::from([("connector".to_string(), "kafka".to_string())]);
        let context = TableContext {
            env,
            table_name: "t",
            schema,
            options: &options,
            primary_key: None,
            partition_keys: Vec::new(),
            metadata: Vec::new(),
            streaming: true,
        };
        AvroCodec::new(&context).unwrap()
    }

    fn rows(codec: &AvroCodec) -> RecordBatch {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![1, -70_000_000_000])),
            Arc::new(StringArray::from(vec![Some("zoë"), None])),
            Arc::new(Int16Array::from(vec![Some(-3), None])),
            Arc::new(BooleanArray::from(vec![Some(true), None])),
            Arc::new(
                Decimal128Array::from(vec![Some(-12345), Some(99_999_999)]).with_precision_and_scale(10, 2).unwrap(),
            ),
            Arc::new(Date32Array::from(vec![Some(19_000), None])),
            Arc::new(TimestampMillisecondArray::from(vec![Some(1_700_000_000_123), None])),
            Arc::new(Float64Array::from(vec![Some(0.25), None])),
            Arc::new(BinaryArray::from(vec![Some(&[0u8, 255][..]), None])),
        ];
        RecordBatch::try_new(Arc::clone(&codec.schema), columns).unwrap()
    }

    /// What we write, apache-avro reads with the schema Flink derives; what apache-avro writes
    /// with it, we read back to the same rows.
    #[test]
    fn rows_round_trip_through_another_avro_implementation() {
        let env = StreamExecutionEnvironment::get_execution_environment();
        let codec = codec(&env);
        let schema = Schema::parse_str(&codec.avro_schema()).unwrap();
        let reader = GenericDatumReader::builder(&schema).build().unwrap();
        let writer = GenericDatumWriter::builder(&schema).build().unwrap();
        let batch = rows(&codec);
        let messages = codec.encode(&ChangeBatch::inserts(batch.clone())).unwrap();
        let mut rewritten = Vec::new();
        for message in &messages {
            let value = reader.read_value(&mut message.as_slice()).unwrap();
            let AvroValue::Record(fields) = &value else { panic!("{value:?}") };
            assert_eq!(fields.len(), 9);
            rewritten.push(writer.write_value_to_vec(value).unwrap());
        }
        let first = reader.read_value(&mut messages[0].as_slice()).unwrap();
        let AvroValue::Record(fields) = first else { unreachable!() };
        assert_eq!(fields[0].1, AvroValue::Long(1));
        assert_eq!(fields[1].1, AvroValue::Union(1, Box::new(AvroValue::String("zoë".into()))));
        assert_eq!(fields[5].1, AvroValue::Union(1, Box::new(AvroValue::Date(19_000))));
        assert_eq!(fields[6].1, AvroValue::Union(1, Box::new(AvroValue::TimestampMillis(1_700_000_000_123))));
        assert_eq!(rewritten, messages);
        let read = codec.decode(rewritten.iter().map(Vec::as_slice)).unwrap().unwrap();
        assert_eq!(read, batch);
    }

    #[test]
    fn a_message_that_is_not_a_record_of_the_schema_fails_with_what_is_wrong() {
        let env = StreamExecutionEnvironment::get_execution_environment();
        let codec = codec(&env);
        let messages = codec.encode(&ChangeBatch::inserts(rows(&codec))).unwrap();
        let cut = &messages[0][..messages[0].len() - 3];
        let error = codec.decode([cut].into_iter()).unwrap_err().to_string();
        assert!(error.contains("Failed to deserialize Avro record of kafka table 't'"), "{error}");
        assert!(error.contains("'raw'"), "{error}");
        let mut longer = messages[1].clone();
        longer.push(0);
        let error = codec.decode([longer.as_slice()].into_iter()).unwrap_err().to_string();
        assert!(error.contains("1 bytes follow the record"), "{error}");
    }
}
