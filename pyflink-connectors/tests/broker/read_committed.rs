//! A read_committed consumer that reads a partition with the Kafka protocol itself (Fetch v4,
//! record batches v2) and drops aborted transactions by their markers.
//!
//! Why not librdkafka: a read_committed Fetch response lists the aborted transactions in what
//! it returns, and consumers drop their records by that list. tansu 0.6 returns the last stable
//! offset (so open transactions stay hidden) but always an empty list, so librdkafka hands out
//! aborted records as if committed. This reader asks for read_committed too, and finds the
//! aborted transactions where the log records them: a transaction's records are committed by
//! the commit marker (a control record) of their producer that follows them, and aborted by
//! its abort marker.
//!
//! [`read_whole_partition`] reads past the last stable offset, to the end of the log, and tells
//! transactions still open from ended ones by those markers alone: when transactions of a
//! partition end at the same moment from two processes, tansu 0.6 can keep the last stable
//! offset below them for good, though every one of them has its marker.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// What reading a partition found.
#[derive(Debug, Default)]
pub struct Partition {
    /// The values of committed records (and of records written outside transactions), in order.
    pub committed: Vec<Vec<u8>>,
    /// The same records' keys and values (`None` for a tombstone), in order.
    pub committed_records: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// How many records aborted transactions held.
    pub aborted: usize,
    /// The last stable offset: below it, every transaction has ended.
    pub last_stable_offset: i64,
    /// The high watermark: the offset after the last record in the log.
    pub high_watermark: i64,
    /// How many records transactions without a marker (still open) held where the reading
    /// ended.
    pub open: usize,
}

/// How far a read goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isolation {
    /// To the last stable offset, as read_committed consumers.
    ReadCommitted,
    /// To the high watermark: the whole log, open transactions too.
    ReadUncommitted,
}

/// The committed values of every partition of `topic`, sorted, after checking that no
/// transaction was left open in any.
pub fn committed_values(broker: &super::Broker, topic: &str, partitions: i32) -> (Vec<String>, usize) {
    let mut values = Vec::new();
    let mut aborted = 0;
    for partition in 0..partitions {
        let Partition { committed, aborted: dropped, last_stable_offset, high_watermark, .. } =
            read_partition(&broker.bootstrap, topic, partition);
        assert_eq!(
            last_stable_offset, high_watermark,
            "a transaction was left open in {topic}/{partition}: it would hold back read_committed consumers"
        );
        values.extend(committed.into_iter().map(|v| String::from_utf8(v).unwrap()));
        aborted += dropped;
    }
    values.sort();
    (values, aborted)
}

/// The committed values of every partition of `topic` read to the end of their logs, sorted,
/// and the number of records of aborted transactions, after checking that every transaction
/// has ended (see [`read_whole_partition`]).
pub fn committed_values_in_log(broker: &super::Broker, topic: &str, partitions: i32) -> (Vec<String>, usize) {
    let mut values = Vec::new();
    let mut aborted = 0;
    for partition in 0..partitions {
        let read = read_whole_partition(&broker.bootstrap, topic, partition);
        assert_eq!(read.open, 0, "a transaction was left open in {topic}/{partition}");
        values.extend(read.committed.into_iter().map(|v| String::from_utf8(v).unwrap()));
        aborted += read.aborted;
    }
    values.sort();
    (values, aborted)
}

/// Reads partition `partition` of `topic` from the broker at `bootstrap` up to its last stable
/// offset.
pub fn read_partition(bootstrap: &str, topic: &str, partition: i32) -> Partition {
    read(bootstrap, topic, partition, Isolation::ReadCommitted)
}

/// Reads partition `partition` of `topic` from the broker at `bootstrap` to the end of its log;
/// [`Partition::open`] counts the records of transactions with no marker yet.
pub fn read_whole_partition(bootstrap: &str, topic: &str, partition: i32) -> Partition {
    read(bootstrap, topic, partition, Isolation::ReadUncommitted)
}

