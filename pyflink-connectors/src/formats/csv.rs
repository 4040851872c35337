//! Rows as CSV records, one per message or line (Flink's `CsvRowSerializationSchema` and
//! `CsvRowDeserializationSchema`): fields by position, split by the field delimiter, quoted
//! where they hold a delimiter, a quote or a line break.

use pyflink_core::table::{Row, Value};
use pyflink_core::{FlinkError, Result};

use crate::formats::{check_row, parse_text, ParseErrorPolicy, RowType, SkippedRecords};
use crate::serialization::{DeserializationSchema, SerializationSchema};

/// How fields are delimited and quoted, shared by both directions (and by the `csv` format of
/// filesystem tables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dialect {
    pub(crate) field_delimiter: char,
    /// The quote character; `None` when quoting is disabled.
    pub(crate) quote: Option<char>,
    pub(crate) escape: Option<char>,
    pub(crate) null_literal: Option<String>,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect { field_delimiter: ',', quote: Some('"'), escape: None, null_literal: None }
    }
}

/// The setters of a [`Dialect`], which both builders have.
macro_rules! dialect_setters {
    () => {
        /// The character between fields (`,` unless set).
        pub fn set_field_delimiter(mut self, delimiter: char) -> Self {
            self.dialect.field_delimiter = delimiter;
            self
        }

        /// The character that encloses fields holding delimiters, quotes or line breaks (`"`
        /// unless set).
        pub fn set_quote_character(mut self, quote: char) -> Self {
            self.dialect.quote = Some(quote);
            self
        }

        /// The character that makes the next one literal (none unless set).
        pub fn set_escape_character(mut self, escape: char) -> Self {
            self.dialect.escape = Some(escape);
            self
        }

        /// The text that stands for null (none unless set: nulls are empty fields).
        pub fn set_null_literal(mut self, literal: impl Into<String>) -> Self {
            self.dialect.null_literal = Some(literal.into());
            self
        }
    };
}

/// Reads CSV records as rows: one field per row field, in order. A field equal to the null
/// literal, or an empty field of a non-string type, is null.
///
/// ```
/// use pyflink_connectors::formats::csv::CsvRowDeserializationSchema;
/// use pyflink_connectors::formats::RowType;
/// use pyflink_connectors::serialization::DeserializationSchema;
/// use pyflink_core::table::DataType;
///
/// let schema = CsvRowDeserializationSchema::builder(RowType::of([DataType::Int, DataType::String]))
///     .build()
///     .unwrap();
/// assert_eq!(schema.deserialize(b"1,\"hi, there\"\n").unwrap().to_string(), "+I[1, hi, there]");
/// let error = schema.deserialize(b"1,hi,extra").unwrap_err();
/// assert!(error.to_string().contains("3 fields"), "{error}");
/// ```
#[derive(Debug, Clone)]
pub struct CsvRowDeserializationSchema {
    row_type: RowType,
    dialect: Dialect,
    allow_comments: bool,
    errors: ParseErrorPolicy,
}

/// Builds a [`CsvRowDeserializationSchema`].
#[derive(Debug)]
pub struct CsvRowDeserializationSchemaBuilder {
    row_type: RowType,
    dialect: Dialect,
    allow_comments: bool,
    ignore_parse_errors: bool,
}

impl CsvRowDeserializationSchema {
    /// A builder for rows of `row_type`.
    pub fn builder(row_type: RowType) -> CsvRowDeserializationSchemaBuilder {
        CsvRowDeserializationSchemaBuilder {
            row_type,
            dialect: Dialect::default(),
            allow_comments: false,
            ignore_parse_errors: false,
        }
    }

    /// The count of the records skipped as unreadable (with `set_ignore_parse_errors`).
    pub fn skipped_records(&self) -> SkippedRecords {
        self.errors.skipped.clone()
    }

