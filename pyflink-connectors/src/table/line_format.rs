//! The line formats of filesystem and Kafka tables (`'format' = 'csv'`, `'json'` or `'raw'`): lines of
//! text read into Arrow batches of a table's columns, and batches written back as lines, one
//! row per line, with the options and the text forms of Flink's formats.
//!
//! Reading goes through text: each line's fields become strings, column by column, and each
//! column is cast to its type at once, so a batch of lines costs one cast per column. A value
//! that does not parse fails the job with the line and the column. With
//! `<format>.ignore-parse-errors`, as in Flink, such a value is read as NULL, a CSV line with
//! too few fields leaves its last columns NULL, and a line that cannot be read as a whole (too
//! many CSV fields, text that is not JSON or not UTF-8) is skipped; [`LineCodec::decode`]
//! counts both.

use std::sync::Arc;

use pyflink_core::metrics::Counter;
use pyflink_core::table::{RowKind, Value};
use pyflink_core::{FlinkError, ProcessContext, ProcessFunction, RuntimeContext};
use pyflink_table::batch::ChangeBatch;
use pyflink_table::connectors::TableContext;
use pyflink_table::datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray, StringBuilder,
};
use pyflink_table::datafusion::arrow::compute::{cast_with_options, filter, CastOptions};
use pyflink_table::datafusion::arrow::datatypes::{DataType as ArrowType, Field, Float32Type, Float64Type, SchemaRef};
use pyflink_table::datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use pyflink_table::print::flink_string;
use pyflink_table::types::flink_name;
use pyflink_table::{Result, TableError};

use crate::formats::csv::{check_dialect, split_record, Dialect};

/// The options of the `csv` format.
const CSV_OPTIONS: &[&str] = &[
    "csv.field-delimiter",
    "csv.quote-character",
    "csv.disable-quote-character",
    "csv.escape-character",
    "csv.null-literal",
    "csv.allow-comments",
    "csv.ignore-parse-errors",
];

/// The options of the `json` format.
const JSON_OPTIONS: &[&str] = &[
    "json.fail-on-missing-field",
    "json.ignore-parse-errors",
    "json.timestamp-format.standard",
    "json.encode.ignore-null-fields",
];

/// The options of the `raw` format.
const RAW_OPTIONS: &[&str] = &["raw.charset", "raw.endianness"];

/// Which format, with its options.
#[derive(Debug, Clone)]
enum Format {
    Csv {
        dialect: Dialect,
        allow_comments: bool,
    },
    Json {
        fail_on_missing_field: bool,
        /// Timestamps written as ISO-8601 (`2020-01-01T12:00:00`) rather than SQL's form.
        iso_timestamps: bool,
        ignore_null_fields: bool,
    },
    Raw,
}

/// Reads and writes the rows of one table as lines (file lines, Kafka record values) of one format.
#[derive(Debug, Clone)]
pub(crate) struct LineCodec {
    format: Format,
    /// The format's name, for messages and option keys.
    name: &'static str,
    schema: SchemaRef,
    ignore_parse_errors: bool,
    table: Arc<str>,
    /// The table's connector, for messages.
    connector: Arc<str>,
}

