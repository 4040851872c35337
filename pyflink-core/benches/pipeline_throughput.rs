//! Throughput of `sequence -> map -> key_by -> sum -> blackhole`, at parallelism 1 and 2.
//!
//! Run: `cargo bench -p pyflink-core --bench pipeline_throughput [-- RECORDS [PARALLELISM ...]]`
//! Prints records per second (best of three runs) and records per second per worker.

use std::time::Instant;

use pyflink_core::StreamExecutionEnvironment;

#[path = "common/keyed_sum.rs"]
mod keyed_sum;
use keyed_sum::add_keyed_sum;

fn run(parallelism: usize, records: i64) -> f64 {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    add_keyed_sum(&env, records);
    let start = Instant::now();
    env.execute("pipeline throughput").expect("job succeeds");
    records as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let numbers: Vec<i64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let records = numbers.first().copied().unwrap_or(20_000_000);
    let parallelisms: Vec<usize> =
        if numbers.len() > 1 { numbers[1..].iter().map(|&p| p as usize).collect() } else { vec![1, 2] };
    println!("sequence -> map -> key_by -> sum -> blackhole, {records} records, 10000 keys");
    for parallelism in parallelisms {
        let best = (0..3).map(|_| run(parallelism, records)).fold(0.0, f64::max);
        println!(
            "parallelism {parallelism}: {:.1} M records/s ({:.1} M records/s per worker)",
            best / 1e6,
            best / 1e6 / parallelism as f64
        );
    }
}
