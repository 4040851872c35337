//! The stable encoding of keys that key groups are computed from.
//!
//! A key's group must be the same in every process, on every run and after every toolchain
//! upgrade, or state written to a checkpoint under one group is looked for under another after a
//! restore. Rust's `Hash` implementations do not promise that (how `str`, slices or enums feed a
//! hasher is an implementation detail of the standard library), so keys are not hashed through
//! `Hash`. Instead every key is encoded through its `serde::Serialize` implementation, whose data
//! model is stable and explicit, into a sequence of 64-bit words, and the words are hashed.
//!
//! # Key encoding, version 1 ([`KEY_ENCODING_VERSION`])
//! | serde value | words |
//! |---|---|
//! | `bool` | `0` or `1` |
//! | unsigned integer | its value |
//! | signed integer of n bits | its two's complement n bits, zero-extended (`-1i32` is `0xffff_ffff`) |
//! | 128-bit integer | its low 64 bits, then its high 64 bits |
//! | `char` | its scalar value |
//! | `f32`, `f64` | the bits of the value as `f64`, with `-0.0` as `0.0` and every NaN as one NaN |
//! | string | its UTF-8 bytes as [byte words](#byte-words), then `0xff` |
//! | bytes | their length, then the bytes as [byte words](#byte-words) |
//! | `None`, `Some(v)` | `0`; `1` then `v` |
//! | unit, unit struct | nothing |
//! | enum variant | the variant's index, then its content as a tuple or struct would be |
//! | sequence | its length, then the elements (if the length is not known in advance: the elements, then the length) |
//! | tuple, tuple struct, struct | the fields in order (struct field names are not encoded) |
//! | map | its length, then each key and value in iteration order |
//!
//! ## Byte words
//! Bytes are taken eight at a time as little-endian words; a last partial word is zero-padded and
//! XORed with its byte count shifted left by 59.
//!
//! ## Hash
//! Starting from `h = 0`, each word `w` folds in as `h = (h.rotate_left(5) ^ w) * 0x517c_c1b7_2722_0a95`
//! (wrapping); the key's hash is the murmur3 finalizer `fmix64(h)` and its key group is
//! `hash mod max_parallelism`.
//!
//! The version is written into every checkpoint's metadata; a checkpoint written under another
//! version is refused on restore, because its keys' groups would not be found.
//!
//! ```
//! use pyflink_state::key_encoding::key_hash;
//! // Equal keys hash equally, whatever their owned or borrowed form.
//! assert_eq!(key_hash("alice"), key_hash(&"alice".to_string()));
//! assert_ne!(key_hash(&("alice", 1)), key_hash(&("alice", 2)));
//! ```

use std::fmt;

use serde::ser::{self, Serialize};

use crate::key_group::StableHasher;

/// The version of the key encoding this build computes key groups with.
pub const KEY_ENCODING_VERSION: u32 = 1;

/// The word that ends a string.
const STRING_END: u64 = 0xff;

/// The stable hash of `key` under key encoding [`KEY_ENCODING_VERSION`].
///
/// A key whose `Serialize` implementation fails is hashed by the words it wrote before failing,
/// which is as deterministic as the failure; keys are still told apart by equality.
#[inline]
pub fn key_hash<K: Serialize + ?Sized>(key: &K) -> u64 {
    let mut encoder = KeyEncoder { hasher: StableHasher::default() };
    let _ = key.serialize(&mut encoder);
    std::hash::Hasher::finish(&encoder.hasher)
}

/// A serde serializer that feeds the words of a key's encoding into a [`StableHasher`].
struct KeyEncoder {
    hasher: StableHasher,
}

impl KeyEncoder {
    #[inline]
    fn word(&mut self, word: u64) {
        std::hash::Hasher::write_u64(&mut self.hasher, word);
    }

    #[inline]
    fn byte_words(&mut self, bytes: &[u8]) {
        // StableHasher::write takes bytes exactly as "byte words" describes.
        std::hash::Hasher::write(&mut self.hasher, bytes);
    }