impl LineCodec {
    /// The options of format `name` (`csv`, `json` or `raw`), or `None` for a format that
    /// filesystem tables do not have.
    pub(crate) fn options_of(name: &str) -> Option<&'static [&'static str]> {
        match name {
            "csv" => Some(CSV_OPTIONS),
            "json" => Some(JSON_OPTIONS),
            "raw" => Some(RAW_OPTIONS),
            _ => None,
        }
    }

    /// The codec of the table `context` describes, in format `name`, from the table's options;
    /// fails on a column the format cannot hold and on option values it cannot use.
    pub(crate) fn new(context: &TableContext<'_>, name: &str) -> Result<Self> {
        let invalid = |message: String| TableError::Validation(format!("table '{}': {message}", context.table_name));
        let (format, name, ignore_parse_errors) = match name {
            "csv" => {
                let dialect = csv_dialect(context).map_err(invalid)?;
                let allow_comments = context.option("csv.allow-comments", false)?;
                (Format::Csv { dialect, allow_comments }, "csv", context.option("csv.ignore-parse-errors", false)?)
            }
            "json" => {
                let standard = context.options.get("json.timestamp-format.standard").map(String::as_str);
                let iso_timestamps = match standard.map(str::to_ascii_uppercase).as_deref() {
                    None | Some("SQL") => false,
                    Some("ISO-8601") => true,
                    Some(other) => {
                        return Err(invalid(format!(
                            "unsupported value '{other}' for 'json.timestamp-format.standard': use 'SQL' or 'ISO-8601'"
                        )))
                    }
                };
                let format = Format::Json {
                    fail_on_missing_field: context.option("json.fail-on-missing-field", false)?,
                    iso_timestamps,
                    ignore_null_fields: context.option("json.encode.ignore-null-fields", false)?,
                };
                (format, "json", context.option("json.ignore-parse-errors", false)?)
            }
            "raw" => {
                let charset = context.options.get("raw.charset").map(|c| c.to_ascii_uppercase().replace('_', "-"));
                if charset.as_deref().is_some_and(|c| c != "UTF-8") {
                    return Err(invalid(format!(
                        "the 'raw' format reads and writes UTF-8 only, not '{}'",
                        context.options["raw.charset"]
                    )));
                }
                let endianness = context.options.get("raw.endianness").map(String::as_str);
                if !matches!(endianness, None | Some("big-endian") | Some("little-endian")) {
                    return Err(invalid(format!(
                        "unsupported value '{}' for 'raw.endianness': use 'big-endian' or 'little-endian'",
                        endianness.unwrap_or_default()
                    )));
                }
                (Format::Raw, "raw", false)
            }
            other => {
                let connector = context.options.get("connector").map_or("filesystem", String::as_str);
                let avro = if connector.contains("kafka") { ", 'avro'" } else { "" };
                return Err(invalid(format!(
                    "the {connector} connector has no format '{other}': use 'csv', 'json'{avro} or 'raw'"
                )));
            }
        };
        let codec = LineCodec {
            format,
            name,
            schema: Arc::clone(&context.schema),
            ignore_parse_errors,
            table: context.table_name.into(),
            connector: context.options.get("connector").map_or("filesystem", String::as_str).into(),
        };
        codec.check_columns()?;
        Ok(codec)
    }

    /// Fails on columns the format cannot hold: `raw` holds one STRING or BYTES column, `csv`
    /// and `json` hold scalar values (numbers, strings, booleans, decimals and times).
    fn check_columns(&self) -> Result<()> {
        let fields = self.schema.fields();
        if matches!(self.format, Format::Raw) {
            let single_text = fields.len() == 1 && matches!(fields[0].data_type(), ArrowType::Utf8 | ArrowType::Binary);
            if !single_text {
                return Err(TableError::Validation(format!(
                    "The 'raw' format only supports a single physical column of type STRING or BYTES. However the \
                     table '{}' has the columns: {}",
                    self.table,
                    fields.iter().map(|field| field.name().as_str()).collect::<Vec<_>>().join(", ")
                )));
            }
            return Ok(());
        }
        match fields.iter().find(|field| !is_scalar(field.data_type())) {
            None => Ok(()),
            Some(field) => Err(TableError::Unsupported(format!(
                "the '{}' format reads and writes scalar columns only (numbers, strings, \
                 booleans, decimals, dates and times); column '{}' of table '{}' is {}",
                self.name,
                field.name(),
                self.table,
                flink_name(field.data_type())
            ))),
        }
    }

    /// The rows of `lines` as a batch of the table's columns (`None` when no line holds a row),
    /// and what was skipped or read as NULL because it could not be read. Lines starting with
    /// `#` in `csv` with `csv.allow-comments`, and empty lines in `json`, hold no row without
    /// being unreadable.
    pub(crate) fn decode(&self, lines: &[String]) -> pyflink_core::Result<(Option<RecordBatch>, ParseErrors)> {
        self.decode_lines(lines, None)
    }

    /// [`LineCodec::decode`], noting in `kept` (a flag per line, all false on entry) the lines
    /// that became rows, so that what else belongs to each line can follow its row.
    pub(crate) fn decode_lines(
        &self,
        lines: &[String],
        mut kept: Option<&mut [bool]>,
    ) -> pyflink_core::Result<(Option<RecordBatch>, ParseErrors)> {
        let mut errors = ParseErrors::default();
        let width = self.schema.fields().len();
        let mut texts: Vec<StringBuilder> = (0..width).map(|_| StringBuilder::with_capacity(lines.len(), 0)).collect();
        let mut read: Vec<&str> = Vec::with_capacity(lines.len());
        // The line of each row.
        let mut line_of_row: Vec<usize> = Vec::with_capacity(lines.len());
        let mut fields: Vec<Option<String>> = Vec::with_capacity(width);
        for (number, line) in lines.iter().enumerate() {
            fields.clear();
            match self.fields_of(line, &mut fields) {
                Ok(false) => {}
                Ok(true) => {
                    for (text, field) in texts.iter_mut().zip(fields.drain(..)) {
                        text.append_option(field);
                    }
                    read.push(line);
                    line_of_row.push(number);
                }
                Err(_) if self.ignore_parse_errors => errors.skipped_lines += 1,
                Err(problem) => return Err(self.error(line, &problem)),
            }
        }
        if read.is_empty() {
            return Ok((None, errors));
        }
        // The rows with a NULL in a NOT NULL column (of a value that did not parse, or of no
        // value), when skipped.
        let mut unreadable: Option<Vec<bool>> = None;
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(width);
        for (text, field) in texts.iter_mut().zip(self.schema.fields()) {
            let text = text.finish();
            let column = self.typed(&text, field)?;
            for row in 0..column.len() {
                let problem = if column.is_null(row) && text.is_valid(row) {
                    Some(format!(
                        "column '{}': '{}' is not a {}",
                        field.name(),
                        text.value(row),
                        flink_name(field.data_type())
                    ))
                } else if column.is_null(row) && !field.is_nullable() {
                    Some(format!("column '{}' is NOT NULL, but the line has no value for it", field.name()))
                } else {
                    None
                };
                if let Some(problem) = problem {
                    if !self.ignore_parse_errors {
                        return Err(self.error(read[row], &problem));
                    }
                    if field.is_nullable() {
                        errors.null_values += 1;
                    } else {
                        unreadable.get_or_insert_with(|| vec![false; read.len()])[row] = true;
                    }
                }
            }
            columns.push(column);
        }
        if let Some(unreadable) = unreadable {
            let keep: BooleanArray = unreadable.iter().map(|bad| Some(!bad)).collect();
            for column in &mut columns {
                *column = filter(column.as_ref(), &keep).map_err(|e| self.runtime(&e))?;
            }
            errors.skipped_lines += unreadable.iter().filter(|bad| **bad).count() as u64;
            if let Some(kept) = kept.as_deref_mut() {
                for (row, bad) in unreadable.iter().enumerate() {
                    kept[line_of_row[row]] = !bad;
                }
            }
        } else if let Some(kept) = kept {
            for &line in &line_of_row {
                kept[line] = true;
            }
        }
        // Every NULL in a NOT NULL column was found above, so the batch is valid.
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns).map_err(|e| self.runtime(&e))?;
        Ok(((batch.num_rows() > 0).then_some(batch), errors))
    }

    /// The column of `field`'s type from its values as text: NULL where a value does not parse.
    fn typed(&self, text: &StringArray, field: &Field) -> pyflink_core::Result<ArrayRef> {
        if field.data_type() == &ArrowType::Utf8 {
            return Ok(Arc::new(text.clone()));
        }
        let options = CastOptions { safe: true, ..Default::default() };
        cast_with_options(text, field.data_type(), &options).map_err(|e| {
            FlinkError::Runtime(format!(
                "{} table '{}': column '{}' cannot be read as {}: {e}",
                self.connector,
                self.table,
                field.name(),
                flink_name(field.data_type())
            ))
        })
    }

    /// Puts the fields of `line` into `fields`, one per column (`None` for NULL); `false`
    /// when the line holds no row; what is wrong with a line that cannot be read.
    fn fields_of(&self, line: &str, fields: &mut Vec<Option<String>>) -> std::result::Result<bool, String> {
        let columns = self.schema.fields();
        match &self.format {
            Format::Raw => {
                fields.push(Some(line.to_string()));
                Ok(true)
            }
            Format::Csv { dialect, allow_comments } => {
                if *allow_comments && line.starts_with('#') {
                    return Ok(false);
                }
                // An empty line is a record of one empty field, as Flink's CSV reads it.
                let record = split_record(line, dialect)?;
                if record.len() > columns.len() {
                    return Err(format!(
                        "the line has {} fields where the table has {} columns",
                        record.len(),
                        columns.len()
                    ));
                }
                if record.len() < columns.len() && !self.ignore_parse_errors {
                    return Err(format!(
                        "Row length mismatch. {} fields expected but was {}.",
                        columns.len(),
                        record.len()
                    ));
                }
                // A line with fewer fields (read ignoring parse errors) leaves the last columns NULL.
                let mut record = record.into_iter();
                for column in columns {
                    let text_column = is_text(column.data_type());
                    fields.push(record.next().and_then(|field| {
                        let null = !field.quoted
                            && (dialect.null_literal.as_deref() == Some(field.text.as_str())
                                || (field.text.is_empty() && !text_column));
                        match (null, text_column) {
                            (true, _) => None,
                            (false, true) => Some(field.text),
                            (false, false) => Some(field.text.trim().to_string()),
                        }
                    }));
                }
                Ok(true)
            }
            Format::Json { fail_on_missing_field, .. } => {
                if line.trim().is_empty() {
                    return Ok(false);
                }
                let value: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
                let serde_json::Value::Object(object) = value else {
                    return Err("the line is JSON but not an object".into());
                };
                for column in columns {
                    let field = match object.get(column.name()) {
                        None if *fail_on_missing_field => {
                            return Err(format!("the field '{}' is missing", column.name()))
                        }
                        None | Some(serde_json::Value::Null) => None,
                        Some(serde_json::Value::String(text)) => Some(text.clone()),
                        Some(serde_json::Value::Bool(flag)) => Some(flag.to_string()),
                        // Flink reads a fraction into an integer column by dropping the fraction.
                        Some(serde_json::Value::Number(number))
                            if column.data_type().is_integer() && !(number.is_i64() || number.is_u64()) =>
                        {
                            number.as_f64().filter(|n| n.is_finite()).map(|n| format!("{}", n.trunc()))
                        }
                        Some(serde_json::Value::Number(number)) => Some(number.to_string()),
                        // Objects and arrays are read as their JSON text into STRING columns.
                        Some(nested) => Some(nested.to_string()),
                    };
                    fields.push(field);
                }
                Ok(true)
            }
        }
    }

    /// An Arrow error while the table's batches are built, which no input causes.
    fn runtime(&self, error: &dyn std::fmt::Display) -> FlinkError {
        FlinkError::Runtime(format!("{} table '{}': {error}", self.connector, self.table))
    }

    /// The error that a line which cannot be read fails the job with.
    /// `bytes` (a record's value or key) as a line: `None` for bytes that are not UTF-8 when
    /// parse errors are ignored (an error otherwise); the raw format reads them as Flink's
    /// does, with U+FFFD for what is not UTF-8.
    pub(crate) fn text_of(&self, bytes: &[u8]) -> pyflink_core::Result<Option<String>> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Some(text.to_string())),
            Err(_) if matches!(self.format, Format::Raw) => Ok(Some(String::from_utf8_lossy(bytes).into_owned())),
            Err(_) if self.ignore_parse_errors => Ok(None),
            Err(_) => Err(self.error(&String::from_utf8_lossy(bytes), "the bytes are not UTF-8 text")),
        }
    }

    fn error(&self, line: &str, problem: &str) -> FlinkError {
        const SHOWN: usize = 200;
        let shown: String = line.chars().take(SHOWN).collect();
        let cut = if shown.len() < line.len() { "..." } else { "" };
        let remedy = match self.format {
            Format::Raw => String::new(),
            _ => format!(" (set '{}.ignore-parse-errors' = 'true' to skip the lines that cannot be read)", self.name),
        };
        FlinkError::Deserialization(format!(
            "the '{}' format of {} table '{}' cannot read the line '{shown}{cut}': {problem}{remedy}",
            self.name, self.connector, self.table
        ))
    }

    /// Appends the rows of `batch` to `out`, a line each; fails on a change other than an
    /// insertion (the tables of line formats are append-only).
    pub(crate) fn encode(&self, batch: &ChangeBatch, out: &mut Vec<u8>) -> pyflink_core::Result<()> {
        self.encode_lines(batch, out, None)
    }

    /// The rows of `batch` as one record each (a line without its line break).
    pub(crate) fn encode_records(&self, batch: &ChangeBatch) -> pyflink_core::Result<Vec<Vec<u8>>> {
        let (mut text, mut ends) = (Vec::new(), Vec::with_capacity(batch.len()));
        self.encode_lines(batch, &mut text, Some(&mut ends))?;
        let mut start = 0;
        Ok(ends
            .into_iter()
            .map(|end| {
                let record = text[start..end - 1].to_vec();
                start = end;
                record
            })
            .collect())
    }

    /// [`LineCodec::encode`], noting in `ends` where each line ends (after its line break).
    fn encode_lines(
        &self,
        batch: &ChangeBatch,
        out: &mut Vec<u8>,
        mut ends: Option<&mut Vec<usize>>,
    ) -> pyflink_core::Result<()> {
        check_append_only(batch, &self.connector, &self.table)?;
        let iso = matches!(self.format, Format::Json { iso_timestamps: true, .. });
        let options = FormatOptions::new()
            .with_null("")
            .with_timestamp_format(Some(if iso { "%Y-%m-%dT%H:%M:%S%.f" } else { "%Y-%m-%d %H:%M:%S%.f" }))
            .with_timestamp_tz_format(Some(if iso { "%Y-%m-%dT%H:%M:%S%.fZ" } else { "%Y-%m-%d %H:%M:%S%.fZ" }));
        let columns: Vec<ColumnText<'_>> = batch
            .rows
            .columns()
            .iter()
            .map(|column| ColumnText::new(column.as_ref(), &options))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| self.runtime(&e))?;
        let names: Vec<String> = match self.format {
            Format::Json { .. } => self.schema.fields().iter().map(|field| json_string(field.name())).collect(),
            _ => Vec::new(),
        };
        let mut line = String::new();
        for row in 0..batch.len() {
            line.clear();
            match &self.format {
                Format::Raw => {
                    if let Some(bytes) = columns[0].bytes(row) {
                        out.extend_from_slice(bytes);
                    } else if let Some(text) = columns[0].text(row) {
                        line.push_str(&text);
                    }
                }
                Format::Csv { dialect, .. } => {
                    for (index, column) in columns.iter().enumerate() {
                        if index > 0 {
                            line.push(dialect.field_delimiter);
                        }
                        match column.text(row) {
                            None => line.push_str(dialect.null_literal.as_deref().unwrap_or("")),
                            Some(text) if column.quotable => dialect.write_field(&mut line, &text),
                            Some(text) => line.push_str(&text),
                        }
                    }
                }
                Format::Json { ignore_null_fields, .. } => {
                    line.push('{');
                    let mut first = true;
                    for (name, column) in names.iter().zip(&columns) {
                        let text = column.text(row);
                        if text.is_none() && *ignore_null_fields {
                            continue;
                        }
                        if !std::mem::take(&mut first) {
                            line.push(',');
                        }
                        line.push_str(name);
                        line.push(':');
                        match text {
                            None => line.push_str("null"),
                            Some(text) if column.quotable || !column.json_number(row) => {
                                line.push_str(&json_string(&text))
                            }
                            Some(text) => line.push_str(&text),
                        }
                    }
                    line.push('}');
                }
            }
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
            if let Some(ends) = ends.as_deref_mut() {
                ends.push(out.len());
            }
        }
        Ok(())
    }
}

