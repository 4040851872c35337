//! Metrics from Python (PyFlink's `runtime_context.get_metrics_group()`): the engine's metric
//! group of the operator instance and its counters, meters and distributions as Python objects,
//! gauges calling a Python function when read, and the metric updates process-mode workers
//! report with each bundle.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pyflink_core::metrics::{Counter, Distribution, Meter, MetricGroup, MetricValue};
use pyo3::prelude::*;
use pyo3::types::PyList;

/// PyFlink's `MetricGroup`, for one operator instance.
#[pyclass(module = "pyflink_rs._engine")]
pub struct NativeMetricGroup {
    group: MetricGroup,
}

impl NativeMetricGroup {
    /// The Python side of `group`.
    pub fn new(group: MetricGroup) -> Self {
        NativeMetricGroup { group }
    }
}

#[pymethods]
impl NativeMetricGroup {
    #[pyo3(signature = (name, extra=None))]
    fn add_group(&self, name: &str, extra: Option<&str>) -> NativeMetricGroup {
        let group = match extra {
            Some(value) => self.group.add_group_with_value(name, value),
            None => self.group.add_group(name),
        };
        NativeMetricGroup { group }
    }

    fn counter(&self, name: &str) -> NativeCounter {
        NativeCounter(self.group.counter(name))
    }

    fn gauge(&self, name: &str, obj: Py<PyAny>) {
        // A gauge is read when metrics are, from any thread: it takes the interpreter then.
        self.group.gauge(name, move || {
            Python::attach(|py| obj.bind(py).call0().and_then(|value| value.extract::<f64>()).unwrap_or(f64::NAN))
        });
    }

    #[pyo3(signature = (name, time_span_in_seconds=60))]
    fn meter(&self, name: &str, time_span_in_seconds: u64) -> NativeMeter {
        NativeMeter(self.group.meter(name, Duration::from_secs(time_span_in_seconds)))
    }

    fn distribution(&self, name: &str) -> NativeDistribution {
        NativeDistribution(self.group.distribution(name))
    }

    fn get_metric_identifier(&self, name: &str) -> String {
        self.group.metric_identifier(name)
    }
}

/// PyFlink's `Counter`.
#[pyclass(name = "Counter", module = "pyflink_rs.metrics")]
pub struct NativeCounter(Counter);

#[pymethods]
impl NativeCounter {
    #[pyo3(signature = (n=1))]
    fn inc(&self, n: i64) {
        self.0.inc_by(n);
    }

    #[pyo3(signature = (n=1))]
    fn dec(&self, n: i64) {
        self.0.dec_by(n);
    }

    fn get_count(&self) -> i64 {
        self.0.get_count()
    }
}

/// PyFlink's `Meter`.
#[pyclass(name = "Meter", module = "pyflink_rs.metrics")]
pub struct NativeMeter(Meter);

#[pymethods]
impl NativeMeter {
    #[pyo3(signature = (value=1))]
    fn mark_event(&self, value: i64) {
        self.0.mark_events(value);
    }

    fn get_count(&self) -> i64 {
        self.0.get_count()
    }
}

/// PyFlink's `Distribution`.
#[pyclass(name = "Distribution", module = "pyflink_rs.metrics")]
pub struct NativeDistribution(Distribution);

#[pymethods]
impl NativeDistribution {
    fn update(&self, value: i64) {
        self.0.update(value);
    }
}

/// Applies the metric updates a process-mode worker reported: its counters', meters' and
/// distributions' changes since its last answer, and its gauges' values.
#[derive(Default)]
pub struct WorkerMetrics {
    /// The last value of each gauge, read by the engine's gauge of the same name.
    gauges: HashMap<String, Arc<AtomicU64>>,
}

impl WorkerMetrics {
    /// Applies `updates`: a list of `(groups, name, kind, values)`.
    pub fn apply(&mut self, group: &MetricGroup, updates: &Bound<'_, PyList>) -> PyResult<()> {
        for update in updates.iter() {
            let (groups, name, kind, values): (Vec<String>, String, String, Vec<f64>) = update.extract()?;
            let group = groups.iter().fold(group.clone(), |group, name| group.add_group(name));
            let value = |i: usize| values.get(i).copied().unwrap_or(0.0);
            match kind.as_str() {
                "counter" => group.counter(&name).inc_by(value(0) as i64),
                "meter" => {
                    group.meter(&name, Duration::from_secs(value(1).max(1.0) as u64)).mark_events(value(0) as i64)
                }
                "distribution" => group.distribution(&name).update_summary(
                    value(0) as i64,
                    value(1) as i64,
                    value(2) as i64,
                    value(3) as i64,
                ),
                "gauge" => {
                    let id = group.metric_identifier(&name);
                    let slot = self.gauges.entry(id).or_insert_with(|| {
                        let slot = Arc::new(AtomicU64::new(f64::NAN.to_bits()));
                        let read = Arc::clone(&slot);
                        group.gauge(&name, move || f64::from_bits(read.load(Ordering::Relaxed)));
                        slot
                    });
                    slot.store(value(0).to_bits(), Ordering::Relaxed);
                }
                other => {
                    return Err(pyo3::exceptions::PyValueError::new_err(format!("unknown metric kind {other}")));
                }
            }
        }
        Ok(())
    }
}

/// A metric's value as the job's result reports it to Python.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricSnapshot {
    /// A counter's count.
    Counter { count: i64 },
    /// A gauge's value.
    Gauge { value: f64 },
    /// A meter's count and rate per second.
    Meter { count: i64, rate: f64 },
    /// A distribution's count, sum, smallest and largest value.
    Distribution { count: i64, sum: i64, min: i64, max: i64 },
}

impl From<&MetricValue> for MetricSnapshot {
    fn from(value: &MetricValue) -> Self {
        match *value {
            MetricValue::Counter(count) => MetricSnapshot::Counter { count },
            MetricValue::Gauge(value) => MetricSnapshot::Gauge { value },
            MetricValue::Meter { count, rate } => MetricSnapshot::Meter { count, rate },
            MetricValue::Distribution { count, sum, min, max } => MetricSnapshot::Distribution { count, sum, min, max },
        }
    }
}
