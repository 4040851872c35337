//! Rows as JSON objects, one per message or line: a field per row field, by name (Flink's
//! `JsonRowSerializationSchema` and `JsonRowDeserializationSchema`).

use std::fmt::Write as _;

use pyflink_core::table::{DataType, Row, Value};
use pyflink_core::{FlinkError, Result};
use serde_json::Value as Json;

use crate::formats::{check_row, integer_value, parse_text, ParseErrorPolicy, RowType, SkippedRecords};
use crate::serialization::{DeserializationSchema, SerializationSchema};

/// Reads JSON objects as rows: each field from the member of its name. A missing member or
/// `null` is a null field, unless `fail_on_missing_field` is set; text holding a number is
/// read as the number, and a string field takes any JSON value as its text.
///
/// ```
/// use pyflink_connectors::formats::json::JsonRowDeserializationSchema;
/// use pyflink_connectors::formats::RowType;
/// use pyflink_connectors::serialization::DeserializationSchema;
/// use pyflink_core::table::DataType;
///
/// let schema = JsonRowDeserializationSchema::builder()
///     .type_info(RowType::new([("id", DataType::BigInt), ("name", DataType::String)]))
///     .build()
///     .unwrap();
/// let row = schema.deserialize(br#"{"name": "flink", "id": "7", "extra": true}"#).unwrap();
/// assert_eq!(row.to_string(), "+I[7, flink]");
/// let error = schema.deserialize(b"{\"id\": 1.5}").unwrap_err();
/// assert!(error.to_string().contains("field 'id'"), "{error}");
/// ```
#[derive(Debug, Clone)]
pub struct JsonRowDeserializationSchema {
    row_type: RowType,
    fail_on_missing_field: bool,
    errors: ParseErrorPolicy,
}

/// Builds a [`JsonRowDeserializationSchema`].
#[derive(Debug, Default)]
pub struct JsonRowDeserializationSchemaBuilder {
    row_type: Option<RowType>,
    fail_on_missing_field: bool,
    ignore_parse_errors: bool,
}

impl JsonRowDeserializationSchema {
    /// A builder; the row type must be set.
    pub fn builder() -> JsonRowDeserializationSchemaBuilder {
        JsonRowDeserializationSchemaBuilder::default()
    }

    /// The count of the records skipped as unreadable (with `ignore_parse_errors`).
    pub fn skipped_records(&self) -> SkippedRecords {
        self.errors.skipped.clone()
    }

    fn read(&self, bytes: &[u8]) -> std::result::Result<Row, String> {
        let json: Json = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let Json::Object(object) = json else {
            return Err(format!("a JSON object was expected, not {}", json_kind(&json)));
        };
        let mut fields = Vec::with_capacity(self.row_type.arity());
        for (name, data_type) in self.row_type.fields() {
            let value = match object.get(name) {
                None if self.fail_on_missing_field => return Err(format!("field '{name}' is missing")),
                None | Some(Json::Null) => Value::Null,
                Some(json) => json_value(json, *data_type).map_err(|e| format!("field '{name}': {e}"))?,
            };
            fields.push(value);
        }
        Ok(Row::of(fields))
    }
}

impl JsonRowDeserializationSchemaBuilder {
    /// The fields to read (PyFlink's `type_info`).
    pub fn type_info(mut self, row_type: RowType) -> Self {
        self.row_type = Some(row_type);
        self
    }

    /// Fails on objects that lack a field of the row type, instead of reading it as null.
    pub fn fail_on_missing_field(mut self) -> Self {
        self.fail_on_missing_field = true;
        self
    }

    /// Skips (and counts) what cannot be read, instead of failing the job.
    pub fn ignore_parse_errors(mut self) -> Self {
        self.ignore_parse_errors = true;
        self
    }

    /// The schema; fails without a row type, or with both `fail_on_missing_field` and
    /// `ignore_parse_errors`, which contradict each other.
    pub fn build(self) -> Result<JsonRowDeserializationSchema> {
        let row_type = self.row_type.ok_or_else(|| {
            FlinkError::InvalidProgram("the JsonRowDeserializationSchema needs the row type (type_info)".into())
        })?;
        if self.fail_on_missing_field && self.ignore_parse_errors {
            return Err(FlinkError::InvalidProgram(
                "the JsonRowDeserializationSchema cannot both fail on missing fields and ignore parse errors; \
                 choose one"
                    .into(),
            ));
        }
        let errors = ParseErrorPolicy { ignore: self.ignore_parse_errors, skipped: SkippedRecords::default() };
        Ok(JsonRowDeserializationSchema { row_type, fail_on_missing_field: self.fail_on_missing_field, errors })
    }
}

impl DeserializationSchema<Row> for JsonRowDeserializationSchema {
    fn deserialize(&self, bytes: &[u8]) -> Result<Row> {
        self.read(bytes).map_err(|e| FlinkError::Deserialization(format!("JSON: cannot read a row: {e}")))
    }

