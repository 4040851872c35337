//! Record formats shared by the connectors Python reaches: how Kafka records' values and keys
//! and the lines of files become Python records and back (text, bytes, JSON, Avro and CSV rows),
//! with the connectors' serialization schemas doing the work.

use std::sync::Arc;

use pyflink_connectors::formats::avro::AvroRowSerializationSchema;
use pyflink_connectors::formats::csv::{CsvRowDeserializationSchema, CsvRowSerializationSchema};
use pyflink_connectors::formats::json::{JsonRowDeserializationSchema, JsonRowSerializationSchema};
use pyflink_connectors::formats::RowType;
use pyflink_connectors::serialization::SerializationSchema;
use pyflink_core::table::{DataType, Row};
use pyo3::prelude::*;

use crate::python_rows::python_to_row;
use crate::types::{BasicType, TypeInfo};
use crate::JobError;

/// How records (Kafka records' values and keys, lines of files) become Python records and
/// back (PyFlink's serialization schemas and file formats).
#[derive(Debug, Clone, PartialEq)]
pub enum RecordFormat {
    /// UTF-8 text as `str` (`SimpleStringSchema`).
    SimpleString,
    /// The bytes as `bytes` (`ByteArraySchema`).
    ByteArray,
    /// A JSON object as a `Row` of `row_type` (`JsonRowSerializationSchema`,
    /// `JsonRowDeserializationSchema`).
    Json {
        /// A `TypeInfo::Row` of basic field types.
        row_type: TypeInfo,
        /// Whether an object without a field of the row type fails the job.
        fail_on_missing_field: bool,
        /// Whether unreadable records are skipped instead of failing the job.
        ignore_parse_errors: bool,
    },
    /// A binary Avro record of `avro_schema` as a `Row` of its fields
    /// (`AvroRowSerializationSchema`, `AvroRowDeserializationSchema`).
    Avro {
        /// Avro's JSON form of a record schema.
        avro_schema: String,
    },
    /// A CSV record as a `Row` of `row_type` (`CsvRowSerializationSchema`,
    /// `CsvRowDeserializationSchema`).
    Csv {
        /// A `TypeInfo::Row` of basic field types.
        row_type: TypeInfo,
        /// The delimiters, quoting and null literal.
        dialect: CsvDialect,
        /// Whether unreadable records are skipped instead of failing the job.
        ignore_parse_errors: bool,
        /// Whether records starting with `#` are skipped as comments.
        allow_comments: bool,
    },
    /// The bytes of one field of a `Row`, tuple or list, as they are; for writing only
    /// (`RowFieldExtractorSchema`).
    RowField {
        /// The field's position.
        index: u32,
    },
}

/// How CSV fields are delimited and quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvDialect {
    /// One character between fields.
    pub field_delimiter: String,
    /// One character enclosing fields that hold delimiters; none: never quote.
    pub quote_character: Option<String>,
    /// One character making the next one literal.
    pub escape_character: Option<String>,
    /// The text that stands for null.
    pub null_literal: Option<String>,
    /// What ends a written record.
    pub line_delimiter: String,
}

/// The row type of the connectors' formats for a Python row type of basic fields.
pub(crate) fn python_row_type(type_info: &TypeInfo) -> Result<RowType, JobError> {
    let TypeInfo::Row { names, fields } = type_info else {
        return Err(JobError::InvalidProgram(format!(
            "JSON and CSV rows need a row type (Types.ROW or Types.ROW_NAMED), not {}",
            type_info.name()
        )));
    };
    let mut types = Vec::with_capacity(fields.len());
    for field in fields {
        let data_type = match field {
            TypeInfo::Basic { kind: BasicType::String | BasicType::Char } => DataType::String,
            TypeInfo::Basic { kind: BasicType::Boolean } => DataType::Boolean,
            TypeInfo::Basic { kind: BasicType::Byte } => DataType::TinyInt,
            TypeInfo::Basic { kind: BasicType::Short } => DataType::SmallInt,
            TypeInfo::Basic { kind: BasicType::Int } => DataType::Int,
            TypeInfo::Basic { kind: BasicType::Long } => DataType::BigInt,
            TypeInfo::Basic { kind: BasicType::Float } => DataType::Float,
            TypeInfo::Basic { kind: BasicType::Double } => DataType::Double,
            other => {
                return Err(JobError::InvalidProgram(format!(
                    "JSON and CSV rows hold STRING, BOOLEAN, BYTE, SHORT, INT, LONG, FLOAT and DOUBLE fields, not {}",
                    other.name()
                )))
            }
        };
        types.push(data_type);
    }
    Ok(if names.is_empty() { RowType::of(types) } else { RowType::new(names.iter().cloned().zip(types)) })
}

/// The one character `text` holds.
pub(crate) fn char_option(name: &str, text: &str) -> Result<char, JobError> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(JobError::InvalidProgram(format!("the CSV {name} is one character, not {text:?}"))),
    }
}

