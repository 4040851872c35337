//! Flink's Prometheus reporter: while a job runs, its metrics are served over HTTP in
//! Prometheus' text format, for a Prometheus server to scrape.
//!
//! A reporter is configured as in Flink: `metrics.reporter.<name>.factory.class` =
//! `org.apache.flink.metrics.prometheus.PrometheusReporterFactory` and
//! `metrics.reporter.<name>.port` (a port or a range such as `9250-9260`; 9249 by default), the
//! first free port of which is served on every interface. Every job of the process with that
//! reporter shows on its port, until it ends.
//!
//! Each metric is named as Flink names operator metrics,
//! `flink_taskmanager_job_task_operator_<groups>_<name>`, with the labels `job_id`, `job_name`,
//! `operator_name` and `subtask_index`. Counters, gauges and meters (their rate) are gauges; a
//! distribution is a summary (`_count`, `_sum`) with gauges `_min` and `_max`.
//!
//! ```
//! use pyflink_core::metrics::prometheus::PrometheusReporterConfig;
//! use pyflink_core::Configuration;
//!
//! let mut config = Configuration::new();
//! config.set_string(
//!     "metrics.reporter.prom.factory.class",
//!     "org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
//! );
//! config.set_string("metrics.reporter.prom.port", "9250-9260");
//! let reporters = PrometheusReporterConfig::all_of(&config).unwrap();
//! assert_eq!(reporters, [PrometheusReporterConfig { name: "prom".into(), ports: 9250..=9260 }]);
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{lock, MetricRegistry, MetricValue};
use crate::configuration::{invalid, Configuration};
use crate::Result;

/// The factory class that names the Prometheus reporter.
const FACTORY: &str = "org.apache.flink.metrics.prometheus.PrometheusReporterFactory";
/// The reporter class older Flink configurations name instead.
const REPORTER_CLASS: &str = "org.apache.flink.metrics.prometheus.PrometheusReporter";

/// A configured Prometheus reporter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrometheusReporterConfig {
    /// The reporter's name in its option keys.
    pub name: String,
    /// The ports to serve on: the first free one is taken.
    pub ports: RangeInclusive<u16>,
}

impl PrometheusReporterConfig {
    /// The Prometheus reporters `config` sets (only those `metrics.reporters` lists, if it is
    /// set). A reporter of another kind is skipped with a warning, as Flink goes on without a
    /// reporter it cannot load.
    pub fn all_of(config: &Configuration) -> Result<Vec<PrometheusReporterConfig>> {
        let listed: Option<Vec<&str>> =
            config.get_string("metrics.reporters").map(|names| names.split(',').map(str::trim).collect());
        let mut reporters = Vec::new();
        for (key, class) in config.entries() {
            let Some(rest) = key.strip_prefix("metrics.reporter.") else { continue };
            let Some(name) = rest.strip_suffix(".factory.class").or_else(|| rest.strip_suffix(".class")) else {
                continue;
            };
            if listed.as_ref().is_some_and(|listed| !listed.contains(&name)) {
                continue;
            }
            if class.trim() != FACTORY && class.trim() != REPORTER_CLASS {
                tracing::warn!("metrics reporter '{name}': '{class}' is not available here (use {FACTORY}); skipped");
                continue;
            }
            let port_key = format!("metrics.reporter.{name}.port");
            let ports = match config.get_string(&port_key) {
                None => 9249..=9249,
                Some(text) => {
                    ports(text).ok_or_else(|| invalid(&port_key, text, "a port or a range like 9250-9260"))?
                }
            };
            if reporters.iter().all(|r: &PrometheusReporterConfig| r.name != name) {
                reporters.push(PrometheusReporterConfig { name: name.to_string(), ports });
            }
        }
        Ok(reporters)
    }
}

fn ports(text: &str) -> Option<RangeInclusive<u16>> {
    let (low, high) = text.split_once('-').unwrap_or((text, text));
    let (low, high): (u16, u16) = (low.trim().parse().ok()?, high.trim().parse().ok()?);
    (low <= high).then_some(low..=high)
}

/// A job whose metrics a server reports.
struct ReportedJob {
    id: u64,
    job_id: String,
    job_name: String,
    registry: MetricRegistry,
}

/// A running server and the jobs it reports.
struct Server {
    ports: RangeInclusive<u16>,
    jobs: Arc<Mutex<Vec<ReportedJob>>>,
}

/// The servers of this process, one per port range.
static SERVERS: Mutex<Vec<Server>> = Mutex::new(Vec::new());
static NEXT_JOB: AtomicU64 = AtomicU64::new(0);

/// Reports a job's metrics while it is held; dropping it stops reporting them.
pub(crate) struct Reporting {
    id: u64,
    jobs: Arc<Mutex<Vec<ReportedJob>>>,
}

