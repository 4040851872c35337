//! How Kafka records become values and values become Kafka records (Flink's
//! `DeserializationSchema`, `KafkaRecordDeserializationSchema`, `SerializationSchema` and
//! `KafkaRecordSerializationSchema`).

use std::sync::Arc;

use pyflink_core::{FlinkError, Result};

use crate::serialization::{DeserializationSchema, SerializationSchema};

/// How a record's timestamp was set (Kafka's `TimestampType`, named as Flink shows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TimestampType {
    /// The record has no timestamp.
    NoTimestampType,
    /// Set by the producer.
    CreateTime,
    /// Set by the broker when it appended the record.
    LogAppendTime,
}

impl TimestampType {
    /// The name Flink's `timestamp-type` metadata gives it.
    pub fn name(self) -> &'static str {
        match self {
            TimestampType::NoTimestampType => "NoTimestampType",
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }
}

/// A Kafka record as read: where it was, its timestamp, key, value and headers.
#[derive(Clone)]
pub struct KafkaRecord<'a> {
    /// The topic.
    pub topic: &'a str,
    /// The partition.
    pub partition: i32,
    /// The record's offset in its partition.
    pub offset: i64,
    /// The record's timestamp in milliseconds, if it has one.
    pub timestamp: Option<i64>,
    /// The key, if any.
    pub key: Option<&'a [u8]>,
    /// The value, if any (`None` for a tombstone).
    pub value: Option<&'a [u8]>,
    /// How the timestamp was set.
    pub timestamp_type: TimestampType,
    /// The headers, read from the message when asked for ([`KafkaRecord::headers`]).
    pub(crate) headers: Option<&'a rdkafka::message::BorrowedHeaders>,
}

impl std::fmt::Debug for KafkaRecord<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaRecord")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .field("offset", &self.offset)
            .field("timestamp", &self.timestamp)
            .field("key", &self.key)
            .field("value", &self.value)
            .field("timestamp_type", &self.timestamp_type)
            .field("headers", &self.headers())
            .finish()
    }
}

impl<'a> KafkaRecord<'a> {
    /// The record's headers, in order: each a key and a value (`None` for a header without one).
    pub fn headers(&self) -> Vec<(&'a str, Option<&'a [u8]>)> {
        use rdkafka::message::Headers;
        self.headers.map_or_else(Vec::new, |headers| headers.iter().map(|header| (header.key, header.value)).collect())
    }
}

/// Turns a whole Kafka record into a value, or skips it (`None`).
pub trait KafkaRecordDeserializationSchema<T>: Send + Sync + 'static {
    /// The value of `record`, if it makes one.
    fn deserialize(&self, record: &KafkaRecord<'_>) -> Result<Option<T>>;
}

/// Reads only each record's value (Flink's `KafkaRecordDeserializationSchema.valueOnly`);
/// records without a value are skipped.
pub struct ValueOnly<D>(pub D);

impl<T, D: DeserializationSchema<T>> KafkaRecordDeserializationSchema<T> for ValueOnly<D> {
    fn deserialize(&self, record: &KafkaRecord<'_>) -> Result<Option<T>> {
        match record.value {
            Some(value) => self.0.deserialize_or_skip(value),
            None => Ok(None),
        }
    }
}

/// Picks the partition of a value among a topic's partitions.
type Partitioner<T> = Arc<dyn Fn(&T, usize) -> i32 + Send + Sync>;

/// The headers of a record: names, each with a value or none.
pub type Headers = Vec<(String, Option<Vec<u8>>)>;

/// Gives a value's record its headers (Flink's `HeaderProvider`).
type HeaderProvider<T> = Arc<dyn Fn(&T) -> Headers + Send + Sync>;

/// Gives a value's record its timestamp, instead of the stream record's.
type TimestampProvider<T> = Arc<dyn Fn(&T) -> Option<i64> + Send + Sync>;

/// Picks the topic of a value's record (Flink's `TopicSelector`).
type TopicSelector<T> = Arc<dyn Fn(&T) -> String + Send + Sync>;