/// The `csv` dialect the table's options describe.
fn csv_dialect(context: &TableContext<'_>) -> std::result::Result<Dialect, String> {
    let character = |key: &str| -> std::result::Result<Option<char>, String> {
        let Some(text) = context.options.get(key) else { return Ok(None) };
        // A tab may be written as the two characters `\t`, as Flink accepts.
        if text == "\\t" {
            return Ok(Some('\t'));
        }
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(Some(c)),
            _ => Err(format!("option '{key}' must be a single character, got '{text}'")),
        }
    };
    let mut dialect = Dialect::default();
    if let Some(delimiter) = character("csv.field-delimiter")? {
        dialect.field_delimiter = delimiter;
    }
    if let Some(quote) = character("csv.quote-character")? {
        dialect.quote = Some(quote);
    }
    let disable_quote = context.options.get("csv.disable-quote-character").map(|v| v.trim().to_ascii_lowercase());
    match disable_quote.as_deref() {
        None | Some("false") => {}
        Some("true") => dialect.quote = None,
        Some(other) => {
            return Err(format!("option 'csv.disable-quote-character' must be true or false, got '{other}'"))
        }
    }
    dialect.escape = character("csv.escape-character")?;
    dialect.null_literal = context.options.get("csv.null-literal").cloned();
    check_dialect(&dialect).map_err(|e| crate::cause(&e))?;
    Ok(dialect)
}

