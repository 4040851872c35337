//! `Configuration`: Flink's string key-value settings, applied to an environment with
//! [`StreamExecutionEnvironment::configure`](crate::StreamExecutionEnvironment::configure).
//!
//! Keys read: `state.backend.type` (`hashmap`, `rocksdb`) and `state.backend.rocksdb.localdir`,
//! `state.backend.rocksdb.block.cache-size`, `state.backend.incremental`;
//! `execution.checkpointing.interval`, `.mode` (`EXACTLY_ONCE`, `AT_LEAST_ONCE`), `.dir` (or
//! `state.checkpoints.dir`), `.timeout`, `.min-pause`, `.max-concurrent-checkpoints`,
//! `.tolerable-failed-checkpoints`; `state.checkpoints.num-retained`;
//! `execution.savepoint.path`, `execution.savepoint.ignore-unclaimed-state`;
//! `$internal.pipeline.job-id` (a fixed job id: the job starts from its newest complete
//! checkpoint when an earlier run of it left one, see [`crate::api::environment::JOB_ID_KEY`]);
//! `restart-strategy.type` (`none`, `fixed-delay`, `exponential-delay`) with
//! `restart-strategy.fixed-delay.attempts`, `.delay` and
//! `restart-strategy.exponential-delay.initial-backoff`, `.max-backoff`, `.backoff-multiplier`,
//! `.reset-backoff-threshold`; `execution.backpressure.max-in-flight-records` and
//! `execution.backpressure.max-in-flight-time` (or `taskmanager.network.memory.buffer-debloat.target`),
//! see [`BackpressureConfig`](crate::BackpressureConfig); `parallelism.default`,
//! `pipeline.max-parallelism`;
//! `metrics.reporters` and `metrics.reporter.<name>.factory.class` / `.port` for the Prometheus
//! reporter (see [`crate::metrics::prometheus`]).
//!
//! ```
//! use pyflink_core::{Configuration, StreamExecutionEnvironment};
//!
//! let mut config = Configuration::new();
//! config.set_string("state.backend.type", "rocksdb");
//! config.set_string("execution.checkpointing.interval", "10 s");
//! config.set_string("parallelism.default", "3");
//! let env = StreamExecutionEnvironment::get_execution_environment();
//! env.configure(&config).unwrap();
//! assert_eq!(env.get_checkpoint_config().interval, Some(std::time::Duration::from_secs(10)));
//! assert_eq!(env.get_parallelism(), 3);
//!
//! config.set_string("execution.checkpointing.interval", "often");
//! let error = env.configure(&config).err().unwrap();
//! assert!(error.to_string().contains("execution.checkpointing.interval"));
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use pyflink_state::config::parse_bool;
use pyflink_state::StateBackendConfig;

use crate::checkpoint::{CheckpointConfig, CheckpointingMode, ExternalizedCheckpointRetention, RestartStrategy};
use crate::config::BackpressureConfig;
use crate::{FlinkError, Result};

/// The environment variable through which the `pyflink-rs run` command hands the options of
/// its flags (`-D`, `-p`, `-s`) to the program, as a JSON object of options: every
/// [`StreamExecutionEnvironment::get_execution_environment`](crate::StreamExecutionEnvironment::get_execution_environment)
/// starts with them, as a Flink program started by `flink run` does.
pub const OPTIONS_VAR: &str = "PYFLINK_RS_OPTIONS";

/// String settings by key, as Flink's `Configuration`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Configuration {
    values: BTreeMap<String, String>,
}

impl Configuration {
    /// An empty configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// The options of [`OPTIONS_VAR`], if it is set: a JSON object whose values are strings,
    /// numbers or booleans.
    ///
    /// ```
    /// use pyflink_core::configuration::Configuration;
    ///
    /// let options = Configuration::from_json(r#"{"parallelism.default": 3, "a.b": "c"}"#).unwrap();
    /// assert_eq!(options.get_string("parallelism.default"), Some("3"));
    /// assert!(Configuration::from_json("[1]").unwrap_err().to_string().contains("JSON object"));
    /// ```
    pub fn from_env() -> Result<Option<Configuration>> {
        match std::env::var(OPTIONS_VAR) {
            Ok(text) => Configuration::from_json(&text).map(Some),
            Err(_) => Ok(None),
        }
    }

