//! The snapshot of the keyed state of one operator instance: for every state, its entries grouped
//! by key group, so that a restore at another parallelism takes exactly the groups it owns from
//! whichever snapshots hold them.
//!
//! Entries are the encoded key and the encoded cell, the same bytes for the heap and the RocksDB
//! backend, so a snapshot taken with one backend restores into the other.
//!
//! ```
//! use pyflink_state::{KeyGroupRange, KeyedStateSnapshot, StateSection};
//!
//! let mut timers = StateSection::raw("timers");
//! timers.add(3, &"alice", &vec![1000i64, 2000]).unwrap();
//! let snapshot = KeyedStateSnapshot::new(128, KeyGroupRange::new(0, 63), vec![timers]);
//! let restored = KeyedStateSnapshot::decode(&snapshot.encode().unwrap()).unwrap();
//! let entries = restored.section("timers").unwrap().entries::<String, Vec<i64>>(KeyGroupRange::new(0, 7)).unwrap();
//! assert_eq!(entries, vec![(3, "alice".to_string(), vec![1000, 2000])]);
//! ```

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::native::NativeStatePart;
use crate::{KeyGroupRange, StateError};

/// The kind of a state, recorded so that a restore cannot reinterpret one kind as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StateKind {
    /// `ValueState`.
    Value,
    /// `ListState`.
    List,
    /// `MapState`.
    Map,
    /// `ReducingState`.
    Reducing,
    /// `AggregatingState`.
    Aggregating,
    /// State an operator keeps itself, such as its timers or window contents.
    Raw,
}

impl std::fmt::Display for StateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            StateKind::Value => "value",
            StateKind::List => "list",
            StateKind::Map => "map",
            StateKind::Reducing => "reducing",
            StateKind::Aggregating => "aggregating",
            StateKind::Raw => "operator-owned",
        };
        f.write_str(name)
    }
}

/// The encoded entries of one key group: `(u32 length, key bytes, u32 length, value bytes)`
/// repeated, in one buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupEntries {
    count: u32,
    #[serde(with = "serde_bytes_vec")]
    bytes: Vec<u8>,
}

/// Encodes the entry buffer as one length-prefixed byte string rather than a sequence of u8.
mod serde_bytes_vec {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        serde::de::Deserialize::deserialize(deserializer).map(|b: ByteBuf| b.0)
    }

    struct ByteBuf(Vec<u8>);

    impl<'de> Deserialize<'de> for ByteBuf {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Visitor;
            impl serde::de::Visitor<'_> for Visitor {
                type Value = ByteBuf;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a byte string")
                }
                fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                    Ok(ByteBuf(v.to_vec()))
                }
                fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                    Ok(ByteBuf(v))
                }
            }
            deserializer.deserialize_byte_buf(Visitor)
        }
    }
}

impl GroupEntries {
    /// The number of entries.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends an entry, encoding `key` and `value` in place (no buffer per entry).
    pub fn push<K: Serialize + ?Sized, V: Serialize + ?Sized>(&mut self, key: &K, value: &V) -> Result<(), StateError> {
        let start = self.bytes.len();
        let written = self.push_part(key).and_then(|()| self.push_part(value));
        if written.is_err() {
            self.bytes.truncate(start);
        }
        written?;
        self.count += 1;
        Ok(())
    }

    /// Appends the length-prefixed encoding of `part`.
    #[inline]
    fn push_part<T: Serialize + ?Sized>(&mut self, part: &T) -> Result<(), StateError> {
        let at = self.bytes.len();
        self.bytes.extend_from_slice(&[0; 4]);
        codec::encode_into(&mut self.bytes, part)?;
        let length = (self.bytes.len() - at - 4) as u32;
        self.bytes[at..at + 4].copy_from_slice(&length.to_le_bytes());
        Ok(())
    }

    /// Appends an entry already encoded.
    pub fn push_raw(&mut self, key: &[u8], value: &[u8]) {
        for part in [key, value] {
            self.bytes.extend_from_slice(&(part.len() as u32).to_le_bytes());
            self.bytes.extend_from_slice(part);
        }
        self.count += 1;
    }

    /// The encoded (key, value) entries; an error if the buffer is malformed.
    pub fn iter(&self) -> impl Iterator<Item = Result<(&[u8], &[u8]), StateError>> + '_ {
        let mut rest = &self.bytes[..];
        let mut left = self.count;
        std::iter::from_fn(move || {
            if left == 0 {
                return (!rest.is_empty()).then(|| Err(malformed("bytes after the last entry")));
            }
            left -= 1;
            let mut take = || -> Result<&[u8], StateError> {
                let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(|| malformed("entry length cut off"))?;
                let len = u32::from_le_bytes(*len) as usize;
                let part = tail.get(..len).ok_or_else(|| malformed("entry cut off"))?;
                rest = &tail[len..];
                Ok(part)
            };
            Some(take().and_then(|key| Ok((key, take()?))))
        })
    }
}

fn malformed(cause: &str) -> StateError {
    StateError::Corrupt { what: "state snapshot".into(), cause: cause.into() }
}

/// The entries of one state, by key group in ascending order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSection {
    /// The state's name.
    pub name: String,
    /// The state's kind.
    pub kind: StateKind,
    /// The non-empty key groups with their entries.
    pub groups: Vec<(u32, GroupEntries)>,
}