/// The Flink SQL name of `field`'s type (`INT`, `TIMESTAMP(3)`), or Arrow's if it has none.
/// Whether values of `data_type` are booleans or numbers, which JSON writes bare.
fn is_bare(data_type: &ArrowType) -> bool {
    matches!(
        data_type,
        ArrowType::Boolean
            | ArrowType::Int8
            | ArrowType::Int16
            | ArrowType::Int32
            | ArrowType::Int64
            | ArrowType::Float32
            | ArrowType::Float64
            | ArrowType::Decimal128(..)
    )
}

/// Whether the `csv` and `json` formats hold values of `data_type`.
fn is_scalar(data_type: &ArrowType) -> bool {
    is_bare(data_type)
        || matches!(
            data_type,
            ArrowType::Utf8
                | ArrowType::Date32
                | ArrowType::Time32(_)
                | ArrowType::Time64(_)
                | ArrowType::Timestamp(..)
        )
}

/// Whether values of `data_type` are text, written quoted (where needed in CSV, always in JSON).
fn is_text(data_type: &ArrowType) -> bool {
    matches!(data_type, ArrowType::Utf8 | ArrowType::Binary)
}

/// `text` as a JSON string.
fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// How the values of one column are written as text.
struct ColumnText<'a> {
    column: &'a dyn Array,
    formatter: ArrayFormatter<'a>,
    /// Whether the values are text (quoted where needed in CSV, always in JSON) rather than
    /// numbers or booleans, which JSON writes bare.
    quotable: bool,
}

