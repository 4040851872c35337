//! Throughput of SQL jobs from a bounded `datagen` table into a `blackhole` table, at
//! parallelism 1 and 2:
//!
//! - window: `TUMBLE` of 1 s with `COUNT(*)` and `SUM(v)` per key, over 10,000 keys whose event
//!   time advances 1 ms every 1,000 rows (so a window holds a million rows, 100 per key), with
//!   the watermark at the highest time;
//! - group by: `COUNT(*)` and `SUM(v)` per key over the same rows, an updating aggregate whose
//!   every row changes its group's result (-U/+U pairs into the sink).
//!
//! The generator is not rate limited (datagen's default is 10,000 rows per second).
//!
//! Run: `cargo bench -p pyflink-table --bench sql_throughput [-- ROWS [PARALLELISM ...]]`
//! Prints rows per second (best of three runs) and rows per second per worker.

use std::time::Instant;

use pyflink_core::StreamExecutionEnvironment;
use pyflink_table::environment::TableEnvironment;

const WINDOW_QUERY: &str = "INSERT INTO sink \
    SELECT window_start, window_end, k, COUNT(*), SUM(v) \
    FROM TABLE(TUMBLE(TABLE gen, DESCRIPTOR(ts), INTERVAL '1' SECOND)) \
    GROUP BY window_start, window_end, k";

const WINDOW_SINK: &str = "CREATE TABLE sink (window_start TIMESTAMP(3), window_end TIMESTAMP(3), k BIGINT, \
    n BIGINT, total BIGINT) WITH ('connector' = 'blackhole')";

const GROUP_BY_QUERY: &str = "INSERT INTO sink SELECT k, COUNT(*), SUM(v) FROM gen GROUP BY k";

const GROUP_BY_SINK: &str = "CREATE TABLE sink (k BIGINT, n BIGINT, total BIGINT) WITH ('connector' = 'blackhole')";

/// Runs `query` over `rows` generated rows at `parallelism`, into the table `sink` creates; the
/// rows per second.
fn run(query: &str, sink: &str, parallelism: usize, rows: u64) -> f64 {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    let t_env = TableEnvironment::from_stream_environment(&env);
    t_env
        .execute_sql(&format!(
            "CREATE TABLE gen (
                id BIGINT,
                v BIGINT,
                k AS id % 10000,
                ts AS to_timestamp_millis(id / 1000),
                WATERMARK FOR ts AS ts
            ) WITH (
                'connector' = 'datagen',
                'number-of-rows' = '{rows}', 'rows-per-second' = '1000000000',
                'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '{}',
                'fields.v.min' = '0', 'fields.v.max' = '100'
            )",
            rows - 1
        ))
        .expect("the generator table is valid");
    t_env.execute_sql(sink).expect("the sink table is valid");
    let start = Instant::now();
    t_env.execute_sql(query).expect("the job starts").wait().expect("the job succeeds");
    rows as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let numbers: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let rows = numbers.first().copied().unwrap_or(10_000_000);
    let parallelisms: Vec<usize> =
        if numbers.len() > 1 { numbers[1..].iter().map(|&p| p as usize).collect() } else { vec![1, 2] };
    let jobs = [
        ("TUMBLE window COUNT/SUM per key", WINDOW_QUERY, WINDOW_SINK),
        ("GROUP BY with updates", GROUP_BY_QUERY, GROUP_BY_SINK),
    ];
    for (name, query, sink) in jobs {
        println!("datagen -> {name} -> blackhole, {rows} rows, 10000 keys");
        for &parallelism in &parallelisms {
            let best = (0..3).map(|_| run(query, sink, parallelism, rows)).fold(0.0f64, f64::max);
            println!(
                "  parallelism {parallelism}: {:.2} M rows/s ({:.2} M rows/s per worker)",
                best / 1e6,
                best / 1e6 / parallelism as f64
            );
        }
    }
}
