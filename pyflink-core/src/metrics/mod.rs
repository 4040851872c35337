//! Metrics of operators, as in Flink: counters, gauges, meters and distributions, registered in
//! the metric group of an operator instance ([`RuntimeContext::get_metric_group`]) and read
//! while the job runs ([`JobClient::get_metrics`](crate::JobClient::get_metrics)) or when it
//! has ended ([`JobExecutionResult::get_metrics`](crate::JobExecutionResult::get_metrics)).
//!
//! A metric's identifier is its scope and name joined by dots: the operator's name, the
//! instance's index, the groups added with [`MetricGroup::add_group`], then the name, such as
//! `Map.0.parser.records_dropped`. Updating a metric is an atomic operation: no lock is taken
//! on the per-record path.
//!
//! ```
//! use pyflink_core::metrics::{MetricRegistry, MetricValue};
//! let registry = MetricRegistry::default();
//! let group = registry.group(vec!["Map".into(), "0".into()]);
//! let seen = group.counter("seen");
//! seen.inc_by(3);
//! group.add_group("sizes").distribution("bytes").update(7);
//! let metrics = registry.snapshot();
//! assert_eq!(metrics["Map.0.seen"], MetricValue::Counter(3));
//! assert_eq!(
//!     metrics["Map.0.sizes.bytes"],
//!     MetricValue::Distribution { count: 1, sum: 7, min: 7, max: 7 }
//! );
//! ```
//!
//! A job can also report its metrics while it runs: [`prometheus`] serves them over HTTP for
//! Prometheus to scrape, as Flink's Prometheus reporter does.
//!
//! [`RuntimeContext::get_metric_group`]: crate::RuntimeContext::get_metric_group

pub mod prometheus;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The value of a metric when it was read.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum MetricValue {
    /// A counter's count.
    Counter(i64),
    /// A gauge's value.
    Gauge(f64),
    /// A meter's count of events and its rate over its time span.
    Meter {
        /// The events recorded.
        count: i64,
        /// Events per second.
        rate: f64,
    },
    /// What a distribution was given (all 0 when it was given nothing).
    Distribution {
        /// How many values.
        count: i64,
        /// Their sum.
        sum: i64,
        /// The smallest.
        min: i64,
        /// The largest.
        max: i64,
    },
}

/// A count that goes up and down.
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<AtomicI64>);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `n`.
    pub fn inc_by(&self, n: i64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Subtracts one.
    pub fn dec(&self) {
        self.inc_by(-1);
    }

    /// Subtracts `n`.
    pub fn dec_by(&self, n: i64) {
        self.inc_by(-n);
    }

    /// The count.
    pub fn get_count(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value computed when the metric is read.
#[derive(Clone)]
pub struct Gauge(Arc<dyn Fn() -> f64 + Send + Sync>);

impl fmt::Debug for Gauge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Gauge")
    }
}

/// A count of events and their rate per second over a time span, as Flink's `MeterView`: the
/// count is sampled at most once a second, as events come.
#[derive(Debug, Clone)]
pub struct Meter(Arc<MeterState>);

#[derive(Debug)]
struct MeterState {
    count: AtomicI64,
    span: Duration,
    start: Instant,
    /// Milliseconds after `start` of the newest sample.
    last_sample_ms: AtomicU64,
    /// `(time, count)` samples, newest last, none older than the span.
    samples: Mutex<VecDeque<(Instant, i64)>>,
}

impl Meter {
    pub(crate) fn new(span: Duration) -> Self {
        let start = Instant::now();
        let samples = Mutex::new(VecDeque::from([(start, 0)]));
        let span = span.max(Duration::from_secs(1));
        Meter(Arc::new(MeterState {
            count: AtomicI64::new(0),
            span,
            start,
            last_sample_ms: AtomicU64::new(0),
            samples,
        }))
    }

    /// Records one event.
    pub fn mark_event(&self) {
        self.mark_events(1);
    }

    /// Records `n` events.
    pub fn mark_events(&self, n: i64) {
        let state = &self.0;
        let count = state.count.fetch_add(n, Ordering::Relaxed) + n;
        let now_ms = state.start.elapsed().as_millis() as u64;
        let last = state.last_sample_ms.load(Ordering::Relaxed);
        // Once a second one caller takes a sample; the others go on without waiting.
        if now_ms >= last + 1000
            && state.last_sample_ms.compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            let now = Instant::now();
            let mut samples = lock(&state.samples);
            samples.push_back((now, count));
            while samples.len() > 2 && samples[1].0 + state.span <= now {
                samples.pop_front();
            }
        }
    }

    /// The number of events recorded.
    pub fn get_count(&self) -> i64 {
        self.0.count.load(Ordering::Relaxed)
    }

    /// Events per second over the time span (or since the meter was made, if that is shorter).
    pub fn get_rate(&self) -> f64 {
        let state = &self.0;
        let now = Instant::now();
        let count = self.get_count();
        let samples = lock(&state.samples);
        let (since, base) = samples
            .iter()
            .copied()
            .find(|(time, _)| *time + state.span >= now)
            .or_else(|| samples.back().copied())
            .unwrap_or((state.start, 0));
        let seconds = now.duration_since(since).as_secs_f64();
        if seconds <= 0.0 {
            return 0.0;
        }
        (count - base) as f64 / seconds
    }
}