impl<'a> ColumnText<'a> {
    fn new(column: &'a dyn Array, options: &FormatOptions<'a>) -> std::result::Result<Self, String> {
        let formatter = ArrayFormatter::try_new(column, options).map_err(|e| e.to_string())?;
        let quotable = !is_bare(column.data_type());
        Ok(ColumnText { column, formatter, quotable })
    }

    /// The text of the value at `row`, `None` for NULL: floating point numbers as Java writes
    /// them (`1.0`, `1.0E20`), times in SQL's form, the rest as Arrow writes them.
    fn text(&self, row: usize) -> Option<String> {
        if self.column.is_null(row) {
            return None;
        }
        let text = match self.column.data_type() {
            ArrowType::Float64 => flink_string(&Value::Double(self.column.as_primitive::<Float64Type>().value(row))),
            ArrowType::Float32 => flink_string(&Value::Float(self.column.as_primitive::<Float32Type>().value(row))),
            ArrowType::Binary => String::from_utf8_lossy(self.column.as_binary::<i32>().value(row)).into_owned(),
            _ => self.formatter.value(row).to_string(),
        };
        Some(text)
    }

    /// The bytes of a BYTES value at `row`, written as they are by the `raw` format.
    fn bytes(&self, row: usize) -> Option<&[u8]> {
        match self.column.data_type() {
            ArrowType::Binary if self.column.is_valid(row) => Some(self.column.as_binary::<i32>().value(row)),
            _ => None,
        }
    }

