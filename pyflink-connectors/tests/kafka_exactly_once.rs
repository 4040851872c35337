//! The Kafka sink's `EXACTLY_ONCE` delivery against a real Kafka-protocol broker (tansu):
//! Kafka -> keyed aggregation -> Kafka with failures injected, read back by a read_committed
//! consumer that must see every result once and no transaction left open.

mod broker;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use broker::read_committed::committed_values as read_committed;
use broker::{produce_clicks_slowly, Broker};
use pyflink_connectors::kafka::{
    DeliveryGuarantee, KafkaRecordSerializationSchema, KafkaSink, KafkaSource, OffsetsInitializer, SimpleStringSchema,
};
use pyflink_core::sinks::{Sink, SinkWriter, SinkWriterContext};
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{CheckpointingMode, FlinkError, RestartStrategy, StreamExecutionEnvironment};

fn exactly_once_sink(broker: &Broker, topic: &str, prefix: &str) -> KafkaSink<String> {
    KafkaSink::builder()
        .set_bootstrap_servers(&broker.bootstrap)
        .set_record_serializer(
            KafkaRecordSerializationSchema::builder()
                .set_topic(topic)
                .set_value_serialization_schema(SimpleStringSchema)
                .set_key_serialization_schema(SimpleStringSchema)
                .build()
                .unwrap(),
        )
        .set_delivery_guarantee(DeliveryGuarantee::ExactlyOnce)
        .set_transactional_id_prefix(prefix)
        .build()
        .unwrap()
}

#[test]
fn exactly_once_needs_a_transactional_id_prefix() {
    let sink = KafkaSink::<String>::builder()
        .set_bootstrap_servers("127.0.0.1:9092")
        .set_record_serializer(
            KafkaRecordSerializationSchema::builder()
                .set_topic("out")
                .set_value_serialization_schema(SimpleStringSchema)
                .build()
                .unwrap(),
        )
        .set_delivery_guarantee(DeliveryGuarantee::ExactlyOnce);
    let error = sink.build().err().unwrap().to_string();
    assert!(error.contains("set_transactional_id_prefix"), "{error}");
}

#[test]
fn without_checkpoints_the_transaction_commits_at_the_end_of_input() {
    let broker = Broker::start();
    broker.create_topic("direct", 1);
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(1);
    let values: Vec<String> = (0..100).map(|i| format!("{i:03}")).collect();
    env.from_collection(values.clone()).sink_to(exactly_once_sink(&broker, "direct", "direct"));
    env.execute("direct").unwrap();
    assert_eq!(read_committed(&broker, "direct", 1), (values.clone(), 0));

    // A bounded source reads it to its end, though the last offset holds the commit marker.
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(1);
    let source = KafkaSource::builder()
        .set_bootstrap_servers(&broker.bootstrap)
        .set_topics(["direct"])
        .set_bounded(OffsetsInitializer::latest())
        .set_value_only_deserializer(SimpleStringSchema)
        .build()
        .unwrap();
    let read: Vec<String> = env
        .from_source(source, WatermarkStrategy::no_watermarks(), "kafka")
        .execute_and_collect()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(read, values);
}

/// Writes `values` through a new writer of `sink` and prepares them for checkpoint 1: the
/// committable of one transaction.
fn prepared(sink: &KafkaSink<String>, values: &[String]) -> Vec<Vec<u8>> {
    let mut writer = sink.create_writer(&SinkWriterContext::new(0, 1)).unwrap();
    for value in values {
        writer.write(value.clone(), None).unwrap();
    }
    let committables = writer.prepare_commit(1).unwrap();
    assert_eq!(committables.len(), 1);
    committables
}

