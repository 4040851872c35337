//! A real Kafka-protocol broker for the tests: `tansu`, started on a free port of 127.0.0.1
//! with in-memory storage and stopped when dropped. `.ci/run` installs the binary; the tests
//! find it through `TANSU_BIN`, else in `~/.cache/pyflink-tansu/tansu`.

#![allow(dead_code)]

pub mod read_committed;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pyflink_connectors::kafka::{DeliveryGuarantee, KafkaRecordSerializationSchema, KafkaSink, SimpleStringSchema};
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::StreamExecutionEnvironment;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;

/// A running broker.
pub struct Broker {
    child: Child,
    /// `127.0.0.1:port`, for `bootstrap.servers`.
    pub bootstrap: String,
}

fn tansu() -> PathBuf {
    if let Some(path) = std::env::var_os("TANSU_BIN") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    let path = PathBuf::from(home).join(".cache/pyflink-tansu/tansu");
    assert!(path.exists(), "no tansu broker at {}: run .ci/run, or set TANSU_BIN", path.display());
    path
}

impl Broker {
    /// Starts a broker and waits until it accepts connections.
    pub fn start() -> Broker {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(tansu())
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tansu starts");
        let bootstrap = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&bootstrap).is_err() {
            assert!(Instant::now() < deadline, "tansu did not listen on {bootstrap}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Broker { child, bootstrap }
    }

    /// Creates `topic` with `partitions` partitions.
    pub fn create_topic(&self, topic: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> =
            ClientConfig::new().set("bootstrap.servers", &self.bootstrap).create().expect("admin client");
        let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
        let created = futures_executor::block_on(admin.create_topics([&new_topic], &AdminOptions::new()))
            .expect("create_topics answers");
        for result in created {
            result.unwrap_or_else(|(name, error)| panic!("topic {name} not created: {error}"));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `values` to `topic` through a KafkaSink, each with timestamp `(index + 1) * 1000`
/// (librdkafka reads a timestamp of 0 as "now"), keyed
/// by the value so that they spread over the partitions; at parallelism 1 a partition holds
/// its values in order.
///
/// Each record goes in a batch of its own: tansu 0.6 answers a partition's latest offset (the
/// log end, which bounded sources stop at) with the base offset of its last batch plus one, so
/// after a batch of 50 records it says 1 where Kafka says 50.
pub fn produce(broker: &Broker, topic: &str, values: &[String], parallelism: usize) {
    produce_to(broker, topic, values, parallelism, None);
}

/// [`produce`], with every record in `partition` if one is given.
pub fn produce_to(broker: &Broker, topic: &str, values: &[String], parallelism: usize, partition: Option<i32>) {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    let timed: Vec<(String, i64)> =
        values.iter().enumerate().map(|(i, v)| (v.clone(), (i as i64 + 1) * 1000)).collect();
    let strategy = WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|v: &(String, i64), _| v.1);
    let schema = KafkaRecordSerializationSchema::builder()
        .set_topic(topic)
        .set_value_serialization_schema(SimpleStringSchema)
        .set_key_serialization_schema(SimpleStringSchema);
    let schema = match partition {
        Some(partition) => schema.set_partitioner(move |_: &String, _| partition),
        None => schema,
    };
    env.from_collection(timed)
        .assign_timestamps_and_watermarks(strategy)
        .map(|(value, _)| value)
        .sink_to(record_per_batch_sink(broker, schema.build().unwrap()));
    env.execute("produce").unwrap();
}

/// An at-least-once sink of `schema`'s records to `broker`, each record in a batch of its own.
pub fn record_per_batch_sink<T: pyflink_core::Data>(
    broker: &Broker,
    schema: KafkaRecordSerializationSchema<T>,
) -> KafkaSink<T> {
    KafkaSink::builder()
        .set_bootstrap_servers(&broker.bootstrap)
        .set_record_serializer(schema)
        .set_delivery_guarantee(DeliveryGuarantee::AtLeastOnce)
        .set_property("batch.num.messages", "1")
        .build()
        .unwrap()
}

/// Writes `records` (key, and value or `None` for a tombstone) in order to one partition of
/// `topic`, each in a batch of its own (see [`produce`]).
pub fn produce_keyed(broker: &Broker, topic: &str, records: &[(&str, Option<&str>)]) {
    use pyflink_connectors::serialization::SerializationSchema;

    type Keyed = (String, Option<String>);
    struct Key;
    impl SerializationSchema<Keyed> for Key {
        fn serialize(&self, record: &Keyed) -> pyflink_core::Result<Vec<u8>> {
            Ok(record.0.clone().into_bytes())
        }
    }
    struct Value;
    impl SerializationSchema<Keyed> for Value {
        fn serialize(&self, record: &Keyed) -> pyflink_core::Result<Vec<u8>> {
            Ok(record.1.clone().unwrap_or_default().into_bytes())
        }
        fn serialize_or_tombstone(&self, record: &Keyed) -> pyflink_core::Result<Option<Vec<u8>>> {
            Ok(record.1.clone().map(String::into_bytes))
        }
    }
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(1);
    let records: Vec<Keyed> = records.iter().map(|(k, v)| (k.to_string(), v.map(str::to_string))).collect();
    let schema = KafkaRecordSerializationSchema::builder()
        .set_topic(topic)
        .set_key_serialization_schema(Key)
        .set_value_serialization_schema(Value)
        .set_partitioner(|_: &Keyed, _| 0);
    env.from_collection(records).sink_to(record_per_batch_sink(broker, schema.build().unwrap()));
    env.execute("produce keyed").unwrap();
}

/// Writes `clicks` to partitions 0 and 1 of topic `clicks` in turn, ten at a time with `pause`
/// between, while a job reads them: they reach the job in small batches, between which
/// checkpoints complete and failures strike (a topic written beforehand would arrive in batches
/// of a thousand). With `started`, it waits after the first ten until the job has started reading.
pub fn produce_clicks_slowly(
    bootstrap: String,
    clicks: Vec<String>,
    pause: std::time::Duration,
    started: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
) -> std::thread::JoinHandle<()> {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    std::thread::spawn(move || {
        let producer: BaseProducer = ClientConfig::new().set("bootstrap.servers", &bootstrap).create().unwrap();
        for (i, click) in clicks.iter().enumerate() {
            while i == 10 && started.as_ref().is_some_and(|s| !s.load(std::sync::atomic::Ordering::SeqCst)) {
                std::thread::sleep(Duration::from_millis(1));
            }
            let record = BaseRecord::<(), str>::to("clicks").payload(click).partition((i % 2) as i32).timestamp(1000);
            producer.send(record).map_err(|(e, _)| e).unwrap();
            producer.poll(Duration::ZERO);
            if i % 10 == 9 {
                std::thread::sleep(pause);
            }
        }
        producer.flush(Duration::from_secs(30)).unwrap();
    })
}