/// How Python records become bytes.
#[derive(Clone)]
pub(crate) enum Encoder {
    /// `str` values as UTF-8.
    Text,
    /// `bytes`, `bytearray` or lists of byte values as they are.
    Bytes,
    /// Rows, tuples or lists of the row type's fields, through a row format.
    Rows { row_type: RowType, schema: Arc<dyn SerializationSchema<Row>> },
    /// The `bytes` of one field of rows, tuples or lists.
    RowField(usize),
}

impl Encoder {
    /// The encoder of `format`.
    pub(crate) fn of(format: &RecordFormat) -> Result<Encoder, JobError> {
        Ok(match format {
            RecordFormat::SimpleString => Encoder::Text,
            RecordFormat::ByteArray => Encoder::Bytes,
            RecordFormat::Json { row_type, .. } => {
                let row_type = python_row_type(row_type)?;
                let schema = JsonRowSerializationSchema::builder().with_type_info(row_type.clone()).build()?;
                Encoder::Rows { row_type, schema: Arc::new(schema) }
            }
            RecordFormat::Avro { avro_schema } => {
                let schema = AvroRowSerializationSchema::new(avro_schema)?;
                Encoder::Rows { row_type: schema.row_type().clone(), schema: Arc::new(schema) }
            }
            RecordFormat::Csv { row_type, dialect, .. } => {
                let row_type = python_row_type(row_type)?;
                let mut builder = CsvRowSerializationSchema::builder(row_type.clone())
                    .set_field_delimiter(char_option("field delimiter", &dialect.field_delimiter)?)
                    .set_line_delimiter(dialect.line_delimiter.clone());
                builder = match &dialect.quote_character {
                    Some(quote) => builder.set_quote_character(char_option("quote character", quote)?),
                    None => builder.disable_quote_character(),
                };
                if let Some(escape) = &dialect.escape_character {
                    builder = builder.set_escape_character(char_option("escape character", escape)?);
                }
                if let Some(null) = &dialect.null_literal {
                    builder = builder.set_null_literal(null.clone());
                }
                Encoder::Rows { row_type, schema: Arc::new(builder.build()?) }
            }
            RecordFormat::RowField { index } => Encoder::RowField(*index as usize),
        })
    }

    /// `value` as bytes.
    pub(crate) fn encode(&self, value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
        match self {
            Encoder::Text => Ok(value.extract::<String>()?.into_bytes()),
            Encoder::Bytes => value.extract::<Vec<u8>>(),
            Encoder::Rows { row_type, schema } => {
                let row = python_to_row(value, row_type)?;
                schema.serialize(&row).map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
            }
            Encoder::RowField(index) => {
                let field = value.get_item(*index).map_err(|e| {
                    pyo3::exceptions::PyValueError::new_err(format!(
                        "RowFieldExtractorSchema: the record has no field {index}: {e}"
                    ))
                })?;
                if !field.is_instance_of::<pyo3::types::PyBytes>()
                    && !field.is_instance_of::<pyo3::types::PyByteArray>()
                {
                    return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                        "RowFieldExtractorSchema: field {index} is {}, not bytes; convert it to bytes first",
                        field.get_type().name()?
                    )));
                }
                field.extract::<Vec<u8>>()
            }
        }
    }
}

/// The reader of JSON rows of `row_type`.
pub(crate) fn json_deserializer(
    row_type: &TypeInfo,
    fail_on_missing_field: bool,
    ignore_parse_errors: bool,
) -> Result<(RowType, JsonRowDeserializationSchema), JobError> {
    let row_type = python_row_type(row_type)?;
    let mut builder = JsonRowDeserializationSchema::builder().type_info(row_type.clone());
    if fail_on_missing_field {
        builder = builder.fail_on_missing_field();
    }
    if ignore_parse_errors {
        builder = builder.ignore_parse_errors();
    }
    Ok((row_type, builder.build()?))
}

/// The reader of CSV rows of `row_type` in `dialect`.
pub(crate) fn csv_deserializer(
    row_type: &TypeInfo,
    dialect: &CsvDialect,
    ignore_parse_errors: bool,
    allow_comments: bool,
) -> Result<(RowType, CsvRowDeserializationSchema), JobError> {
    let row_type = python_row_type(row_type)?;
    let mut builder = CsvRowDeserializationSchema::builder(row_type.clone())
        .set_field_delimiter(char_option("field delimiter", &dialect.field_delimiter)?)
        .set_ignore_parse_errors(ignore_parse_errors)
        .set_allow_comments(allow_comments);
    if let Some(quote) = &dialect.quote_character {
        builder = builder.set_quote_character(char_option("quote character", quote)?);
    }
    if let Some(escape) = &dialect.escape_character {
        builder = builder.set_escape_character(char_option("escape character", escape)?);
    }
    if let Some(null) = &dialect.null_literal {
        builder = builder.set_null_literal(null.clone());
    }
    Ok((row_type, builder.build()?))
}