    /// Whether the number at `row` is one JSON can write (not NaN or infinite, which are written
    /// as strings).
    fn json_number(&self, row: usize) -> bool {
        match self.column.data_type() {
            ArrowType::Float64 => self.column.as_primitive::<Float64Type>().value(row).is_finite(),
            ArrowType::Float32 => self.column.as_primitive::<Float32Type>().value(row).is_finite(),
            _ => true,
        }
    }
}

/// Fails on a change of `batch` other than an insertion: the tables of `connector` in these
/// formats are append-only.
pub(crate) fn check_append_only(batch: &ChangeBatch, connector: &str, table: &str) -> pyflink_core::Result<()> {
    match batch.kinds.iter().flatten().find(|kind| **kind != RowKind::Insert) {
        None => Ok(()),
        Some(kind) => Err(FlinkError::Runtime(format!(
            "{connector} table '{table}' is append-only: it cannot write a {} change",
            kind.short_string()
        ))),
    }
}

/// What [`LineCodec::decode`] could not read, when ignoring parse errors.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParseErrors {
    /// Lines that were skipped: they could not be read as a row at all.
    pub(crate) skipped_lines: u64,
    /// Values that did not parse as their column's type and were read as NULL.
    pub(crate) null_values: u64,
}

/// Lines of files into batches of a table's rows: the lines of each input batch become one
/// batch. With `<format>.ignore-parse-errors`, the lines skipped as
/// unreadable count in the metric `numRecordsSkipped` and the values read as NULL because they
/// did not parse in `numValuesNotParsed`.
#[derive(Clone)]
pub(super) struct LinesToBatches {
    codec: LineCodec,
    lines: Vec<String>,
    counters: ParseErrorCounters,
}

