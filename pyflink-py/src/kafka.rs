//! Kafka from Python (`pyflink_rs.datastream.connectors.kafka`): a `KafkaSource` crosses as a
//! [`KafkaSourceSpec`] and its records become Python objects through their value format (text,
//! bytes, JSON or CSV rows); a `KafkaSink` crosses as a [`KafkaSinkSpec`] and writes Python
//! records through its formats. The connector itself is pyflink-connectors'.

use std::collections::HashMap;
use std::sync::Arc;

use pyflink_connectors::formats::avro::{AvroRowDeserializationSchema, AvroRowSerializationSchema};
use pyflink_connectors::formats::csv::{CsvRowDeserializationSchema, CsvRowSerializationSchema};
use pyflink_connectors::formats::json::{JsonRowDeserializationSchema, JsonRowSerializationSchema};
use pyflink_connectors::formats::RowType;
use pyflink_connectors::kafka::{
    self as connector, KafkaRecordSerializationSchema, KafkaSource, OffsetResetStrategy, OffsetsInitializer,
    RawBytesSchema, SimpleStringSchema,
};
use pyflink_connectors::serialization::{DeserializationSchema, SerializationSchema};
use pyflink_core::table::{DataType, Row};
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{
    DataStream, DataStreamSink, FlinkError, ProcessContext, ProcessFunction, StreamExecutionEnvironment,
};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::files::StringsToPython;
use crate::function::python_error;
use crate::interpreter::with_interpreter;
use crate::plan::{stream, Environment, SinkKind, Step, Stream, StreamSink};
use crate::python_rows::{python_to_row, RowsToPython};
use crate::table::type_info;
use crate::types::{BasicType, TypeInfo};
use crate::value::PyValue;
use crate::JobError;

/// How the values (or keys) of Kafka records become Python records and back (PyFlink's
/// serialization schemas).
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

/// Where a source starts or stops reading each partition (`KafkaOffsetsInitializer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KafkaOffsets {
    /// The first record.
    Earliest,
    /// The end of the partition.
    Latest,
    /// The consumer group's committed offset, or `reset` where it has none.
    Committed {
        /// Where partitions without a committed offset start.
        reset: OffsetReset,
    },
    /// The first record at or after a time.
    Timestamp {
        /// Milliseconds since the epoch.
        timestamp_ms: i64,
    },
    /// Given offsets.
    Specific {
        /// An offset per partition.
        offsets: Vec<PartitionOffset>,
    },
}

/// Where partitions without a committed offset start (`KafkaOffsetResetStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    /// At their first record.
    Earliest,
    /// At their end.
    Latest,
    /// Nowhere: the job fails.
    None,
}

/// An offset of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionOffset {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
}

/// A Kafka source as PyFlink's `KafkaSource.builder()` configures it.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaSourceSpec {
    /// The topics to read (or none, with a pattern).
    pub topics: Vec<String>,
    /// The pattern of the names of the topics to read.
    pub topic_pattern: Option<String>,
    /// Consumer properties, `bootstrap.servers` and `group.id` among them.
    pub properties: HashMap<String, String>,
    /// Where reading starts.
    pub starting_offsets: KafkaOffsets,
    /// Where reading stops, for a bounded source.
    pub stopping_offsets: Option<KafkaOffsets>,
    /// How record values become Python records.
    pub value_format: RecordFormat,
}

/// What a Kafka sink promises about delivery (`DeliveryGuarantee`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryGuarantee {
    /// Records may be lost on failure.
    None,
    /// No record is lost; some may be written twice after a failure.
    AtLeastOnce,
    /// Every record once, in transactions committed with checkpoints.
    ExactlyOnce,
}

/// A Kafka sink as PyFlink's `KafkaSink.builder()` configures it.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaSinkSpec {
    /// The topic written to.
    pub topic: String,
    /// How records become record values.
    pub value_format: RecordFormat,
    /// How records become record keys; none: records have no key.
    pub key_format: Option<RecordFormat>,
    /// Producer properties, `bootstrap.servers` among them.
    pub properties: HashMap<String, String>,
    /// What the sink promises.
    pub delivery_guarantee: DeliveryGuarantee,
    /// The prefix of transactional ids (needed by `EXACTLY_ONCE`).
    pub transactional_id_prefix: Option<String>,
}

