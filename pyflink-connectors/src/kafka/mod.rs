//! The Kafka connector, on librdkafka: [`KafkaSource`] reads topics with one split per
//! partition, its read positions in checkpoints; [`KafkaSink`] writes records with the
//! delivery guarantee asked for. Names and options follow Flink's Kafka connector.

mod broker;
mod committable;
mod discovery;
mod offsets;
mod schema;
mod sink;
mod source;
mod transactions;

pub use offsets::{OffsetResetStrategy, OffsetsInitializer};
pub use schema::{
    Headers, KafkaRecord, KafkaRecordDeserializationSchema, KafkaRecordSerializationSchema, TimestampType, ValueOnly,
};
// The generic schemas, where Kafka users look for them.
pub use crate::serialization::{DeserializationSchema, RawBytesSchema, SerializationSchema, SimpleStringSchema};
pub use sink::{DeliveryGuarantee, KafkaSink, KafkaSinkBuilder};
pub use source::{KafkaSource, KafkaSourceBuilder, KafkaSplit};

use std::collections::BTreeMap;

use pyflink_core::FlinkError;
use rdkafka::config::ClientConfig;

/// The error of a Kafka call, naming what was attempted.
pub(crate) fn kafka_error(what: &str, error: rdkafka::error::KafkaError) -> FlinkError {
    FlinkError::Connector(format!("Kafka: cannot {what}: {error}"))
}

/// A librdkafka client configuration of `properties`, without those pyflink-rs reads itself
/// (the bounds of blocking calls, named as in the Java clients).
pub(crate) fn client_config(properties: &BTreeMap<String, String>) -> ClientConfig {
    let mut config = ClientConfig::new();
    for (key, value) in properties.iter().filter(|(key, _)| broker::is_for_librdkafka(key)) {
        config.set(key, value);
    }
    config
}
