//! The bounds on record and key types.

use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A type that can flow through a stream: cloneable (for broadcast and state), sendable between
/// worker threads, and serializable, so that it can cross process boundaries in a cluster.
pub trait Data: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static> Data for T {}

/// A type that can key a stream: [`Data`] with equality and hashing. A key's group (and so the
/// instance that owns it) comes from its serde encoding ([`crate::key_encoding`]), which is
/// explicit and versioned, so every worker of a cluster and every restore of a checkpoint agrees
/// on the key's owner; `Hash` serves in-memory maps only.
pub trait Key: Data + Hash + Eq {}
impl<T: Data + Hash + Eq> Key for T {}
