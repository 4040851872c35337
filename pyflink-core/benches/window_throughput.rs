//! Throughput of a keyed event-time tumbling window count:
//! `datagen (with a watermark strategy) -> key_by -> 1 s tumbling window -> count -> collect`,
//! at parallelism 1 and 2.
//!
//! The generator produces 10,000 keys round robin with event time advancing 1 ms every 10,000
//! records, so each key gets a record per millisecond of event time and each window counts
//! about 1,000 records per key. Watermarks are periodic (200 ms), as in a real job.
//!
//! Run: `cargo bench -p pyflink-core --bench window_throughput [-- RECORDS [PARALLELISM ...]]`
//! Prints records per second (best of three runs) and records per second per worker.

use std::time::{Duration, Instant};

use pyflink_core::sources::DataGenSource;
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::window::{AggregateFunction, TumblingEventTimeWindows};
use pyflink_core::StreamExecutionEnvironment;

/// Counts the records of a window.
#[derive(Clone)]
struct Count;

impl AggregateFunction<(i64, i64)> for Count {
    type Accumulator = i64;
    type Output = i64;
    fn create_accumulator(&self) -> i64 {
        0
    }
    fn add(&self, _: (i64, i64), count: i64) -> i64 {
        count + 1
    }
    fn get_result(&self, count: &i64) -> i64 {
        *count
    }
    fn merge(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

fn run(parallelism: usize, records: u64) -> (f64, u64) {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    let source = DataGenSource::new(|ctx| {
        let i = ctx.index() as i64;
        (i % 10_000, i / 10_000)
    })
    .number_of_rows(records);
    let strategy = WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|e: &(i64, i64), _| e.1);
    let counts = env
        .from_source(source, strategy, "DataGen")
        .key_by(|e| e.0)
        .window(TumblingEventTimeWindows::of(Duration::from_secs(1)))
        .aggregate(Count);
    let start = Instant::now();
    let total: u64 = counts.execute_and_collect().expect("job starts").map(|c| c.expect("job succeeds") as u64).sum();
    (records as f64 / start.elapsed().as_secs_f64(), total)
}

fn main() {
    let numbers: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let records = numbers.first().copied().unwrap_or(20_000_000);
    let parallelisms: Vec<usize> =
        if numbers.len() > 1 { numbers[1..].iter().map(|&p| p as usize).collect() } else { vec![1, 2] };
    println!("datagen with watermarks -> key_by -> tumbling event-time window count, {records} records, 10000 keys");
    for parallelism in parallelisms {
        let mut best = 0.0f64;
        for _ in 0..3 {
            let (rate, counted) = run(parallelism, records);
            assert_eq!(counted, records, "every record is counted in exactly one window");
            best = best.max(rate);
        }
        println!(
            "parallelism {parallelism}: {:.1} M records/s ({:.1} M records/s per worker)",
            best / 1e6,
            best / 1e6 / parallelism as f64
        );
    }
}
