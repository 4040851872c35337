//! Window table functions (`TUMBLE`, `HOP`, `CUMULATE`, `SESSION`), window aggregates and OVER
//! aggregates over a table with a `WATERMARK`: results printed as Flink prints them, late rows
//! dropped, batch mode, the errors, and property tests against brute-force oracles over
//! out-of-order input.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use datafusion::arrow::datatypes::{DataType as ArrowType, Field, Schema, TimeUnit};
use proptest::prelude::*;
use pyflink_core::sinks::{Sink, SinkWriter, SinkWriterContext};
use pyflink_core::sources::DataGenSource;
use pyflink_core::table::Value;
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{
    CheckpointingMode, DataStream, FlinkError, RestartStrategy, RocksDbOptions, StateBackendConfig,
    StreamExecutionEnvironment,
};
use pyflink_table::batch::{batch_to_rows, ChangeBatch};
use pyflink_table::connectors::{TableConnector, TableContext};
use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};

use common::Batches;

/// A connector whose source reads its batches slowly (300 a second), so that checkpoints
/// complete between them, and fails once, at its `fail_at`-th batch.
#[derive(Clone)]
struct FailingOnce {
    batches: Vec<RecordBatch>,
    fail_at: usize,
    seen: Arc<AtomicUsize>,
}

impl TableConnector for FailingOnce {
    fn identifier(&self) -> &str {
        "failing-once"
    }

    fn source(&self, context: &TableContext<'_>) -> pyflink_table::Result<DataStream<ChangeBatch>> {
        let (fail_at, seen) = (self.fail_at, Arc::clone(&self.seen));
        let batches: Arc<Vec<ChangeBatch>> = Arc::new(self.batches.iter().cloned().map(ChangeBatch::inserts).collect());
        let count = batches.len() as u64;
        let generator = DataGenSource::new(move |ctx| batches[ctx.index() as usize].clone())
            .number_of_rows(count)
            .rows_per_second(300.0)
            .unwrap();
        let read = context.env.from_source(generator, WatermarkStrategy::no_watermarks(), "batches");
        Ok(read.set_parallelism(1).uid("batches").map(move |batch: ChangeBatch| {
            if seen.fetch_add(1, Ordering::SeqCst) == fail_at {
                panic!("injected failure at batch {fail_at}");
            }
            batch
        }))
    }
}

/// A connector whose tables keep the rows of completed checkpoints only: what a job failed and
/// restored wrote once, exactly. A committable is committed once, though a restore commits
/// the restored checkpoint's again.
#[derive(Clone, Default)]
struct Committed {
    rows: Arc<Mutex<Vec<String>>>,
    committed: Arc<Mutex<std::collections::HashSet<String>>>,
}

impl TableConnector for Committed {
    fn identifier(&self) -> &str {
        "committed"
    }

    fn sink(&self, _context: &TableContext<'_>, rows: DataStream<ChangeBatch>) -> pyflink_table::Result<()> {
        rows.sink_to(self.clone()).uid("committed");
        Ok(())
    }
}

impl Sink<ChangeBatch> for Committed {
    type Writer = Staging;
    fn create_writer(&self, context: &SinkWriterContext) -> pyflink_core::Result<Staging> {
        Ok(Staging { subtask: context.subtask_index, rows: Vec::new() })
    }
    fn commit(&self, committables: Vec<Vec<u8>>) -> pyflink_core::Result<()> {
        let mut rows = self.rows.lock().unwrap();
        for committable in committables {
            let text = String::from_utf8(committable).unwrap();
            let mut lines = text.lines();
            let id = lines.next().unwrap().to_string();
            if self.committed.lock().unwrap().insert(id) {
                rows.extend(lines.map(str::to_string));
            }
        }
        Ok(())
    }
}

/// The rows a writer got since its last checkpoint.
struct Staging {
    subtask: usize,
    rows: Vec<String>,
}

impl SinkWriter<ChangeBatch> for Staging {
    fn write(&mut self, batch: ChangeBatch, _timestamp: Option<i64>) -> pyflink_core::Result<()> {
        let rows = batch_to_rows(&batch).map_err(|e| FlinkError::Runtime(e.to_string()))?;
        self.rows.extend(rows.iter().map(ToString::to_string));
        Ok(())
    }
    fn prepare_commit(&mut self, checkpoint_id: u64) -> pyflink_core::Result<Vec<Vec<u8>>> {
        if self.rows.is_empty() {
            return Ok(Vec::new());
        }
        let id = format!("{}-{checkpoint_id}", self.subtask);
        Ok(vec![format!("{id}\n{}", std::mem::take(&mut self.rows).join("\n")).into_bytes()])
    }
}

