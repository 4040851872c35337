//! `KafkaSource`: the records of Kafka topics, one split per partition.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyflink_core::sources::{
    InputStatus, Source, SourceOutput, SourceReader, SourceReaderContext, SourceSplit, SplitEnumeratorContext,
};
use pyflink_core::{Boundedness, Data, FlinkError, Result};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use crate::kafka::broker::{bound_of, BrokerCalls, DEFAULT_API_TIMEOUT_MS};
use crate::kafka::discovery::{split_owner, Subscription};
use crate::kafka::schema::{KafkaRecord, KafkaRecordDeserializationSchema, TimestampType, ValueOnly};
use crate::kafka::{client_config, kafka_error, OffsetsInitializer};
use crate::serialization::DeserializationSchema;

/// The property that sets how often an unbounded source looks for new partitions and topics
/// (Flink's; not passed to librdkafka). 0 turns discovery off.
const DISCOVERY_INTERVAL_PROPERTY: &str = "partition.discovery.interval.ms";

/// Flink's default discovery interval of unbounded sources: five minutes.
const DEFAULT_DISCOVERY_INTERVAL: Duration = Duration::from_secs(300);

/// Properties of Flink's Kafka source that configure the connector, not librdkafka.
const FLINK_ONLY_PROPERTIES: [&str; 4] =
    [DISCOVERY_INTERVAL_PROPERTY, "client.id.prefix", "commit.offsets.on.checkpoint", "register.consumer.metrics"];

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
    /// The librdkafka consumer properties.
    properties: BTreeMap<String, String>,
    subscription: Subscription,
    starting: OffsetsInitializer,
    stopping: Option<OffsetsInitializer>,
    /// How often readers look for new partitions; `None`: never.
    discovery: Option<Duration>,
    /// Whether completed checkpoints commit the read offsets to the consumer group.
    commit_offsets: bool,
    /// The bound of each broker call (`default.api.timeout.ms`).
    api_timeout: Duration,
    deserializer: Arc<dyn KafkaRecordDeserializationSchema<T>>,
}