    fn read(&self, bytes: &[u8]) -> std::result::Result<Row, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
        let line = text.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(text);
        let fields = split_record(line, &self.dialect)?;
        if fields.len() != self.row_type.arity() {
            return Err(format!(
                "the record has {} fields where the row type has {}",
                fields.len(),
                self.row_type.arity()
            ));
        }
        let mut values = Vec::with_capacity(fields.len());
        for ((name, data_type), Field { text: field, quoted }) in self.row_type.fields().iter().zip(fields) {
            // A quoted field is always text: that is how a string equal to the null literal
            // is written.
            let is_null = !quoted
                && (self.dialect.null_literal.as_deref() == Some(field.as_str())
                    || (field.is_empty() && !data_type.is_string()));
            let value = if is_null {
                Value::Null
            } else {
                parse_text(&field, *data_type).map_err(|e| format!("field '{name}': {e}"))?
            };
            values.push(value);
        }
        Ok(Row::of(values))
    }
}

impl CsvRowDeserializationSchemaBuilder {
    dialect_setters!();

    /// Whether records starting with `#` are comments, skipped.
    pub fn set_allow_comments(mut self, allow: bool) -> Self {
        self.allow_comments = allow;
        self
    }

    /// Whether records that cannot be read are skipped (and counted) instead of failing the job.
    pub fn set_ignore_parse_errors(mut self, ignore: bool) -> Self {
        self.ignore_parse_errors = ignore;
        self
    }

    /// The schema; fails if the delimiter, quote and escape characters are not distinct.
    pub fn build(self) -> Result<CsvRowDeserializationSchema> {
        check_dialect(&self.dialect)?;
        let errors = ParseErrorPolicy { ignore: self.ignore_parse_errors, skipped: SkippedRecords::default() };
        Ok(CsvRowDeserializationSchema {
            row_type: self.row_type,
            dialect: self.dialect,
            allow_comments: self.allow_comments,
            errors,
        })
    }
}

impl DeserializationSchema<Row> for CsvRowDeserializationSchema {
    fn deserialize(&self, bytes: &[u8]) -> Result<Row> {
        self.read(bytes).map_err(|e| FlinkError::Deserialization(format!("CSV: cannot read a row: {e}")))
    }

    fn deserialize_or_skip(&self, bytes: &[u8]) -> Result<Option<Row>> {
        if self.allow_comments && bytes.first() == Some(&b'#') {
            return Ok(None);
        }
        self.errors.apply(self.deserialize(bytes))
    }
}

pub(crate) fn check_dialect(dialect: &Dialect) -> Result<()> {
    let special = [Some(dialect.field_delimiter), dialect.quote, dialect.escape];
    let set: Vec<char> = special.iter().flatten().copied().collect();
    let distinct = set.iter().enumerate().all(|(i, c)| !set[..i].contains(c));
    if !distinct || set.iter().any(|c| matches!(c, '\n' | '\r')) {
        return Err(FlinkError::InvalidProgram(format!(
            "a CSV format needs distinct field delimiter, quote and escape characters, none a line break \
             (got delimiter {:?}, quote {:?}, escape {:?})",
            dialect.field_delimiter, dialect.quote, dialect.escape
        )));
    }
    Ok(())
}

/// A field of a record, as read.
pub(crate) struct Field {
    pub(crate) text: String,
    /// Whether it was enclosed in quotes.
    pub(crate) quoted: bool,
}

/// The fields of one record.
pub(crate) fn split_record(line: &str, dialect: &Dialect) -> std::result::Result<Vec<Field>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    // Whether the current field was quoted (and its closing quote passed).
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if Some(c) == dialect.escape {
            let escaped = chars.next().ok_or("the record ends with the escape character")?;
            field.push(escaped);
        } else if Some(c) == dialect.quote && field.is_empty() && !quoted {
            quoted = true;
            loop {
                match chars.next() {
                    None => return Err("a quoted field is not closed".into()),
                    Some(e) if Some(e) == dialect.escape => {
                        field.push(chars.next().ok_or("the record ends with the escape character")?);
                    }
                    Some(q) if Some(q) == dialect.quote => {
                        if chars.peek() == Some(&q) {
                            // A doubled quote stands for one.
                            chars.next();
                            field.push(q);
                        } else {
                            break;
                        }
                    }
                    Some(other) => field.push(other),
                }
            }
            match chars.peek() {
                None => {}
                Some(&next) if next == dialect.field_delimiter => {}
                Some(next) => return Err(format!("{next:?} follows the closing quote of field {}", fields.len() + 1)),
            }
        } else if c == dialect.field_delimiter {
            fields.push(Field { text: std::mem::take(&mut field), quoted });
            quoted = false;
        } else if quoted {
            return Err(format!("{c:?} follows the closing quote of field {}", fields.len() + 1));
        } else {
            field.push(c);
        }
    }
    fields.push(Field { text: field, quoted });
    Ok(fields)
}