/// A click: who, how much, and when (epoch milliseconds).
type Click<'a> = (&'a str, i64, i64);

const CLICKS_TABLE: &str = "CREATE TABLE clicks (
    `user` STRING,
    amount BIGINT,
    ts TIMESTAMP(3),
    WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'batches')";

fn clicks_batch(clicks: &[Click<'_>]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("user", ArrowType::Utf8, true),
        Field::new("amount", ArrowType::Int64, true),
        Field::new("ts", ArrowType::Timestamp(TimeUnit::Millisecond, None), true),
    ]));
    let users: StringArray = clicks.iter().map(|c| Some(c.0)).collect();
    let amounts: Int64Array = clicks.iter().map(|c| Some(c.1)).collect();
    let times: TimestampMillisecondArray = clicks.iter().map(|c| Some(c.2)).collect();
    RecordBatch::try_new(schema, vec![Arc::new(users), Arc::new(amounts), Arc::new(times)]).unwrap()
}

/// A table environment whose `clicks` table reads `batches` of clicks.
fn environment(env: &StreamExecutionEnvironment, streaming: bool, batches: &[Vec<Click<'_>>]) -> TableEnvironment {
    let t_env = if streaming {
        TableEnvironment::from_stream_environment(env)
    } else {
        TableEnvironment::create(EnvironmentSettings::in_batch_mode())
    };
    let connector = Batches::default();
    let batches = batches.iter().map(|clicks| clicks_batch(clicks)).collect();
    connector.insert("clicks", batches);
    t_env.register_connector(Arc::new(connector));
    t_env.execute_sql(CLICKS_TABLE).unwrap();
    t_env
}

fn streaming(parallelism: usize) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    env
}