fn read(bootstrap: &str, topic: &str, partition: i32, isolation: Isolation) -> Partition {
    let mut stream = TcpStream::connect(bootstrap).expect("connect to the broker");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut result = Partition::default();
    // A transaction's records by producer id, until its marker says what became of them.
    let mut pending: HashMap<i64, Vec<Record>> = HashMap::new();
    let mut offset = 0i64;
    let deadline = Instant::now() + Duration::from_secs(60);
    for correlation_id in 1.. {
        assert!(Instant::now() < deadline, "reading {topic}/{partition} did not reach its end ({isolation:?})");
        let response = fetch(&mut stream, correlation_id, topic, partition, offset, isolation);
        let answer = parse_fetch_response(&response, correlation_id);
        assert_eq!(
            answer.error_code, 0,
            "Fetch of {topic}/{partition} at {offset} answered error {}",
            answer.error_code
        );
        result.last_stable_offset = answer.last_stable_offset;
        result.high_watermark = answer.high_watermark;
        let batches = parse_batches(&answer.records);
        for batch in &batches {
            if batch.last_offset < offset {
                continue;
            }
            offset = batch.last_offset + 1;
            match (batch.transactional, batch.control) {
                (_, true) => {
                    let records = pending.remove(&batch.producer_id).unwrap_or_default();
                    match batch.records.first().map(|r| control_type(&r.key)) {
                        Some(1) => result.commit(records),
                        Some(0) => result.aborted += records.len(),
                        other => panic!("a control batch of unknown type {other:?}"),
                    }
                }
                (true, false) => {
                    pending.entry(batch.producer_id).or_default().extend(batch.records.iter().cloned());
                }
                (false, false) => result.commit(batch.records.clone()),
            }
        }
        let end = match isolation {
            Isolation::ReadCommitted => answer.last_stable_offset,
            Isolation::ReadUncommitted => answer.high_watermark,
        };
        if batches.is_empty() && offset >= end {
            break;
        }
        if batches.is_empty() {
            // Offsets without a batch to show (tansu's log ends at the last stable offset).
            offset = end.max(offset);
        }
    }
    result.open = pending.values().map(Vec::len).sum();
    result
}

fn fetch(
    stream: &mut TcpStream,
    correlation_id: i32,
    topic: &str,
    partition: i32,
    offset: i64,
    isolation: Isolation,
) -> Vec<u8> {
    let mut request = Vec::new();
    request.extend_from_slice(&1i16.to_be_bytes()); // api key: Fetch
    request.extend_from_slice(&4i16.to_be_bytes()); // api version 4: isolation levels, no tags
    request.extend_from_slice(&correlation_id.to_be_bytes());
    put_string(&mut request, "pyflink-tests");
    request.extend_from_slice(&(-1i32).to_be_bytes()); // replica id: a consumer
    request.extend_from_slice(&100i32.to_be_bytes()); // max wait ms
    request.extend_from_slice(&0i32.to_be_bytes()); // min bytes
    request.extend_from_slice(&(4i32 << 20).to_be_bytes()); // max bytes
    request.push(match isolation {
        Isolation::ReadCommitted => 1,
        Isolation::ReadUncommitted => 0,
    });
    request.extend_from_slice(&1i32.to_be_bytes()); // one topic
    put_string(&mut request, topic);
    request.extend_from_slice(&1i32.to_be_bytes()); // one partition
    request.extend_from_slice(&partition.to_be_bytes());
    request.extend_from_slice(&offset.to_be_bytes());
    request.extend_from_slice(&(4i32 << 20).to_be_bytes()); // partition max bytes
    stream.write_all(&(request.len() as i32).to_be_bytes()).unwrap();
    stream.write_all(&request).unwrap();
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).expect("a Fetch response");
    let mut response = vec![0u8; i32::from_be_bytes(size) as usize];
    stream.read_exact(&mut response).expect("the whole Fetch response");
    response
}

fn put_string(buffer: &mut Vec<u8>, text: &str) {
    buffer.extend_from_slice(&(text.len() as i16).to_be_bytes());
    buffer.extend_from_slice(text.as_bytes());
}

/// Reads big-endian and varint fields from a byte slice.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        head
    }
    fn i8(&mut self) -> i8 {
        self.take(1)[0] as i8
    }
    fn i16(&mut self) -> i16 {
        i16::from_be_bytes(self.take(2).try_into().unwrap())
    }
    fn i32(&mut self) -> i32 {
        i32::from_be_bytes(self.take(4).try_into().unwrap())
    }
    fn i64(&mut self) -> i64 {
        i64::from_be_bytes(self.take(8).try_into().unwrap())
    }
    /// A zigzag varint, as record fields are written.
    fn varint(&mut self) -> i64 {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)[0];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
        }
        (value >> 1) as i64 ^ -((value & 1) as i64)
    }
    fn string(&mut self) -> String {
        let length = self.i16();
        String::from_utf8(self.take(length.max(0) as usize).to_vec()).unwrap()
    }
    /// Bytes prefixed by a varint length, `None` for length -1.
    fn optional_varint_bytes(&mut self) -> Option<Vec<u8>> {
        let length = self.varint();
        (length >= 0).then(|| self.take(length as usize).to_vec())
    }
    /// Bytes prefixed by a varint length (-1: none).
    fn varint_bytes(&mut self) -> Vec<u8> {
        let length = self.varint();
        if length < 0 {
            return Vec::new();
        }
        self.take(length as usize).to_vec()
    }
}

