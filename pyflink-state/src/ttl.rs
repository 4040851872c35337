//! State time-to-live, as Flink's `StateTtlConfig`: state entries expire a fixed time after they
//! were last written (or read), in processing time.
//!
//! Every entry carries the processing time of its last access. An expired entry is never
//! returned (unless [`StateVisibility::ReturnExpiredIfNotCleanedUp`] is chosen) and is removed
//! when it is read, when a full snapshot is taken (unless disabled), and, on the heap backend,
//! by an incremental sweep that runs with state accesses.
//!
//! ```
//! use std::time::Duration;
//! use pyflink_state::{StateTtlConfig, UpdateType, ValueStateDescriptor};
//!
//! let ttl = StateTtlConfig::new_builder(Duration::from_secs(60))
//!     .set_update_type(UpdateType::OnReadAndWrite)
//!     .build();
//! let mut descriptor = ValueStateDescriptor::<u64>::new("last-seen");
//! descriptor.enable_time_to_live(ttl);
//! assert!(descriptor.ttl().is_some());
//! ```

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// When an entry's last-access time is renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpdateType {
    /// TTL is off: entries never expire.
    Disabled,
    /// Renewed when the entry is created or written (Flink's default).
    #[default]
    OnCreateAndWrite,
    /// Renewed when the entry is written or read.
    OnReadAndWrite,
}

/// Whether an expired entry that has not been removed yet may still be returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateVisibility {
    /// Expired entries are never returned (Flink's default).
    #[default]
    NeverReturnExpired,
    /// An expired entry is returned once more if no cleanup removed it yet; reading removes it.
    ReturnExpiredIfNotCleanedUp,
}

/// The processing-time clock TTL uses, in milliseconds; replaceable for tests.
#[derive(Clone)]
pub struct TtlTimeProvider(Arc<dyn Fn() -> i64 + Send + Sync>);

impl TtlTimeProvider {
    /// A clock that calls `now`.
    pub fn new(now: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        TtlTimeProvider(Arc::new(now))
    }

    /// The current time in milliseconds.
    #[inline]
    pub fn now(&self) -> i64 {
        (self.0)()
    }
}

impl Default for TtlTimeProvider {
    /// The wall clock.
    fn default() -> Self {
        TtlTimeProvider::new(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64))
    }
}

impl fmt::Debug for TtlTimeProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TtlTimeProvider")
    }
}

/// The time-to-live of a state, built with [`StateTtlConfig::new_builder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateTtlConfig {
    ttl_millis: i64,
    update_type: UpdateType,
    visibility: StateVisibility,
    cleanup_full_snapshot: bool,
    incremental_cleanup_size: usize,
}

impl StateTtlConfig {
    /// A builder for entries that live for `ttl` after their last renewal.
    pub fn new_builder(ttl: Duration) -> StateTtlConfigBuilder {
        StateTtlConfigBuilder {
            config: StateTtlConfig {
                ttl_millis: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
                update_type: UpdateType::OnCreateAndWrite,
                visibility: StateVisibility::NeverReturnExpired,
                cleanup_full_snapshot: true,
                incremental_cleanup_size: 5,
            },
        }
    }

    /// The time to live.
    pub fn ttl(&self) -> Duration {
        Duration::from_millis(self.ttl_millis as u64)
    }

    /// When last-access times are renewed.
    pub fn update_type(&self) -> UpdateType {
        self.update_type
    }

    /// Whether expired entries may be returned.
    pub fn state_visibility(&self) -> StateVisibility {
        self.visibility
    }

    /// Whether TTL is on (its update type is not [`UpdateType::Disabled`]).
    pub fn is_enabled(&self) -> bool {
        self.update_type != UpdateType::Disabled
    }

    /// Whether full snapshots leave out expired entries.
    pub fn cleanup_in_full_snapshot(&self) -> bool {
        self.cleanup_full_snapshot
    }

    /// How many entries the heap backend's incremental sweep checks per state access (0: none).
    pub fn incremental_cleanup_size(&self) -> usize {
        self.incremental_cleanup_size
    }