fn printed(t_env: &TableEnvironment, sql: &str) -> String {
    let mut out = Vec::new();
    t_env.execute_sql(sql).unwrap().print_to(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The printed rows of a tableau, without its box, sorted.
fn rows_of(tableau: &str) -> Vec<String> {
    let mut rows: Vec<String> = tableau
        .lines()
        .filter(|line| line.starts_with('|') && !line.contains("window_start"))
        .map(|line| line.split('|').map(str::trim).filter(|cell| !cell.is_empty()).collect::<Vec<_>>().join(" "))
        .collect();
    rows.sort();
    rows
}

const SECOND: i64 = 1000;

#[test]
fn tumbling_windows_emit_final_counts_when_the_watermark_passes_and_drop_late_rows() {
    // The watermark trails the highest time by 2 s and rises after each batch: after the second
    // batch it is 13 s, so the window [0 s, 10 s) has fired and the third batch's click at 9 s
    // is late.
    let batches = vec![
        vec![("alice", 1, SECOND), ("bob", 2, 2 * SECOND), ("alice", 3, 9 * SECOND)],
        vec![("alice", 4, 12 * SECOND), ("bob", 5, 15 * SECOND)],
        vec![("alice", 100, 9 * SECOND), ("bob", 6, 19 * SECOND)],
    ];
    let t_env = environment(&streaming(1), true, &batches);
    let out = printed(
        &t_env,
        "SELECT window_start, window_end, `user`, COUNT(*) AS clicks, SUM(amount) AS total \
         FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECONDS)) \
         GROUP BY window_start, window_end, `user`",
    );
    assert_eq!(
        rows_of(&out),
        vec![
            "+I 1970-01-01 00:00:00.000 1970-01-01 00:00:10.000 alice 2 4",
            "+I 1970-01-01 00:00:00.000 1970-01-01 00:00:10.000 bob 1 2",
            "+I 1970-01-01 00:00:10.000 1970-01-01 00:00:20.000 alice 1 4",
            "+I 1970-01-01 00:00:10.000 1970-01-01 00:00:20.000 bob 2 11",
        ],
        "{out}"
    );
    assert!(out.contains("4 rows in set"), "{out}");

    // The group window syntax of Flink 1.x programs is the same window aggregate.
    let t_env = environment(&streaming(1), true, &batches);
    let group_window = printed(
        &t_env,
        "SELECT TUMBLE_START(ts, INTERVAL '10' SECOND) AS window_start, TUMBLE_END(ts, INTERVAL '10' SECOND) \
         AS window_end, `user`, COUNT(*) AS clicks, SUM(amount) AS total \
         FROM clicks GROUP BY TUMBLE(ts, INTERVAL '10' SECOND), `user`",
    );
    assert_eq!(rows_of(&group_window), rows_of(&out), "{group_window}");
}

#[test]
fn hopping_and_cumulating_windows_hold_a_row_in_several_windows() {
    let batches = vec![vec![("a", 1, SECOND), ("a", 2, 4 * SECOND), ("a", 4, 7 * SECOND)]];
    let t_env = environment(&streaming(2), true, &batches);
    let hop = printed(
        &t_env,
        "SELECT window_start, window_end, SUM(amount) AS total \
         FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '3' SECOND, INTERVAL '6' SECOND)) \
         GROUP BY window_start, window_end",
    );
    assert_eq!(
        rows_of(&hop),
        vec![
            "+I 1969-12-31 23:59:57.000 1970-01-01 00:00:03.000 1",
            "+I 1970-01-01 00:00:00.000 1970-01-01 00:00:06.000 3",
            "+I 1970-01-01 00:00:03.000 1970-01-01 00:00:09.000 6",
            "+I 1970-01-01 00:00:06.000 1970-01-01 00:00:12.000 4",
        ],
        "{hop}"
    );
    let cumulate = printed(
        &t_env,
        "SELECT window_start, window_end, SUM(amount) AS total \
         FROM TABLE(CUMULATE(DATA => TABLE clicks, TIMECOL => DESCRIPTOR(ts), STEP => INTERVAL '2' SECOND, \
                             SIZE => INTERVAL '6' SECOND)) \
         GROUP BY window_start, window_end",
    );
    assert_eq!(
        rows_of(&cumulate),
        vec![
            "+I 1970-01-01 00:00:00.000 1970-01-01 00:00:02.000 1",
            "+I 1970-01-01 00:00:00.000 1970-01-01 00:00:04.000 1",
            "+I 1970-01-01 00:00:00.000 1970-01-01 00:00:06.000 3",
            "+I 1970-01-01 00:00:06.000 1970-01-01 00:00:08.000 4",
            "+I 1970-01-01 00:00:06.000 1970-01-01 00:00:10.000 4",
            "+I 1970-01-01 00:00:06.000 1970-01-01 00:00:12.000 4",
        ],
        "{cumulate}"
    );
}

#[test]
fn a_window_function_adds_the_window_columns_to_each_row() {
    let batches = vec![vec![("a", 1, 1500)]];
    let t_env = environment(&streaming(1), true, &batches);
    let out = printed(&t_env, "SELECT * FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' SECOND))");
    assert!(out.contains("| op |                           user |               amount |                      ts |            window_start |              window_end |             window_time |"), "{out}");
    assert!(out.contains("| +I |                              a |                    1 | 1970-01-01 00:00:01.500 | 1970-01-01 00:00:01.000 | 1970-01-01 00:00:02.000 | 1970-01-01 00:00:01.999 |"), "{out}");
}

#[test]
fn batch_mode_aggregates_every_window_of_the_bounded_input() {
    let batches = vec![vec![("a", 1, SECOND), ("b", 2, 12 * SECOND)], vec![("a", 3, 2 * SECOND)]];
    let t_env = environment(&streaming(1), false, &batches);
    let out = printed(
        &t_env,
        "SELECT window_start, window_end, SUM(amount) AS total \
         FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND)) \
         GROUP BY window_start, window_end",
    );
    assert_eq!(
        rows_of(&out),
        vec!["1970-01-01 00:00:00.000 1970-01-01 00:00:10.000 4", "1970-01-01 00:00:10.000 1970-01-01 00:00:20.000 2"],
        "{out}"
    );
}

#[test]
fn window_functions_need_a_time_attribute_and_sizes_that_fit() {
    let t_env = environment(&streaming(1), true, &[]);
    t_env.execute_sql("CREATE TABLE plain (ts TIMESTAMP(3), n INT) WITH ('connector' = 'batches')").unwrap();
    let error = |sql: &str| t_env.execute_sql(sql).expect_err(sql).to_string();
    let no_watermark = error("SELECT * FROM TABLE(TUMBLE(TABLE plain, DESCRIPTOR(ts), INTERVAL '1' SECOND))");
    assert!(
        no_watermark.contains("requires the timecol is a time attribute type, but is TIMESTAMP(3)"),
        "{no_watermark}"
    );
    let uneven =
        error("SELECT * FROM TABLE(CUMULATE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '4' SECOND, INTERVAL '10' SECOND))");
    assert!(uneven.contains("integral multiple of step"), "{uneven}");
    let no_column = error("SELECT * FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(nope), INTERVAL '1' SECOND))");
    assert!(no_column.contains("'nope'") && no_column.contains("user, amount, ts"), "{no_column}");
    let not_time = error("SELECT * FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(amount), INTERVAL '1' SECOND))");
    assert!(not_time.contains("'amount' is Int64"), "{not_time}");
    let months = error("SELECT * FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MONTH))");
    assert!(months.contains("intervals of days or less"), "{months}");
}

#[test]
fn a_window_aggregate_failed_and_restored_from_a_checkpoint_writes_each_result_once() {
    // 40 batches of 10 clicks, 1 s apart each; windows of 3 s; the source fails at batch 25.
    let clicks: Vec<Click> = (0..400i64).map(|i| (["ann", "bo", "cy"][(i % 3) as usize], i % 7, i * 100)).collect();
    let batches: Vec<RecordBatch> = clicks.chunks(10).map(clicks_batch).collect();
    let checkpoints = tempfile::tempdir().unwrap();
    let env = streaming(2);
    env.enable_checkpointing(Duration::from_millis(15), CheckpointingMode::ExactlyOnce);
    env.set_restart_strategy(RestartStrategy::fixed_delay_restart(2, Duration::ZERO));
    let mut config = env.get_checkpoint_config();
    config.storage_dir = Some(checkpoints.path().to_path_buf());
    env.set_checkpoint_config(config);
    let t_env = TableEnvironment::from_stream_environment(&env);
    let seen = Arc::new(AtomicUsize::new(0));
    t_env.register_connector(Arc::new(FailingOnce { batches, fail_at: 25, seen: Arc::clone(&seen) }));
    let committed = Committed::default();
    t_env.register_connector(Arc::new(committed.clone()));
    t_env.execute_sql(&CLICKS_TABLE.replace("'batches'", "'failing-once'")).unwrap();
    t_env
        .execute_sql(
            "CREATE TABLE totals (ws BIGINT, `user` STRING, n BIGINT, total BIGINT) WITH ('connector' = 'committed')",
        )
        .unwrap();
    t_env
        .execute_sql(
            "INSERT INTO totals SELECT CAST(window_start AS BIGINT), `user`, COUNT(*), SUM(amount)              FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '3' SECOND))              GROUP BY window_start, window_end, `user`",
        )
        .unwrap()
        .wait()
        .unwrap();
    assert!(seen.load(Ordering::SeqCst) > 40, "the source failed and read some batches again");
    let mut expected: BTreeMap<(i64, &str), (i64, i64)> = BTreeMap::new();
    for &(user, amount, time) in &clicks {
        let entry = expected.entry((time - time % 3000, user)).or_default();
        entry.0 += 1;
        entry.1 += amount;
    }
    let mut expected: Vec<String> =
        expected.into_iter().map(|((start, user), (n, total))| format!("+I[{start}, {user}, {n}, {total}]")).collect();
    expected.sort();
    let mut rows = committed.rows.lock().unwrap().clone();
    rows.sort();
    assert_eq!(rows, expected);
}

/// The windows `[start, end)` of a window function that hold `time`, found by trying every
/// window that could (the engine computes them directly).
fn oracle_windows(function: &str, time: i64) -> Vec<(i64, i64)> {
    let (small, size) = match function {
        "TUMBLE" => (3 * SECOND, 3 * SECOND),
        // A slide that does not divide the size, which Flink allows in group windows only.
        "HOP" => (2 * SECOND, 5 * SECOND),
        _ => (2 * SECOND, 6 * SECOND),
    };
    let first = (time - size).div_euclid(small) * small;
    let mut windows = Vec::new();
    let mut start = first;
    while start <= time {
        match function {
            "CUMULATE" if start.rem_euclid(size) == 0 => {
                let mut end = start + small;
                while end <= start + size {
                    if time < end {
                        windows.push((start, end));
                    }
                    end += small;
                }
            }
            "CUMULATE" => {}
            _ if time < start + size => windows.push((start, start + size)),
            _ => {}
        }
        start += small;
    }
    windows
}

/// The sessions `[start, end)` of each user's clicks with a gap of `gap`, found by sorting
/// them: a click within `gap` of the one before it (or exactly at its end) joins its session.
fn oracle_sessions<'a>(clicks: &[Click<'a>], gap: i64) -> Vec<(&'a str, i64, i64)> {
    let mut by_user: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for &(user, _, time) in clicks {
        by_user.entry(user).or_default().push(time);
    }
    let mut sessions = Vec::new();
    for (user, mut times) in by_user {
        times.sort_unstable();
        let (mut start, mut end) = (times[0], times[0] + gap);
        for &time in &times[1..] {
            if time <= end {
                end = end.max(time + gap);
            } else {
                sessions.push((user, start, end));
                (start, end) = (time, time + gap);
            }
        }
        sessions.push((user, start, end));
    }
    sessions
}

