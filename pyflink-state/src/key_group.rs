//! Key groups: how keys map to parallel operator instances.
//!
//! A key's group is `hash(key) mod max_parallelism`; the instance that owns a group is
//! `group * parallelism / max_parallelism`, so every instance owns one contiguous [`KeyGroupRange`].
//! The hash is taken over the key's explicit, versioned encoding ([`crate::key_encoding`]), so it
//! is the same in every process, on every run and under every toolchain, and all workers of a
//! cluster (and every restore of a checkpoint) agree on key ownership.

use std::hash::{BuildHasher, Hasher};

use serde::Serialize;

use crate::StateError;

/// The default number of key groups, as in Flink for jobs of parallelism up to 128.
pub const DEFAULT_MAX_PARALLELISM: usize = 128;

/// The largest max parallelism Flink accepts (2^15).
pub const UPPER_BOUND_MAX_PARALLELISM: usize = 1 << 15;

/// Multiplier of the fold step; an odd constant with well-spread bits.
const FOLD_MULTIPLIER: u64 = 0x517c_c1b7_2722_0a95;

/// A fast, deterministic hasher: a multiply-rotate fold over the written words, finished with the
/// murmur3 64-bit finalizer so that every input bit affects every output bit. Key groups feed it
/// the words of a key's [`crate::key_encoding`]; as a `Hasher` of in-memory hash maps it takes
/// whatever `Hash` writes.
///
/// ```
/// use std::hash::{Hash, Hasher};
/// use pyflink_state::StableHasher;
///
/// let hash = |s: &str| { let mut h = StableHasher::default(); s.hash(&mut h); h.finish() };
/// assert_eq!(hash("flink"), hash("flink"));
/// assert_ne!(hash("flink"), hash("flinK"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct StableHasher {
    state: u64,
}

impl StableHasher {
    #[inline]
    fn fold(&mut self, word: u64) {
        self.state = (self.state.rotate_left(5) ^ word).wrapping_mul(FOLD_MULTIPLIER);
    }
}

/// The murmur3 64-bit finalizer (`fmix64`).
#[inline]
pub fn murmur_mix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

