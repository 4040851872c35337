//! `KafkaSource`: the records of Kafka topics, one split per partition.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use pyflink_core::sources::{
    InputStatus, Source, SourceOutput, SourceReader, SourceReaderContext, SourceSplit, SplitEnumeratorContext,
};
use pyflink_core::{Boundedness, Data, FlinkError, Result};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use crate::kafka::schema::{DeserializationSchema, KafkaRecord, KafkaRecordDeserializationSchema, ValueOnly};
use crate::kafka::{kafka_error, OffsetsInitializer};

/// How long calls to the broker may take before they fail.
const BROKER_TIMEOUT: Duration = Duration::from_secs(30);

/// A partition to read, and how far it has been read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaSplit {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The offset of the next record to read; `None` until the starting offsets are resolved.
    pub offset: Option<i64>,
    /// The offset to stop before, for a bounded source, once resolved.
    pub stop: Option<i64>,
}

impl SourceSplit for KafkaSplit {
    fn split_id(&self) -> String {
        format!("{}-{}", self.topic, self.partition)
    }
}

/// Reads Kafka topics (Flink's `KafkaSource`).
///
/// ```no_run
/// use pyflink_connectors::kafka::{KafkaSource, OffsetsInitializer, SimpleStringSchema};
/// let source = KafkaSource::builder()
///     .set_bootstrap_servers("127.0.0.1:9092")
///     .set_topics(["input"])
///     .set_group_id("my-group")
///     .set_starting_offsets(OffsetsInitializer::earliest())
///     .set_value_only_deserializer(SimpleStringSchema)
///     .build()
///     .unwrap();
/// ```
pub struct KafkaSource<T> {
    properties: BTreeMap<String, String>,
    topics: Vec<String>,
    starting: OffsetsInitializer,
    stopping: Option<OffsetsInitializer>,
    deserializer: Arc<dyn KafkaRecordDeserializationSchema<T>>,
}

/// Builds a [`KafkaSource`].
pub struct KafkaSourceBuilder<T> {
    properties: BTreeMap<String, String>,
    topics: Vec<String>,
    starting: OffsetsInitializer,
    stopping: Option<OffsetsInitializer>,
    deserializer: Option<Arc<dyn KafkaRecordDeserializationSchema<T>>>,
}

impl<T: Data> KafkaSource<T> {
    /// A builder of a source.
    pub fn builder() -> KafkaSourceBuilder<T> {
        KafkaSourceBuilder {
            properties: BTreeMap::new(),
            topics: Vec::new(),
            starting: OffsetsInitializer::Earliest,
            stopping: None,
            deserializer: None,
        }
    }

    fn consumer(&self) -> Result<BaseConsumer> {
        let mut config = ClientConfig::new();
        // Offsets are the source's own (kept in checkpoints), never committed on a timer.
        config.set("enable.auto.commit", "false").set("group.id", "pyflink-rs");
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config.create().map_err(|e| kafka_error("create a consumer", e))
    }
}

impl<T: Data> KafkaSourceBuilder<T> {
    /// The brokers to connect to first (`host:port,host:port`).
    pub fn set_bootstrap_servers(self, servers: impl Into<String>) -> Self {
        self.set_property("bootstrap.servers", servers)
    }

    /// The topics to read.
    pub fn set_topics<S: Into<String>>(mut self, topics: impl IntoIterator<Item = S>) -> Self {
        self.topics = topics.into_iter().map(Into::into).collect();
        self
    }

    /// The consumer group whose committed offsets `OffsetsInitializer::committed_offsets` reads.
    pub fn set_group_id(self, group_id: impl Into<String>) -> Self {
        self.set_property("group.id", group_id)
    }

    /// Where reading starts in each partition (default: the earliest offset).
    pub fn set_starting_offsets(mut self, offsets: OffsetsInitializer) -> Self {
        self.starting = offsets;
        self
    }

    /// Makes the source bounded: it stops at these offsets.
    pub fn set_bounded(mut self, offsets: OffsetsInitializer) -> Self {
        self.stopping = Some(offsets);
        self
    }

