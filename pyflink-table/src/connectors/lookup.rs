//! Lookup tables: what a connector gives a lookup join (`JOIN t FOR SYSTEM_TIME AS OF
//! o.proc_time ON o.k = t.k`), and the `lookup.*` options every lookup table shares.
//!
//! A connector that can find rows by key implements
//! [`TableConnector::lookup`](super::TableConnector::lookup), returning a [`LookupTable`]; each
//! parallel instance of the join opens its own [`LookupFunction`] (its own connection) from it,
//! and asks it for the rows of one key at a time. The join keeps the answers in a cache when the
//! table's options ask for one ([`LookupOptions`]), as Flink's runtime does.
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::time::Duration;
//! use pyflink_table::connectors::lookup::LookupOptions;
//!
//! let options: BTreeMap<String, String> = [
//!     ("lookup.cache", "PARTIAL"),
//!     ("lookup.partial-cache.max-rows", "500"),
//!     ("lookup.partial-cache.expire-after-write", "10 s"),
//! ]
//! .into_iter()
//! .map(|(k, v)| (k.to_string(), v.to_string()))
//! .collect();
//! let lookup = LookupOptions::of("dim", &options).unwrap();
//! let cache = lookup.cache.unwrap();
//! assert_eq!((cache.max_rows, cache.expire_after_write), (500, Some(Duration::from_secs(10))));
//! assert_eq!(lookup.max_retries, 3);
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use datafusion::arrow::array::RecordBatch;
use pyflink_core::configuration::parse_duration;

use crate::error::{Result, TableError};

/// A table whose rows can be found by key: opens one [`LookupFunction`] per join instance.
pub trait LookupTable: Send + Sync {
    /// A function to look rows up with (for one parallel instance of a join).
    fn open(&self) -> Result<Box<dyn LookupFunction>>;
}

/// Finds the rows of a table by key.
pub trait LookupFunction: Send {
    /// The rows (of all the table's physical columns) whose key columns equal the values of
    /// `key`, a batch of one row with a column per key column, none of them NULL.
    fn lookup(&mut self, key: &RecordBatch) -> Result<RecordBatch>;

    /// Releases what the function holds (connections), when the join closes.
    fn close(&mut self) {}
}

/// The lookup options a table shares with every lookup table: the cache, and how often a
/// failed lookup is tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupOptions {
    /// The cache of looked-up rows, if the table asks for one.
    pub cache: Option<LookupCacheOptions>,
    /// How many times a failed lookup is tried again (`lookup.max-retries`, 3 by default).
    pub max_retries: u32,
}

/// A partial cache of looked-up keys (`'lookup.cache' = 'PARTIAL'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupCacheOptions {
    /// How many keys the cache holds at most; the oldest go first.
    pub max_rows: usize,
    /// How long after it was looked up an answer is used.
    pub expire_after_write: Option<Duration>,
    /// How long after it was last used an answer is kept.
    pub expire_after_access: Option<Duration>,
    /// Whether a key with no rows is cached too.
    pub cache_missing_key: bool,
}

/// The option keys [`LookupOptions::of`] reads, for connectors' lists of what they take.
pub const LOOKUP_OPTIONS: &[&str] = &[
    "lookup.cache",
    "lookup.partial-cache.max-rows",
    "lookup.partial-cache.expire-after-write",
    "lookup.partial-cache.expire-after-access",
    "lookup.partial-cache.cache-missing-key",
    "lookup.cache.max-rows",
    "lookup.cache.ttl",
    "lookup.cache.caching-missing-key",
    "lookup.max-retries",
];

impl LookupOptions {
    /// The lookup options of table `table`: Flink's (`lookup.cache` = `NONE` or `PARTIAL` with
    /// `lookup.partial-cache.*`), or the older `lookup.cache.max-rows` with `lookup.cache.ttl`
    /// (a cache when both are set).
    pub fn of(table: &str, options: &BTreeMap<String, String>) -> Result<LookupOptions> {
        let invalid = |key: &str, why: String| TableError::Validation(format!("table '{table}': '{key}' {why}"));
        let number = |key: &str| -> Result<Option<u64>> {
            options
                .get(key)
                .map(|text| text.trim().parse::<u64>().map_err(|_| invalid(key, format!("is a number, not '{text}'"))))
                .transpose()
        };
        let duration = |key: &str| -> Result<Option<Duration>> {
            options
                .get(key)
                .map(|text| {
                    parse_duration(key, text).map_err(|e| TableError::Validation(format!("table '{table}': {e}")))
                })
                .transpose()
        };
        let flag = |key: &str, default: bool| -> Result<bool> {
            match options.get(key).map(|text| text.trim().to_ascii_lowercase()) {
                None => Ok(default),
                Some(text) if text == "true" => Ok(true),
                Some(text) if text == "false" => Ok(false),
                Some(text) => Err(invalid(key, format!("is 'true' or 'false', not '{text}'"))),
            }
        };
        let max_retries = number("lookup.max-retries")?.unwrap_or(3) as u32;
        let cache = match options.get("lookup.cache").map(|mode| mode.trim().to_ascii_uppercase()) {
            Some(mode) if mode == "NONE" => None,
            Some(mode) if mode == "PARTIAL" => {
                let max_rows = number("lookup.partial-cache.max-rows")?.ok_or_else(|| {
                    invalid("lookup.cache", "= 'PARTIAL' needs 'lookup.partial-cache.max-rows'".into())
                })?;
                Some(LookupCacheOptions {
                    max_rows: max_rows as usize,
                    expire_after_write: duration("lookup.partial-cache.expire-after-write")?,
                    expire_after_access: duration("lookup.partial-cache.expire-after-access")?,
                    cache_missing_key: flag("lookup.partial-cache.cache-missing-key", true)?,
                })
            }
            Some(mode) => return Err(invalid("lookup.cache", format!("is 'NONE' or 'PARTIAL', not '{mode}'"))),
            None => match (number("lookup.cache.max-rows")?, duration("lookup.cache.ttl")?) {
                (Some(max_rows), Some(ttl)) => Some(LookupCacheOptions {
                    max_rows: max_rows as usize,
                    expire_after_write: Some(ttl),
                    expire_after_access: None,
                    cache_missing_key: flag("lookup.cache.caching-missing-key", true)?,
                }),
                _ => None,
            },
        };
        Ok(LookupOptions { cache, max_retries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_older_keys_cache_only_with_both_rows_and_ttl() {
        let only_rows = LookupOptions::of("t", &options(&[("lookup.cache.max-rows", "10")])).unwrap();
        assert_eq!(only_rows.cache, None);
        let both = LookupOptions::of("t", &options(&[("lookup.cache.max-rows", "10"), ("lookup.cache.ttl", "1min")]))
            .unwrap()
            .cache
            .unwrap();
        assert_eq!((both.max_rows, both.expire_after_write), (10, Some(Duration::from_secs(60))));
    }

    #[test]
    fn bad_values_are_named() {
        let error = LookupOptions::of("t", &options(&[("lookup.cache", "FULL")])).unwrap_err().to_string();
        assert!(error.contains("'NONE' or 'PARTIAL'") && error.contains("'FULL'"), "{error}");
        let error = LookupOptions::of("t", &options(&[("lookup.cache", "PARTIAL")])).unwrap_err().to_string();
        assert!(error.contains("lookup.partial-cache.max-rows"), "{error}");
        let error = LookupOptions::of("t", &options(&[("lookup.max-retries", "x")])).unwrap_err().to_string();
        assert!(error.contains("lookup.max-retries"), "{error}");
    }
}