impl Drop for Reporting {
    fn drop(&mut self) {
        lock(&self.jobs).retain(|job| job.id != self.id);
    }
}

/// Reports the metrics of `registry` (job `job_name`, `job_id`) through `config`'s server,
/// started on the first free port of its range if it is not running yet; `None`, with a
/// warning, when no port of the range is free.
pub(crate) fn report(
    config: &PrometheusReporterConfig,
    job_name: &str,
    job_id: String,
    registry: &MetricRegistry,
) -> Option<Reporting> {
    let mut servers = lock(&SERVERS);
    let jobs = match servers.iter().find(|server| server.ports == config.ports) {
        Some(server) => Arc::clone(&server.jobs),
        None => {
            let Some(listener) = config.ports.clone().find_map(|port| TcpListener::bind(("0.0.0.0", port)).ok()) else {
                tracing::warn!(
                    "metrics reporter '{}': none of the ports {:?} is free; the job's metrics are not served",
                    config.name,
                    config.ports
                );
                return None;
            };
            let jobs = Arc::new(Mutex::new(Vec::new()));
            let served = Arc::clone(&jobs);
            let started = std::thread::Builder::new()
                .name(format!("metrics reporter {}", config.name))
                .spawn(move || serve(&listener, &served));
            if let Err(e) = started {
                tracing::warn!("metrics reporter '{}': cannot start its thread: {e}", config.name);
                return None;
            }
            servers.push(Server { ports: config.ports.clone(), jobs: Arc::clone(&jobs) });
            jobs
        }
    };
    let id = NEXT_JOB.fetch_add(1, Ordering::Relaxed);
    let job = ReportedJob { id, job_id, job_name: job_name.to_string(), registry: registry.clone() };
    lock(&jobs).push(job);
    Some(Reporting { id, jobs })
}

/// Answers every request on `listener` with the metrics of `jobs`.
fn serve(listener: &TcpListener, jobs: &Mutex<Vec<ReportedJob>>) {
    for stream in listener.incoming().flatten() {
        // One scrape at a time: a client that stalls is cut off by the timeouts.
        let _ = answer(stream, jobs);
    }
}

fn answer(mut stream: TcpStream, jobs: &Mutex<Vec<ReportedJob>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        request.extend_from_slice(&buffer[..read]);
    }
    let (status, body) = if request.starts_with(b"GET ") {
        let reported: Vec<(String, String, MetricRegistry)> =
            lock(jobs).iter().map(|job| (job.job_id.clone(), job.job_name.clone(), job.registry.clone())).collect();
        ("200 OK", render(&reported))
    } else {
        ("405 Method Not Allowed", "only GET is served\n".to_string())
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

/// The metrics of `jobs` (id, name, registry) in Prometheus' text format.
fn render(jobs: &[(String, String, MetricRegistry)]) -> String {
    // Each family's type and samples, so that a family's samples follow its TYPE line.
    let mut families: BTreeMap<String, (&str, Vec<String>)> = BTreeMap::new();
    let mut sample = |family: String, kind: &'static str, labels: &str, value: String| {
        let entry = families.entry(family.clone()).or_insert((kind, Vec::new()));
        entry.1.push(format!("{family}{{{labels}}} {value}"));
    };
    for (job_id, job_name, registry) in jobs {
        for metric in registry.scoped_snapshot() {
            let (operator, subtask, groups) = match metric.scope.as_slice() {
                [operator, subtask, groups @ ..] => (operator.as_str(), subtask.as_str(), groups),
                [operator] => (operator.as_str(), "", &[][..]),
                [] => ("", "", &[][..]),
            };
            let mut family = String::from("flink_taskmanager_job_task_operator_");
            for group in groups {
                family.push_str(group);
                family.push('_');
            }
            family.push_str(&metric.name);
            let family = sanitized(&family);
            let labels = format!(
                r#"job_id="{}",job_name="{}",operator_name="{}",subtask_index="{}""#,
                escaped(job_id),
                escaped(job_name),
                escaped(operator),
                escaped(subtask)
            );
            match metric.value {
                MetricValue::Counter(count) => sample(family, "gauge", &labels, count.to_string()),
                MetricValue::Gauge(value) => sample(family, "gauge", &labels, number(value)),
                MetricValue::Meter { rate, .. } => sample(family, "gauge", &labels, number(rate)),
                MetricValue::Distribution { count, sum, min, max } => {
                    sample(format!("{family}_count"), "gauge", &labels, count.to_string());
                    sample(format!("{family}_sum"), "gauge", &labels, sum.to_string());
                    sample(format!("{family}_min"), "gauge", &labels, min.to_string());
                    sample(format!("{family}_max"), "gauge", &labels, max.to_string());
                }
            }
        }
    }
    let mut text = String::new();
    for (family, (kind, samples)) in families {
        let _ = writeln!(text, "# HELP {family} {family} (scope: operator)\n# TYPE {family} {kind}");
        for sample in samples {
            text.push_str(&sample);
            text.push('\n');
        }
    }
    text
}