impl Environment {
    /// The records of the Kafka topics `source` describes, as Python objects of its format.
    pub fn from_kafka(&self, source: KafkaSourceSpec) -> Result<Arc<Stream>, JobError> {
        // Built once here so that a bad source fails where it is defined.
        kafka_source(&source, RawBytesSchema)?;
        let record_type = match &source.value_format {
            RecordFormat::SimpleString => TypeInfo::Basic { kind: BasicType::String },
            RecordFormat::ByteArray => TypeInfo::Pickled,
            RecordFormat::Json { row_type, .. } | RecordFormat::Csv { row_type, .. } => {
                python_row_type(row_type)?;
                row_type.clone()
            }
            RecordFormat::Avro { avro_schema } => {
                let row_type = AvroRowDeserializationSchema::new(avro_schema)?.row_type().clone();
                TypeInfo::Row {
                    names: row_type.fields().iter().map(|(name, _)| name.clone()).collect(),
                    fields: row_type.fields().iter().map(|(_, data_type)| type_info(*data_type)).collect(),
                }
            }
        };
        stream(&self.plan, Step::Kafka { source }, Some(record_type))
    }
}

impl Stream {
    /// Writes every record to Kafka when the environment executes.
    pub fn sink_to_kafka(&self, sink: KafkaSinkSpec) -> Result<Arc<StreamSink>, JobError> {
        for format in std::iter::once(&sink.value_format).chain(&sink.key_format) {
            if let RecordFormat::Json { row_type, .. } | RecordFormat::Csv { row_type, .. } = format {
                python_row_type(row_type)?;
            }
            Encoder::of(format)?;
        }
        kafka_sink(&sink)?;
        Ok(self.add_sink(SinkKind::Kafka(Box::new(sink))))
    }
}

/// The row type of a `TypeInfo::Row` of basic fields, as the row formats read and write it.
fn python_row_type(type_info: &TypeInfo) -> Result<RowType, JobError> {
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

fn char_option(name: &str, text: &str) -> Result<char, JobError> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(JobError::InvalidProgram(format!("the CSV {name} is one character, not {text:?}"))),
    }
}

fn offsets(spec: &KafkaOffsets) -> OffsetsInitializer {
    match spec {
        KafkaOffsets::Earliest => OffsetsInitializer::earliest(),
        KafkaOffsets::Latest => OffsetsInitializer::latest(),
        KafkaOffsets::Committed { reset } => OffsetsInitializer::committed_offsets(match reset {
            OffsetReset::Earliest => OffsetResetStrategy::Earliest,
            OffsetReset::Latest => OffsetResetStrategy::Latest,
            OffsetReset::None => OffsetResetStrategy::None,
        }),
        KafkaOffsets::Timestamp { timestamp_ms } => OffsetsInitializer::timestamp(*timestamp_ms),
        KafkaOffsets::Specific { offsets } => {
            OffsetsInitializer::offsets(offsets.iter().map(|o| ((o.topic.clone(), o.partition), o.offset)).collect())
        }
    }
}

/// The connector's source of `spec`, reading values with `schema`.
fn kafka_source<T: pyflink_core::Data>(
    spec: &KafkaSourceSpec,
    schema: impl DeserializationSchema<T>,
) -> pyflink_core::Result<KafkaSource<T>> {
    let mut builder = KafkaSource::builder().set_starting_offsets(offsets(&spec.starting_offsets));
    if !spec.topics.is_empty() {
        builder = builder.set_topics(spec.topics.iter().cloned());
    }
    if let Some(pattern) = &spec.topic_pattern {
        builder = builder.set_topic_pattern(pattern.clone());
    }
    if let Some(stopping) = &spec.stopping_offsets {
        builder = builder.set_bounded(offsets(stopping));
    }
    for (key, value) in &spec.properties {
        builder = builder.set_property(key.clone(), value.clone());
    }
    builder.set_value_only_deserializer(schema).build()
}