    /// Sets a librdkafka consumer property.
    pub fn set_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// Reads each record's value with `schema`.
    pub fn set_value_only_deserializer(mut self, schema: impl DeserializationSchema<T>) -> Self {
        self.deserializer = Some(Arc::new(ValueOnly(schema)));
        self
    }

    /// Reads whole records (key, value, topic, partition, offset, timestamp) with `schema`.
    pub fn set_deserializer(mut self, schema: impl KafkaRecordDeserializationSchema<T>) -> Self {
        self.deserializer = Some(Arc::new(schema));
        self
    }

    /// The source; fails without bootstrap servers, topics or a deserializer.
    pub fn build(self) -> Result<KafkaSource<T>> {
        let missing = |what: &str| FlinkError::InvalidProgram(format!("the KafkaSource needs {what}"));
        if !self.properties.contains_key("bootstrap.servers") {
            return Err(missing("bootstrap servers (set_bootstrap_servers)"));
        }
        if self.topics.is_empty() {
            return Err(missing("topics to read (set_topics)"));
        }
        let deserializer = self.deserializer.ok_or_else(|| missing("a deserializer (set_value_only_deserializer)"))?;
        Ok(KafkaSource {
            properties: self.properties,
            topics: self.topics,
            starting: self.starting,
            stopping: self.stopping,
            deserializer,
        })
    }
}

impl<T: Data> Source<T> for KafkaSource<T> {
    type Split = KafkaSplit;
    type Reader = KafkaReader<T>;

    fn boundedness(&self) -> Boundedness {
        if self.stopping.is_some() {
            Boundedness::Bounded
        } else {
            Boundedness::ContinuousUnbounded
        }
    }

    fn enumerate_splits(&self, _: &SplitEnumeratorContext) -> Result<Vec<KafkaSplit>> {
        let consumer = self.consumer()?;
        let mut splits = Vec::new();
        for topic in &self.topics {
            let metadata = consumer
                .fetch_metadata(Some(topic), BROKER_TIMEOUT)
                .map_err(|e| kafka_error(&format!("read the partitions of topic '{topic}'"), e))?;
            let found = metadata.topics().iter().find(|t| t.name() == topic);
            let partitions = match found {
                Some(t) if t.error().is_none() && !t.partitions().is_empty() => t.partitions(),
                _ => return Err(FlinkError::Connector(format!("Kafka: topic '{topic}' does not exist"))),
            };
            let mut ids: Vec<i32> = partitions.iter().map(|p| p.id()).collect();
            ids.sort_unstable();
            splits.extend(ids.into_iter().map(|partition| KafkaSplit {
                topic: topic.clone(),
                partition,
                offset: None,
                stop: None,
            }));
        }
        Ok(splits)
    }

    fn create_reader(&self, _: &SourceReaderContext) -> Result<KafkaReader<T>> {
        Ok(KafkaReader {
            consumer: self.consumer()?,
            starting: self.starting.clone(),
            stopping: self.stopping.clone(),
            deserializer: Arc::clone(&self.deserializer),
            splits: Vec::new(),
            split_ids: Vec::new(),
            index: HashMap::new(),
            assigned: false,
        })
    }
}

/// Reads the partitions assigned to one parallel instance.
pub struct KafkaReader<T> {
    consumer: BaseConsumer,
    starting: OffsetsInitializer,
    stopping: Option<OffsetsInitializer>,
    deserializer: Arc<dyn KafkaRecordDeserializationSchema<T>>,
    splits: Vec<KafkaSplit>,
    /// Each split's id, made once: the per-record path names the split of each record.
    split_ids: Vec<String>,
    /// The position in `splits` of each partition, by topic and partition.
    index: HashMap<String, HashMap<i32, usize>>,
    /// Whether the consumer reads the current splits.
    assigned: bool,
}

impl<T: Data> KafkaReader<T> {
    fn finished(&self, split: &KafkaSplit) -> bool {
        matches!((split.offset, split.stop), (Some(offset), Some(stop)) if offset >= stop)
    }