    /// The options of a JSON object (the form of [`OPTIONS_VAR`]).
    pub fn from_json(text: &str) -> Result<Configuration> {
        let wrong = |what: String| {
            FlinkError::InvalidProgram(format!(
                "${OPTIONS_VAR} must be a JSON object of options (\"key\": \"value\"): {what}"
            ))
        };
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|e| wrong(e.to_string()))?;
        let mut config = Configuration::new();
        for (key, value) in object {
            let text = match value {
                serde_json::Value::String(text) => text,
                serde_json::Value::Number(number) => number.to_string(),
                serde_json::Value::Bool(flag) => flag.to_string(),
                other => return Err(wrong(format!("the value of '{key}' is {other}"))),
            };
            config.set_string(&key, &text);
        }
        Ok(config)
    }

    /// Sets `key` to `value`.
    pub fn set_string(&mut self, key: &str, value: &str) -> &mut Self {
        self.values.insert(key.to_string(), value.to_string());
        self
    }

    /// The value of `key`, if set.
    pub fn get_string(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Every key and its value, in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(key, value)| (key.as_str(), value.as_str()))
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// The value of the first of `keys` that is set.
    pub(crate) fn first(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|k| self.get_string(k))
    }

    /// `key` as a duration, if set.
    pub(crate) fn duration(&self, key: &str) -> Result<Option<Duration>> {
        self.get_string(key).map(|v| parse_duration(key, v)).transpose()
    }

    /// `key` as a number, if set.
    pub(crate) fn number<N: std::str::FromStr>(&self, key: &str) -> Result<Option<N>> {
        self.get_string(key).map(|v| v.trim().parse().map_err(|_| invalid(key, v, "a number"))).transpose()
    }

    /// `key` as a map in Flink's notation (`k1:v1,k2:v2`; a part holding `,` or `:` is quoted
    /// with `'`, and a quote in it doubled), if set.
    pub(crate) fn map(&self, key: &str) -> Result<Option<BTreeMap<String, String>>> {
        let Some(text) = self.get_string(key) else { return Ok(None) };
        let mut map = BTreeMap::new();
        for entry in split_unquoted(text, ',') {
            if entry.trim().is_empty() {
                continue;
            }
            let parts = split_unquoted(&entry, ':');
            let [name, value] = parts.as_slice() else {
                return Err(invalid(key, text, "entries 'key:value' separated by ','"));
            };
            map.insert(unquote(name), unquote(value));
        }
        Ok(Some(map))
    }

    /// `key` as a boolean, if set.
    pub(crate) fn boolean(&self, key: &str) -> Result<Option<bool>> {
        self.get_string(key).map(|v| Ok(parse_bool(key, v)?)).transpose()
    }
}

/// `text` cut at each `separator` that is not inside single quotes; the quotes are kept.
fn split_unquoted(text: &str, separator: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    for c in text.chars() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c == separator && !quoted {
            parts.push(String::new());
        } else {
            parts.last_mut().expect("never empty").push(c);
        }
    }
    parts
}

/// A part of a list or map option without its quotes (`'a:b'` is `a:b`, `''` inside is `'`).
fn unquote(part: &str) -> String {
    let part = part.trim();
    match part.strip_prefix('\'').and_then(|p| p.strip_suffix('\'')) {
        Some(inner) => inner.replace("''", "'"),
        None => part.to_string(),
    }
}

/// The error for a setting with a value that is not allowed.
pub(crate) fn invalid(key: &str, value: &str, expected: &str) -> FlinkError {
    FlinkError::InvalidProgram(format!("invalid value '{value}' for '{key}': expected {expected}"))
}