/// The count, sum, smallest and largest of the values it is given (PyFlink's distribution).
#[derive(Debug, Clone)]
pub struct Distribution(Arc<DistributionState>);

#[derive(Debug)]
struct DistributionState {
    count: AtomicI64,
    sum: AtomicI64,
    min: AtomicI64,
    max: AtomicI64,
}

impl Default for Distribution {
    fn default() -> Self {
        Distribution(Arc::new(DistributionState {
            count: AtomicI64::new(0),
            sum: AtomicI64::new(0),
            min: AtomicI64::new(i64::MAX),
            max: AtomicI64::new(i64::MIN),
        }))
    }
}

impl Distribution {
    /// Adds `value`.
    pub fn update(&self, value: i64) {
        let state = &self.0;
        state.count.fetch_add(1, Ordering::Relaxed);
        state.sum.fetch_add(value, Ordering::Relaxed);
        state.min.fetch_min(value, Ordering::Relaxed);
        state.max.fetch_max(value, Ordering::Relaxed);
    }

    /// Adds a summary of values: their count, sum, smallest and largest.
    pub fn update_summary(&self, count: i64, sum: i64, min: i64, max: i64) {
        if count <= 0 {
            return;
        }
        let state = &self.0;
        state.count.fetch_add(count, Ordering::Relaxed);
        state.sum.fetch_add(sum, Ordering::Relaxed);
        state.min.fetch_min(min, Ordering::Relaxed);
        state.max.fetch_max(max, Ordering::Relaxed);
    }

    fn value(&self) -> MetricValue {
        let state = &self.0;
        let count = state.count.load(Ordering::Relaxed);
        let (min, max) = match count {
            0 => (0, 0),
            _ => (state.min.load(Ordering::Relaxed), state.max.load(Ordering::Relaxed)),
        };
        MetricValue::Distribution { count, sum: state.sum.load(Ordering::Relaxed), min, max }
    }
}

#[derive(Debug, Clone)]
enum Metric {
    Counter(Counter),
    Gauge(Gauge),
    Meter(Meter),
    Distribution(Distribution),
}

