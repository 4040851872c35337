//! What an `EXACTLY_ONCE` Kafka writer hands over at a checkpoint: the transaction that holds
//! the checkpoint's records, how to tell whether it was committed, and a copy of its records.
//!
//! Why a copy: a transaction can only be committed by the producer that began it (librdkafka
//! cannot resume another producer's transaction, as Flink's Java sink does). When the process
//! holding a completed checkpoint's transaction dies before committing it, the next producer
//! of its id aborts it; the restore then writes the copied records again in a new transaction.
//! Why a mark: each transaction also commits a consumer-group offset (group = its
//! transactional id, on partition 0 of the first topic it wrote) whose value is the
//! transaction's random token. Group offsets sent to a transaction become visible only if it
//! commits, so after fencing the id, a restore reads the group's offset: the token there means
//! the transaction committed before the failure, and its records are not written twice.
//!
//! The copy costs the checkpoint the bytes of the records written since the previous one.

use pyflink_core::{FlinkError, Result};
use serde::{Deserialize, Serialize};

use crate::kafka::schema::{Headers, SerializedRecord};

/// The first bytes of an encoded committable, telling it from other bytes and versions.
const MAGIC: &[u8] = b"pyflink-rs kafka transaction 1\0";

/// A prepared transaction as a checkpoint holds it.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct Committable {
    /// The transactional id of the producer that holds (or held) the transaction.
    pub(crate) transactional_id: String,
    /// The writer's subtask.
    pub(crate) subtask: usize,
    /// The transaction's random token, its mark when committed.
    pub(crate) token: i64,
    /// The topic on whose partition 0 the mark is committed.
    pub(crate) mark_topic: String,
    /// The transaction's records, each encoded by [`append_record`].
    pub(crate) records: Vec<u8>,
}

/// A record as the sink sends it, its parts borrowed: from the writer's serialized value, or
/// from a [`CopiedRecord`] written again. Its encoding is also the copy a committable keeps.
#[derive(Serialize)]
pub(crate) struct OutgoingRecord<'a> {
    pub(crate) topic: &'a str,
    pub(crate) partition: Option<i32>,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
    pub(crate) timestamp: Option<i64>,
    pub(crate) headers: &'a [(String, Option<Vec<u8>>)],
}

impl<'a> OutgoingRecord<'a> {
    /// The record `serialized`, to `topic` with `timestamp`.
    pub(crate) fn of(topic: &'a str, serialized: &'a SerializedRecord, timestamp: Option<i64>) -> Self {
        OutgoingRecord {
            topic,
            partition: serialized.partition,
            key: serialized.key.as_deref(),
            value: serialized.value.as_deref(),
            timestamp,
            headers: &serialized.headers,
        }
    }
}

/// One record read back from a committable, to be written again.
#[derive(Debug, Deserialize, PartialEq)]
pub(crate) struct CopiedRecord {
    pub(crate) topic: String,
    pub(crate) partition: Option<i32>,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) value: Option<Vec<u8>>,
    pub(crate) timestamp: Option<i64>,
    pub(crate) headers: Headers,
}

impl CopiedRecord {
    /// The record to send again.
    pub(crate) fn outgoing(&self) -> OutgoingRecord<'_> {
        OutgoingRecord {
            topic: &self.topic,
            partition: self.partition,
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            timestamp: self.timestamp,
            headers: &self.headers,
        }
    }
}

/// Appends a copy of `record` to `records`.
pub(crate) fn append_record(records: &mut Vec<u8>, record: &OutgoingRecord<'_>) -> Result<()> {
    bincode::serialize_into(records, record)
        .map_err(|e| FlinkError::Connector(format!("Kafka: cannot keep a copy of a record for the checkpoint: {e}")))
}

impl Committable {
    /// The bytes a checkpoint keeps.
    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        let mut bytes = MAGIC.to_vec();
        bincode::serialize_into(&mut bytes, self).map_err(|e| {
            FlinkError::Connector(format!("Kafka: cannot encode a transaction for the checkpoint: {e}"))
        })?;
        Ok(bytes)
    }

    /// Reads back what [`Committable::encode`] wrote.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Committable> {
        let decoded = bytes.strip_prefix(MAGIC).and_then(|rest| bincode::deserialize(rest).ok());
        decoded.ok_or_else(|| {
            FlinkError::Connector(format!(
                "Kafka: a checkpoint holds a committable that names no transaction of this version's \
                 KafkaSink ({} bytes); was it written by another sink, or by an older pyflink-rs?",
                bytes.len()
            ))
        })
    }

    /// The copied records, in the order they were written.
    pub(crate) fn records(&self) -> impl Iterator<Item = Result<CopiedRecord>> + '_ {
        let mut rest = self.records.as_slice();
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            Some(bincode::deserialize_from(&mut rest).map_err(|e| {
                FlinkError::Connector(format!("Kafka: a checkpoint's copy of a transaction's records is damaged: {e}"))
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serialized(key: Option<&str>, value: Option<&str>, partition: Option<i32>) -> SerializedRecord {
        SerializedRecord {
            topic: None,
            key: key.map(|k| k.as_bytes().to_vec()),
            value: value.map(|v| v.as_bytes().to_vec()),
            partition,
            timestamp: None,
            headers: vec![("h".into(), Some(b"1".to_vec())), ("empty".into(), None)],
        }
    }

    #[test]
    fn records_and_committables_come_back_as_written() {
        let mut records = Vec::new();
        let (first, second) = (serialized(Some("k"), Some("v"), Some(2)), serialized(None, None, None));
        append_record(&mut records, &OutgoingRecord::of("out", &first, Some(1000))).unwrap();
        append_record(&mut records, &OutgoingRecord::of("other", &second, None)).unwrap();
        let committable = Committable {
            transactional_id: "sink-1-0".into(),
            subtask: 1,
            token: 42,
            mark_topic: "out".into(),
            records,
        };
        let decoded = Committable::decode(&committable.encode().unwrap()).unwrap();
        assert_eq!(decoded, committable);
        let copies: Vec<CopiedRecord> = decoded.records().map(Result::unwrap).collect();
        assert_eq!(copies.len(), 2);
        assert_eq!(copies[0].topic, "out");
        assert_eq!(copies[0].partition, Some(2));
        assert_eq!(copies[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(copies[0].value.as_deref(), Some(&b"v"[..]));
        assert_eq!(copies[0].timestamp, Some(1000));
        assert_eq!(copies[0].headers, vec![("h".to_string(), Some(b"1".to_vec())), ("empty".to_string(), None)]);
        assert_eq!((copies[1].topic.as_str(), copies[1].key.as_ref(), copies[1].value.as_ref()), ("other", None, None));
    }

    #[test]
    fn foreign_bytes_are_refused_with_a_clear_error() {
        for bytes in [&b"out-1-0\x0042"[..], b"", &[0xff, 0, 1]] {
            let error = Committable::decode(bytes).unwrap_err().to_string();
            assert!(error.contains("names no transaction"), "{error}");
        }
        let mut damaged = Committable {
            transactional_id: "x".into(),
            subtask: 0,
            token: 1,
            mark_topic: "t".into(),
            records: vec![9, 9, 9],
        };
        assert!(damaged.records().next().unwrap().is_err());
        damaged.records.clear();
        assert!(damaged.records().next().is_none());
    }
}
