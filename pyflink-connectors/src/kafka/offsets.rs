//! `OffsetsInitializer`: where a Kafka source starts (or stops) reading each partition.

use std::collections::HashMap;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::kafka::broker::{BrokerCalls, OnStop};
use crate::kafka::kafka_error;
use pyflink_core::{FlinkError, Result};

/// What a source does for a partition without a committed offset (Flink's
/// `OffsetResetStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetResetStrategy {
    /// Start at the partition's first record.
    Earliest,
    /// Start after the partition's last record.
    Latest,
    /// Fail.
    None,
}

/// The offset of each partition where reading starts, or stops (Flink's
/// `OffsetsInitializer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffsetsInitializer {
    /// The first record of each partition.
    Earliest,
    /// The end of each partition when the source starts (stopping: when it starts).
    Latest,
    /// The consumer group's committed offset, or the reset strategy without one.
    Committed(OffsetResetStrategy),
    /// The first record at or after a time in milliseconds (the end without one).
    Timestamp(i64),
    /// Given offsets by (topic, partition); the others start at the earliest.
    Specific(HashMap<(String, i32), i64>),
}

impl OffsetsInitializer {
    /// The first record of each partition.
    pub fn earliest() -> Self {
        OffsetsInitializer::Earliest
    }

    /// The end of each partition.
    pub fn latest() -> Self {
        OffsetsInitializer::Latest
    }

    /// The group's committed offsets, with `reset` for partitions without one.
    pub fn committed_offsets(reset: OffsetResetStrategy) -> Self {
        OffsetsInitializer::Committed(reset)
    }

    /// The first records at or after `timestamp_ms`.
    pub fn timestamp(timestamp_ms: i64) -> Self {
        OffsetsInitializer::Timestamp(timestamp_ms)
    }

    /// The given offsets.
    pub fn offsets(offsets: HashMap<(String, i32), i64>) -> Self {
        OffsetsInitializer::Specific(offsets)
    }

    /// The offset in `topic`'s `partition` this initializer means, asked of the broker through
    /// `consumer`.
    pub(crate) fn resolve(
        &self,
        consumer: &BaseConsumer,
        topic: &str,
        partition: i32,
        calls: &BrokerCalls,
    ) -> Result<i64> {
        let (low, high) = calls
            .call(OnStop::GiveUp, |timeout| consumer.fetch_watermarks(topic, partition, timeout))
            .map_err(|failure| failure.into_error(&format!("read the offsets of {topic}-{partition}")))?;
        match self {
            OffsetsInitializer::Earliest => Ok(low),
            OffsetsInitializer::Latest => Ok(high),
            OffsetsInitializer::Specific(offsets) => {
                Ok(offsets.get(&(topic.to_string(), partition)).copied().unwrap_or(low))
            }
            OffsetsInitializer::Timestamp(at) => {
                let mut query = TopicPartitionList::new();
                query
                    .add_partition_offset(topic, partition, Offset::Offset(*at))
                    .map_err(|e| kafka_error("look up offsets by time", e))?;
                let found = calls
                    .call(OnStop::GiveUp, |timeout| consumer.offsets_for_times(query.clone(), timeout))
                    .map_err(|failure| failure.into_error("look up offsets by time"))?;
                Ok(offset_of(&found, topic, partition).unwrap_or(high))
            }
            OffsetsInitializer::Committed(reset) => {
                let mut query = TopicPartitionList::new();
                query.add_partition(topic, partition);
                let committed = calls
                    .call(OnStop::GiveUp, |timeout| consumer.committed_offsets(query.clone(), timeout))
                    .map_err(|failure| failure.into_error("read the group's committed offsets"))?;
                match (offset_of(&committed, topic, partition), reset) {
                    (Some(offset), _) => Ok(offset),
                    (None, OffsetResetStrategy::Earliest) => Ok(low),
                    (None, OffsetResetStrategy::Latest) => Ok(high),
                    (None, OffsetResetStrategy::None) => Err(FlinkError::Connector(format!(
                        "Kafka: {topic}-{partition} has no committed offset for the group and the reset strategy \
                         is NONE; commit an offset or pick EARLIEST or LATEST"
                    ))),
                }
            }
        }
    }
}

/// The absolute offset `list` holds for the partition, if it holds one.
fn offset_of(list: &TopicPartitionList, topic: &str, partition: i32) -> Option<i64> {
    match list.find_partition(topic, partition)?.offset() {
        Offset::Offset(offset) => Some(offset),
        _ => None,
    }
}