    /// Whether an entry last renewed at `stamp` has expired at `now`.
    #[inline]
    pub(crate) fn is_expired(&self, stamp: i64, now: i64) -> bool {
        stamp.saturating_add(self.ttl_millis) <= now
    }

    /// Whether reading renews the last-access time.
    #[inline]
    pub(crate) fn renews_on_read(&self) -> bool {
        self.update_type == UpdateType::OnReadAndWrite
    }

    /// Whether an expired entry is returned by the read that removes it.
    #[inline]
    pub(crate) fn returns_expired(&self) -> bool {
        self.visibility == StateVisibility::ReturnExpiredIfNotCleanedUp
    }
}

/// Builds a [`StateTtlConfig`]; the names are Flink's.
#[derive(Debug, Clone)]
pub struct StateTtlConfigBuilder {
    config: StateTtlConfig,
}

impl StateTtlConfigBuilder {
    /// Sets when last-access times are renewed.
    pub fn set_update_type(mut self, update_type: UpdateType) -> Self {
        self.config.update_type = update_type;
        self
    }

    /// Renews on create and write (the default).
    pub fn update_ttl_on_create_and_write(self) -> Self {
        self.set_update_type(UpdateType::OnCreateAndWrite)
    }

    /// Renews on read and write.
    pub fn update_ttl_on_read_and_write(self) -> Self {
        self.set_update_type(UpdateType::OnReadAndWrite)
    }

    /// Sets whether expired entries may be returned.
    pub fn set_state_visibility(mut self, visibility: StateVisibility) -> Self {
        self.config.visibility = visibility;
        self
    }

    /// Never returns expired entries (the default).
    pub fn never_return_expired(self) -> Self {
        self.set_state_visibility(StateVisibility::NeverReturnExpired)
    }

    /// Returns an expired entry if no cleanup removed it yet.
    pub fn return_expired_if_not_cleaned_up(self) -> Self {
        self.set_state_visibility(StateVisibility::ReturnExpiredIfNotCleanedUp)
    }

    /// Leaves expired entries out of full snapshots (on by default).
    pub fn cleanup_full_snapshot(mut self) -> Self {
        self.config.cleanup_full_snapshot = true;
        self
    }

    /// Checks `cleanup_size` entries per state access on the heap backend and removes the
    /// expired ones (5 by default).
    pub fn cleanup_incrementally(mut self, cleanup_size: usize) -> Self {
        self.config.incremental_cleanup_size = cleanup_size;
        self
    }

    /// Turns off every background cleanup: expired entries are then removed only when read.
    pub fn disable_cleanup_in_background(mut self) -> Self {
        self.config.cleanup_full_snapshot = false;
        self.config.incremental_cleanup_size = 0;
        self
    }

    /// The configuration.
    pub fn build(self) -> StateTtlConfig {
        self.config
    }
}

/// A stored value with the processing time of its last renewal (0 when TTL is off).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Stamped<V> {
    pub(crate) stamp: i64,
    pub(crate) value: V,
}

/// A stored cell whose expired parts can be removed.
pub(crate) trait Expiring {
    /// Removes the expired parts; returns true when nothing is left.
    fn purge_expired(&mut self, ttl: &StateTtlConfig, now: i64) -> bool;
}

impl<V> Expiring for Stamped<V> {
    fn purge_expired(&mut self, ttl: &StateTtlConfig, now: i64) -> bool {
        ttl.is_expired(self.stamp, now)
    }
}

impl<V> Expiring for Vec<Stamped<V>> {
    fn purge_expired(&mut self, ttl: &StateTtlConfig, now: i64) -> bool {
        self.retain(|e| !ttl.is_expired(e.stamp, now));
        self.is_empty()
    }
}

impl<K: Hash + Eq, V> Expiring for HashMap<K, Stamped<V>> {
    fn purge_expired(&mut self, ttl: &StateTtlConfig, now: i64) -> bool {
        self.retain(|_, e| !ttl.is_expired(e.stamp, now));
        self.is_empty()
    }
}

/// A state's TTL with the clock it reads.
#[derive(Debug, Clone)]
pub(crate) struct Ttl {
    pub(crate) config: StateTtlConfig,
    pub(crate) clock: TtlTimeProvider,
}

impl Ttl {
    #[inline]
    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }
}