/// Writes rows as CSV records ending with the line delimiter (`\n` unless set).
///
/// ```
/// use pyflink_connectors::formats::csv::CsvRowSerializationSchema;
/// use pyflink_connectors::formats::RowType;
/// use pyflink_connectors::serialization::SerializationSchema;
/// use pyflink_core::table::{DataType, Row, Value};
///
/// let schema = CsvRowSerializationSchema::builder(RowType::of([DataType::Int, DataType::String])).build().unwrap();
/// let bytes = schema.serialize(&Row::of(vec![Value::Int(1), Value::String("hi, \"you\"".into())])).unwrap();
/// assert_eq!(bytes, b"1,\"hi, \"\"you\"\"\"\n");
/// ```
#[derive(Debug, Clone)]
pub struct CsvRowSerializationSchema {
    row_type: RowType,
    dialect: Dialect,
    line_delimiter: String,
}

/// Builds a [`CsvRowSerializationSchema`].
#[derive(Debug)]
pub struct CsvRowSerializationSchemaBuilder {
    row_type: RowType,
    dialect: Dialect,
    line_delimiter: String,
}

impl CsvRowSerializationSchema {
    /// A builder for rows of `row_type`.
    pub fn builder(row_type: RowType) -> CsvRowSerializationSchemaBuilder {
        CsvRowSerializationSchemaBuilder { row_type, dialect: Dialect::default(), line_delimiter: "\n".into() }
    }
}

impl CsvRowSerializationSchemaBuilder {
    dialect_setters!();

    /// What ends each record: `\n` (the default), `\r`, `\r\n` or nothing.
    pub fn set_line_delimiter(mut self, delimiter: impl Into<String>) -> Self {
        self.line_delimiter = delimiter.into();
        self
    }

    /// Never quotes fields (those holding delimiters then need an escape character).
    pub fn disable_quote_character(mut self) -> Self {
        self.dialect.quote = None;
        self
    }

    /// The schema; fails on an unsupported line delimiter or characters that are not distinct.
    pub fn build(self) -> Result<CsvRowSerializationSchema> {
        if !matches!(self.line_delimiter.as_str(), "\n" | "\r" | "\r\n" | "") {
            return Err(FlinkError::InvalidProgram(format!(
                "a CSV line delimiter is \\n, \\r, \\r\\n or empty, not {:?}",
                self.line_delimiter
            )));
        }
        check_dialect(&self.dialect)?;
        Ok(CsvRowSerializationSchema {
            row_type: self.row_type,
            dialect: self.dialect,
            line_delimiter: self.line_delimiter,
        })
    }
}

impl SerializationSchema<Row> for CsvRowSerializationSchema {
    fn serialize(&self, row: &Row) -> Result<Vec<u8>> {
        check_row(row, &self.row_type, "CSV")?;
        let mut out = String::with_capacity(8 * row.arity() + 1);
        for (i, value) in row.fields.iter().enumerate() {
            if i > 0 {
                out.push(self.dialect.field_delimiter);
            }
            match value {
                Value::Null => out.push_str(self.dialect.null_literal.as_deref().unwrap_or("")),
                Value::String(text) => self.dialect.write_field(&mut out, text),
                other => self.dialect.write_field(&mut out, &other.to_string()),
            }
        }
        out.push_str(&self.line_delimiter);
        Ok(out.into_bytes())
    }
}

