//! Row formats: rows of a [`RowType`] as JSON objects ([`json`]), CSV records ([`csv`]) or
//! binary Avro records ([`avro`]), with Flink's schema names (`JsonRowSerializationSchema`,
//! `CsvRowDeserializationSchema`, `AvroRowSerializationSchema`, …).
//!
//! A deserializer meets malformed input one of two ways, as configured: it fails the job with
//! an error that says what is wrong where (the default), or with `ignore_parse_errors` it
//! skips the record and counts it in its [`SkippedRecords`].
//!
//! ```
//! use pyflink_connectors::formats::json::{JsonRowDeserializationSchema, JsonRowSerializationSchema};
//! use pyflink_connectors::formats::RowType;
//! use pyflink_connectors::serialization::{DeserializationSchema, SerializationSchema};
//! use pyflink_core::table::{DataType, Row, Value};
//!
//! let row_type = RowType::of([DataType::Int, DataType::String]);
//! let json = JsonRowSerializationSchema::builder().with_type_info(row_type.clone()).build().unwrap();
//! let bytes = json.serialize(&Row::of(vec![Value::Int(1), Value::String("hi".into())])).unwrap();
//! assert_eq!(bytes, br#"{"f0":1,"f1":"hi"}"#);
//!
//! let reader = JsonRowDeserializationSchema::builder().type_info(row_type).build().unwrap();
//! assert_eq!(reader.deserialize(&bytes).unwrap().to_string(), "+I[1, hi]");
//! ```

#[cfg(any(feature = "parquet", feature = "orc"))]
mod arrow_rows;
pub mod avro;
pub mod avro_file;
pub mod csv;
pub mod json;
#[cfg(feature = "orc")]
pub mod orc;
#[cfg(feature = "parquet")]
pub mod parquet;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use pyflink_core::table::{DataType, Value};

/// The fields of the rows a format reads and writes, by position: names and types (Flink's
/// `RowTypeInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowType {
    fields: Vec<(String, DataType)>,
}

impl RowType {
    /// Fields with these names and types.
    pub fn new<N: Into<String>>(fields: impl IntoIterator<Item = (N, DataType)>) -> Self {
        RowType { fields: fields.into_iter().map(|(name, data_type)| (name.into(), data_type)).collect() }
    }

    /// Fields of these types, named `f0`, `f1`, … as Flink names the fields of `Types.ROW`.
    pub fn of(types: impl IntoIterator<Item = DataType>) -> Self {
        RowType { fields: types.into_iter().enumerate().map(|(i, data_type)| (format!("f{i}"), data_type)).collect() }
    }

    /// The names and types of the fields, in order.
    pub fn fields(&self) -> &[(String, DataType)] {
        &self.fields
    }

    /// The number of fields.
    pub fn arity(&self) -> usize {
        self.fields.len()
    }
}

/// Counts the records a deserializer skipped because it could not read them; clones share the
/// count, so a handle kept before the schema goes into a source reads it as the job runs.
#[derive(Debug, Clone, Default)]
pub struct SkippedRecords(Arc<AtomicU64>);

