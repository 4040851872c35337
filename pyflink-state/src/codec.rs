//! The one binary encoding of state: keys, values and snapshot sections are bincode with fixed-width
//! integers, little-endian. Decoding is bounded by the input's length, so corrupt or hostile bytes
//! give an error, never a huge allocation or a panic.

use bincode::Options;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::StateError;

fn options() -> impl Options {
    bincode::DefaultOptions::new().with_fixint_encoding().with_little_endian()
}

/// Appends the encoding of `value` to `out`.
#[inline]
pub fn encode_into<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), StateError> {
    options().serialize_into(out, value).map_err(|e| StateError::Serialization { cause: e.to_string() })
}

/// The encoding of `value`.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, StateError> {
    let mut out = Vec::new();
    encode_into(&mut out, value)?;
    Ok(out)
}

/// Decodes a `T` that must fill `bytes` exactly; `what` names the data in the error.
#[inline]
pub fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, StateError> {
    options()
        .with_limit(bytes.len() as u64)
        .reject_trailing_bytes()
        .deserialize(bytes)
        .map_err(|e| StateError::Corrupt { what: what.to_string(), cause: e.to_string() })
}