struct FetchAnswer {
    error_code: i16,
    high_watermark: i64,
    last_stable_offset: i64,
    records: Vec<u8>,
}

fn parse_fetch_response(response: &[u8], correlation_id: i32) -> FetchAnswer {
    let mut cursor = Cursor { bytes: response };
    assert_eq!(cursor.i32(), correlation_id, "the answer to our request");
    let _throttle_time_ms = cursor.i32();
    assert_eq!(cursor.i32(), 1, "one topic in the answer");
    let _topic = cursor.string();
    assert_eq!(cursor.i32(), 1, "one partition in the answer");
    let _partition = cursor.i32();
    let error_code = cursor.i16();
    let high_watermark = cursor.i64();
    let last_stable_offset = cursor.i64();
    let aborted = cursor.i32();
    for _ in 0..aborted.max(0) {
        let (_producer_id, _first_offset) = (cursor.i64(), cursor.i64());
    }
    let length = cursor.i32();
    let records = if length > 0 { cursor.take(length as usize).to_vec() } else { Vec::new() };
    FetchAnswer { error_code, high_watermark, last_stable_offset, records }
}

struct Batch {
    last_offset: i64,
    producer_id: i64,
    transactional: bool,
    control: bool,
    records: Vec<Record>,
}

#[derive(Clone)]
struct Record {
    key: Vec<u8>,
    /// `None` for a tombstone.
    value: Option<Vec<u8>>,
}

impl Partition {
    fn commit(&mut self, records: Vec<Record>) {
        for Record { key, value } in records {
            self.committed.push(value.clone().unwrap_or_default());
            self.committed_records.push((key, value));
        }
    }
}

/// The whole record batches (v2) in a Fetch answer's records; a partial last one is left out.
fn parse_batches(mut bytes: &[u8]) -> Vec<Batch> {
    let mut batches = Vec::new();
    while bytes.len() >= 12 {
        let mut header = Cursor { bytes };
        let base_offset = header.i64();
        let length = header.i32() as usize;
        if bytes.len() < 12 + length {
            break;
        }
        let mut cursor = Cursor { bytes: &bytes[12..12 + length] };
        bytes = &bytes[12 + length..];
        let _leader_epoch = cursor.i32();
        assert_eq!(cursor.i8(), 2, "record batches of format v2");
        let _crc = cursor.i32();
        let attributes = cursor.i16();
        assert_eq!(attributes & 0x7, 0, "uncompressed batches (the sink does not compress)");
        let last_offset_delta = cursor.i32();
        let (_base_timestamp, _max_timestamp) = (cursor.i64(), cursor.i64());
        let producer_id = cursor.i64();
        let (_producer_epoch, _base_sequence) = (cursor.i16(), cursor.i32());
        let count = cursor.i32();
        let records = (0..count)
            .map(|_| {
                let _length = cursor.varint();
                let _attributes = cursor.i8();
                let (_timestamp_delta, _offset_delta) = (cursor.varint(), cursor.varint());
                let key = cursor.varint_bytes();
                let value = cursor.optional_varint_bytes();
                for _ in 0..cursor.varint() {
                    let (_header_key, _header_value) = (cursor.varint_bytes(), cursor.varint_bytes());
                }
                Record { key, value }
            })
            .collect();
        batches.push(Batch {
            last_offset: base_offset + i64::from(last_offset_delta),
            producer_id,
            transactional: attributes & 0x10 != 0,
            control: attributes & 0x20 != 0,
            records,
        });
    }
    batches
}

/// The type of a control record from its key: 0 abort, 1 commit.
fn control_type(key: &[u8]) -> i16 {
    let mut cursor = Cursor { bytes: key };
    let _version = cursor.i16();
    cursor.i16()
}