/// Where records go: one topic for all, or a topic picked per record.
enum Topic<T> {
    Fixed(String),
    Selected(TopicSelector<T>),
}

impl<T> Clone for Topic<T> {
    fn clone(&self) -> Self {
        match self {
            Topic::Fixed(topic) => Topic::Fixed(topic.clone()),
            Topic::Selected(selector) => Topic::Selected(Arc::clone(selector)),
        }
    }
}

/// A value as a Kafka record: its topic when a selector picked it, its key and value bytes
/// (no value for a tombstone), the partition picked for it, and the timestamp and headers given
/// to it.
pub(crate) struct SerializedRecord {
    pub(crate) topic: Option<String>,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) value: Option<Vec<u8>>,
    pub(crate) partition: Option<i32>,
    pub(crate) timestamp: Option<i64>,
    pub(crate) headers: Headers,
}

/// Where and how a value is written to Kafka: the topic, the value's and optionally the key's
/// serializer, and optionally a partitioner (Flink's `KafkaRecordSerializationSchema`).
///
/// ```
/// use pyflink_connectors::kafka::{KafkaRecordSerializationSchema, SimpleStringSchema};
/// let schema = KafkaRecordSerializationSchema::builder()
///     .set_topic("words")
///     .set_value_serialization_schema(SimpleStringSchema)
///     .build()
///     .unwrap();
/// assert_eq!(schema.topic(), Some("words"));
/// ```
///
/// A topic selector picks each record's topic instead:
///
/// ```
/// use pyflink_connectors::kafka::{KafkaRecordSerializationSchema, SimpleStringSchema};
/// let schema = KafkaRecordSerializationSchema::<String>::builder()
///     .set_topic_selector(|word: &String| format!("words-{}", word.len()))
///     .set_value_serialization_schema(SimpleStringSchema)
///     .build()
///     .unwrap();
/// assert_eq!(schema.topic(), None);
/// ```
pub struct KafkaRecordSerializationSchema<T> {
    topic: Topic<T>,
    value: Arc<dyn SerializationSchema<T>>,
    key: Option<Arc<dyn SerializationSchema<T>>>,
    partitioner: Option<Partitioner<T>>,
    headers: Option<HeaderProvider<T>>,
    timestamp: Option<TimestampProvider<T>>,
}

impl<T> Clone for KafkaRecordSerializationSchema<T> {
    fn clone(&self) -> Self {
        KafkaRecordSerializationSchema {
            topic: self.topic.clone(),
            value: Arc::clone(&self.value),
            key: self.key.clone(),
            partitioner: self.partitioner.clone(),
            headers: self.headers.clone(),
            timestamp: self.timestamp.clone(),
        }
    }
}

/// Builds a [`KafkaRecordSerializationSchema`].
pub struct KafkaRecordSerializationSchemaBuilder<T> {
    topic: Option<Topic<T>>,
    /// A second way of naming the topic was given (a topic and a selector): `build` refuses it.
    topic_twice: bool,
    value: Option<Arc<dyn SerializationSchema<T>>>,
    key: Option<Arc<dyn SerializationSchema<T>>>,
    partitioner: Option<Partitioner<T>>,
    headers: Option<HeaderProvider<T>>,
    timestamp: Option<TimestampProvider<T>>,
}

