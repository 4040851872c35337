//! Throughput of `file -> map -> file` and `Kafka -> map -> Kafka` (against a tansu broker this
//! bench starts, as the tests do), at parallelism 2.
//!
//! Run: `cargo bench -p pyflink-connectors --bench connector_throughput [-- RECORDS]`
//! (`TANSU_BIN` or `~/.cache/pyflink-tansu/tansu` must be a tansu binary; `.ci/run` installs it).
//! Prints records per second, best of three runs, of each pipeline; the input is written before
//! the clock starts, and a run ends when the sink has committed everything.

#[path = "../tests/broker/mod.rs"]
mod broker;

use std::collections::HashMap;
use std::time::Instant;

use broker::Broker;
use pyflink_connectors::file::{
    finished_files, BasePathBucketAssigner, FileSink, FileSource, SimpleStringEncoder, TextLineFormat,
};
use pyflink_connectors::kafka::{
    DeliveryGuarantee, KafkaRecordSerializationSchema, KafkaSink, KafkaSource, OffsetsInitializer, SimpleStringSchema,
};
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::StreamExecutionEnvironment;

const PARALLELISM: usize = 2;

fn line(i: usize) -> String {
    format!("{i:010} the quick brown fox jumps over the lazy dog")
}

fn file_to_file(records: usize) -> f64 {
    let input = tempfile::tempdir().unwrap();
    let output = tempfile::tempdir().unwrap();
    for file in 0..4 {
        let text: String = (file..records).step_by(4).map(|i| line(i) + "\n").collect();
        std::fs::write(input.path().join(format!("part-{file}.txt")), text).unwrap();
    }
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(PARALLELISM);
    let source = FileSource::for_record_stream_format(TextLineFormat, [input.path()]).build().unwrap();
    env.from_source(source, WatermarkStrategy::no_watermarks(), "files")
        .map(|line: String| line.to_uppercase())
        .sink_to(
            FileSink::for_row_format(output.path(), SimpleStringEncoder)
                .with_bucket_assigner(BasePathBucketAssigner)
                .build(),
        );
    let start = Instant::now();
    env.execute("file -> map -> file").unwrap();
    let elapsed = start.elapsed();
    let written: u64 = finished_files(output.path()).unwrap().iter().map(|f| std::fs::metadata(f).unwrap().len()).sum();
    assert_eq!(written as usize, records * (line(0).len() + 1), "every line was written");
    records as f64 / elapsed.as_secs_f64()
}

fn string_sink(broker: &Broker, topic: &str, partitioner: Option<usize>) -> KafkaSink<String> {
    let schema =
        KafkaRecordSerializationSchema::builder().set_topic(topic).set_value_serialization_schema(SimpleStringSchema);
    // The input goes to partitions round robin by the number at the start of each line, so
    // that each partition's size is known: tansu 0.6 cannot tell a partition's end offset when
    // its batches hold several records.
    let schema = match partitioner {
        Some(partitions) => {
            schema.set_partitioner(move |value: &String, _| (value[..10].parse::<usize>().unwrap() % partitions) as i32)
        }
        None => schema,
    };
    KafkaSink::builder()
        .set_bootstrap_servers(&broker.bootstrap)
        .set_record_serializer(schema.build().unwrap())
        .set_delivery_guarantee(DeliveryGuarantee::AtLeastOnce)
        .set_property("linger.ms", "5")
        .build()
        .unwrap()
}

fn kafka_to_kafka(broker: &Broker, run: usize, records: usize) -> f64 {
    let (input, output) = (format!("in-{run}"), format!("out-{run}"));
    broker.create_topic(&input, PARALLELISM as i32);
    broker.create_topic(&output, PARALLELISM as i32);
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(PARALLELISM);
    env.from_collection((0..records).map(line).collect::<Vec<_>>()).sink_to(string_sink(
        broker,
        &input,
        Some(PARALLELISM),
    ));
    env.execute("fill the input topic").unwrap();

    let stop: HashMap<(String, i32), i64> = (0..PARALLELISM)
        .map(|p| ((input.clone(), p as i32), (records / PARALLELISM + usize::from(p < records % PARALLELISM)) as i64))
        .collect();
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(PARALLELISM);
    let source = KafkaSource::builder()
        .set_bootstrap_servers(&broker.bootstrap)
        .set_topics([input.as_str()])
        .set_starting_offsets(OffsetsInitializer::earliest())
        .set_bounded(OffsetsInitializer::offsets(stop))
        .set_value_only_deserializer(SimpleStringSchema)
        .build()
        .unwrap();
    env.from_source(source, WatermarkStrategy::no_watermarks(), "kafka")
        .map(|line: String| line.to_uppercase())
        .sink_to(string_sink(broker, &output, None));
    let start = Instant::now();
    env.execute("kafka -> map -> kafka").unwrap();
    records as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let records: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    println!("{records} records of {} bytes, parallelism {PARALLELISM}", line(0).len());
    let best = (0..3).map(|_| file_to_file(records)).fold(0.0, f64::max);
    println!("file -> map -> file:   {:.2} M records/s", best / 1e6);
    let broker = Broker::start();
    let best = (0..3).map(|run| kafka_to_kafka(&broker, run, records)).fold(0.0, f64::max);
    println!("Kafka -> map -> Kafka: {:.2} M records/s", best / 1e6);
}
