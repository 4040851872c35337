//! `KafkaSink`: records written to a Kafka topic with a delivery guarantee.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use pyflink_core::sinks::{Sink, SinkWriter, SinkWriterContext};
use pyflink_core::{Data, FlinkError, Result};
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;

use crate::kafka::kafka_error;
use crate::kafka::schema::KafkaRecordSerializationSchema;

/// How long a flush may wait for the broker to acknowledge what was sent.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);

/// What a sink promises about the records it writes (Flink's `DeliveryGuarantee`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryGuarantee {
    /// Records may be lost on failure: nothing waits for the broker at checkpoints.
    None,
    /// No record is lost; a failure may write some twice: every checkpoint waits until the
    /// broker has acknowledged everything sent before it.
    AtLeastOnce,
    /// Every record exactly once, through Kafka transactions committed with checkpoints.
    ExactlyOnce,
}

/// Writes records to a Kafka topic (Flink's `KafkaSink`).
///
/// ```
/// use pyflink_connectors::kafka::{DeliveryGuarantee, KafkaRecordSerializationSchema, KafkaSink, SimpleStringSchema};
/// let sink = KafkaSink::builder()
///     .set_bootstrap_servers("127.0.0.1:9092")
///     .set_record_serializer(
///         KafkaRecordSerializationSchema::builder().set_topic("out").set_value_serialization_schema(SimpleStringSchema).build().unwrap(),
///     )
///     .set_delivery_guarantee(DeliveryGuarantee::AtLeastOnce)
///     .build();
/// assert!(sink.is_ok());
/// ```
pub struct KafkaSink<T> {
    properties: BTreeMap<String, String>,
    schema: KafkaRecordSerializationSchema<T>,
    guarantee: DeliveryGuarantee,
}

/// Builds a [`KafkaSink`].
pub struct KafkaSinkBuilder<T> {
    properties: BTreeMap<String, String>,
    schema: Option<KafkaRecordSerializationSchema<T>>,
    guarantee: DeliveryGuarantee,
}

impl<T: Data> KafkaSink<T> {
    /// A builder of a sink (delivery guarantee `NONE` unless set, as in Flink).
    pub fn builder() -> KafkaSinkBuilder<T> {
        KafkaSinkBuilder { properties: BTreeMap::new(), schema: None, guarantee: DeliveryGuarantee::None }
    }
}

impl<T: Data> KafkaSinkBuilder<T> {
    /// The brokers to connect to first (`host:port,host:port`).
    pub fn set_bootstrap_servers(self, servers: impl Into<String>) -> Self {
        self.set_property("bootstrap.servers", servers)
    }

    /// How values become records, and their topic.
    pub fn set_record_serializer(mut self, schema: KafkaRecordSerializationSchema<T>) -> Self {
        self.schema = Some(schema);
        self
    }

    /// What the sink promises about delivery.
    pub fn set_delivery_guarantee(mut self, guarantee: DeliveryGuarantee) -> Self {
        self.guarantee = guarantee;
        self
    }

    /// Sets a librdkafka producer property.
    pub fn set_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// The sink; fails without bootstrap servers or a record serializer.
    pub fn build(self) -> Result<KafkaSink<T>> {
        if !self.properties.contains_key("bootstrap.servers") {
            return Err(FlinkError::InvalidProgram(
                "the KafkaSink needs bootstrap servers (set_bootstrap_servers)".into(),
            ));
        }
        let schema = self.schema.ok_or_else(|| {
            FlinkError::InvalidProgram("the KafkaSink needs a record serializer (set_record_serializer)".into())
        })?;
        if self.guarantee == DeliveryGuarantee::ExactlyOnce {
            return Err(FlinkError::InvalidProgram(
                "the KafkaSink cannot give EXACTLY_ONCE delivery yet; use AT_LEAST_ONCE".into(),
            ));
        }
        Ok(KafkaSink { properties: self.properties, schema, guarantee: self.guarantee })
    }
}

/// Collects the first delivery failure the producer reports.
#[derive(Default)]
struct DeliveryReports {
    failure: Mutex<Option<String>>,
}

impl ClientContext for DeliveryReports {}

impl ProducerContext for DeliveryReports {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, _)) = result {
            let mut failure = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
            failure.get_or_insert_with(|| error.to_string());
        }
    }
}

impl<T: Data> Sink<T> for KafkaSink<T> {
    type Writer = KafkaWriter<T>;

    fn create_writer(&self, _: &SinkWriterContext) -> Result<KafkaWriter<T>> {
        let mut config = ClientConfig::new();
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        let producer: BaseProducer<DeliveryReports> =
            config.create_with_context(DeliveryReports::default()).map_err(|e| kafka_error("create a producer", e))?;
        Ok(KafkaWriter { producer, schema: self.schema.clone(), guarantee: self.guarantee, partitions: None })
    }
}

/// Writes one parallel instance's records.
pub struct KafkaWriter<T> {
    producer: BaseProducer<DeliveryReports>,
    schema: KafkaRecordSerializationSchema<T>,
    guarantee: DeliveryGuarantee,
    /// The topic's number of partitions, read when a partitioner first needs it.
    partitions: Option<usize>,
}

impl<T: Data> KafkaWriter<T> {
    fn partitions(&mut self) -> Result<usize> {
        if let Some(count) = self.partitions {
            return Ok(count);
        }
        let topic = self.schema.topic();
        let metadata = self
            .producer
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(30))
            .map_err(|e| kafka_error(&format!("read the partitions of topic '{topic}'"), e))?;
        let count = metadata.topics().first().map_or(0, |t| t.partitions().len()).max(1);
        self.partitions = Some(count);
        Ok(count)
    }

    /// Waits until the broker has acknowledged every record sent, failing if one was refused.
    fn flush(&mut self) -> Result<()> {
        self.producer.flush(FLUSH_TIMEOUT).map_err(|e| kafka_error("flush records to the broker", e))?;
        self.check_deliveries()
    }

    fn check_deliveries(&self) -> Result<()> {
        match self.producer.context().failure.lock().unwrap_or_else(PoisonError::into_inner).take() {
            Some(failure) => Err(FlinkError::Connector(format!(
                "Kafka: a record for topic '{}' was not delivered: {failure}",
                self.schema.topic()
            ))),
            None => Ok(()),
        }
    }
}

impl<T: Data> SinkWriter<T> for KafkaWriter<T> {
    fn write(&mut self, value: T, timestamp: Option<i64>) -> Result<()> {
        let partitions = if self.schema.has_partitioner() { self.partitions()? } else { 0 };
        let serialized = self.schema.serialize(&value, partitions)?;
        let mut record = BaseRecord::<[u8], [u8]>::to(self.schema.topic()).payload(&serialized.value);
        if let Some(key) = serialized.key.as_deref() {
            record = record.key(key);
        }
        if let Some(partition) = serialized.partition {
            record = record.partition(partition);
        }
        if let Some(timestamp) = timestamp {
            record = record.timestamp(timestamp);
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => break,
                // The local queue is full: let the producer deliver some, then try again.
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    self.producer.poll(Duration::from_millis(10));
                }
                Err((error, _)) => return Err(kafka_error("send a record", error)),
            }
        }
        self.producer.poll(Duration::ZERO);
        self.check_deliveries()
    }

    fn prepare_commit(&mut self, _checkpoint_id: u64) -> Result<Vec<Vec<u8>>> {
        if self.guarantee != DeliveryGuarantee::None {
            self.flush()?;
        }
        Ok(Vec::new())
    }

    fn flush(&mut self, _end_of_input: bool) -> Result<()> {
        KafkaWriter::flush(self)
    }
}
