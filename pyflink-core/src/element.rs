//! The elements of a stream: records, watermarks and watermark status changes.

use serde::{Deserialize, Serialize};

/// One element of a stream, moved between operators in batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Element<T> {
    /// A data record.
    Record(StreamRecord<T>),
    /// Event time has progressed to this watermark at one upstream instance.
    Watermark(Watermark),
    /// An upstream instance became idle or active again.
    Status(WatermarkStatus),
}

/// A data record with its optional event timestamp (milliseconds since the epoch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamRecord<T> {
    /// The record's value.
    pub value: T,
    /// The record's event timestamp, if one was assigned.
    pub timestamp: Option<i64>,
}

/// A watermark: no more records with a timestamp at or below `timestamp` are expected from the
/// upstream instance `channel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    /// The event time reached, in milliseconds.
    pub timestamp: i64,
    /// The index of the upstream operator instance that sent the watermark.
    pub channel: u32,
}

impl Watermark {
    /// The watermark sent when a bounded input ends: all event time has passed.
    pub const MAX_TIMESTAMP: i64 = i64::MAX;
}

/// Whether an upstream instance currently produces watermarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatermarkStatus {
    /// True when the instance is idle and must not hold back the combined watermark.
    pub idle: bool,
    /// The index of the upstream operator instance.
    pub channel: u32,
}