/// Builds a [`KafkaSource`].
pub struct KafkaSourceBuilder<T> {
    properties: BTreeMap<String, String>,
    topics: Vec<String>,
    topic_pattern: Option<String>,
    partitions: Vec<(String, i32)>,
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
            topic_pattern: None,
            partitions: Vec::new(),
            starting: OffsetsInitializer::Earliest,
            stopping: None,
            deserializer: None,
        }
    }

    fn consumer(&self) -> Result<BaseConsumer> {
        let mut config = client_config(&self.properties);
        // Offsets are the source's own (kept in checkpoints), never committed on a timer.
        config.set("enable.auto.commit", "false");
        if !self.properties.contains_key("group.id") {
            config.set("group.id", "pyflink-rs");
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

    /// Reads every topic whose whole name matches the regular expression `pattern`, including
    /// topics created while the job runs (found by partition discovery).
    pub fn set_topic_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.topic_pattern = Some(pattern.into());
        self
    }

    /// Reads exactly these partitions, each a topic and a partition number (Flink's
    /// `setPartitions`), instead of whole topics.
    pub fn set_partitions<S: Into<String>>(mut self, partitions: impl IntoIterator<Item = (S, i32)>) -> Self {
        self.partitions = partitions.into_iter().map(|(topic, partition)| (topic.into(), partition)).collect();
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

    /// Sets a consumer property: a librdkafka one, or one of Flink's source options
    /// `partition.discovery.interval.ms` (how often an unbounded source looks for new
    /// partitions; 0: never; five minutes unless set) and `commit.offsets.on.checkpoint`.
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
    pub fn build(mut self) -> Result<KafkaSource<T>> {
        let missing = |what: &str| FlinkError::InvalidProgram(format!("the KafkaSource needs {what}"));
        if !self.properties.contains_key("bootstrap.servers") {
            return Err(missing("bootstrap servers (set_bootstrap_servers)"));
        }
        let chosen = [!self.topics.is_empty(), self.topic_pattern.is_some(), !self.partitions.is_empty()];
        let subscription = match chosen {
            [true, false, false] => Subscription::Topics(std::mem::take(&mut self.topics)),
            [false, true, false] => Subscription::pattern(self.topic_pattern.as_deref().unwrap_or_default())?,
            [false, false, true] => {
                let mut partitions = std::mem::take(&mut self.partitions);
                partitions.sort();
                Subscription::Partitions(partitions)
            }
            [false, false, false] => {
                return Err(missing("topics to read (set_topics, set_topic_pattern or set_partitions)"))
            }
            _ => {
                return Err(FlinkError::InvalidProgram(
                    "the KafkaSource reads topics (set_topics), a topic pattern (set_topic_pattern) or partitions \
                     (set_partitions): only one of them"
                        .into(),
                ))
            }
        };
        let deserializer = self.deserializer.ok_or_else(|| missing("a deserializer (set_value_only_deserializer)"))?;
        let discovery = match self.properties.get(DISCOVERY_INTERVAL_PROPERTY) {
            _ if self.stopping.is_some() => None,
            None => Some(DEFAULT_DISCOVERY_INTERVAL),
            Some(ms) => match ms.trim().parse::<i64>() {
                Ok(ms) if ms > 0 => Some(Duration::from_millis(ms as u64)),
                Ok(_) => None,
                Err(_) => {
                    return Err(FlinkError::InvalidProgram(format!(
                        "{DISCOVERY_INTERVAL_PROPERTY} is a number of milliseconds, not '{ms}'"
                    )))
                }
            },
        };
        let commit_offsets = match self.properties.get("commit.offsets.on.checkpoint").map(|v| v.trim()) {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => {
                return Err(FlinkError::InvalidProgram(format!(
                    "commit.offsets.on.checkpoint is true or false, not '{other}'"
                )))
            }
        };
        for property in FLINK_ONLY_PROPERTIES {
            self.properties.remove(property);
        }
        let api_timeout = bound_of(&self.properties, DEFAULT_API_TIMEOUT_MS)?;
        Ok(KafkaSource {
            properties: self.properties,
            subscription,
            starting: self.starting,
            stopping: self.stopping,
            discovery,
            commit_offsets,
            api_timeout,
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
        // Enumeration runs as the job is built, before any task could be asked to stop.
        let calls = BrokerCalls::unattached(self.api_timeout, DEFAULT_API_TIMEOUT_MS);
        let partitions = self.subscription.partitions(&self.consumer()?, &calls)?;
        Ok(partitions
            .into_iter()
            .map(|(topic, partition)| KafkaSplit { topic, partition, offset: None, stop: None })
            .collect())
    }

    fn assign_split(&self, split: &KafkaSplit, _: usize, context: &SplitEnumeratorContext) -> usize {
        split_owner(&split.topic, split.partition, context.parallelism)
    }

    fn create_reader(&self, context: &SourceReaderContext) -> Result<KafkaReader<T>> {
        Ok(KafkaReader {
            consumer: self.consumer()?,
            calls: BrokerCalls::new(
                &context.metric_group,
                context.stop.clone(),
                self.api_timeout,
                DEFAULT_API_TIMEOUT_MS,
            ),
            subscription: self.subscription.clone(),
            subtask: context.subtask_index,
            parallelism: context.parallelism,
            discovery: self.discovery,
            next_discovery: self.discovery.map(|interval| Instant::now() + interval),
            commit_offsets: self.commit_offsets,
            starting: self.starting.clone(),
            stopping: self.stopping.clone(),
            deserializer: Arc::clone(&self.deserializer),
            splits: Vec::new(),
            split_ids: Vec::new(),
            index: HashMap::new(),
            assigned: false,
            handed_to_consumer: 0,
        })
    }
}

/// Reads the partitions assigned to one parallel instance.
pub struct KafkaReader<T> {
    consumer: BaseConsumer,
    /// How the reader waits for the broker.
    calls: BrokerCalls,
    subscription: Subscription,
    subtask: usize,
    parallelism: usize,
    discovery: Option<Duration>,
    next_discovery: Option<Instant>,
    commit_offsets: bool,
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
    /// How many of `splits` (which only grow) have been handed to the consumer.
    handed_to_consumer: usize,
}

impl<T: Data> KafkaReader<T> {
    /// Adds the partitions of the subscription that appeared since the job started and that
    /// this reader owns; they are read from their earliest offset, as in Flink.
    fn discover_partitions(&mut self) -> Result<()> {
        let mut new = Vec::new();
        for (topic, partition) in self.subscription.partitions(&self.consumer, &self.calls)? {
            let known = self.index.get(&topic).is_some_and(|partitions| partitions.contains_key(&partition));
            if !known && split_owner(&topic, partition, self.parallelism) == self.subtask {
                let offset = OffsetsInitializer::Earliest.resolve(&self.consumer, &topic, partition, &self.calls)?;
                new.push(KafkaSplit { topic, partition, offset: Some(offset), stop: None });
            }
        }
        if !new.is_empty() {
            tracing::info!(subtask = self.subtask, partitions = new.len(), "Kafka source discovered new partitions");
            self.add_splits(new);
        }
        Ok(())
    }

    /// Finishes the bounded splits whose consumer position has reached their stop offset with
    /// no record there to read: a partition written in transactions ends with a transaction
    /// marker, which consumers never see.
    fn finish_splits_at_position(&mut self, output: &mut SourceOutput<'_, T>) -> Result<()> {
        if self.stopping.is_none() || !self.assigned {
            return Ok(());
        }
        let positions = self.consumer.position().map_err(|e| kafka_error("read the consumer's positions", e))?;
        for (split, split_id) in self.splits.iter_mut().zip(&self.split_ids) {
            let (Some(offset), Some(stop)) = (split.offset, split.stop) else { continue };
            if offset >= stop {
                continue;
            }
            let position = positions.find_partition(&split.topic, split.partition).map(|tp| tp.offset());
            if let Some(Offset::Offset(position)) = position {
                if position >= stop {
                    split.offset = Some(stop);
                    output.finish_split(split_id);
                }
            }
        }
        Ok(())
    }

    fn finished(&self, split: &KafkaSplit) -> bool {
        matches!((split.offset, split.stop), (Some(offset), Some(stop)) if offset >= stop)
    }

    /// Resolves the start and stop offsets of the splits added since the last call, and has the
    /// consumer read the unfinished ones from their offsets too. The consumer's assignment only
    /// grows (`incremental_assign`): replacing it while the partitions of the previous one are
    /// still stopping can trip an assertion in librdkafka (confluentinc/librdkafka#5573) when
    /// the consumer is closed soon after.
    fn assign(&mut self, output: &mut SourceOutput<'_, T>) -> Result<()> {
        let new = self.handed_to_consumer..self.splits.len();
        for split in &mut self.splits[new.clone()] {
            if split.offset.is_none() {
                split.offset =
                    Some(self.starting.resolve(&self.consumer, &split.topic, split.partition, &self.calls)?);
            }
            if let (None, Some(stopping)) = (split.stop, &self.stopping) {
                split.stop = Some(stopping.resolve(&self.consumer, &split.topic, split.partition, &self.calls)?);
            }
        }
        let mut assignment = TopicPartitionList::new();
        for split in &self.splits[new] {
            if self.finished(split) {
                output.finish_split(&split.split_id());
                continue;
            }
            let offset = Offset::Offset(split.offset.expect("resolved above"));
            assignment
                .add_partition_offset(&split.topic, split.partition, offset)
                .map_err(|e| kafka_error("assign partitions", e))?;
        }
        if assignment.count() > 0 {
            self.consumer.incremental_assign(&assignment).map_err(|e| kafka_error("assign partitions", e))?;
        }
        self.handed_to_consumer = self.splits.len();
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
        if let (Some(interval), Some(at)) = (self.discovery, self.next_discovery) {
            if Instant::now() >= at {
                self.discover_partitions()?;
                self.next_discovery = Some(Instant::now() + interval);
            }
        }
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
                timestamp_type: match message.timestamp() {
                    rdkafka::Timestamp::NotAvailable => TimestampType::NoTimestampType,
                    rdkafka::Timestamp::CreateTime(_) => TimestampType::CreateTime,
                    rdkafka::Timestamp::LogAppendTime(_) => TimestampType::LogAppendTime,
                },
                headers: message.headers(),
            };
            let value = self.deserializer.deserialize(&record).map_err(|e| {
                crate::reading_record(format!("record {} of {}-{}", record.offset, record.topic, record.partition), &e)
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
        if output.has_capacity() {
            self.finish_splits_at_position(output)?;
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
        if !self.commit_offsets {
            return;
        }
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