impl Dialect {
    /// Appends `text` as one field: quoted (or escaped, without a quote character) where it
    /// holds the delimiter, a quote, the escape character or a line break.
    pub(crate) fn write_field(&self, out: &mut String, text: &str) {
        let special = |c: char| {
            c == self.field_delimiter || Some(c) == self.quote || Some(c) == self.escape || c == '\n' || c == '\r'
        };
        // A string equal to the null literal is quoted, so that it is read back as itself.
        let needs_quotes = text.chars().any(special) || self.null_literal.as_deref() == Some(text);
        match (needs_quotes, self.quote) {
            (false, _) => out.push_str(text),
            (true, Some(quote)) => {
                out.push(quote);
                for c in text.chars() {
                    if c == quote {
                        out.push(quote);
                    } else if Some(c) == self.escape {
                        out.push(c);
                    }
                    out.push(c);
                }
                out.push(quote);
            }
            (true, None) => {
                for c in text.chars() {
                    if let Some(escape) = self.escape.filter(|_| special(c)) {
                        out.push(escape);
                    }
                    out.push(c);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pyflink_core::table::DataType;

    fn row_type() -> RowType {
        RowType::new([("id", DataType::BigInt), ("text", DataType::String), ("ok", DataType::Boolean)])
    }

    #[test]
    fn rows_written_are_read_back_equal_in_every_dialect() {
        let rows = [
            Row::of(vec![Value::BigInt(1), Value::String("plain".into()), Value::Boolean(true)]),
            Row::of(vec![Value::BigInt(-2), Value::String("a,b \"q\" \\ x;y\r\nz".into()), Value::Null]),
            Row::of(vec![Value::Null, Value::String(String::new()), Value::Boolean(false)]),
            Row::of(vec![Value::Null, Value::String("null".into()), Value::Null]),
        ];
        let (w, r) = (CsvRowSerializationSchema::builder, CsvRowDeserializationSchema::builder);
        let dialects = [
            (w(row_type()).build(), r(row_type()).build()),
            (
                w(row_type()).set_field_delimiter(';').set_quote_character('\'').set_null_literal("null").build(),
                r(row_type()).set_field_delimiter(';').set_quote_character('\'').set_null_literal("null").build(),
            ),
            (
                w(row_type()).set_field_delimiter('|').set_escape_character('\\').set_line_delimiter("\r\n").build(),
                r(row_type()).set_field_delimiter('|').set_escape_character('\\').build(),
            ),
        ];
        for (writer, reader) in dialects {
            let (writer, reader) = (writer.unwrap(), reader.unwrap());
            for row in &rows {
                let bytes = writer.serialize(row).unwrap();
                let text = String::from_utf8_lossy(&bytes).into_owned();
                assert_eq!(&reader.deserialize(&bytes).unwrap(), row, "{text:?}");
            }
        }
    }

    #[test]
    fn malformed_records_fail_with_what_is_wrong_or_are_skipped_and_counted() {
        let strict = CsvRowDeserializationSchema::builder(row_type()).build().unwrap();
        for (input, complaint) in [
            (&b"1,a"[..], "the record has 2 fields where the row type has 3"),
            (b"x,a,true", "field 'id': 'x' is not BIGINT"),
            (b"1,\"open,true", "a quoted field is not closed"),
            (b"1,\"a\"b,true", "'b' follows the closing quote of field 2"),
            (b"1,a,maybe", "field 'ok': 'maybe' is not BOOLEAN"),
            (b"\xff,a,true", "not UTF-8"),
        ] {
            let error = strict.deserialize(input).unwrap_err().to_string();
            assert!(error.contains(complaint), "{error} should say {complaint}");
        }
        let lenient = CsvRowDeserializationSchema::builder(row_type())
            .set_ignore_parse_errors(true)
            .set_allow_comments(true)
            .build()
            .unwrap();
        let skipped = lenient.skipped_records();
        assert_eq!(lenient.deserialize_or_skip(b"1,a").unwrap(), None);
        assert_eq!(lenient.deserialize_or_skip(b"# a comment").unwrap(), None);
        assert_eq!(lenient.deserialize_or_skip(b"7,,").unwrap().unwrap().to_string(), "+I[7, , null]");
        assert_eq!(skipped.count(), 1, "comments are skipped, not counted as errors");
    }

    #[test]
    fn dialects_need_distinct_characters() {
        let same = CsvRowDeserializationSchema::builder(row_type()).set_quote_character(',');
        assert!(same.build().unwrap_err().to_string().contains("distinct"));
        let bad_line = CsvRowSerializationSchema::builder(row_type()).set_line_delimiter(";");
        assert!(bad_line.build().unwrap_err().to_string().contains("line delimiter"));
    }
}
