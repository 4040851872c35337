//! Top-N and deduplication (`ROW_NUMBER() OVER (PARTITION BY .. ORDER BY ..)` under a filter
//! that bounds it) in streaming and batch mode, and a property test that applies the streaming
//! changelog and compares it with sorting each partition of the final input.

mod common;

use proptest::prelude::*;
use pyflink_core::table::{Row, RowKind, Value};
use pyflink_core::{RocksDbOptions, StateBackendConfig, StreamExecutionEnvironment};
use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
use pyflink_table::types::DataType;

use common::{apply, cut_into_batches, sorted};

fn streaming(parallelism: usize, rocksdb: bool) -> TableEnvironment {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    if rocksdb {
        env.set_state_backend(StateBackendConfig::RocksDb(RocksDbOptions::default()));
    }
    TableEnvironment::from_stream_environment(&env)
}

/// Registers `sales` of rows (category, id, amount), in one batch.
fn sales(t_env: &TableEnvironment, rows: &[(i64, i64, i64)]) {
    sales_in_batches(t_env, rows, &[rows.len()]);
}

/// Registers `sales` of rows (category, id, amount), cut into batches as `cuts` says.
fn sales_in_batches(t_env: &TableEnvironment, rows: &[(i64, i64, i64)], cuts: &[usize]) {
    let rows: Vec<Row> =
        rows.iter().map(|(k, id, v)| Row::of(vec![Value::BigInt(*k), Value::BigInt(*id), Value::BigInt(*v)])).collect();
    let field = |name: &str| DataType::parse("BIGINT").unwrap().to_arrow_field(name);
    let schema =
        std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new(vec![field("k"), field("id"), field("v")]));
    let table = t_env.from_arrow(std::sync::Arc::clone(&schema), cut_into_batches(&rows, &schema, cuts)).unwrap();
    t_env.create_temporary_view("sales", &table).unwrap();
}

fn longs(values: &[i64]) -> Vec<Value> {
    values.iter().map(|v| Value::BigInt(*v)).collect()
}

const SALES: &[(i64, i64, i64)] = &[(1, 1, 10), (1, 2, 30), (2, 3, 5), (1, 4, 20), (1, 5, 40), (2, 6, 7)];

#[test]
fn a_streaming_top_n_ends_with_the_first_n_rows_of_each_partition_and_their_numbers() {
    for parallelism in [1, 3] {
        let t_env = streaming(parallelism, false);
        sales(&t_env, SALES);
        let sql = "SELECT k, id, v, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn \
                   FROM sales) WHERE rn <= 2";
        let result = t_env.execute_sql(sql).unwrap();
        assert_eq!(result.columns()[3].1.to_string(), "BIGINT NOT NULL");
        assert_eq!(
            apply(result.collect().unwrap()),
            sorted(vec![longs(&[1, 5, 40, 1]), longs(&[1, 2, 30, 2]), longs(&[2, 6, 7, 1]), longs(&[2, 3, 5, 2])])
        );
    }
}

#[test]
fn a_row_that_enters_the_top_n_updates_the_positions_below_it() {
    let t_env = streaming(1, false);
    sales(&t_env, &[(1, 1, 10), (1, 2, 30)]);
    let sql = "SELECT id, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM sales) \
               WHERE rn < 3";
    let changes: Vec<String> = t_env.execute_sql(sql).unwrap().collect().unwrap().iter().map(Row::to_string).collect();
    // Both rows come in one batch: the result of the batch is what changes.
    assert_eq!(changes, vec!["+I[2, 1]", "+I[1, 2]"]);
}

#[test]
fn deduplication_keeps_the_first_or_the_last_row_of_each_key() {
    let t_env = streaming(2, false);
    sales(&t_env, SALES);
    let first = "SELECT k, id FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY id) AS rn FROM sales) \
                 WHERE rn = 1";
    assert_eq!(apply(t_env.execute_sql(first).unwrap().collect().unwrap()), vec![longs(&[1, 1]), longs(&[2, 3])]);
    let last = "SELECT k, id FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY id DESC) AS rn FROM sales) \
                WHERE rn = 1 AND k > 1";
    assert_eq!(apply(t_env.execute_sql(last).unwrap().collect().unwrap()), vec![longs(&[2, 6])]);
}