    /// Resolves the splits' start and stop offsets, and has the consumer read the unfinished
    /// ones from their offsets.
    fn assign(&mut self, output: &mut SourceOutput<'_, T>) -> Result<()> {
        for split in &mut self.splits {
            if split.offset.is_none() {
                split.offset =
                    Some(self.starting.resolve(&self.consumer, &split.topic, split.partition, BROKER_TIMEOUT)?);
            }
            if let (None, Some(stopping)) = (split.stop, &self.stopping) {
                split.stop = Some(stopping.resolve(&self.consumer, &split.topic, split.partition, BROKER_TIMEOUT)?);
            }
        }
        let mut assignment = TopicPartitionList::new();
        for split in &self.splits {
            if self.finished(split) {
                output.finish_split(&split.split_id());
                continue;
            }
            let offset = Offset::Offset(split.offset.expect("resolved above"));
            assignment
                .add_partition_offset(&split.topic, split.partition, offset)
                .map_err(|e| kafka_error("assign partitions", e))?;
        }
        self.consumer.assign(&assignment).map_err(|e| kafka_error("assign partitions", e))?;
        self.assigned = true;
        Ok(())
    }
}

impl<T: Data> SourceReader<T, KafkaSplit> for KafkaReader<T> {
    fn add_splits(&mut self, splits: Vec<KafkaSplit>) {
        for split in splits {
            self.index.entry(split.topic.clone()).or_default().insert(split.partition, self.splits.len());
            self.split_ids.push(split.split_id());
            self.splits.push(split);
        }
        self.assigned = false;
    }

    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<InputStatus> {
        if !self.assigned {
            self.assign(output)?;
        }
        while output.has_capacity() {
            let message = match self.consumer.poll(Duration::ZERO) {
                None => break,
                Some(Ok(message)) => message,
                Some(Err(KafkaError::PartitionEOF(_))) => continue,
                Some(Err(error)) => return Err(kafka_error("read records", error)),
            };
            let Some(&position) =
                self.index.get(message.topic()).and_then(|partitions| partitions.get(&message.partition()))
            else {
                continue;
            };
            let split = &mut self.splits[position];
            if self.stopping.is_some() && split.stop.is_some_and(|stop| message.offset() >= stop) {
                continue;
            }
            let record = KafkaRecord {
                topic: message.topic(),
                partition: message.partition(),
                offset: message.offset(),
                timestamp: message.timestamp().to_millis(),
                key: message.key(),
                value: message.payload(),
            };
            let value = self.deserializer.deserialize(&record).map_err(|e| {
                FlinkError::Connector(format!(
                    "record {} of {}-{} cannot be read: {e}",
                    record.offset, record.topic, record.partition
                ))
            })?;
            split.offset = Some(message.offset() + 1);
            let split_id = &self.split_ids[position];
            output.split(split_id);
            if let Some(value) = value {
                match record.timestamp {
                    Some(timestamp) => output.collect_with_timestamp(value, timestamp),
                    None => output.collect(value),
                }
            }
            if self.finished(&self.splits[position]) {
                output.finish_split(split_id);
            }
        }
        if self.stopping.is_some() && self.splits.iter().all(|split| self.finished(split)) {
            return Ok(InputStatus::EndOfInput);
        }
        if output.has_capacity() {
            // Everything fetched so far is read: the consumer fetches more in the background.
            return Ok(InputStatus::NothingAvailable(Duration::from_millis(5)));
        }
        Ok(InputStatus::MoreAvailable)
    }

    fn snapshot_state(&self) -> Vec<KafkaSplit> {
        self.splits.clone()
    }

    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64, splits: &[KafkaSplit]) {
        // The consumer group learns how far the job has read, as Flink's source commits on
        // checkpoint completion; the job's own positions are those of its checkpoints.
        let mut offsets = TopicPartitionList::new();
        for split in splits {
            if let Some(offset) = split.offset {
                let _ = offsets.add_partition_offset(&split.topic, split.partition, Offset::Offset(offset));
            }
        }
        if offsets.count() > 0 {
            // An asynchronous commit: a failed one is retried by the next checkpoint's.
            let _ = self.consumer.commit(&offsets, CommitMode::Async);
        }
    }
}
