//! How values become bytes and bytes become values (Flink's `SerializationSchema` and
//! `DeserializationSchema`), with the simplest schemas: UTF-8 text and raw bytes. The
//! [`formats`](crate::formats) module has the row formats (JSON, CSV).

use pyflink_core::{FlinkError, Result};

/// Turns bytes into a value.
pub trait DeserializationSchema<T>: Send + Sync + 'static {
    /// The value of `bytes`; an error says what is wrong with them.
    fn deserialize(&self, bytes: &[u8]) -> Result<T>;

    /// The value of `bytes`, or `None` to skip them: formats configured to ignore parse errors
    /// skip what they cannot read, and count it.
    fn deserialize_or_skip(&self, bytes: &[u8]) -> Result<Option<T>> {
        self.deserialize(bytes).map(Some)
    }
}

/// Turns a value into bytes.
pub trait SerializationSchema<T>: Send + Sync + 'static {
    /// The bytes of `value`.
    fn serialize(&self, value: &T) -> Result<Vec<u8>>;

    /// The bytes of `value` as a record's value, or `None` for a record without a value (a
    /// Kafka tombstone, which deletes its key from a compacted topic). Every value has bytes
    /// unless a schema says otherwise.
    fn serialize_or_tombstone(&self, value: &T) -> Result<Option<Vec<u8>>> {
        self.serialize(value).map(Some)
    }
}

/// UTF-8 text (Flink's `SimpleStringSchema`): bytes that are not UTF-8 are refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimpleStringSchema;

impl DeserializationSchema<String> for SimpleStringSchema {
    fn deserialize(&self, bytes: &[u8]) -> Result<String> {
        String::from_utf8(bytes.to_vec())
            .map_err(|e| FlinkError::Deserialization(format!("a record is not UTF-8 text: {e}")))
    }
}

impl SerializationSchema<String> for SimpleStringSchema {
    fn serialize(&self, value: &String) -> Result<Vec<u8>> {
        Ok(value.as_bytes().to_vec())
    }
}

/// The bytes as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawBytesSchema;

impl DeserializationSchema<Vec<u8>> for RawBytesSchema {
    fn deserialize(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        Ok(bytes.to_vec())
    }
}

impl SerializationSchema<Vec<u8>> for RawBytesSchema {
    fn serialize(&self, value: &Vec<u8>) -> Result<Vec<u8>> {
        Ok(value.clone())
    }
}