#[test]
fn batch_top_n_emits_final_rows_once() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    sales(&t_env, SALES);
    let sql = "SELECT k, v FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v) AS rn FROM sales) \
               WHERE rn <= 1";
    let rows = t_env.execute_sql(sql).unwrap().collect().unwrap();
    assert!(rows.iter().all(|row| row.kind == RowKind::Insert));
    assert_eq!(apply(rows), vec![longs(&[1, 10]), longs(&[2, 5])]);
}

#[test]
fn row_number_without_a_bound_is_refused_with_what_runs() {
    let t_env = streaming(1, false);
    sales(&t_env, SALES);
    let error = t_env
        .execute_sql("SELECT k, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v) AS rn FROM sales")
        .unwrap_err()
        .to_string();
    assert!(error.contains("ROW_NUMBER() without a filter on it that bounds it"), "{error}");
}

/// The first `limit` rows of each partition of `rows` (k, id, v) by `v` descending and `id`,
/// with their numbers.
fn top_n_oracle(rows: &[(i64, i64, i64)], limit: usize) -> Vec<Vec<Value>> {
    let mut keys: Vec<i64> = rows.iter().map(|(k, _, _)| *k).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for key in keys {
        let mut partition: Vec<_> = rows.iter().filter(|(k, _, _)| *k == key).collect();
        partition.sort_by_key(|(_, id, v)| (-v, *id));
        for (number, (k, id, v)) in partition.into_iter().take(limit).enumerate() {
            out.push(longs(&[*k, *id, *v, number as i64 + 1]));
        }
    }
    sorted(out)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A streaming Top-N's changelog, applied, equals sorting each partition of the final input
    /// and taking its first N: over a table that only grows, and over the changelog of a GROUP
    /// BY (whose updated rows leave and enter the top), at parallelism 1 to 4, on the heap and in
    /// RocksDB, however the input is cut into batches, and in batch mode.
    #[test]
    fn top_n_changelogs_equal_sorted_partitions(
        rows in proptest::collection::vec((0i64..3, 0i64..8, -10i64..10), 0..40),
        limit in 1usize..4,
        cuts in proptest::collection::vec(1usize..12, 1..4),
        aggregated in any::<bool>(),
        parallelism in 1usize..5,
        rocksdb in any::<bool>(),
        batch in any::<bool>(),
    ) {
        let t_env = if batch {
            let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
            t_env.stream_environment().set_parallelism(parallelism);
            t_env
        } else {
            streaming(parallelism, rocksdb)
        };
        let (input, final_rows) = if aggregated {
            let mut groups: Vec<(i64, i64, i64)> = Vec::new();
            for (k, id, v) in &rows {
                match groups.iter_mut().find(|(gk, gid, _)| gk == k && gid == id) {
                    Some(group) => group.2 += v,
                    None => groups.push((*k, *id, *v)),
                }
            }
            sales_in_batches(&t_env, &rows, &cuts);
            ("(SELECT k, id, SUM(v) AS v FROM sales GROUP BY k, id)", groups)
        } else {
            // Ids are unique in a table that only grows, so that the order is total.
            let unique: Vec<(i64, i64, i64)> =
                rows.iter().enumerate().map(|(i, (k, _, v))| (*k, i as i64, *v)).collect();
            sales_in_batches(&t_env, &unique, &cuts);
            ("sales", unique)
        };
        let sql = format!(
            "SELECT k, id, v, rn FROM (SELECT k, id, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC, id) AS rn \
             FROM {input}) WHERE rn <= {limit}"
        );
        let changelog = t_env.execute_sql(&sql).unwrap().collect().unwrap();
        prop_assert_eq!(apply(changelog), top_n_oracle(&final_rows, limit), "{}", sql);
    }
}
