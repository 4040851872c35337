//! State for pyflink-rs operators: key groups, the keyed state kinds of Flink, the heap and
//! RocksDB backends that hold them, and their snapshots.
//!
//! Flink partitions keyed state into *key groups*: every key hashes to one of `max_parallelism`
//! groups, and each parallel operator instance owns a contiguous range of groups. Because state is
//! stored and snapshotted per key group, a snapshot taken at one parallelism can be restored at
//! another ([`KeyedStateBackend::restore`] takes the groups it owns from any snapshots).
//!
//! A [`KeyedStateBackend`] holds the states of one operator instance, on the heap or in RocksDB
//! ([`StateBackendConfig`]). The RocksDB backend is built with the cargo feature `rocksdb`, which
//! compiles RocksDB's C++ sources; without it, choosing that backend is an error that names the
//! feature ([`StateError::BackendNotBuilt`]). User functions get handles through descriptors —
//! [`ValueState`], [`ListState`], [`MapState`], [`ReducingState`], [`AggregatingState`] — each
//! optionally with a time-to-live ([`StateTtlConfig`]). A handle reads and writes the entry of
//! the backend's current key.
//!
//! A snapshot ([`KeyedStateSnapshot`]) holds every entry by key group in one encoding that both
//! backends share, or, for RocksDB with incremental checkpoints, RocksDB's own checkpoint of the
//! database ([`native`]), whose SST files successive checkpoints share ([`checkpoint`]).
//!
//! This crate knows nothing about streams or Python; `pyflink-core` routes records by key group,
//! sets the current key, and writes snapshots into checkpoints.
//!
//! ```
//! use pyflink_state::{KeyGroupRange, KeyedStateBackend, ListStateDescriptor, ValueStateDescriptor};
//!
//! let mut backend = KeyedStateBackend::<String>::new(KeyGroupRange::new(0, 127), 128);
//! let count = backend.get_value_state(&ValueStateDescriptor::<u64>::new("count")).unwrap();
//! let words = backend.get_list_state(&ListStateDescriptor::<String>::new("words")).unwrap();
//! backend.enter(|| {
//!     backend.set_current_key("alice".to_string());
//!     count.update(count.value().unwrap_or(0) + 1);
//!     words.add("hello".to_string()).unwrap();
//!     assert_eq!(count.value(), Some(1));
//!     backend.set_current_key("bob".to_string());
//!     assert_eq!(count.value(), None);
//!     assert!(words.get().unwrap().is_empty());
//! });
//!
//! // Restore the snapshot into an instance that owns half the key groups.
//! let snapshot = backend.snapshot().unwrap();
//! let owner = pyflink_state::key_group::key_group_for_key(&"alice".to_string(), 128);
//! let range = if owner < 64 { KeyGroupRange::new(0, 63) } else { KeyGroupRange::new(64, 127) };
//! let mut half = KeyedStateBackend::<String>::new(range, 128);
//! half.restore(&[snapshot]).unwrap();
//! let count = half.get_value_state(&ValueStateDescriptor::<u64>::new("count")).unwrap();
//! half.set_current_key("alice".to_string());
//! half.enter(|| assert_eq!(count.value(), Some(1)));
//! ```

#![deny(missing_docs)]

mod backend;
mod broadcast_state;
mod cells;
pub mod checkpoint;
pub mod codec;
pub mod config;
mod deferred;
mod error;
pub mod key_encoding;
pub mod key_group;
mod keyed_table;
pub mod native;
mod operator_state;
#[cfg(feature = "rocksdb")]
mod rocks;
mod snapshot;
mod state;
mod ttl;

pub use backend::KeyedStateBackend;
pub use broadcast_state::{BroadcastState, BroadcastStateStore, ReadOnlyBroadcastState};
pub use config::{RocksDbOptions, StateBackendConfig};
pub use deferred::DeferredKeyedSnapshot;
pub use error::StateError;
pub use key_group::{
    KeyGroupAssigner, KeyGroupRange, KeyHash, StableBuildHasher, StableHasher, DEFAULT_MAX_PARALLELISM,
};
pub use keyed_table::KeyedTable;
pub use operator_state::{OperatorListState, OperatorStateStore};
pub use snapshot::{GroupEntries, KeyedStateSnapshot, StateKind, StateSection};
pub use state::aggregating::{AggregateFunction, AggregatingState, AggregatingStateDescriptor};
pub use state::list::{ListState, ListStateDescriptor};
pub use state::map::{MapState, MapStateDescriptor};
pub use state::reducing::{ReduceFn, ReducingState, ReducingStateDescriptor};
pub use state::value::{ValueState, ValueStateDescriptor};
pub use ttl::{StateTtlConfig, StateTtlConfigBuilder, StateVisibility, TtlTimeProvider, UpdateType};
