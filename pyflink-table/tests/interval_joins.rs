//! Interval joins: joins that bound the event times of their sides against each other run as
//! Flink's time-interval join, whose result only inserts (outer rows padded once, when the
//! watermark shows they can no longer match), and equal a nested-loop join with the same
//! condition over out-of-order input, at parallelism 1 to 4, on the heap and in RocksDB.

mod common;

use std::sync::Arc;

use datafusion::arrow::array::{Int64Array, RecordBatch, TimestampMillisecondArray};
use datafusion::arrow::datatypes::{DataType as ArrowType, Field, Schema, TimeUnit};
use proptest::prelude::*;
use pyflink_core::table::Value;
use pyflink_core::{RocksDbOptions, StateBackendConfig, StreamExecutionEnvironment};
use pyflink_table::environment::TableEnvironment;

use common::{sorted, Batches};

/// A row of either table: a key, a value and an event time (epoch milliseconds).
type Event = (i64, i64, i64);

fn events_batch(events: &[Event]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", ArrowType::Int64, true),
        Field::new("v", ArrowType::Int64, true),
        Field::new("ts", ArrowType::Timestamp(TimeUnit::Millisecond, None), true),
    ]));
    let keys: Int64Array = events.iter().map(|e| Some(e.0)).collect();
    let values: Int64Array = events.iter().map(|e| Some(e.1)).collect();
    let times: TimestampMillisecondArray = events.iter().map(|e| Some(e.2)).collect();
    RecordBatch::try_new(schema, vec![Arc::new(keys), Arc::new(values), Arc::new(times)]).unwrap()
}

/// A streaming environment with tables `l` and `r` (k, v, ts with a watermark 2 s behind)
/// reading `left` and `right`, each cut into batches of `cut` rows.
fn environment(parallelism: usize, rocksdb: bool, left: &[Event], right: &[Event], cut: usize) -> TableEnvironment {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    if rocksdb {
        env.set_state_backend(StateBackendConfig::RocksDb(RocksDbOptions::default()));
    }
    let t_env = TableEnvironment::from_stream_environment(&env);
    let connector = Batches::default();
    for (name, events) in [("l", left), ("r", right)] {
        connector.insert(name, events.chunks(cut.max(1)).map(events_batch).collect());
        t_env
            .execute_sql(&format!(
                "CREATE TABLE {name} (k BIGINT, v BIGINT, ts TIMESTAMP(3), \
                 WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) WITH ('connector' = 'batches')"
            ))
            .unwrap();
    }
    t_env.register_connector(Arc::new(connector));
    t_env
}

/// The rows of a query that only inserts, read as a data stream (which refuses updates).
fn inserted_rows(t_env: &TableEnvironment, sql: &str) -> Vec<Vec<Value>> {
    let table = t_env.sql_query(sql).unwrap();
    let stream = t_env.to_data_stream(&table).unwrap_or_else(|e| panic!("{sql} is not an interval join: {e}"));
    sorted(stream.execute_and_collect().unwrap().map(|row| row.unwrap().fields).collect())
}

const JOIN_TYPES: [&str; 4] = ["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"];

/// The result of `l <join> r ON l.k = r.k AND r.ts BETWEEN l.ts - 1 s AND l.ts + 3 s`, by brute
/// force: (l.k, l.v, r.v), NULL where a side is padded.
fn oracle(join: &str, left: &[Event], right: &[Event]) -> Vec<Vec<Value>> {
    let joins = |l: &Event, r: &Event| l.0 == r.0 && r.2 >= l.2 - 1_000 && r.2 <= l.2 + 3_000;
    let mut rows = Vec::new();
    for l in left {
        let mut matched = false;
        for r in right.iter().filter(|r| joins(l, r)) {
            matched = true;
            rows.push(vec![Value::BigInt(l.0), Value::BigInt(l.1), Value::BigInt(r.1)]);
        }
        if !matched && (join == "LEFT JOIN" || join == "FULL JOIN") {
            rows.push(vec![Value::BigInt(l.0), Value::BigInt(l.1), Value::Null]);
        }
    }
    if join == "RIGHT JOIN" || join == "FULL JOIN" {
        for r in right.iter().filter(|r| !left.iter().any(|l| joins(l, r))) {
            rows.push(vec![Value::Null, Value::Null, Value::BigInt(r.1)]);
        }
    }
    sorted(rows)
}

fn interval_join(join: &str) -> String {
    format!(
        "SELECT l.k, l.v, r.v FROM l {join} r ON l.k = r.k AND r.ts BETWEEN l.ts - INTERVAL '1' SECOND AND \
         l.ts + INTERVAL '3' SECOND"
    )
}

#[test]
fn an_outer_interval_join_pads_unmatched_rows_once_and_only_inserts() {
    // Order 1 ships in time, order 2 too late (5 s after), order 3 never; shipment 9 has no order.
    let orders = [(1, 10, 1_000), (2, 20, 2_000), (3, 30, 3_000)];
    let shipments = [(1, 100, 2_500), (2, 200, 7_000), (9, 900, 8_000)];
    let t_env = environment(1, false, &orders, &shipments, 2);
    let rows = inserted_rows(&t_env, &interval_join("FULL JOIN"));
    assert_eq!(rows, oracle("FULL JOIN", &orders, &shipments));
    assert_eq!(rows.len(), 5, "{rows:?}");
}

#[test]
fn a_join_bounded_on_one_side_only_is_a_regular_join() {
    let t_env = environment(1, false, &[(1, 10, 1_000)], &[(1, 100, 900)], 1);
    let table = t_env.sql_query("SELECT l.v, r.v FROM l LEFT JOIN r ON l.k = r.k AND r.ts <= l.ts").unwrap();
    let Err(error) = t_env.to_data_stream(&table) else { panic!("a regular outer join updates its rows") };
    let error = error.to_string();
    assert!(error.contains("doesn't support consuming update changes"), "{error}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Interval joins of rows that arrive out of order (by less than the watermark's 2 s delay,
    /// so none is late) equal a nested-loop join of the same rows.
    #[test]
    fn interval_joins_equal_a_nested_loop_join(
        left in proptest::collection::vec((0i64..4, -50i64..50, 0i64..3_000, 0i64..2_000), 0..40),
        right in proptest::collection::vec((0i64..4, -50i64..50, 0i64..3_000, 0i64..2_000), 0..40),
        join in 0usize..4,
        cut in 1usize..8,
        parallelism in 1usize..5,
        rocksdb in any::<bool>(),
    ) {
        // Times rise by the third number and arrive up to 2 s early of that order.
        let timed = |events: &[(i64, i64, i64, i64)]| -> Vec<Event> {
            let mut time = 0;
            events.iter().map(|&(k, v, step, jitter)| {
                time += step;
                (k, v, (time - jitter).max(0))
            }).collect()
        };
        let (left, right) = (timed(&left), timed(&right));
        let join = JOIN_TYPES[join];
        let t_env = environment(parallelism, rocksdb, &left, &right, cut);
        prop_assert_eq!(inserted_rows(&t_env, &interval_join(join)), oracle(join, &left, &right), "{}", join);
    }
}