#[test]
fn a_completed_transaction_is_in_the_topic_once_whoever_commits_it() {
    let broker = Broker::start();
    broker.create_topic("handover", 2);
    let values = |from: usize| -> Vec<String> { (from..from + 40).map(|i| format!("{i:03}")).collect() };

    // A process prepares a transaction and dies before committing it: its producer is gone
    // without a word to the broker, the transaction left open.
    let dead = exactly_once_sink(&broker, "handover", "handover");
    let orphaned = prepared(&dead, &values(0));
    std::mem::forget(dead);
    // The process that restores the checkpoint fences the id off (aborting the open
    // transaction), finds no mark and writes the copied records again; committing the same
    // committable again, here or in a third process, finds them committed.
    let restored = exactly_once_sink(&broker, "handover", "handover");
    restored.commit(orphaned.clone()).unwrap();
    restored.commit(orphaned.clone()).unwrap();
    exactly_once_sink(&broker, "handover", "handover").commit(orphaned).unwrap();
    let (committed, aborted) = read_committed(&broker, "handover", 2);
    assert_eq!(committed, values(0));
    assert_eq!(aborted, 40, "the first transaction was aborted");

    // A transaction committed before its process died is not written again by the restore.
    let alive = exactly_once_sink(&broker, "handover", "handover");
    let done = prepared(&alive, &values(100));
    alive.commit(done.clone()).unwrap();
    exactly_once_sink(&broker, "handover", "handover").commit(done).unwrap();
    let (committed, _) = read_committed(&broker, "handover", 2);
    let mut expected = values(0);
    expected.extend(values(100));
    assert_eq!(committed, expected);

    // Bytes that are not a committable of this sink are refused with a clear error.
    let error = alive.commit(vec![b"handover-0-0\x001".to_vec()]).unwrap_err().to_string();
    assert!(error.contains("names no transaction"), "{error}");
}

/// Reads the first `per_partition` records of both partitions of `clicks`, counts the clicks
/// of each user and writes each running count to `counts` through an `EXACTLY_ONCE` sink,
/// failing once at each of `failures` (records seen by the map over all attempts).
fn count_clicks(
    broker: &Broker,
    checkpoints: &std::path::Path,
    per_partition: i64,
    failures: Vec<u64>,
    started: Arc<AtomicBool>,
) -> Result<(), FlinkError> {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(2);
    env.enable_checkpointing(Duration::from_millis(20), CheckpointingMode::ExactlyOnce);
    env.set_restart_strategy(RestartStrategy::fixed_delay_restart(failures.len() as u32 + 1, Duration::ZERO));
    let mut config = env.get_checkpoint_config();
    config.storage_dir = Some(checkpoints.to_path_buf());
    env.set_checkpoint_config(config);
    let stop: HashMap<(String, i32), i64> = (0..2).map(|p| (("clicks".to_string(), p), per_partition)).collect();
    let source = KafkaSource::builder()
        .set_bootstrap_servers(&broker.bootstrap)
        .set_topics(["clicks"])
        .set_group_id("counter")
        .set_bounded(OffsetsInitializer::offsets(stop))
        .set_value_only_deserializer(SimpleStringSchema)
        .build()
        .unwrap();
    let seen = Arc::new(AtomicU64::new(0));
    env.from_source(source, WatermarkStrategy::no_watermarks(), "clicks")
        .uid("clicks")
        .map(move |user: String| {
            let count = seen.fetch_add(1, Ordering::SeqCst);
            started.store(true, Ordering::SeqCst);
            if failures.contains(&count) {
                panic!("injected failure at record {count}");
            }
            (user, 1u64)
        })
        .key_by(|click: &(String, u64)| click.0.clone())
        .reduce(|a, b| (a.0, a.1 + b.1))
        .uid("counts")
        .map(|(user, count)| format!("{user},{count}"))
        .sink_to(exactly_once_sink(broker, "counts", "click-counter"))
        .uid("sink");
    env.execute("count clicks").map(|_| ())
}

#[test]
fn kafka_to_keyed_counts_to_kafka_gives_every_result_once_despite_failures() {
    let broker = Broker::start();
    broker.create_topic("clicks", 2);
    broker.create_topic("counts", 2);
    let clicks: Vec<String> = (0..2000u64).map(|i| format!("user{:02}", (i * 7) % 13)).collect();
    let started = Arc::new(AtomicBool::new(false));
    let producer = produce_clicks_slowly(
        broker.bootstrap.clone(),
        clicks.clone(),
        Duration::from_millis(3),
        Some(Arc::clone(&started)),
    );
    let checkpoints = tempfile::tempdir().unwrap();
    count_clicks(&broker, checkpoints.path(), 1000, vec![500, 1300, 2100], started).unwrap();
    producer.join().unwrap();

    // The oracle: each user's running counts 1, 2, ..., its number of clicks.
    let mut per_user: BTreeMap<&str, u64> = BTreeMap::new();
    for user in &clicks {
        *per_user.entry(user).or_default() += 1;
    }
    let mut expected: Vec<String> =
        per_user.iter().flat_map(|(user, &n)| (1..=n).map(move |count| format!("{user},{count}"))).collect();
    expected.sort();
    let (committed, aborted) = read_committed(&broker, "counts", 2);
    eprintln!("{} results committed; {aborted} records of aborted transactions dropped", committed.len());
    assert_eq!(committed.len(), expected.len(), "{aborted} records of aborted transactions were dropped");
    assert_eq!(committed, expected);
}
