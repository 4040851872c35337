//! A keyed snapshot taken at a checkpoint barrier whose entries are encoded later, off the task
//! thread: the task freezes its heap tables (a cheap copy-on-write clone) and goes on processing
//! while the checkpoint coordinator encodes them.

use std::fmt;

use crate::native::NativeStatePart;
use crate::{KeyGroupRange, KeyedStateSnapshot, StateError, StateSection};

/// Produces the section of one state from what was frozen at the barrier.
type Encoder = Box<dyn FnOnce() -> Result<StateSection, StateError> + Send>;

/// The keyed state of one operator instance at one checkpoint, part of it still to be encoded.
///
/// [`KeyedStateBackend::snapshot_deferred`](crate::KeyedStateBackend::snapshot_deferred) takes
/// one; operators add the sections of state they keep themselves, encoded now with
/// [`push_section`](Self::push_section) or later with [`push_deferred`](Self::push_deferred).
/// [`complete`](Self::complete) encodes what is left, on whatever thread calls it.
///
/// ```
/// use pyflink_state::{DeferredKeyedSnapshot, KeyGroupAssigner, KeyGroupRange, KeyedTable, StateSection};
///
/// let assigner = KeyGroupAssigner::new(128);
/// let mut counts = KeyedTable::<String, u64>::new(KeyGroupRange::new(0, 127));
/// counts.insert(assigner.hash_key(&"a".to_string()), "a".to_string(), 1);
///
/// let mut snapshot = DeferredKeyedSnapshot::new(128, counts.range());
/// let frozen = counts.clone();
/// snapshot.push_deferred(move || {
///     let mut section = StateSection::raw("counts");
///     for (group, key, count) in frozen.iter() {
///         section.add(group, key, count)?;
///     }
///     Ok(section)
/// });
/// // The task goes on changing its table; the snapshot keeps what it froze.
/// *counts.get_mut(assigner.hash_key(&"a".to_string()), &"a".to_string()).unwrap() += 1;
///
/// let snapshot = std::thread::spawn(move || snapshot.complete()).join().unwrap().unwrap();
/// let entries = snapshot.section("counts").unwrap().entries::<String, u64>(KeyGroupRange::new(0, 127)).unwrap();
/// assert_eq!(entries.iter().map(|(_, k, v)| (k.as_str(), *v)).collect::<Vec<_>>(), vec![("a", 1)]);
/// ```
pub struct DeferredKeyedSnapshot {
    max_parallelism: usize,
    range: KeyGroupRange,
    /// Sections in the order they were added; each encoded already or still to encode.
    sections: Vec<Section>,
    /// RocksDB databases whose own checkpoints hold states (incremental checkpoints).
    pub native: Vec<NativeStatePart>,
}

/// One section of a deferred snapshot.
enum Section {
    Encoded(StateSection),
    Deferred(Encoder),
}

impl DeferredKeyedSnapshot {
    /// An empty snapshot of the key groups `range` out of `max_parallelism`.
    pub fn new(max_parallelism: usize, range: KeyGroupRange) -> Self {
        DeferredKeyedSnapshot { max_parallelism, range, sections: Vec::new(), native: Vec::new() }
    }

    /// A snapshot with nothing left to encode.
    pub fn ready(snapshot: KeyedStateSnapshot) -> Self {
        let KeyedStateSnapshot { max_parallelism, range, sections, native } = snapshot;
        let sections = sections.into_iter().map(Section::Encoded).collect();
        DeferredKeyedSnapshot { max_parallelism: max_parallelism as usize, range, sections, native }
    }

    /// The key groups the snapshot covers.
    pub fn range(&self) -> KeyGroupRange {
        self.range
    }

    /// Adds a section encoded already.
    pub fn push_section(&mut self, section: StateSection) {
        self.sections.push(Section::Encoded(section));
    }

    /// Adds a section that `encode` produces when the snapshot completes. It must only read
    /// what it owns (a frozen clone), since it runs on another thread while the task goes on.
    pub fn push_deferred(&mut self, encode: impl FnOnce() -> Result<StateSection, StateError> + Send + 'static) {
        self.sections.push(Section::Deferred(Box::new(encode)));
    }

    /// Adds every section and RocksDB part of `other`, a snapshot of the same key groups.
    pub fn append(&mut self, other: DeferredKeyedSnapshot) {
        debug_assert_eq!(self.range, other.range, "appended snapshots cover the same key groups");
        self.sections.extend(other.sections);
        self.native.extend(other.native);
    }

    /// Puts `prefix` before the name of every section and RocksDB part, so that the states of
    /// two backends of one operator stay apart in one snapshot.
    pub fn prefix_names(&mut self, prefix: &str) {
        for section in &mut self.sections {
            *section = match std::mem::replace(section, Section::Encoded(StateSection::raw(""))) {
                Section::Encoded(mut encoded) => {
                    encoded.name.insert_str(0, prefix);
                    Section::Encoded(encoded)
                }
                Section::Deferred(encode) => {
                    let prefix = prefix.to_string();
                    Section::Deferred(Box::new(move || {
                        let mut encoded = encode()?;
                        encoded.name.insert_str(0, &prefix);
                        Ok(encoded)
                    }))
                }
            };
        }
        for part in &mut self.native {
            part.prefix = prefix.to_string();
        }
    }

    /// Encodes the sections still to encode: the snapshot as checkpoints store it.
    pub fn complete(self) -> Result<KeyedStateSnapshot, StateError> {
        let sections = self
            .sections
            .into_iter()
            .map(|section| match section {
                Section::Encoded(encoded) => Ok(encoded),
                Section::Deferred(encode) => encode(),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut snapshot = KeyedStateSnapshot::new(self.max_parallelism, self.range, sections);
        snapshot.native = self.native;
        Ok(snapshot)
    }
}

impl fmt::Debug for DeferredKeyedSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let deferred = self.sections.iter().filter(|s| matches!(s, Section::Deferred(_))).count();
        f.debug_struct("DeferredKeyedSnapshot")
            .field("range", &self.range)
            .field("sections", &self.sections.len())
            .field("deferred", &deferred)
            .field("native", &self.native)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(name: &str, value: u32) -> StateSection {
        let mut section = StateSection::raw(name);
        section.add(3, &"k", &value).unwrap();
        section
    }

    #[test]
    fn sections_keep_their_order_and_prefixes_apply_to_deferred_ones() {
        let range = KeyGroupRange::new(0, 7);
        let mut snapshot = DeferredKeyedSnapshot::new(8, range);
        snapshot.push_section(section("a", 1));
        snapshot.push_deferred(|| Ok(section("b", 2)));
        let mut other = DeferredKeyedSnapshot::new(8, range);
        other.push_deferred(|| Ok(section("c", 3)));
        other.prefix_names("_w/");
        snapshot.append(other);
        let snapshot = snapshot.complete().unwrap();
        let names: Vec<&str> = snapshot.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "_w/c"]);
        assert_eq!(snapshot.section("_w/c").unwrap().entries::<String, u32>(range).unwrap()[0].2, 3);
    }

    #[test]
    fn an_encoding_error_fails_the_snapshot() {
        let mut snapshot = DeferredKeyedSnapshot::new(8, KeyGroupRange::new(0, 7));
        snapshot.push_deferred(|| Err(StateError::Corrupt { what: "test".into(), cause: "refused".into() }));
        assert!(matches!(snapshot.complete(), Err(StateError::Corrupt { .. })));
    }
}