/// A duration in Flink's notation: a number and a unit (`ms`, `s`, `min`, `h`, `d` and their
/// long forms), milliseconds when there is none.
///
/// ```
/// use std::time::Duration;
/// use pyflink_core::configuration::parse_duration;
/// assert_eq!(parse_duration("k", "500").unwrap(), Duration::from_millis(500));
/// assert_eq!(parse_duration("k", "10 s").unwrap(), Duration::from_secs(10));
/// assert_eq!(parse_duration("k", "2min").unwrap(), Duration::from_secs(120));
/// assert!(parse_duration("k", "soon").is_err());
/// ```
pub fn parse_duration(key: &str, value: &str) -> Result<Duration> {
    let text = value.trim().to_ascii_lowercase();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let expected = "a duration such as '500 ms', '10 s' or '1 min'";
    let number: u64 = digits.parse().map_err(|_| invalid(key, value, expected))?;
    let millis = match unit.trim() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
        "m" | "min" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        _ => return Err(invalid(key, value, expected)),
    };
    number.checked_mul(millis).map(Duration::from_millis).ok_or_else(|| invalid(key, value, expected))
}

impl Configuration {
    /// The state backend the settings select, if `state.backend.type` is set.
    pub(crate) fn state_backend(&self) -> Result<Option<StateBackendConfig>> {
        if !self.contains_key(pyflink_state::config::STATE_BACKEND_TYPE) {
            return Ok(None);
        }
        Ok(Some(StateBackendConfig::from_settings(|key| self.get_string(key).map(str::to_string))?))
    }

    /// `base` with the checkpoint settings that are set.
    pub(crate) fn checkpoint_config(&self, mut config: CheckpointConfig) -> Result<CheckpointConfig> {
        if let Some(interval) = self.duration("execution.checkpointing.interval")? {
            config.interval = Some(interval);
        }
        if let Some(mode) = self.get_string("execution.checkpointing.mode") {
            config.mode = match mode.trim().to_ascii_uppercase().as_str() {
                "EXACTLY_ONCE" => CheckpointingMode::ExactlyOnce,
                "AT_LEAST_ONCE" => CheckpointingMode::AtLeastOnce,
                _ => return Err(invalid("execution.checkpointing.mode", mode, "EXACTLY_ONCE or AT_LEAST_ONCE")),
            };
        }
        if let Some(dir) = self.first(&["execution.checkpointing.dir", "state.checkpoints.dir"]) {
            config.storage_dir = Some(local_path(dir));
        }
        if let Some(timeout) = self.duration("execution.checkpointing.timeout")? {
            config.timeout = timeout;
        }
        if let Some(pause) = self.duration("execution.checkpointing.min-pause")? {
            config.min_pause = pause;
        }
        if let Some(n) = self.number("execution.checkpointing.max-concurrent-checkpoints")? {
            config.max_concurrent = n;
        }
        if let Some(n) = self.number("execution.checkpointing.tolerable-failed-checkpoints")? {
            config.tolerable_failures = n;
        }
        if let Some(n) = self.number("state.checkpoints.num-retained")? {
            config.retained = n;
        }
        if let Some(path) = self.get_string("execution.savepoint.path") {
            config.restore_path = Some(local_path(path));
        }
        if let Some(retention) = self.get_string("execution.checkpointing.externalized-checkpoint-retention") {
            config.externalized_retention = match retention.trim().to_ascii_uppercase().as_str() {
                "NO_EXTERNALIZED_CHECKPOINTS" => ExternalizedCheckpointRetention::NoExternalizedCheckpoints,
                "DELETE_ON_CANCELLATION" => ExternalizedCheckpointRetention::DeleteOnCancellation,
                "RETAIN_ON_CANCELLATION" => ExternalizedCheckpointRetention::RetainOnCancellation,
                _ => {
                    return Err(invalid(
                        "execution.checkpointing.externalized-checkpoint-retention",
                        retention,
                        "NO_EXTERNALIZED_CHECKPOINTS, DELETE_ON_CANCELLATION or RETAIN_ON_CANCELLATION",
                    ))
                }
            };
        }
        if let Some(allow) = self.boolean("execution.savepoint.ignore-unclaimed-state")? {
            config.allow_non_restored_state = allow;
        }
        Ok(config)
    }