impl SkippedRecords {
    /// How many records were skipped.
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn add_one(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// What a deserializer does with input it cannot read.
#[derive(Debug, Clone, Default)]
struct ParseErrorPolicy {
    ignore: bool,
    skipped: SkippedRecords,
}

impl ParseErrorPolicy {
    /// The outcome of reading a record: its value, or with errors ignored a skip (counted).
    fn apply<T>(&self, read: pyflink_core::Result<T>) -> pyflink_core::Result<Option<T>> {
        match read {
            Ok(value) => Ok(Some(value)),
            Err(_) if self.ignore => {
                self.skipped.add_one();
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }
}

/// The value of `text` as a field of type `data_type`, or what is wrong with it.
fn parse_text(text: &str, data_type: DataType) -> Result<Value, String> {
    let trimmed = text.trim();
    let number_error = |e: &dyn std::fmt::Display| format!("'{trimmed}' is not {data_type} ({e})");
    match data_type {
        DataType::Boolean => match trimmed.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Boolean(true)),
            "false" => Ok(Value::Boolean(false)),
            _ => Err(format!("'{trimmed}' is not BOOLEAN (true or false)")),
        },
        DataType::TinyInt | DataType::SmallInt | DataType::Int | DataType::BigInt => {
            let value: i64 = trimmed.parse().map_err(|e| number_error(&e))?;
            integer_value(value, data_type)
        }
        DataType::Float => trimmed.parse().map(Value::Float).map_err(|e| number_error(&e)),
        DataType::Double => trimmed.parse().map(Value::Double).map_err(|e| number_error(&e)),
        DataType::Char(_) | DataType::Varchar(_) | DataType::String => Ok(Value::String(text.to_string())),
    }
}

/// `value` as a value of the integer type `data_type`, if it is in the type's range.
fn integer_value(value: i64, data_type: DataType) -> Result<Value, String> {
    let out_of_range = || format!("{value} is out of the range of {data_type}");
    match data_type {
        DataType::TinyInt => i8::try_from(value).map(Value::TinyInt).map_err(|_| out_of_range()),
        DataType::SmallInt => i16::try_from(value).map(Value::SmallInt).map_err(|_| out_of_range()),
        DataType::Int => i32::try_from(value).map(Value::Int).map_err(|_| out_of_range()),
        _ => Ok(Value::BigInt(value)),
    }
}

/// Whether `value` may be a field of type `data_type` (nulls may be any field).
fn fits(value: &Value, data_type: DataType) -> bool {
    matches!(
        (value, data_type),
        (Value::Null, _)
            | (Value::Boolean(_), DataType::Boolean)
            | (Value::TinyInt(_), DataType::TinyInt)
            | (Value::SmallInt(_), DataType::SmallInt)
            | (Value::Int(_), DataType::Int)
            | (Value::BigInt(_), DataType::BigInt)
            | (Value::Float(_), DataType::Float)
            | (Value::Double(_), DataType::Double)
            | (Value::String(_), DataType::Char(_) | DataType::Varchar(_) | DataType::String)
    )
}

/// Checks that a row to write has the row type's fields.
fn check_row(row: &pyflink_core::table::Row, row_type: &RowType, format: &str) -> pyflink_core::Result<()> {
    if row.arity() != row_type.arity() {
        return Err(pyflink_core::FlinkError::Connector(format!(
            "{format}: a row of {} fields cannot be written as the row type's {} fields",
            row.arity(),
            row_type.arity()
        )));
    }
    for ((name, data_type), value) in row_type.fields().iter().zip(&row.fields) {
        if !fits(value, *data_type) {
            return Err(pyflink_core::FlinkError::Connector(format!(
                "{format}: field '{name}' is {data_type}, but the row holds {value:?}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_become_values_of_the_field_type() {
        assert_eq!(parse_text(" 42 ", DataType::Int), Ok(Value::Int(42)));
        assert_eq!(parse_text("TRUE", DataType::Boolean), Ok(Value::Boolean(true)));
        assert_eq!(parse_text("2.5", DataType::Double), Ok(Value::Double(2.5)));
        assert_eq!(parse_text(" a ", DataType::String), Ok(Value::String(" a ".into())));
        assert_eq!(parse_text("300", DataType::TinyInt), Err("300 is out of the range of TINYINT".into()));
        assert!(parse_text("x1", DataType::BigInt).unwrap_err().contains("'x1' is not BIGINT"));
        assert!(parse_text("yes", DataType::Boolean).unwrap_err().contains("true or false"));
    }

    #[test]
    fn skipped_records_are_counted_only_when_errors_are_ignored() {
        let policy = ParseErrorPolicy { ignore: true, skipped: SkippedRecords::default() };
        let failed: pyflink_core::Result<u8> = Err(pyflink_core::FlinkError::Connector("bad".into()));
        assert_eq!(policy.apply(failed.clone()), Ok(None));
        assert_eq!(policy.apply(Ok(1)), Ok(Some(1)));
        assert_eq!(policy.skipped.count(), 1);
        let strict = ParseErrorPolicy::default();
        assert!(strict.apply(failed).is_err());
        assert_eq!(strict.skipped.count(), 0);
    }
}