/// The records of the Kafka source `spec` in the job of `env`, as Python objects.
pub(crate) fn kafka_in_python(
    env: &StreamExecutionEnvironment,
    spec: &KafkaSourceSpec,
) -> pyflink_core::Result<DataStream<PyValue>> {
    let invalid = |e: JobError| FlinkError::InvalidProgram(e.to_string());
    Ok(match &spec.value_format {
        RecordFormat::SimpleString => {
            let texts = env.from_source(
                kafka_source(spec, SimpleStringSchema)?,
                WatermarkStrategy::no_watermarks(),
                "KafkaSource",
            );
            texts.process(StringsToPython).name("Texts to Python")
        }
        RecordFormat::ByteArray => {
            let bytes =
                env.from_source(kafka_source(spec, RawBytesSchema)?, WatermarkStrategy::no_watermarks(), "KafkaSource");
            bytes.process(BytesToPython).name("Bytes to Python")
        }
        RecordFormat::Json { row_type, fail_on_missing_field, ignore_parse_errors } => {
            let row_type = python_row_type(row_type).map_err(invalid)?;
            let mut builder = JsonRowDeserializationSchema::builder().type_info(row_type.clone());
            if *fail_on_missing_field {
                builder = builder.fail_on_missing_field();
            }
            if *ignore_parse_errors {
                builder = builder.ignore_parse_errors();
            }
            let rows = env.from_source(
                kafka_source(spec, builder.build()?)?,
                WatermarkStrategy::no_watermarks(),
                "KafkaSource",
            );
            rows.process(RowsToPython::named(&row_type)).name("Rows to Python")
        }
        RecordFormat::Avro { avro_schema } => {
            let schema = AvroRowDeserializationSchema::new(avro_schema)?;
            let to_python = RowsToPython::named(schema.row_type());
            let rows = env.from_source(kafka_source(spec, schema)?, WatermarkStrategy::no_watermarks(), "KafkaSource");
            rows.process(to_python).name("Rows to Python")
        }
        RecordFormat::Csv { row_type, dialect, ignore_parse_errors, allow_comments } => {
            let row_type = python_row_type(row_type).map_err(invalid)?;
            let mut builder = CsvRowDeserializationSchema::builder(row_type.clone())
                .set_field_delimiter(char_option("field delimiter", &dialect.field_delimiter).map_err(invalid)?)
                .set_ignore_parse_errors(*ignore_parse_errors)
                .set_allow_comments(*allow_comments);
            if let Some(quote) = &dialect.quote_character {
                builder = builder.set_quote_character(char_option("quote character", quote).map_err(invalid)?);
            }
            if let Some(escape) = &dialect.escape_character {
                builder = builder.set_escape_character(char_option("escape character", escape).map_err(invalid)?);
            }
            if let Some(null) = &dialect.null_literal {
                builder = builder.set_null_literal(null.clone());
            }
            let rows = env.from_source(
                kafka_source(spec, builder.build()?)?,
                WatermarkStrategy::no_watermarks(),
                "KafkaSource",
            );
            rows.process(RowsToPython::named(&row_type)).name("Rows to Python")
        }
    })
}

/// Turns byte strings into Python `bytes`.
#[derive(Clone)]
struct BytesToPython;

impl ProcessFunction<Vec<u8>, PyValue> for BytesToPython {
    fn within_batch(batch: &mut dyn FnMut() -> pyflink_core::Result<()>) -> pyflink_core::Result<()> {
        with_interpreter(batch)
    }

    fn process_element(&mut self, bytes: Vec<u8>, ctx: &mut ProcessContext<'_, PyValue>) -> pyflink_core::Result<()> {
        let value = Python::attach(|py| PyBytes::new(py, &bytes).into_any().unbind());
        ctx.collect(PyValue(value));
        Ok(())
    }
}

/// A Kafka record's key and value, as the sink writes them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct KeyValue {
    key: Option<Vec<u8>>,
    value: Vec<u8>,
}

/// How Python records become bytes.
#[derive(Clone)]
enum Encoder {
    /// `str` values as UTF-8.
    Text,
    /// `bytes`, `bytearray` or lists of byte values as they are.
    Bytes,
    /// Rows, tuples or lists of the row type's fields, through a row format.
    Rows { row_type: RowType, schema: Arc<dyn SerializationSchema<Row>> },
}