    fn deserialize_or_skip(&self, bytes: &[u8]) -> Result<Option<Row>> {
        self.errors.apply(self.deserialize(bytes))
    }
}

fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// The value of a JSON member as a field of type `data_type`.
fn json_value(json: &Json, data_type: DataType) -> std::result::Result<Value, String> {
    match (json, data_type) {
        (Json::String(text), _) => parse_text(text, data_type),
        (_, DataType::Char(_) | DataType::Varchar(_) | DataType::String) => Ok(Value::String(json.to_string())),
        (Json::Bool(b), DataType::Boolean) => Ok(Value::Boolean(*b)),
        (Json::Number(number), DataType::TinyInt | DataType::SmallInt | DataType::Int | DataType::BigInt) => {
            match number.as_i64() {
                Some(value) => integer_value(value, data_type),
                None => Err(format!("{number} is not a whole number, as {data_type} needs")),
            }
        }
        (Json::Number(number), DataType::Float) => {
            number.as_f64().map(|v| Value::Float(v as f32)).ok_or_else(|| format!("{number} is not FLOAT"))
        }
        (Json::Number(number), DataType::Double) => {
            number.as_f64().map(Value::Double).ok_or_else(|| format!("{number} is not DOUBLE"))
        }
        _ => Err(format!("{} cannot be read as {data_type}", json_kind(json))),
    }
}

/// Writes rows as compact JSON objects with a member per field, in the row type's order.
///
/// ```
/// use pyflink_connectors::formats::json::JsonRowSerializationSchema;
/// use pyflink_connectors::formats::RowType;
/// use pyflink_connectors::serialization::SerializationSchema;
/// use pyflink_core::table::{DataType, Row, Value};
///
/// let schema = JsonRowSerializationSchema::builder()
///     .with_type_info(RowType::new([("word", DataType::String), ("n", DataType::Double)]))
///     .build()
///     .unwrap();
/// let bytes = schema.serialize(&Row::of(vec![Value::String("a\"b".into()), Value::Null])).unwrap();
/// assert_eq!(String::from_utf8(bytes).unwrap(), r#"{"word":"a\"b","n":null}"#);
/// ```
#[derive(Debug, Clone)]
pub struct JsonRowSerializationSchema {
    row_type: RowType,
}

/// Builds a [`JsonRowSerializationSchema`].
#[derive(Debug, Default)]
pub struct JsonRowSerializationSchemaBuilder {
    row_type: Option<RowType>,
}

impl JsonRowSerializationSchema {
    /// A builder; the row type must be set.
    pub fn builder() -> JsonRowSerializationSchemaBuilder {
        JsonRowSerializationSchemaBuilder::default()
    }
}

impl JsonRowSerializationSchemaBuilder {
    /// The fields to write (PyFlink's `with_type_info`).
    pub fn with_type_info(mut self, row_type: RowType) -> Self {
        self.row_type = Some(row_type);
        self
    }

    /// The schema; fails without a row type.
    pub fn build(self) -> Result<JsonRowSerializationSchema> {
        let row_type = self.row_type.ok_or_else(|| {
            FlinkError::InvalidProgram("the JsonRowSerializationSchema needs the row type (with_type_info)".into())
        })?;
        Ok(JsonRowSerializationSchema { row_type })
    }
}

impl SerializationSchema<Row> for JsonRowSerializationSchema {
    fn serialize(&self, row: &Row) -> Result<Vec<u8>> {
        check_row(row, &self.row_type, "JSON")?;
        let mut out = String::with_capacity(16 * row.arity() + 2);
        out.push('{');
        for (i, ((name, _), value)) in self.row_type.fields().iter().zip(&row.fields).enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json_string(&mut out, name);
            out.push(':');
            write_json_value(&mut out, value);
        }
        out.push('}');
        Ok(out.into_bytes())
    }
}

/// A timestamp as Flink's JSON format writes it (`'json.timestamp-format.standard' = 'SQL'`):
/// `2020-04-15 08:05:00`, with the milliseconds only when there are any.
fn sql_json_timestamp(millis: i64) -> String {
    let digits = if millis.rem_euclid(1000) == 0 { 0 } else { 3 };
    pyflink_core::table::timestamp::sql_timestamp_string(millis, digits)
}

