//! Kafka jobs whose broker is unreachable or goes away: each broker call is bounded by the
//! Java clients' `max.block.ms` (sink) and `default.api.timeout.ms` (source), counted in the
//! instance's `brokerWaitTimeMs` and `brokerTimeouts`, and given up when the job is cancelled,
//! so that a lost broker fails or cancels a job in bounded time instead of holding its workers.

mod broker;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use broker::read_committed::read_partition;
use broker::Broker;
use pyflink_connectors::kafka::{
    DeliveryGuarantee, KafkaRecordSerializationSchema, KafkaSink, KafkaSource, SimpleStringSchema,
};
use pyflink_core::metrics::MetricValue;
use pyflink_core::sources::NumberSequenceSource;
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{CheckpointingMode, JobStatus, RestartStrategy, StreamExecutionEnvironment};

/// `127.0.0.1:port` of a port nothing listens on.
fn unreachable_broker() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    address
}

fn sink(bootstrap: &str, guarantee: DeliveryGuarantee, max_block_ms: Option<&str>) -> KafkaSink<String> {
    let mut builder = KafkaSink::builder()
        .set_bootstrap_servers(bootstrap)
        .set_record_serializer(
            KafkaRecordSerializationSchema::builder()
                .set_topic("out")
                .set_value_serialization_schema(SimpleStringSchema)
                .build()
                .unwrap(),
        )
        .set_delivery_guarantee(guarantee)
        .set_transactional_id_prefix("loss");
    if let Some(ms) = max_block_ms {
        builder = builder.set_property("max.block.ms", ms);
    }
    builder.build().unwrap()
}

/// The sum of the counters named `name` over every operator instance.
fn counter_total(metrics: &BTreeMap<String, MetricValue>, name: &str) -> i64 {
    metrics
        .iter()
        .filter(|(id, _)| id.ends_with(&format!(".{name}")))
        .map(|(_, value)| match value {
            MetricValue::Counter(n) => *n,
            other => panic!("{name} is a counter, not {other:?}"),
        })
        .sum()
}

#[test]
fn a_sink_whose_broker_does_not_answer_fails_the_job_at_max_block_ms() {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(1);
    let values: Vec<String> = (0..3).map(|i| i.to_string()).collect();
    env.from_collection(values).sink_to(sink(&unreachable_broker(), DeliveryGuarantee::AtLeastOnce, Some("1500")));
    let started = Instant::now();
    let error = env.execute("unreachable broker").unwrap_err().to_string();
    let took = started.elapsed();
    assert!(error.contains("flush records to the broker"), "{error}");
    assert!(error.contains("did not answer within 1500 ms (max.block.ms)"), "{error}");
    assert!(took >= Duration::from_millis(1500) && took < Duration::from_secs(20), "took {took:?}");
}

#[test]
fn cancelling_a_job_waiting_for_its_broker_ends_it_at_once_and_the_wait_is_counted() {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(1);
    let values: Vec<String> = (0..3).map(|i| i.to_string()).collect();
    // The default max.block.ms: the flush at the end of input would wait 60 s.
    env.from_collection(values).sink_to(sink(&unreachable_broker(), DeliveryGuarantee::AtLeastOnce, None));
    let mut client = env.execute_async("waiting for the broker").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while counter_total(&client.get_metrics(), "brokerWaitTimeMs") < 500 {
        assert!(Instant::now() < deadline, "the sink never waited for the broker: {:?}", client.get_metrics());
        std::thread::sleep(Duration::from_millis(50));
    }
    let cancelled_at = Instant::now();
    client.cancel();
    let ended = client.wait_timeout(Duration::from_secs(5));
    assert!(ended.is_some(), "the job still waits for its broker 5 s after it was cancelled");
    assert!(cancelled_at.elapsed() < Duration::from_secs(3), "cancel took {:?}", cancelled_at.elapsed());
    assert_eq!(client.job_status(), JobStatus::Canceled);
    assert_eq!(counter_total(&client.get_metrics(), "brokerTimeouts"), 0);
}

#[test]
fn a_source_whose_broker_does_not_answer_fails_the_job_at_default_api_timeout_ms() {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(1);
    let source = KafkaSource::builder()
        .set_bootstrap_servers(unreachable_broker())
        .set_topics(["in"])
        .set_property("default.api.timeout.ms", "1000")
        .set_value_only_deserializer(SimpleStringSchema)
        .build()
        .unwrap();
    env.from_source(source, WatermarkStrategy::no_watermarks(), "kafka").print();
    let started = Instant::now();
    let error = env.execute("unreachable broker").unwrap_err().to_string();
    assert!(error.contains("read the partitions of topic 'in'"), "{error}");
    assert!(error.contains("within 1000 ms (default.api.timeout.ms)"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
}

#[test]
fn bounds_that_are_not_numbers_are_refused_when_the_job_is_built() {
    let error = KafkaSink::<String>::builder()
        .set_bootstrap_servers("127.0.0.1:9092")
        .set_record_serializer(
            KafkaRecordSerializationSchema::builder()
                .set_topic("out")
                .set_value_serialization_schema(SimpleStringSchema)
                .build()
                .unwrap(),
        )
        .set_property("max.block.ms", "1 minute")
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("max.block.ms must be a number of milliseconds, not '1 minute'"), "{error}");
}

/// The records the job of the next test has sent to its sink.
static MAPPED: AtomicU64 = AtomicU64::new(0);

/// An exactly-once job loses its broker while it runs: the flushes, commits and aborts that
/// follow give up at `max.block.ms`, and the job fails in bounded time with the broker named
/// (before, each waited 60 s, a minute or more per call on the worker).
#[test]
fn an_exactly_once_job_that_loses_its_broker_fails_in_bounded_time() {
    let broker = Broker::start();
    broker.create_topic("out", 1);
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(1);
    env.enable_checkpointing(Duration::from_millis(100), CheckpointingMode::ExactlyOnce);
    env.set_restart_strategy(RestartStrategy::no_restart());
    let source = NumberSequenceSource::new(0, i64::MAX).unwrap();
    env.from_source(source, WatermarkStrategy::no_watermarks(), "numbers")
        .map(|n: i64| {
            // About 2000 records a second, so that the topic stays small enough to read back
            // quickly while the test waits for commits.
            std::thread::sleep(Duration::from_micros(500));
            MAPPED.fetch_add(1, Ordering::Relaxed);
            n.to_string()
        })
        .sink_to(sink(&broker.bootstrap, DeliveryGuarantee::ExactlyOnce, Some("2000")));
    let mut client = env.execute_async("losing the broker").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    // Lost once transactions have been committed, with more open and prepared.
    loop {
        let partition = read_partition(&broker.bootstrap, "out", 0);
        if partition.committed.len() >= 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the job did not commit 200 of its {} records: {} committed, last stable offset {}, high watermark {}",
            MAPPED.load(Ordering::Relaxed),
            partition.committed.len(),
            partition.last_stable_offset,
            partition.high_watermark
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let lost_at = Instant::now();
    drop(broker);
    let ended = client.wait_timeout(Duration::from_secs(30));
    let took = lost_at.elapsed();
    let Some(result) = ended else { panic!("the job still runs 30 s after its broker went away") };
    let error = result.unwrap_err().to_string();
    assert!(error.contains("Kafka"), "{error}");
    assert!(took < Duration::from_secs(20), "the job took {took:?} to fail");
    assert_eq!(client.job_status(), JobStatus::Failed);
}