const WINDOW_CALLS: [(&str, &str); 4] = [
    ("TUMBLE", "TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '3' SECOND)"),
    ("HOP", "HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '5' SECOND)"),
    ("CUMULATE", "CUMULATE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '6' SECOND)"),
    ("SESSION", "SESSION(TABLE clicks PARTITION BY `user`, DESCRIPTOR(ts), INTERVAL '2' SECOND)"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]

    /// Window aggregates over clicks that arrive out of order (by at most the watermark's 2 s
    /// delay, so none is late) equal counts, sums and maxima per window and user computed by
    /// brute force, at parallelism 1 to 4, on the heap and in RocksDB.
    #[test]
    fn window_aggregates_equal_a_brute_force_oracle(
        clicks in proptest::collection::vec((0usize..3, -5i64..50, 0i64..30_000, 0i64..2_000), 1..80),
        cuts in proptest::collection::vec(1usize..20, 1..5),
        parallelism in 1usize..5,
        rocksdb in any::<bool>(),
    ) {
        let users = ["ann", "bo", "cy"];
        // Times rise by the third number and arrive up to 2 s early or late of that order.
        let mut time = 0;
        let clicks: Vec<Click> = clicks
            .iter()
            .map(|&(user, amount, step, jitter)| {
                time += step / 10;
                (users[user], amount, (time - jitter).max(0))
            })
            .collect();
        let mut batches = Vec::new();
        let mut rest = clicks.as_slice();
        for cut in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (batch, tail) = rest.split_at((*cut).min(rest.len()));
            batches.push(batch.to_vec());
            rest = tail;
        }
        for (function, call) in WINDOW_CALLS {
            let env = streaming(parallelism);
            if rocksdb {
                env.set_state_backend(StateBackendConfig::RocksDb(RocksDbOptions::default()));
            }
            let t_env = environment(&env, true, &batches);
            let sql = format!(
                "SELECT CAST(window_start AS BIGINT), CAST(window_end AS BIGINT), `user`, COUNT(*), SUM(amount), \
                 MAX(amount) FROM TABLE({call}) GROUP BY window_start, window_end, `user`"
            );
            let mut results: Vec<Vec<Value>> =
                t_env.execute_sql(&sql).unwrap().collect().unwrap().into_iter().map(|row| row.fields).collect();
            results.sort_by_key(|row| format!("{row:?}"));
            let mut expected: BTreeMap<(i64, i64, &str), (i64, i64, i64)> = BTreeMap::new();
            let sessions = oracle_sessions(&clicks, 2 * SECOND);
            for &(user, amount, time) in &clicks {
                let windows = match function {
                    "SESSION" => sessions
                        .iter()
                        .filter(|&&(u, start, end)| u == user && start <= time && time < end)
                        .map(|&(_, start, end)| (start, end))
                        .collect(),
                    _ => oracle_windows(function, time),
                };
                for (start, end) in windows {
                    let entry = expected.entry((start, end, user)).or_insert((0, 0, i64::MIN));
                    entry.0 += 1;
                    entry.1 += amount;
                    entry.2 = entry.2.max(amount);
                }
            }
            let mut expected: Vec<Vec<Value>> = expected
                .into_iter()
                .map(|((start, end, user), (count, sum, max))| {
                    vec![
                        Value::BigInt(start),
                        Value::BigInt(end),
                        Value::String(user.into()),
                        Value::BigInt(count),
                        Value::BigInt(sum),
                        Value::BigInt(max),
                    ]
                })
                .collect();
            expected.sort_by_key(|row| format!("{row:?}"));
            prop_assert_eq!(results, expected, "{}", sql);
        }
    }
}

