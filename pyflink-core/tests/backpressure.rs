//! Backpressure: a fast source in front of a slow operator stops reading while the records it
//! sent are unfinished, so what is in flight stays bounded, with and without exactly-once
//! alignment, and the source reports that it waited.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::env;
use pyflink_core::metrics::MetricValue;
use pyflink_core::{BackpressureConfig, CheckpointingMode, StreamExecutionEnvironment};

/// Records each source instance may have in flight in these tests.
const LIMIT: usize = 500;
/// Records a source reads in one poll, which it may send past its allowance.
const POLL: usize = 1024;

/// Counts of records read by the sources and finished by the slow operator, and the most that
/// were ever read and not finished.
#[derive(Default)]
struct Flow {
    read: AtomicI64,
    finished: AtomicI64,
    most_in_flight: AtomicI64,
}

/// Settings with few records in flight and no bound on their age.
fn few_records() -> BackpressureConfig {
    BackpressureConfig { max_in_flight_records: LIMIT, max_in_flight_time: Duration::from_secs(60) }
}

/// Runs sequence source -> count -> rebalance -> map taking `per_record` -> discard at
/// parallelism 2 and returns the flow and the job's metrics.
fn run_slow_job(
    env: &StreamExecutionEnvironment,
    records: i64,
    per_record: Duration,
    config: BackpressureConfig,
) -> (Arc<Flow>, Vec<(String, MetricValue)>) {
    env.set_backpressure_config(config);
    let flow = Arc::new(Flow::default());
    let (reading, finishing) = (Arc::clone(&flow), Arc::clone(&flow));
    env.from_sequence(1, records)
        .unwrap()
        .map(move |x| {
            reading.read.fetch_add(1, Ordering::SeqCst);
            x
        })
        .rebalance()
        .map(move |x| {
            std::thread::sleep(per_record);
            let finished = finishing.finished.fetch_add(1, Ordering::SeqCst) + 1;
            let in_flight = finishing.read.load(Ordering::SeqCst) - finished;
            finishing.most_in_flight.fetch_max(in_flight, Ordering::SeqCst);
            x
        })
        .name("Slow")
        .discard();
    let result = env.execute("backpressure").unwrap();
    let metrics = result.get_metrics().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    (flow, metrics)
}

/// Asserts that every record was processed and that the two sources never had more than
/// `window` records each in flight (plus one poll past it); without backpressure they read
/// everything at once, in a few milliseconds.
fn assert_bounded(flow: &Flow, records: i64, window: usize) {
    assert_eq!(flow.finished.load(Ordering::SeqCst), records, "every record is processed");
    let most = flow.most_in_flight.load(Ordering::SeqCst);
    let bound = (2 * (window + POLL)) as i64;
    assert!(most <= bound, "{most} records were in flight, more than {bound}");
}

#[test]
fn a_fast_source_waits_for_a_slow_operator() {
    let records = 20_000;
    let env = env(2);
    let (flow, metrics) = run_slow_job(&env, records, Duration::from_micros(50), few_records());
    assert_bounded(&flow, records, LIMIT);
    let waited: f64 = metrics
        .iter()
        .filter(|(name, _)| name.starts_with("Sequence Source.") && name.ends_with(".backPressuredTimeMsPerSecond"))
        .map(|(_, value)| match value {
            MetricValue::Gauge(ms) => *ms,
            other => panic!("backPressuredTimeMsPerSecond is a gauge, not {other:?}"),
        })
        .sum();
    assert!(waited > 0.0, "the sources waited: {metrics:?}");
    assert!(metrics.iter().any(|(name, _)| name == "Sequence Source.0.isBackPressured"));
    // The busy time shows which operator holds the job back.
    let busy = |operator: &str| -> f64 {
        metrics
            .iter()
            .filter(|(name, _)| name.starts_with(&format!("{operator}.")) && name.ends_with(".busyTimeMsPerSecond"))
            .map(|(_, value)| match value {
                MetricValue::Gauge(ms) => *ms,
                other => panic!("busyTimeMsPerSecond is a gauge, not {other:?}"),
            })
            .sum()
    };
    let (slow, source) = (busy("Slow"), busy("Sequence Source"));
    assert!(slow > 200.0 && slow > 2.0 * source, "busy ms per second: Slow {slow}, source {source}: {metrics:?}");
}

#[test]
fn exactly_once_alignment_stays_within_the_bound() {
    let records = 20_000;
    let env = env(2);
    let directory = tempfile::tempdir().unwrap();
    env.enable_checkpointing(Duration::from_millis(20), CheckpointingMode::ExactlyOnce);
    let mut config = env.get_checkpoint_config();
    config.storage_dir = Some(directory.path().to_path_buf());
    env.set_checkpoint_config(config);
    let (flow, _) = run_slow_job(&env, records, Duration::from_micros(50), few_records());
    assert_bounded(&flow, records, LIMIT);
}

#[test]
fn with_the_default_settings_a_slow_operator_gets_about_a_second_of_records() {
    // 1 ms a record at parallelism 2: about 1000 records a second per source, so each keeps
    // the least window (1024) in flight rather than the 65536 the default allows.
    let records = 6000;
    let env = env(2);
    let (flow, _) = run_slow_job(&env, records, Duration::from_millis(1), BackpressureConfig::default());
    assert_bounded(&flow, records, 1024);
}
