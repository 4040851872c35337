//! Which partitions a `KafkaSource` reads and which reader reads each: the topics or topic
//! pattern it subscribes to, the partitions they have now, and each partition's owner.

use pyflink_core::{FlinkError, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use regex::Regex;

use crate::kafka::broker::{BrokerCalls, OnStop};

/// What a source reads: named topics, every topic whose whole name matches a pattern, or
/// named partitions.
#[derive(Debug, Clone)]
pub(crate) enum Subscription {
    Topics(Vec<String>),
    Pattern(Regex),
    Partitions(Vec<(String, i32)>),
}

impl Subscription {
    /// A subscription to the topics whose whole names match `pattern` (a Java-style regular
    /// expression, matched as Java's `Pattern.matcher(name).matches()` does).
    pub(crate) fn pattern(pattern: &str) -> Result<Self> {
        Regex::new(&format!("^(?:{pattern})$")).map(Subscription::Pattern).map_err(|e| {
            FlinkError::InvalidProgram(format!(
                "the KafkaSource's topic pattern '{pattern}' is not a valid regular expression: {e}"
            ))
        })
    }

    /// Every (topic, partition) subscribed to, sorted. A named topic must exist; a pattern may
    /// match none yet.
    pub(crate) fn partitions(&self, consumer: &BaseConsumer, calls: &BrokerCalls) -> Result<Vec<(String, i32)>> {
        let mut found = Vec::new();
        match self {
            Subscription::Topics(topics) => {
                for topic in topics {
                    let metadata = calls
                        .call(OnStop::GiveUp, |timeout| consumer.fetch_metadata(Some(topic), timeout))
                        .map_err(|failure| failure.into_error(&format!("read the partitions of topic '{topic}'")))?;
                    let listed = metadata.topics().iter().find(|t| t.name() == topic);
                    match listed {
                        Some(t) if t.error().is_none() && !t.partitions().is_empty() => {
                            found.extend(t.partitions().iter().map(|p| (topic.clone(), p.id())))
                        }
                        _ => return Err(FlinkError::Connector(format!("Kafka: topic '{topic}' does not exist"))),
                    }
                }
            }
            Subscription::Partitions(partitions) => {
                for (topic, partition) in partitions {
                    let metadata = calls
                        .call(OnStop::GiveUp, |timeout| consumer.fetch_metadata(Some(topic), timeout))
                        .map_err(|failure| failure.into_error(&format!("read the partitions of topic '{topic}'")))?;
                    let listed = metadata.topics().iter().find(|t| t.name() == topic && t.error().is_none());
                    if !listed.is_some_and(|t| t.partitions().iter().any(|p| p.id() == *partition)) {
                        return Err(FlinkError::Connector(format!(
                            "Kafka: partition {partition} of topic '{topic}' does not exist"
                        )));
                    }
                    found.push((topic.clone(), *partition));
                }
                found.dedup();
            }
            Subscription::Pattern(pattern) => {
                let metadata = calls
                    .call(OnStop::GiveUp, |timeout| consumer.fetch_metadata(None, timeout))
                    .map_err(|failure| failure.into_error("list the topics"))?;
                for topic in metadata.topics() {
                    if topic.error().is_none() && pattern.is_match(topic.name()) {
                        found.extend(topic.partitions().iter().map(|p| (topic.name().to_string(), p.id())));
                    }
                }
            }
        }
        found.sort();
        Ok(found)
    }
}

/// The reader of `parallelism` that reads `partition` of `topic`: the partitions of a topic
/// go round robin from a start that the topic's name picks, as Flink's enumerator assigns them
/// (so a job's readers split a topic's partitions as Flink's would).
pub(crate) fn split_owner(topic: &str, partition: i32, parallelism: usize) -> usize {
    let parallelism = parallelism.max(1) as i64;
    let start = i64::from(java_string_hash(topic).wrapping_mul(31) & 0x7fff_ffff) % parallelism;
    ((start + i64::from(partition)) % parallelism) as usize
}

/// Java's `String.hashCode`: over the UTF-16 code units, `h = 31 * h + unit`, wrapping.
fn java_string_hash(text: &str) -> i32 {
    text.encode_utf16().fold(0i32, |hash, unit| hash.wrapping_mul(31).wrapping_add(i32::from(unit)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hashes_and_owners() {
        // Values of Java's "".hashCode(), "a".hashCode() and "orders".hashCode().
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("orders"), -1_008_770_331);
        // A topic's partitions go round robin over the readers.
        let owners: Vec<usize> = (0..6).map(|p| split_owner("orders", p, 4)).collect();
        let start = owners[0];
        assert_eq!(owners, (0..6).map(|p| (start + p) % 4).collect::<Vec<_>>());
        assert!((0..100).all(|p| split_owner("x", p, 1) == 0));
    }

    #[test]
    fn patterns_match_whole_topic_names() {
        let Subscription::Pattern(pattern) = Subscription::pattern("orders-.*").unwrap() else { unreachable!() };
        assert!(pattern.is_match("orders-eu"));
        assert!(!pattern.is_match("old-orders-eu"));
        let Subscription::Pattern(either) = Subscription::pattern("a|b").unwrap() else { unreachable!() };
        assert!(either.is_match("b") && !either.is_match("ab"), "alternatives are anchored too");
        let error = Subscription::pattern("(").unwrap_err().to_string();
        assert!(error.contains("not a valid regular expression"), "{error}");
    }
}