/// The OVER frames the property below checks, each with the positions (among a user's clicks
/// in time order) of the rows in the frame of row `i`.
const OVER_FRAMES: [&str; 3] = [
    "ROWS BETWEEN 2 PRECEDING AND CURRENT ROW",
    "RANGE BETWEEN INTERVAL '3' SECOND PRECEDING AND CURRENT ROW",
    "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW",
];

fn oracle_frame(frame: &str, times: &[i64], i: usize) -> std::ops::RangeInclusive<usize> {
    match frame {
        f if f.starts_with("ROWS BETWEEN 2") => i.saturating_sub(2)..=i,
        f if f.starts_with("RANGE") => (0..=i).find(|&j| times[j] >= times[i] - 3 * SECOND).unwrap_or(i)..=i,
        _ => 0..=i,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// OVER aggregates over clicks that arrive out of order (none late) equal counts, sums and
    /// maxima over each click's frame among its user's clicks in time order, computed by brute
    /// force, at parallelism 1 to 4, on the heap and in RocksDB.
    #[test]
    fn over_aggregates_equal_a_brute_force_oracle(
        clicks in proptest::collection::vec((0usize..3, -5i64..50, 0i64..30_000, 0i64..2_000), 1..60),
        cut in 1usize..20,
        parallelism in 1usize..5,
        rocksdb in any::<bool>(),
    ) {
        let users = ["ann", "bo", "cy"];
        let mut time = 0;
        let mut used = std::collections::BTreeSet::new();
        let clicks: Vec<Click> = clicks
            .iter()
            .map(|&(user, amount, step, jitter)| {
                time += step / 10;
                // Distinct times, so that the order of a user's clicks is their time order.
                let mut at = (time - jitter).max(0);
                while !used.insert(at) {
                    at += 1;
                }
                (users[user], amount, at)
            })
            .collect();
        let batches: Vec<Vec<Click>> = clicks.chunks(cut).map(<[Click]>::to_vec).collect();
        for frame in OVER_FRAMES {
            let env = streaming(parallelism);
            if rocksdb {
                env.set_state_backend(StateBackendConfig::RocksDb(RocksDbOptions::default()));
            }
            let t_env = environment(&env, true, &batches);
            let sql = format!(
                "SELECT `user`, CAST(ts AS BIGINT), COUNT(*) OVER w, SUM(amount) OVER w, MAX(amount) OVER w \
                 FROM clicks WINDOW w AS (PARTITION BY `user` ORDER BY ts {frame})"
            );
            let mut results: Vec<Vec<Value>> =
                t_env.execute_sql(&sql).unwrap().collect().unwrap().into_iter().map(|row| row.fields).collect();
            results.sort_by_key(|row| format!("{row:?}"));
            let mut expected = Vec::new();
            for user in users {
                let mut own: Vec<(i64, i64)> =
                    clicks.iter().filter(|c| c.0 == user).map(|&(_, amount, time)| (time, amount)).collect();
                own.sort_unstable();
                let times: Vec<i64> = own.iter().map(|c| c.0).collect();
                for (i, &(time, _)) in own.iter().enumerate() {
                    let frame_rows = &own[oracle_frame(frame, &times, i)];
                    expected.push(vec![
                        Value::String(user.into()),
                        Value::BigInt(time),
                        Value::BigInt(frame_rows.len() as i64),
                        Value::BigInt(frame_rows.iter().map(|c| c.1).sum()),
                        Value::BigInt(frame_rows.iter().map(|c| c.1).max().unwrap_or_default()),
                    ]);
                }
            }
            expected.sort_by_key(|row| format!("{row:?}"));
            prop_assert_eq!(results, expected, "{}", sql);
        }
    }
}