impl Encoder {
    fn of(format: &RecordFormat) -> Result<Encoder, JobError> {
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
        })
    }

    fn encode(&self, value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
        match self {
            Encoder::Text => Ok(value.extract::<String>()?.into_bytes()),
            Encoder::Bytes => value.extract::<Vec<u8>>(),
            Encoder::Rows { row_type, schema } => {
                let row = python_to_row(value, row_type)?;
                schema.serialize(&row).map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
            }
        }
    }
}

/// Encodes Python records as the keys and values of Kafka records.
#[derive(Clone)]
struct PythonToKafka {
    value: Encoder,
    key: Option<Encoder>,
}

impl ProcessFunction<PyValue, KeyValue> for PythonToKafka {
    fn within_batch(batch: &mut dyn FnMut() -> pyflink_core::Result<()>) -> pyflink_core::Result<()> {
        with_interpreter(batch)
    }

    fn process_element(&mut self, record: PyValue, ctx: &mut ProcessContext<'_, KeyValue>) -> pyflink_core::Result<()> {
        let encoded = Python::attach(|py| {
            let record = record.bind(py);
            let value = self.value.encode(record)?;
            let key = self.key.as_ref().map(|key| key.encode(record)).transpose()?;
            Ok::<_, PyErr>(KeyValue { key, value })
        });
        match encoded {
            Ok(encoded) => {
                ctx.collect(encoded);
                Ok(())
            }
            Err(error) => Python::attach(|py| Err(python_error(py, error))),
        }
    }
}

/// The value bytes of a [`KeyValue`].
struct ValueBytes;

impl SerializationSchema<KeyValue> for ValueBytes {
    fn serialize(&self, record: &KeyValue) -> pyflink_core::Result<Vec<u8>> {
        Ok(record.value.clone())
    }
}

/// The key bytes of a [`KeyValue`] (empty if it has none).
struct KeyBytes;

impl SerializationSchema<KeyValue> for KeyBytes {
    fn serialize(&self, record: &KeyValue) -> pyflink_core::Result<Vec<u8>> {
        Ok(record.key.clone().unwrap_or_default())
    }
}

/// The connector's sink of `spec`.
fn kafka_sink(spec: &KafkaSinkSpec) -> pyflink_core::Result<connector::KafkaSink<KeyValue>> {
    let mut schema = KafkaRecordSerializationSchema::builder()
        .set_topic(spec.topic.clone())
        .set_value_serialization_schema(ValueBytes);
    if spec.key_format.is_some() {
        schema = schema.set_key_serialization_schema(KeyBytes);
    }
    let guarantee = match spec.delivery_guarantee {
        DeliveryGuarantee::None => connector::DeliveryGuarantee::None,
        DeliveryGuarantee::AtLeastOnce => connector::DeliveryGuarantee::AtLeastOnce,
        DeliveryGuarantee::ExactlyOnce => connector::DeliveryGuarantee::ExactlyOnce,
    };
    let mut builder =
        connector::KafkaSink::builder().set_record_serializer(schema.build()?).set_delivery_guarantee(guarantee);
    if let Some(prefix) = &spec.transactional_id_prefix {
        builder = builder.set_transactional_id_prefix(prefix.clone());
    }
    for (key, value) in &spec.properties {
        builder = builder.set_property(key.clone(), value.clone());
    }
    builder.build()
}

/// Sends the Python records of `records` to the Kafka sink `spec`.
pub(crate) fn write_kafka(records: &DataStream<PyValue>, spec: &KafkaSinkSpec) -> pyflink_core::Result<DataStreamSink> {
    let invalid = |e: JobError| FlinkError::InvalidProgram(e.to_string());
    let value = Encoder::of(&spec.value_format).map_err(invalid)?;
    let key = spec.key_format.as_ref().map(Encoder::of).transpose().map_err(invalid)?;
    let encoded = records.process(PythonToKafka { value, key }).name("Records to Kafka");
    Ok(encoded.sink_to(kafka_sink(spec)?).name("KafkaSink"))
}