fn write_json_string(out: &mut String, text: &str) {
    // serde_json escapes as JSON requires; writing a &str cannot fail.
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

fn write_json_value(out: &mut String, value: &Value) {
    // Writing to a String cannot fail.
    let _ = match value {
        Value::Null => write!(out, "null"),
        Value::Boolean(v) => write!(out, "{v}"),
        Value::TinyInt(v) => write!(out, "{v}"),
        Value::SmallInt(v) => write!(out, "{v}"),
        Value::Int(v) => write!(out, "{v}"),
        Value::BigInt(v) => write!(out, "{v}"),
        // JSON has no NaN or infinities: they are written as strings, as Jackson quotes them.
        Value::Float(v) if !v.is_finite() => write!(out, "\"{v}\""),
        Value::Double(v) if !v.is_finite() => write!(out, "\"{v}\""),
        Value::Float(v) => write!(out, "{v:?}"),
        Value::Double(v) => write!(out, "{v:?}"),
        Value::String(v) => {
            write_json_string(out, v);
            Ok(())
        }
        // Flink's JSON format writes timestamps in SQL's form by default.
        Value::Timestamp(millis) => write!(out, "\"{}\"", sql_json_timestamp(*millis)),
        Value::TimestampLtz(millis) => write!(out, "\"{}Z\"", sql_json_timestamp(*millis)),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people() -> RowType {
        RowType::new([("id", DataType::Int), ("name", DataType::String), ("score", DataType::Double)])
    }

    #[test]
    fn rows_written_are_read_back_equal() {
        let writer = JsonRowSerializationSchema::builder().with_type_info(people()).build().unwrap();
        let reader = JsonRowDeserializationSchema::builder().type_info(people()).build().unwrap();
        for row in [
            Row::of(vec![Value::Int(-3), Value::String("née \"x\"\n".into()), Value::Double(0.25)]),
            Row::of(vec![Value::Null, Value::Null, Value::Null]),
            Row::of(vec![Value::Int(i32::MAX), Value::String(String::new()), Value::Double(-1e300)]),
        ] {
            let bytes = writer.serialize(&row).unwrap();
            assert_eq!(reader.deserialize(&bytes).unwrap(), row, "{}", String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn malformed_input_fails_with_what_is_wrong_or_is_skipped_and_counted() {
        let strict = JsonRowDeserializationSchema::builder().type_info(people()).build().unwrap();
        for (input, complaint) in [
            (&b"{\"id\": "[..], "not JSON"),
            (b"[1, 2]", "a JSON object was expected, not an array"),
            (b"{\"id\": 3000000000}", "field 'id': 3000000000 is out of the range of INT"),
            (b"{\"id\": true}", "field 'id': a boolean cannot be read as INT"),
            (b"{\"score\": \"high\"}", "field 'score': 'high' is not DOUBLE"),
            (b"\xff\xfe", "not JSON"),
        ] {
            let error = strict.deserialize(input).unwrap_err().to_string();
            assert!(error.contains(complaint), "{error} should say {complaint}");
        }
        let lenient =
            JsonRowDeserializationSchema::builder().type_info(people()).ignore_parse_errors().build().unwrap();
        let skipped = lenient.skipped_records();
        assert_eq!(lenient.deserialize_or_skip(b"{oops").unwrap(), None);
        assert_eq!(lenient.deserialize_or_skip(b"{\"id\": \"x\"}").unwrap(), None);
        let read = lenient.deserialize_or_skip(b"{\"id\": 1}").unwrap().unwrap();
        assert_eq!(read.to_string(), "+I[1, null, null]");
        assert_eq!(skipped.count(), 2);
    }

    #[test]
    fn missing_fields_are_null_unless_they_must_be_there() {
        let strict =
            JsonRowDeserializationSchema::builder().type_info(people()).fail_on_missing_field().build().unwrap();
        let error = strict.deserialize(b"{\"id\": 1, \"name\": \"a\"}").unwrap_err().to_string();
        assert!(error.contains("field 'score' is missing"), "{error}");
        let both =
            JsonRowDeserializationSchema::builder().type_info(people()).fail_on_missing_field().ignore_parse_errors();
        assert!(both.build().unwrap_err().to_string().contains("choose one"));
    }

    #[test]
    fn string_fields_take_any_json_value_as_text() {
        let row_type = RowType::new([("payload", DataType::String)]);
        let reader = JsonRowDeserializationSchema::builder().type_info(row_type).build().unwrap();
        let row = reader.deserialize(br#"{"payload": {"a": [1, 2]}}"#).unwrap();
        assert_eq!(row.fields, vec![Value::String(r#"{"a":[1,2]}"#.into())]);
    }

    #[test]
    fn rows_that_do_not_fit_the_type_are_refused() {
        let writer = JsonRowSerializationSchema::builder().with_type_info(people()).build().unwrap();
        let error = writer.serialize(&Row::of(vec![Value::Int(1)])).unwrap_err().to_string();
        assert!(error.contains("a row of 1 fields"), "{error}");
        let wrong = Row::of(vec![Value::String("1".into()), Value::Null, Value::Null]);
        assert!(writer.serialize(&wrong).unwrap_err().to_string().contains("field 'id' is INT"));
        let nan = Row::of(vec![Value::Null, Value::Null, Value::Double(f64::NAN)]);
        assert_eq!(writer.serialize(&nan).unwrap(), br#"{"id":null,"name":null,"score":"NaN"}"#);
    }
}
