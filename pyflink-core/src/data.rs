//! The bounds on record and key types.

use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A type that can flow through a stream: cloneable (for broadcast and state), sendable between
/// worker threads, and serializable, so that it can cross process boundaries in a cluster.
pub trait Data: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static> Data for T {}

/// A type that can key a stream: [`Data`] with equality and hashing. Keys are hashed with
/// `pyflink_state::StableHasher`, so every worker of a cluster agrees on the key's owner.
pub trait Key: Data + Hash + Eq {}
impl<T: Data + Hash + Eq> Key for T {}