impl StateSection {
    /// An empty section of state an operator keeps itself (timers, window contents).
    pub fn raw(name: &str) -> Self {
        StateSection { name: name.to_string(), kind: StateKind::Raw, groups: Vec::new() }
    }

    /// A section of state `name` whose entries `fill` appends group by group, for every group of
    /// `range`; empty groups are left out.
    pub fn from_groups(
        name: &str,
        kind: StateKind,
        range: KeyGroupRange,
        mut fill: impl FnMut(usize, &mut GroupEntries) -> Result<(), StateError>,
    ) -> Result<Self, StateError> {
        let mut section = StateSection { name: name.to_string(), kind, groups: Vec::new() };
        for group in range.start..=range.end {
            let entries = section.group_mut(group);
            fill(group, entries)?;
            if entries.is_empty() {
                section.groups.pop();
            }
        }
        Ok(section)
    }

    /// The entries of `group` to append to; groups must be filled in ascending order.
    pub fn group_mut(&mut self, group: usize) -> &mut GroupEntries {
        let group = group as u32;
        if self.groups.last().is_none_or(|(g, _)| *g != group) {
            debug_assert!(self.groups.last().is_none_or(|(g, _)| *g < group), "groups are filled in ascending order");
            self.groups.push((group, GroupEntries::default()));
        }
        &mut self.groups.last_mut().expect("pushed above").1
    }

    /// Appends an entry of `group`.
    pub fn add<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        group: usize,
        key: &K,
        value: &V,
    ) -> Result<(), StateError> {
        self.group_mut(group).push(key, value)
    }

    /// The encoded entries of the groups in `range`, with their group.
    pub fn raw_entries(
        &self,
        range: KeyGroupRange,
    ) -> impl Iterator<Item = Result<(usize, &[u8], &[u8]), StateError>> + '_ {
        self.groups
            .iter()
            .filter(move |(g, _)| range.contains(*g as usize))
            .flat_map(|(g, entries)| entries.iter().map(move |e| e.map(|(k, v)| (*g as usize, k, v))))
    }

    /// The decoded entries of the groups in `range`.
    pub fn entries<K: DeserializeOwned, V: DeserializeOwned>(
        &self,
        range: KeyGroupRange,
    ) -> Result<Vec<(usize, K, V)>, StateError> {
        self.raw_entries(range)
            .map(|entry| {
                let (group, key, value) = entry?;
                Ok((group, codec::decode(key, &self.name)?, codec::decode(value, &self.name)?))
            })
            .collect()
    }
}

/// The keyed state of one operator instance at one checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyedStateSnapshot {
    /// The job's max parallelism (number of key groups) when the snapshot was taken.
    pub max_parallelism: u32,
    /// The key groups the instance owned.
    pub range: KeyGroupRange,
    /// One section per state whose entries the snapshot holds itself.
    pub sections: Vec<StateSection>,
    /// RocksDB databases whose own checkpoints hold the other states (incremental checkpoints).
    pub native: Vec<NativeStatePart>,
}

impl KeyedStateSnapshot {
    /// A snapshot of the given sections.
    pub fn new(max_parallelism: usize, range: KeyGroupRange, sections: Vec<StateSection>) -> Self {
        KeyedStateSnapshot { max_parallelism: max_parallelism as u32, range, sections, native: Vec::new() }
    }

    /// The section of state `name`.
    pub fn section(&self, name: &str) -> Option<&StateSection> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The snapshot's bytes.
    pub fn encode(&self) -> Result<Vec<u8>, StateError> {
        codec::encode(self)
    }

    /// Decodes a snapshot; malformed bytes give [`StateError::Corrupt`].
    pub fn decode(bytes: &[u8]) -> Result<Self, StateError> {
        let snapshot: KeyedStateSnapshot = codec::decode(bytes, "keyed state snapshot")?;
        if snapshot.range.start > snapshot.range.end || snapshot.range.end >= snapshot.max_parallelism as usize {
            return Err(malformed("key group range beyond the max parallelism"));
        }
        for part in &snapshot.native {
            part.validate(snapshot.max_parallelism)?;
        }
        Ok(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_entries_are_errors_not_panics() {
        let mut entries = GroupEntries::default();
        entries.push(&"key", &42u64).unwrap();
        for cut in 0..entries.bytes.len() {
            let broken = GroupEntries { count: 1, bytes: entries.bytes[..cut].to_vec() };
            assert!(broken.iter().any(|e| e.is_err()), "cut at {cut}");
        }
        let extra = GroupEntries { count: 0, bytes: vec![1] };
        assert!(extra.iter().any(|e| e.is_err()));
    }

    #[test]
    fn snapshot_bytes_round_trip_and_corruption_is_detected() {
        let mut section = StateSection::raw("s");
        section.add(1, &7u32, &"seven").unwrap();
        section.add(2, &8u32, &"eight").unwrap();
        let snapshot = KeyedStateSnapshot::new(128, KeyGroupRange::new(0, 127), vec![section]);
        let bytes = snapshot.encode().unwrap();
        assert_eq!(KeyedStateSnapshot::decode(&bytes).unwrap(), snapshot);
        assert!(KeyedStateSnapshot::decode(&bytes[..bytes.len() - 1]).is_err());
        let entries = snapshot.section("s").unwrap().entries::<u32, String>(KeyGroupRange::new(2, 5)).unwrap();
        assert_eq!(entries, vec![(2, 8, "eight".to_string())]);
    }
}
