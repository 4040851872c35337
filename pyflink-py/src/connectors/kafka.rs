//! Kafka from Python (`pyflink_rs.datastream.connectors.kafka`): a `KafkaSource` crosses as a
//! [`KafkaSourceSpec`] and its records become Python objects through their value format (text,
//! bytes, JSON or CSV rows); a `KafkaSink` crosses as a [`KafkaSinkSpec`] and writes Python
//! records through its formats. The connector itself is pyflink-connectors'.

use std::collections::HashMap;
use std::sync::Arc;

use pyflink_connectors::formats::avro::AvroRowDeserializationSchema;
use pyflink_connectors::kafka::{
    self as connector, KafkaRecordSerializationSchema, KafkaSource, OffsetResetStrategy, OffsetsInitializer,
    RawBytesSchema, SimpleStringSchema,
};
use pyflink_connectors::serialization::{DeserializationSchema, SerializationSchema};
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{
    DataStream, DataStreamSink, FlinkError, ProcessContext, ProcessFunction, StreamExecutionEnvironment,
};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::connectors::files::StringsToPython;
use crate::connectors::formats::{csv_deserializer, json_deserializer, python_row_type, Encoder, RecordFormat};
use crate::function::{python_error, PyFunction};
use crate::interpreter::with_interpreter;
use crate::plan::{stream, Environment, SinkKind, Step, Stream, StreamSink};
use crate::python_rows::RowsToPython;
use crate::table::type_info;
use crate::types::{BasicType, TypeInfo};
use crate::value::PyValue;
use crate::JobError;

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

/// A partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPartitionSpec {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
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
    /// The partitions to read (instead of topics or a pattern).
    pub partitions: Vec<TopicPartitionSpec>,
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
    /// The topic written to; none with a topic selector.
    pub topic: Option<String>,
    /// A cloudpickled callable giving each record's topic (PyFlink's `set_topic_selector`).
    pub topic_selector: Option<Vec<u8>>,
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
            RecordFormat::RowField { .. } => {
                return Err(JobError::InvalidProgram(
                    "RowFieldExtractorSchema only writes; a KafkaSource reads with a deserialization schema".into(),
                ))
            }
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
        if sink.topic.is_some() == sink.topic_selector.is_some() {
            return Err(JobError::InvalidProgram(
                "a KafkaSink writes to one topic or to the topics of a topic selector: give exactly one of them".into(),
            ));
        }
        kafka_sink(&sink)?;
        Ok(self.add_sink(SinkKind::Kafka(Box::new(sink))))
    }
}

/// The row type of a `TypeInfo::Row` of basic fields, as the row formats read and write it.
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
    if !spec.partitions.is_empty() {
        builder = builder.set_partitions(spec.partitions.iter().map(|p| (p.topic.clone(), p.partition)));
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
        RecordFormat::RowField { .. } => {
            return Err(FlinkError::InvalidProgram(
                "RowFieldExtractorSchema only writes; it cannot read records".into(),
            ))
        }
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
            let (row_type, schema) =
                json_deserializer(row_type, *fail_on_missing_field, *ignore_parse_errors).map_err(invalid)?;
            let rows = env.from_source(kafka_source(spec, schema)?, WatermarkStrategy::no_watermarks(), "KafkaSource");
            rows.process(RowsToPython::named(&row_type)).name("Rows to Python")
        }
        RecordFormat::Avro { avro_schema } => {
            let schema = AvroRowDeserializationSchema::new(avro_schema)?;
            let to_python = RowsToPython::named(schema.row_type());
            let rows = env.from_source(kafka_source(spec, schema)?, WatermarkStrategy::no_watermarks(), "KafkaSource");
            rows.process(to_python).name("Rows to Python")
        }
        RecordFormat::Csv { row_type, dialect, ignore_parse_errors, allow_comments } => {
            let (row_type, schema) =
                csv_deserializer(row_type, dialect, *ignore_parse_errors, *allow_comments).map_err(invalid)?;
            let rows = env.from_source(kafka_source(spec, schema)?, WatermarkStrategy::no_watermarks(), "KafkaSource");
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

/// A Kafka record's topic (when a selector picked it), key and value, as the sink writes them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct KeyValue {
    topic: Option<String>,
    key: Option<Vec<u8>>,
    value: Vec<u8>,
}

/// Encodes Python records as the keys and values of Kafka records, and picks their topics
/// with the Python topic selector if there is one.
#[derive(Clone)]
struct PythonToKafka {
    value: Encoder,
    key: Option<Encoder>,
    topic_selector: Option<PyFunction>,
}

impl PythonToKafka {
    /// The topic the selector picks for `record`, which must be a `str`.
    fn select_topic(&self, record: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
        let Some(selector) = &self.topic_selector else { return Ok(None) };
        let topic = selector.get(record.py())?.call1((record,))?;
        match topic.extract::<String>() {
            Ok(topic) if !topic.is_empty() => Ok(Some(topic)),
            _ => Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "the Kafka topic selector returned {}, not a topic name (a non-empty str)",
                topic.repr()?
            ))),
        }
    }
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
            let topic = self.select_topic(record)?;
            Ok::<_, PyErr>(KeyValue { topic, key, value })
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
    let mut schema = KafkaRecordSerializationSchema::builder().set_value_serialization_schema(ValueBytes);
    schema = match &spec.topic {
        Some(topic) => schema.set_topic(topic.clone()),
        None => schema.set_topic_selector(|record: &KeyValue| record.topic.clone().unwrap_or_default()),
    };
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
    let topic_selector = spec.topic_selector.clone().map(PyFunction::new);
    let encoded = records.process(PythonToKafka { value, key, topic_selector }).name("Records to Kafka");
    Ok(encoded.sink_to(kafka_sink(spec)?).name("KafkaSink"))
}