    /// `base` with the backpressure settings that are set.
    pub(crate) fn backpressure_config(&self, mut config: BackpressureConfig) -> Result<BackpressureConfig> {
        let records_key = "execution.backpressure.max-in-flight-records";
        if let Some(records) = self.number::<usize>(records_key)? {
            if records == 0 {
                return Err(invalid(records_key, "0", "at least 1 record"));
            }
            config.max_in_flight_records = records;
        }
        let time_keys =
            ["execution.backpressure.max-in-flight-time", "taskmanager.network.memory.buffer-debloat.target"];
        if let Some(key) = time_keys.into_iter().find(|key| self.contains_key(key)) {
            let time = self.duration(key)?.expect("the key is set");
            if time.is_zero() {
                return Err(invalid(key, "0", "a duration of at least 1 ms"));
            }
            config.max_in_flight_time = time;
        }
        Ok(config)
    }

    /// The restart strategy the settings select, if `restart-strategy.type` is set.
    pub(crate) fn restart_strategy(&self) -> Result<Option<RestartStrategy>> {
        let Some(kind) = self.get_string("restart-strategy.type") else { return Ok(None) };
        let strategy = match kind.trim().to_ascii_lowercase().as_str() {
            "none" | "off" | "disable" => RestartStrategy::no_restart(),
            "fixed-delay" | "fixeddelay" => RestartStrategy::fixed_delay_restart(
                self.number("restart-strategy.fixed-delay.attempts")?.unwrap_or(1),
                self.duration("restart-strategy.fixed-delay.delay")?.unwrap_or(Duration::from_secs(1)),
            ),
            "exponential-delay" | "exponentialdelay" => {
                let prefix = "restart-strategy.exponential-delay";
                RestartStrategy::exponential_delay_restart(
                    self.duration(&format!("{prefix}.initial-backoff"))?.unwrap_or(Duration::from_secs(1)),
                    self.duration(&format!("{prefix}.max-backoff"))?.unwrap_or(Duration::from_secs(60)),
                    self.number(&format!("{prefix}.backoff-multiplier"))?.unwrap_or(2.0),
                    self.duration(&format!("{prefix}.reset-backoff-threshold"))?.unwrap_or(Duration::from_secs(3600)),
                )
                .with_attempts_before_reset(
                    self.number(&format!("{prefix}.attempts-before-reset-backoff"))?
                        .unwrap_or(crate::checkpoint::DEFAULT_ATTEMPTS_BEFORE_RESET),
                )
            }
            "failure-rate" | "failurerate" => RestartStrategy::failure_rate_restart(
                self.number("restart-strategy.failure-rate.max-failures-per-interval")?.unwrap_or(1),
                self.duration("restart-strategy.failure-rate.failure-rate-interval")?
                    .unwrap_or(Duration::from_secs(60)),
                self.duration("restart-strategy.failure-rate.delay")?.unwrap_or(Duration::from_secs(1)),
            ),
            _ => {
                return Err(invalid(
                    "restart-strategy.type",
                    kind,
                    "one of 'none', 'fixed-delay', 'failure-rate', 'exponential-delay'",
                ))
            }
        };
        Ok(Some(strategy))
    }
}

/// The local path of `location`, written as a path or as a `file:` URI (`file:///a/b` or
/// `file:/a/b`, as Flink reports savepoint locations).
///
/// ```
/// use pyflink_core::configuration::local_path;
/// use std::path::PathBuf;
///
/// assert_eq!(local_path("file:///tmp/sp"), PathBuf::from("/tmp/sp"));
/// assert_eq!(local_path("file:/tmp/sp"), PathBuf::from("/tmp/sp"));
/// assert_eq!(local_path("/tmp/sp"), PathBuf::from("/tmp/sp"));
/// ```
pub fn local_path(location: &str) -> std::path::PathBuf {
    let location = location.trim();
    location.strip_prefix("file://").or_else(|| location.strip_prefix("file:")).unwrap_or(location).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_read_flink_notation_with_quoted_parts() {
        let mut config = Configuration::new();
        config.set_string("m", "a:1, 'b:c':'x,y' ,q:'it''s'");
        let map = config.map("m").unwrap().unwrap();
        assert_eq!(map.len(), 3);
        assert_eq!(map["a"], "1");
        assert_eq!(map["b:c"], "x,y");
        assert_eq!(map["q"], "it's");
        config.set_string("m", "no-value");
        assert!(config.map("m").unwrap_err().to_string().contains("'key:value'"));
        assert_eq!(config.map("unset").unwrap(), None);
    }
}