impl Hasher for StableHasher {
    #[inline]
    fn finish(&self) -> u64 {
        murmur_mix64(self.state)
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.fold(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            // Mix in the length so that trailing zero bytes change the hash.
            self.fold(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.fold(i as u64);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.fold(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.fold(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.fold(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.fold(i as u64);
    }
}

/// Builds [`StableHasher`]s; use it as the hasher of hash maps on the per-record path.
#[derive(Debug, Clone, Copy, Default)]
pub struct StableBuildHasher;

impl BuildHasher for StableBuildHasher {
    type Hasher = StableHasher;
    #[inline]
    fn build_hasher(&self) -> StableHasher {
        StableHasher::default()
    }
}

/// The stable hash of a key: [`crate::key_encoding::key_hash`].
#[inline]
pub fn stable_hash<K: Serialize + ?Sized>(key: &K) -> u64 {
    crate::key_encoding::key_hash(key)
}

/// The key group of a key: `stable_hash(key) mod max_parallelism`.
///
/// ```
/// use pyflink_state::key_group::key_group_for_key;
/// let group = key_group_for_key(&"user-42", 128);
/// assert!(group < 128);
/// assert_eq!(group, key_group_for_key(&"user-42", 128));
/// ```
#[inline]
pub fn key_group_for_key<K: Serialize + ?Sized>(key: &K, max_parallelism: usize) -> usize {
    (stable_hash(key) % max_parallelism as u64) as usize
}

/// A key's stable hash with its key group, computed once per record and reused for routing and
/// for the state table lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyHash {
    /// The stable hash of the key.
    pub hash: u64,
    /// The key group: `hash mod max_parallelism`.
    pub group: usize,
}

/// Assigns key groups without a division in the common case of a power-of-two max parallelism.
#[derive(Debug, Clone, Copy)]
pub struct KeyGroupAssigner {
    max_parallelism: u64,
    mask: Option<u64>,
}

impl KeyGroupAssigner {
    /// An assigner for `max_parallelism` key groups.
    pub fn new(max_parallelism: usize) -> Self {
        let max = max_parallelism as u64;
        KeyGroupAssigner { max_parallelism: max, mask: max.is_power_of_two().then(|| max - 1) }
    }

    /// The number of key groups.
    pub fn max_parallelism(&self) -> usize {
        self.max_parallelism as usize
    }

    /// The key group of a stable hash; the same as `hash % max_parallelism`.
    #[inline]
    pub fn group_of(&self, hash: u64) -> usize {
        match self.mask {
            Some(mask) => (hash & mask) as usize,
            None => (hash % self.max_parallelism) as usize,
        }
    }

    /// The hash and key group of `key`.
    ///
    /// ```
    /// use pyflink_state::key_group::{key_group_for_key, KeyGroupAssigner};
    /// for max in [128, 100] {
    ///     assert_eq!(KeyGroupAssigner::new(max).hash_key(&"k").group, key_group_for_key(&"k", max));
    /// }
    /// ```
    #[inline]
    pub fn hash_key<K: Serialize + ?Sized>(&self, key: &K) -> KeyHash {
        let hash = stable_hash(key);
        KeyHash { hash, group: self.group_of(hash) }
    }
}

/// The index of the operator instance that owns `key_group` at `parallelism`.
///
/// ```
/// use pyflink_state::key_group::operator_index_for_key_group;
/// assert_eq!(operator_index_for_key_group(0, 128, 4), 0);
/// assert_eq!(operator_index_for_key_group(127, 128, 4), 3);
/// ```
#[inline]
pub fn operator_index_for_key_group(key_group: usize, max_parallelism: usize, parallelism: usize) -> usize {
    key_group * parallelism / max_parallelism
}

/// Checks a max parallelism against Flink's bounds (1 ..= 32768).
pub fn check_max_parallelism(max_parallelism: usize) -> Result<(), StateError> {
    if (1..=UPPER_BOUND_MAX_PARALLELISM).contains(&max_parallelism) {
        Ok(())
    } else {
        Err(StateError::InvalidMaxParallelism { got: max_parallelism, max: UPPER_BOUND_MAX_PARALLELISM })
    }
}

/// An inclusive range of key groups owned by one operator instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct KeyGroupRange {
    /// The first key group of the range.
    pub start: usize,
    /// The last key group of the range (inclusive).
    pub end: usize,
}

impl KeyGroupRange {
    /// The range `start ..= end`.
    pub fn new(start: usize, end: usize) -> Self {
        assert!(start <= end, "key group range {start}..={end} is empty");
        KeyGroupRange { start, end }
    }

    /// The key groups owned by instance `index` of an operator at `parallelism`: exactly the groups
    /// for which [`operator_index_for_key_group`] returns `index`.
    ///
    /// ```
    /// use pyflink_state::KeyGroupRange;
    /// assert_eq!(KeyGroupRange::for_operator(128, 3, 1), KeyGroupRange::new(43, 85));
    /// ```
    pub fn for_operator(max_parallelism: usize, parallelism: usize, index: usize) -> Self {
        assert!(index < parallelism && parallelism <= max_parallelism);
        let start = (index * max_parallelism).div_ceil(parallelism);
        let end = ((index + 1) * max_parallelism).div_ceil(parallelism) - 1;
        KeyGroupRange { start, end }
    }

    /// The number of key groups in the range.
    pub fn len(&self) -> usize {
        self.end - self.start + 1
    }

    /// Always false: a range holds at least one group.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether the range holds `key_group`.
    pub fn contains(&self, key_group: usize) -> bool {
        (self.start..=self.end).contains(&key_group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hashes_are_stable_values() {
        // Fixed values: a change here would move every key to another key group and break
        // restoring existing checkpoints (tests/key_groups.rs pins a larger table).
        assert_eq!(stable_hash(&0u64), murmur_mix64(0));
        assert_eq!(key_group_for_key(&0u64, 128), 0);
        assert_ne!(stable_hash(&1u64), stable_hash(&2u64));
    }

    #[test]
    fn max_parallelism_bounds() {
        assert!(check_max_parallelism(128).is_ok());
        assert!(check_max_parallelism(0).is_err());
        assert!(check_max_parallelism(UPPER_BOUND_MAX_PARALLELISM + 1).is_err());
    }

    #[test]
    fn keys_spread_over_groups() {
        let mut counts = [0usize; 128];
        for k in 0..128_000u64 {
            counts[key_group_for_key(&k, 128)] += 1;
        }
        assert!(counts.iter().all(|&c| c > 800 && c < 1200), "uneven: {counts:?}");
    }

    proptest! {
        #[test]
        fn ranges_partition_key_groups(max_par in 1usize..512, par_seed in 1usize..512) {
            let parallelism = 1 + par_seed % max_par;
            let mut next = 0;
            for index in 0..parallelism {
                let range = KeyGroupRange::for_operator(max_par, parallelism, index);
                prop_assert_eq!(range.start, next);
                for group in range.start..=range.end {
                    prop_assert_eq!(operator_index_for_key_group(group, max_par, parallelism), index);
                }
                next = range.end + 1;
            }
            prop_assert_eq!(next, max_par);
        }
    }
}