impl<T: 'static> KafkaRecordSerializationSchema<T> {
    /// A builder of a schema.
    pub fn builder() -> KafkaRecordSerializationSchemaBuilder<T> {
        KafkaRecordSerializationSchemaBuilder {
            topic: None,
            topic_twice: false,
            value: None,
            key: None,
            partitioner: None,
            headers: None,
            timestamp: None,
        }
    }

    /// The topic records are written to; none when a selector picks each record's topic.
    pub fn topic(&self) -> Option<&str> {
        match &self.topic {
            Topic::Fixed(topic) => Some(topic),
            Topic::Selected(_) => None,
        }
    }

    /// The topic (when a selector picks it), key and value bytes of `value`, and the
    /// partition its partitioner picks among the topic's (`partitions` tells how many a topic
    /// has; Kafka's partitioner picks when there is none).
    pub(crate) fn serialize(
        &self,
        value: &T,
        partitions: impl FnOnce(&str) -> Result<usize>,
    ) -> Result<SerializedRecord> {
        let key = self.key.as_ref().map(|key| key.serialize(value)).transpose()?;
        let topic = match &self.topic {
            Topic::Fixed(_) => None,
            Topic::Selected(select) => Some(select(value)),
        };
        let partition = match &self.partitioner {
            Some(pick) => {
                let count = partitions(topic.as_deref().or(self.topic()).unwrap_or_default())?;
                Some(pick(value, count))
            }
            None => None,
        };
        Ok(SerializedRecord {
            topic,
            key,
            value: self.value.serialize_or_tombstone(value)?,
            partition,
            timestamp: self.timestamp.as_ref().and_then(|timestamp| timestamp(value)),
            headers: self.headers.as_ref().map(|headers| headers(value)).unwrap_or_default(),
        })
    }
}

impl<T: 'static> KafkaRecordSerializationSchemaBuilder<T> {
    /// The topic to write to.
    pub fn set_topic(mut self, topic: impl Into<String>) -> Self {
        self.topic_twice |= matches!(self.topic, Some(Topic::Selected(_)));
        self.topic = Some(Topic::Fixed(topic.into()));
        self
    }

    /// Picks each record's topic from its value (Flink's `setTopicSelector`), instead of one
    /// topic for all.
    pub fn set_topic_selector(mut self, selector: impl Fn(&T) -> String + Send + Sync + 'static) -> Self {
        self.topic_twice |= matches!(self.topic, Some(Topic::Fixed(_)));
        self.topic = Some(Topic::Selected(Arc::new(selector)));
        self
    }

    /// How values become record values.
    pub fn set_value_serialization_schema(mut self, schema: impl SerializationSchema<T>) -> Self {
        self.value = Some(Arc::new(schema));
        self
    }

    /// How values become record keys (records have no key otherwise).
    pub fn set_key_serialization_schema(mut self, schema: impl SerializationSchema<T>) -> Self {
        self.key = Some(Arc::new(schema));
        self
    }

    /// Picks each record's partition from the value and the topic's number of partitions.
    pub fn set_partitioner(mut self, partitioner: impl Fn(&T, usize) -> i32 + Send + Sync + 'static) -> Self {
        self.partitioner = Some(Arc::new(partitioner));
        self
    }

    /// Gives each record the headers `provider` makes of its value (Flink's `setHeaderProvider`).
    pub fn set_header_provider(mut self, provider: impl Fn(&T) -> Headers + Send + Sync + 'static) -> Self {
        self.headers = Some(Arc::new(provider));
        self
    }

    /// Gives each record the timestamp (milliseconds since the epoch) `provider` finds in its
    /// value; where it finds none, the record has the stream record's timestamp, if any.
    pub fn set_timestamp_provider(mut self, provider: impl Fn(&T) -> Option<i64> + Send + Sync + 'static) -> Self {
        self.timestamp = Some(Arc::new(provider));
        self
    }

    /// The schema; fails without a topic (or selector), with both, or without a value
    /// serializer.
    pub fn build(self) -> Result<KafkaRecordSerializationSchema<T>> {
        if self.topic_twice {
            return Err(FlinkError::InvalidProgram(
                "the Kafka record schema has both a topic and a topic selector; set only one of them".into(),
            ));
        }
        let topic = self.topic.ok_or_else(|| {
            FlinkError::InvalidProgram("the Kafka record schema needs a topic or a topic selector".into())
        })?;
        let value = self.value.ok_or_else(|| {
            FlinkError::InvalidProgram("the Kafka record schema needs a value serialization schema".into())
        })?;
        Ok(KafkaRecordSerializationSchema {
            topic,
            value,
            key: self.key,
            partitioner: self.partitioner,
            headers: self.headers,
            timestamp: self.timestamp,
        })
    }
}