    #[inline]
    fn float(&mut self, value: f64) {
        let canonical = if value == 0.0 {
            0.0
        } else if value.is_nan() {
            f64::NAN
        } else {
            value
        };
        self.word(canonical.to_bits());
    }
}

/// The error a key's own `Serialize` implementation may raise; the encoder itself never fails.
#[derive(Debug)]
pub struct KeyEncodingError(String);

impl fmt::Display for KeyEncodingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a key cannot be encoded: {}", self.0)
    }
}

impl std::error::Error for KeyEncodingError {}

impl ser::Error for KeyEncodingError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        KeyEncodingError(msg.to_string())
    }
}

type Done = Result<(), KeyEncodingError>;

impl ser::Serializer for &mut KeyEncoder {
    type Ok = ();
    type Error = KeyEncodingError;
    type SerializeSeq = SeqEncoder<Self>;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn serialize_bool(self, v: bool) -> Done {
        self.word(v as u64);
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Done {
        self.word(v as u8 as u64);
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Done {
        self.word(v as u16 as u64);
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Done {
        self.word(v as u32 as u64);
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Done {
        self.word(v as u64);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Done {
        self.serialize_u128(v as u128)
    }
    fn serialize_u8(self, v: u8) -> Done {
        self.word(v as u64);
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Done {
        self.word(v as u64);
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Done {
        self.word(v as u64);
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Done {
        self.word(v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Done {
        self.word(v as u64);
        self.word((v >> 64) as u64);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Done {
        self.float(v as f64);
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Done {
        self.float(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Done {
        self.word(v as u64);
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Done {
        self.byte_words(v.as_bytes());
        self.word(STRING_END);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Done {
        self.word(v.len() as u64);
        self.byte_words(v);
        Ok(())
    }
    fn serialize_none(self) -> Done {
        self.word(0);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Done {
        self.word(1);
        value.serialize(self)
    }
    fn serialize_unit(self) -> Done {
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Done {
        Ok(())
    }
    fn serialize_unit_variant(self, _name: &'static str, index: u32, _variant: &'static str) -> Done {
        self.word(index as u64);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Done {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Done {
        self.word(index as u64);
        value.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqEncoder<Self>, KeyEncodingError> {
        if let Some(len) = len {
            self.word(len as u64);
        }
        Ok(SeqEncoder { encoder: self, unknown_len: len.is_none().then_some(0) })
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self, KeyEncodingError> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self, KeyEncodingError> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self, KeyEncodingError> {
        self.word(index as u64);
        Ok(self)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self, KeyEncodingError> {
        // Maps of unknown length (rare: hand-written serializers) are encoded without the length.
        if let Some(len) = len {
            self.word(len as u64);
        }
        Ok(self)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self, KeyEncodingError> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self, KeyEncodingError> {
        self.word(index as u64);
        Ok(self)
    }
}

/// Encodes the elements of a sequence, counting them when its length was not known up front.
struct SeqEncoder<E> {
    encoder: E,
    unknown_len: Option<u64>,
}

impl ser::SerializeSeq for SeqEncoder<&mut KeyEncoder> {
    type Ok = ();
    type Error = KeyEncodingError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        if let Some(count) = &mut self.unknown_len {
            *count += 1;
        }
        value.serialize(&mut *self.encoder)
    }
    fn end(self) -> Done {
        if let Some(count) = self.unknown_len {
            self.encoder.word(count);
        }
        Ok(())
    }
}

/// Fields and elements of fixed-arity values are encoded one after another, with nothing between.
macro_rules! sequential {
    ($trait:ident, $method:ident $(, $key:ident)?) => {
        impl ser::$trait for &mut KeyEncoder {
            type Ok = ();
            type Error = KeyEncodingError;
            fn $method<T: Serialize + ?Sized>(&mut self, $($key: &'static str,)? value: &T) -> Done {
                $(let _ = $key;)?
                value.serialize(&mut **self)
            }
            fn end(self) -> Done {
                Ok(())
            }
        }
    };
}

sequential!(SerializeTuple, serialize_element);
sequential!(SerializeTupleStruct, serialize_field);
sequential!(SerializeTupleVariant, serialize_field);
sequential!(SerializeStruct, serialize_field, _name);
sequential!(SerializeStructVariant, serialize_field, _name);

impl ser::SerializeMap for &mut KeyEncoder {
    type Ok = ();
    type Error = KeyEncodingError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Done {
        key.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        value.serialize(&mut **self)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_group::murmur_mix64;
    use serde::Serialize;

    /// The hash of a sequence of words, folded as the module documentation says.
    fn words(words: &[u64]) -> u64 {
        let mut h = 0u64;
        for &w in words {
            h = (h.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        murmur_mix64(h)
    }

    fn le(bytes: &[u8]) -> u64 {
        let mut word = [0u8; 8];
        word[..bytes.len()].copy_from_slice(bytes);
        let partial = if bytes.len() < 8 { (bytes.len() as u64) << 59 } else { 0 };
        u64::from_le_bytes(word) ^ partial
    }

    struct Bytes(&'static [u8]);
    impl Serialize for Bytes {
        fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_bytes(self.0)
        }
    }

    #[derive(Serialize)]
    struct Click {
        user: String,
        page: Option<u32>,
    }

    #[derive(Serialize)]
    enum Shape {
        Dot,
        Circle(f64),
        Rect { w: i32, h: i32 },
    }

    #[test]
    fn every_kind_of_value_encodes_as_documented() {
        assert_eq!(key_hash(&true), words(&[1]));
        assert_eq!(key_hash(&-1i32), words(&[0xffff_ffff]));
        assert_eq!(key_hash(&-1i64), words(&[u64::MAX]));
        assert_eq!(key_hash(&(1u128 << 64 | 7)), words(&[7, 1]));
        assert_eq!(key_hash(&'a'), words(&[97]));
        assert_eq!(key_hash(&-0.0f64), key_hash(&0.0f64));
        assert_eq!(key_hash(&1.5f32), words(&[1.5f64.to_bits()]));
        assert_eq!(key_hash("flink"), words(&[le(b"flink"), 0xff]));
        assert_eq!(key_hash("pyflink-rs"), words(&[le(b"pyflink-"), le(b"rs"), 0xff]));
        assert_eq!(key_hash(&Bytes(b"ab")), words(&[2, le(b"ab")]));
        assert_eq!(key_hash(&None::<u8>), words(&[0]));
        assert_eq!(key_hash(&Some(3u8)), words(&[1, 3]));
        assert_eq!(key_hash(&()), words(&[]));
        assert_eq!(key_hash(&vec![5u16, 6]), words(&[2, 5, 6]));
        assert_eq!(key_hash(&("a", 2i64)), words(&[le(b"a"), 0xff, 2]));
        let click = Click { user: "a".into(), page: Some(4) };
        assert_eq!(key_hash(&click), words(&[le(b"a"), 0xff, 1, 4]));
        assert_eq!(key_hash(&Shape::Dot), words(&[0]));
        assert_eq!(key_hash(&Shape::Circle(2.0)), words(&[1, 2.0f64.to_bits()]));
        assert_eq!(key_hash(&Shape::Rect { w: 1, h: 2 }), words(&[2, 1, 2]));
        let map: std::collections::BTreeMap<u8, u8> = [(1, 2)].into();
        assert_eq!(key_hash(&map), words(&[1, 1, 2]));
    }

    #[test]
    fn a_sequence_of_unknown_length_ends_with_its_length() {
        struct Unsized(Vec<u8>);
        impl Serialize for Unsized {
            fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter().filter(|_| true))
            }
        }
        assert_eq!(key_hash(&Unsized(vec![4, 5])), words(&[4, 5, 2]));
    }

    #[test]
    fn a_key_that_fails_to_serialize_still_hashes_deterministically() {
        struct Failing;
        impl Serialize for Failing {
            fn serialize<S: ser::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(ser::Error::custom("no"))
            }
        }
        assert_eq!(key_hash(&Failing), key_hash(&Failing));
    }
}