/// A metric name of Prometheus' characters only (`[a-zA-Z0-9_:]`), others replaced by `_`.
fn sanitized(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == ':' { c } else { '_' }).collect()
}

/// A label value with `\`, `"` and line breaks escaped.
fn escaped(value: &str) -> String {
    value.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

/// A sample value as Prometheus writes floats (`NaN`, `+Inf`, `-Inf`).
fn number(value: f64) -> String {
    match value {
        v if v.is_nan() => "NaN".into(),
        v if v == f64::INFINITY => "+Inf".into(),
        v if v == f64::NEG_INFINITY => "-Inf".into(),
        v => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(port: u16) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    #[test]
    fn a_jobs_metrics_are_served_while_it_is_reported_with_their_scope_as_labels() {
        let registry = MetricRegistry::default();
        let group = registry.group(vec!["RecordDecoder(format=[csv])".into(), "1".into()]);
        group.counter("numRecordsSkipped").inc_by(7);
        group.add_group("parser").gauge("ratio", || 0.5);
        group.distribution("sizes").update(3);
        let port = free_port();
        let config = PrometheusReporterConfig { name: "prom".into(), ports: port..=port };
        let reporting = report(&config, "cdn \"job\"", "ab12".into(), &registry).unwrap();
        let response = scrape(port);
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        let labels =
            r#"{job_id="ab12",job_name="cdn \"job\"",operator_name="RecordDecoder(format=[csv])",subtask_index="1"}"#;
        for line in [
            "# TYPE flink_taskmanager_job_task_operator_numRecordsSkipped gauge".to_string(),
            format!("flink_taskmanager_job_task_operator_numRecordsSkipped{labels} 7"),
            format!("flink_taskmanager_job_task_operator_parser_ratio{labels} 0.5"),
            format!("flink_taskmanager_job_task_operator_sizes_count{labels} 1"),
        ] {
            assert!(response.lines().any(|l| l == line), "no line {line} in {response}");
        }
        drop(reporting);
        assert!(!scrape(port).contains("numRecordsSkipped"), "a job's metrics stay after it ended");
    }

    /// A reporter's keys given in two `configure` calls, as Python's `TableConfig.set` gives
    /// them, serve a running job's metrics on the port configured.
    #[test]
    fn a_running_jobs_metrics_are_served_on_the_configured_port() {
        let env = crate::StreamExecutionEnvironment::get_execution_environment();
        env.set_parallelism(1);
        let port = free_port();
        let mut factory = Configuration::new();
        factory.set_string("metrics.reporter.prom.factory.class", FACTORY);
        env.configure(&factory).unwrap();
        let mut port_option = Configuration::new();
        port_option.set_string("metrics.reporter.prom.port", &port.to_string());
        env.configure(&port_option).unwrap();
        env.from_sequence(1, i64::MAX).unwrap().map(|n| n + 1).name("Increment").discard();
        let client = env.execute_async("endless").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let served = loop {
            let text = TcpStream::connect(("127.0.0.1", port)).map(|_| scrape(port)).unwrap_or_default();
            if text.contains(r#"job_name="endless",operator_name="Increment""#) || std::time::Instant::now() > deadline
            {
                break text;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        client.cancel();
        assert!(served.contains(r#"job_name="endless",operator_name="Increment",subtask_index="0""#), "{served}");
    }

    #[test]
    fn reporters_are_read_from_flinks_keys_and_bad_ports_are_refused() {
        let mut config = Configuration::new();
        config.set_string("metrics.reporter.prom.factory.class", FACTORY);
        config.set_string("metrics.reporter.jmx.factory.class", "org.apache.flink.metrics.jmx.JMXReporterFactory");
        config.set_string("metrics.reporter.old.class", REPORTER_CLASS);
        config.set_string("metrics.reporter.old.port", "9300");
        let reporters = PrometheusReporterConfig::all_of(&config).unwrap();
        assert_eq!(
            reporters,
            [
                PrometheusReporterConfig { name: "old".into(), ports: 9300..=9300 },
                PrometheusReporterConfig { name: "prom".into(), ports: 9249..=9249 },
            ]
        );
        config.set_string("metrics.reporters", "prom");
        assert_eq!(PrometheusReporterConfig::all_of(&config).unwrap().len(), 1);
        config.set_string("metrics.reporter.prom.port", "9260-9250");
        let error = PrometheusReporterConfig::all_of(&config).unwrap_err().to_string();
        assert!(error.contains("metrics.reporter.prom.port"), "{error}");
    }
}
