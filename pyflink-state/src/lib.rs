//! State for pyflink-rs operators: key groups, keyed state tables and state handles.
//!
//! Flink partitions keyed state into *key groups*: every key hashes to one of `max_parallelism`
//! groups, and each parallel operator instance owns a contiguous range of groups. Because state is
//! stored per key group, a snapshot taken at one parallelism can be redistributed at another.
//!
//! This crate knows nothing about streams or Python. `pyflink-core` uses it to route keyed records
//! ([`key_group`]) and to give user functions keyed state ([`KeyedStateBackend`], [`ValueState`]).
//!
//! ```
//! use pyflink_state::{KeyGroupRange, KeyedStateBackend, ValueStateDescriptor};
//!
//! let mut backend = KeyedStateBackend::<String>::new(KeyGroupRange::new(0, 127), 128);
//! let count = backend.get_value_state(&ValueStateDescriptor::<u64>::new("count")).unwrap();
//! backend.enter(|| {
//!     backend.set_current_key("alice".to_string());
//!     count.update(count.value().unwrap_or(0) + 1);
//!     assert_eq!(count.value(), Some(1));
//!     backend.set_current_key("bob".to_string());
//!     assert_eq!(count.value(), None);
//! });
//! ```

#![deny(missing_docs)]

mod backend;
mod error;
pub mod key_group;
mod keyed_table;
mod value_state;

pub use backend::KeyedStateBackend;
pub use error::StateError;
pub use key_group::{
    KeyGroupAssigner, KeyGroupRange, KeyHash, StableBuildHasher, StableHasher, DEFAULT_MAX_PARALLELISM,
};
pub use keyed_table::KeyedTable;
pub use value_state::{ValueState, ValueStateDescriptor};