impl Metric {
    fn value(&self) -> MetricValue {
        match self {
            Metric::Counter(counter) => MetricValue::Counter(counter.get_count()),
            Metric::Gauge(gauge) => MetricValue::Gauge((gauge.0)()),
            Metric::Meter(meter) => MetricValue::Meter { count: meter.get_count(), rate: meter.get_rate() },
            Metric::Distribution(distribution) => distribution.value(),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while a metric was registered cannot leave the map half-changed.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A metric as registered: its group's scope, its name, and the metric.
#[derive(Debug, Clone)]
struct Registered {
    scope: Vec<String>,
    name: String,
    metric: Metric,
}

/// A metric's value with where it was registered (see [`MetricRegistry::scoped_snapshot`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ScopedMetric {
    /// The scope of its group: the operator's name, the instance's index, then the groups added.
    pub scope: Vec<String>,
    /// Its name in the group.
    pub name: String,
    /// Its value when it was read.
    pub value: MetricValue,
}

/// The metrics of a job, by identifier.
#[derive(Debug, Clone, Default)]
pub struct MetricRegistry {
    metrics: Arc<Mutex<BTreeMap<String, Registered>>>,
}

impl MetricRegistry {
    /// The group with scope `scope` (the operator's name and instance index, for operators).
    pub fn group(&self, scope: Vec<String>) -> MetricGroup {
        MetricGroup { registry: self.clone(), scope }
    }

    /// Every metric's current value, by identifier.
    pub fn snapshot(&self) -> BTreeMap<String, MetricValue> {
        let metrics: Vec<(String, Metric)> =
            lock(&self.metrics).iter().map(|(id, registered)| (id.clone(), registered.metric.clone())).collect();
        // Gauges run user code: read them without holding the lock.
        metrics.into_iter().map(|(id, metric)| (id, metric.value())).collect()
    }

    /// Every metric's current value with its scope and name, in identifier order (for
    /// reporters, which label metrics by their scope).
    pub fn scoped_snapshot(&self) -> Vec<ScopedMetric> {
        let metrics: Vec<Registered> = lock(&self.metrics).values().cloned().collect();
        metrics
            .into_iter()
            .map(|Registered { scope, name, metric }| ScopedMetric { scope, name, value: metric.value() })
            .collect()
    }

    /// The metric registered as `id`, or `make`'s, registered now; an existing metric of
    /// another kind is replaced (a restarted job registers its metrics again).
    fn register<M>(
        &self,
        scope: &[String],
        name: &str,
        existing: impl Fn(&Metric) -> Option<M>,
        make: impl FnOnce() -> (M, Metric),
    ) -> M {
        let id = identifier(scope, name);
        let mut metrics = lock(&self.metrics);
        if let Some(found) = metrics.get(&id).map(|registered| &registered.metric).and_then(&existing) {
            return found;
        }
        let (handle, metric) = make();
        metrics.insert(id, Registered { scope: scope.to_vec(), name: name.to_string(), metric });
        handle
    }
}

/// The identifier of the metric `name` in the group of `scope`: both joined by dots.
fn identifier(scope: &[String], name: &str) -> String {
    let mut parts = scope.to_vec();
    parts.push(name.to_string());
    parts.join(".")
}

/// Where an operator instance registers its metrics (Flink's `MetricGroup`).
#[derive(Debug, Clone)]
pub struct MetricGroup {
    registry: MetricRegistry,
    scope: Vec<String>,
}

impl MetricGroup {
    /// The group `name` within this one.
    pub fn add_group(&self, name: &str) -> MetricGroup {
        let mut scope = self.scope.clone();
        scope.push(name.to_string());
        MetricGroup { registry: self.registry.clone(), scope }
    }

    /// The key-value group `key`.`value` within this one (Flink's `addGroup(key, value)`).
    pub fn add_group_with_value(&self, key: &str, value: &str) -> MetricGroup {
        self.add_group(key).add_group(value)
    }

    /// The identifier of the metric `name` in this group.
    pub fn metric_identifier(&self, name: &str) -> String {
        identifier(&self.scope, name)
    }

    /// The counter `name`; the same counter when asked again.
    pub fn counter(&self, name: &str) -> Counter {
        let existing = |metric: &Metric| match metric {
            Metric::Counter(counter) => Some(counter.clone()),
            _ => None,
        };
        self.registry.register(&self.scope, name, existing, || {
            let counter = Counter::default();
            (counter.clone(), Metric::Counter(counter))
        })
    }

    /// The gauge `name`, whose value `value` computes when the metric is read; it replaces
    /// an earlier gauge of that name.
    pub fn gauge(&self, name: &str, value: impl Fn() -> f64 + Send + Sync + 'static) {
        let gauge = Gauge(Arc::new(value));
        let registered = Registered { scope: self.scope.clone(), name: name.to_string(), metric: Metric::Gauge(gauge) };
        lock(&self.registry.metrics).insert(self.metric_identifier(name), registered);
    }

    /// The meter `name`, whose rate is over `time_span` (at least a second).
    pub fn meter(&self, name: &str, time_span: Duration) -> Meter {
        let existing = |metric: &Metric| match metric {
            Metric::Meter(meter) => Some(meter.clone()),
            _ => None,
        };
        self.registry.register(&self.scope, name, existing, || {
            let meter = Meter::new(time_span);
            (meter.clone(), Metric::Meter(meter))
        })
    }

    /// The distribution `name`.
    pub fn distribution(&self, name: &str) -> Distribution {
        let existing = |metric: &Metric| match metric {
            Metric::Distribution(distribution) => Some(distribution.clone()),
            _ => None,
        };
        self.registry.register(&self.scope, name, existing, || {
            let distribution = Distribution::default();
            (distribution.clone(), Metric::Distribution(distribution))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asking_again_gives_the_same_metric_and_gauges_are_read_when_snapshotted() {
        let registry = MetricRegistry::default();
        let group = registry.group(vec!["Op".into(), "1".into()]);
        group.counter("c").inc();
        group.counter("c").inc_by(4);
        group.counter("c").dec();
        let level = Arc::new(AtomicI64::new(2));
        let read = Arc::clone(&level);
        group.gauge("g", move || read.load(Ordering::Relaxed) as f64);
        level.store(9, Ordering::Relaxed);
        let snapshot = registry.snapshot();
        assert_eq!(snapshot["Op.1.c"], MetricValue::Counter(4));
        assert_eq!(snapshot["Op.1.g"], MetricValue::Gauge(9.0));
        assert_eq!(group.add_group_with_value("user", "7").metric_identifier("x"), "Op.1.user.7.x");
    }

    #[test]
    fn a_meter_counts_events_and_rates_them_per_second() {
        let meter = Meter::new(Duration::from_secs(60));
        meter.mark_events(500);
        std::thread::sleep(Duration::from_millis(50));
        meter.mark_event();
        assert_eq!(meter.get_count(), 501);
        let rate = meter.get_rate();
        // 501 events in about 50 ms since the meter was made: thousands per second.
        assert!(rate > 1000.0 && rate < 20_000.0, "rate {rate}");
    }

    #[test]
    fn an_empty_distribution_reads_as_zeros() {
        let distribution = Distribution::default();
        assert_eq!(distribution.value(), MetricValue::Distribution { count: 0, sum: 0, min: 0, max: 0 });
        distribution.update(-3);
        distribution.update_summary(2, 10, 4, 6);
        assert_eq!(distribution.value(), MetricValue::Distribution { count: 3, sum: 7, min: -3, max: 6 });
    }
}