impl LinesToBatches {
    pub(super) fn new(codec: LineCodec) -> Self {
        LinesToBatches { codec, lines: Vec::new(), counters: ParseErrorCounters::default() }
    }
}

/// The metrics of what a decoder could not read: `numRecordsSkipped` and `numValuesNotParsed`.
#[derive(Clone, Default)]
pub(super) struct ParseErrorCounters {
    skipped: Option<Counter>,
    null_values: Option<Counter>,
}

impl ParseErrorCounters {
    /// Registers the counters in the metric group of the instance `context` describes.
    pub(super) fn open(&mut self, context: &RuntimeContext) {
        let metrics = context.get_metric_group();
        self.skipped = Some(metrics.counter("numRecordsSkipped"));
        self.null_values = Some(metrics.counter("numValuesNotParsed"));
    }

    /// Counts `errors`.
    pub(super) fn count(&self, errors: ParseErrors) {
        for (counter, count) in [(&self.skipped, errors.skipped_lines), (&self.null_values, errors.null_values)] {
            if let (Some(counter), true) = (counter, count > 0) {
                counter.inc_by(count as i64);
            }
        }
    }
}

impl ProcessFunction<String, ChangeBatch> for LinesToBatches {
    fn open(&mut self, context: &RuntimeContext) -> pyflink_core::Result<()> {
        self.counters.open(context);
        Ok(())
    }

    fn process_element(
        &mut self,
        line: String,
        _ctx: &mut ProcessContext<'_, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        self.lines.push(line);
        Ok(())
    }

    fn finish_batch(&mut self, ctx: &mut ProcessContext<'_, ChangeBatch>) -> pyflink_core::Result<()> {
        let decoded = self.codec.decode(&self.lines);
        self.lines.clear();
        let (rows, errors) = decoded?;
        self.counters.count(errors);
        if let Some(rows) = rows {
            ctx.collect(ChangeBatch::inserts(rows));
        }
        Ok(())
    }
}
