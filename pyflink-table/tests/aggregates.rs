//! GROUP BY in streaming and batch mode: the changelog a streaming aggregate emits (+I, -U/+U,
//! -D), aggregates over changelogs, Flink's result types, and a property test that applies the
//! changelog and compares it with DataFusion's own batch execution of the same SQL.

mod common;

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use proptest::prelude::*;
use pyflink_core::table::{Row, Value};
use pyflink_core::{RocksDbOptions, StateBackendConfig, StreamExecutionEnvironment};
use pyflink_table::batch::{batch_to_rows, rows_to_batch, ChangeBatch};
use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
use pyflink_table::types::DataType;

use common::{apply, sorted};

fn column(name: &'static str, sql_type: &str) -> (&'static str, DataType) {
    (name, DataType::parse(sql_type).unwrap())
}

fn streaming(parallelism: usize) -> TableEnvironment {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    TableEnvironment::from_stream_environment(&env)
}

/// The people of PyFlink's basic_operations example, with their telephone numbers.
fn people(t_env: &TableEnvironment) {
    let person = |id: i64, name: &str, tel: i64, country: &str| {
        Row::of(vec![Value::BigInt(id), Value::String(name.into()), Value::BigInt(tel), Value::String(country.into())])
    };
    let rows = vec![
        person(1, "Flink", 123, "Germany"),
        person(2, "hello", 135, "China"),
        person(3, "world", 124, "USA"),
        person(4, "PyFlink", 32, "China"),
    ];
    let columns =
        [column("id", "BIGINT"), column("name", "STRING"), column("tel", "BIGINT"), column("country", "STRING")];
    let table = t_env.from_elements(rows, &columns).unwrap();
    t_env.create_temporary_view("people", &table).unwrap();
}

fn printed(t_env: &TableEnvironment, sql: &str) -> String {
    let mut out = Vec::new();
    t_env.execute_sql(sql).unwrap().print_to(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn a_streaming_group_by_emits_each_change_of_a_result_as_an_update() {
    let t_env = streaming(1);
    people(&t_env);
    let text = printed(&t_env, "SELECT country, COUNT(id) AS cnt, MAX(tel) AS top FROM people GROUP BY country");
    let expected = "\
+----+--------------------------------+----------------------+----------------------+
| op |                        country |                  cnt |                  top |
+----+--------------------------------+----------------------+----------------------+
| +I |                        Germany |                    1 |                  123 |
| +I |                          China |                    1 |                  135 |
| +I |                            USA |                    1 |                  124 |
| -U |                          China |                    1 |                  135 |
| +U |                          China |                    2 |                  135 |
+----+--------------------------------+----------------------+----------------------+
5 rows in set
";
    assert_eq!(text, expected);
}

#[test]
fn an_aggregate_over_an_aggregate_takes_back_what_the_inner_one_updates() {
    let t_env = streaming(1);
    let words: Vec<Row> = ["a", "b", "a"].iter().map(|w| Row::of(vec![Value::String(w.to_string())])).collect();
    let table = t_env.from_elements(words, &[column("word", "STRING")]).unwrap();
    t_env.create_temporary_view("words", &table).unwrap();
    let sql = "SELECT cnt, COUNT(*) AS freq FROM (SELECT word, COUNT(*) AS cnt FROM words GROUP BY word) GROUP BY cnt";
    let changes: Vec<String> = t_env.execute_sql(sql).unwrap().collect().unwrap().iter().map(Row::to_string).collect();
    // (a,1) then (b,1) make two words counted once; a's second count takes it from 1 to 2.
    assert_eq!(changes, vec!["+I[1, 1]", "-U[1, 1]", "+U[1, 2]", "-U[1, 2]", "+U[1, 1]", "+I[2, 1]"]);
}

#[test]
fn a_group_whose_last_row_is_taken_back_is_deleted() {
    let t_env = streaming(2);
    let words: Vec<Row> = ["a", "b", "a"].iter().map(|w| Row::of(vec![Value::String(w.to_string())])).collect();
    let table = t_env.from_elements(words, &[column("word", "STRING")]).unwrap();
    t_env.create_temporary_view("words", &table).unwrap();
    // The number of words counted exactly once: b stays, a leaves that group.
    let sql = "SELECT word, cnt FROM (SELECT cnt, MIN(word) AS word FROM (SELECT word, COUNT(*) AS cnt FROM words GROUP BY word) GROUP BY cnt) WHERE cnt = 2";
    let changes: Vec<String> = t_env.execute_sql(sql).unwrap().collect().unwrap().iter().map(Row::to_string).collect();
    assert_eq!(changes, vec!["+I[a, 2]"]);
    let sql = "SELECT cnt, MIN(word) AS word FROM (SELECT word, COUNT(*) AS cnt FROM words GROUP BY word) GROUP BY cnt";
    let applied = apply(t_env.execute_sql(sql).unwrap().collect().unwrap());
    assert_eq!(
        applied,
        vec![vec![Value::BigInt(1), Value::String("b".into())], vec![Value::BigInt(2), Value::String("a".into())]]
    );
    let text = printed(
        &t_env,
        "SELECT SUM(cnt) AS total FROM (SELECT word, COUNT(*) AS cnt FROM words WHERE word = 'b' GROUP BY word)",
    );
    assert!(text.ends_with("1 row in set\n"), "{text}");
}

#[test]
fn batch_mode_prints_final_results_and_sums_keep_their_type() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    let rows: Vec<Row> =
        [(1, 10), (1, 11), (2, 5)].iter().map(|(k, v)| Row::of(vec![Value::Int(*k), Value::Int(*v)])).collect();
    let table = t_env.from_elements(rows, &[column("k", "INT"), column("v", "INT")]).unwrap();
    t_env.create_temporary_view("t", &table).unwrap();
    let result = t_env.execute_sql("SELECT k, SUM(v) AS s, AVG(v) AS a FROM t GROUP BY k").unwrap();
    let types: Vec<String> = result.columns().iter().map(|(_, t)| t.to_string()).collect();
    assert_eq!(types, vec!["INT", "INT", "INT"]);
    let applied = apply(result.collect().unwrap());
    assert_eq!(
        applied,
        vec![vec![Value::Int(1), Value::Int(21), Value::Int(10)], vec![Value::Int(2), Value::Int(5), Value::Int(5)]]
    );
    // A global aggregate over nothing still has its one row in batch mode.
    let text = printed(&t_env, "SELECT COUNT(*) AS n, SUM(v) AS s FROM t WHERE v > 100");
    let expected = "\
+----------------------+-------------+
|                    n |           s |
+----------------------+-------------+
|                    0 |      <NULL> |
+----------------------+-------------+
1 row in set
";
    assert_eq!(text, expected);
}

#[test]
fn aggregates_that_do_not_run_yet_are_refused_by_name() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    people(&t_env);
    let error = t_env.execute_sql("SELECT country, STDDEV(tel) FROM people GROUP BY country").unwrap_err();
    assert_eq!(
        error.to_string(),
        "not supported yet: the aggregate function STDDEV (so far COUNT, SUM, AVG, MIN and MAX run)"
    );
    let error = t_env.execute_sql("SELECT SUM(name) FROM people").unwrap_err().to_string();
    assert!(error.contains("Cannot apply 'SUM' to arguments of type 'STRING'"), "{error}");
}

/// What DataFusion's own batch execution gives for `sql` over the table `t` of `batches`.
fn datafusion_result(schema: &SchemaRef, batches: &[RecordBatch], sql: &str) -> Vec<Vec<Value>> {
    let context = SessionContext::new();
    let table = MemTable::try_new(Arc::clone(schema), vec![batches.to_vec()]).unwrap();
    context.register_table("t", Arc::new(table)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let results = runtime.block_on(async { context.sql(sql).await?.collect().await }).unwrap();
    let rows = results.into_iter().flat_map(|batch| batch_to_rows(&ChangeBatch::inserts(batch)).unwrap());
    sorted(rows.map(|row| row.fields).collect())
}

/// Queries whose streaming changelog, applied, must equal DataFusion's batch result.
const QUERIES: &[&str] = &[
    "SELECT k, COUNT(*) AS c, COUNT(v) AS cv, SUM(v) AS s, MIN(v) AS lo, MAX(v) AS hi, AVG(d) AS a, \
     COUNT(DISTINCT v) AS dv, MAX(k) AS mk FROM t GROUP BY k",
    // An aggregate over a changelog: the inner counts change, and the outer takes them back.
    "SELECT c, COUNT(*) AS n, SUM(s) AS total, MIN(s) AS lo, MAX(lo) AS hi, COUNT(DISTINCT lo) AS dl \
     FROM (SELECT k, COUNT(*) AS c, SUM(v) AS s, MIN(v) AS lo FROM t GROUP BY k) GROUP BY c",
    "SELECT v % 3 AS m, k, COUNT(*) AS c, SUM(d) AS sd FROM t WHERE v IS NOT NULL GROUP BY v % 3, k",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// A streaming GROUP BY's changelog, applied, equals DataFusion's batch result of the same
    /// SQL over the same rows, at parallelism 1 to 4, on the heap and in RocksDB, however the
    /// rows are cut into batches.
    #[test]
    fn streaming_group_by_changelogs_equal_datafusion_batch_results(
        values in proptest::collection::vec((0usize..5, proptest::option::of(-20i64..20), -8i32..8), 1..120),
        cuts in proptest::collection::vec(1usize..40, 1..6),
        parallelism in 1usize..5,
        rocksdb in any::<bool>(),
    ) {
        let keys = ["a", "b", "c", "d", "e"];
        let rows: Vec<Row> = values
            .iter()
            .map(|(k, v, d)| {
                let v = v.map_or(Value::Null, Value::BigInt);
                Row::of(vec![Value::String(keys[*k].into()), v, Value::Double(f64::from(*d) / 2.0)])
            })
            .collect();
        let columns = [column("k", "STRING"), column("v", "BIGINT"), column("d", "DOUBLE")];
        let schema: SchemaRef = Arc::new(datafusion::arrow::datatypes::Schema::new(
            columns.iter().map(|(name, data_type)| data_type.to_arrow_field(name)).collect::<Vec<_>>(),
        ));
        let mut batches = Vec::new();
        let mut rest = rows.as_slice();
        for cut in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (batch, tail) = rest.split_at((*cut).min(rest.len()));
            batches.push(rows_to_batch(batch, &schema).unwrap());
            rest = tail;
        }
        for sql in QUERIES {
            let env = StreamExecutionEnvironment::get_execution_environment();
            env.set_parallelism(parallelism);
            if rocksdb {
                env.set_state_backend(StateBackendConfig::RocksDb(RocksDbOptions::default()));
            }
            let t_env = TableEnvironment::from_stream_environment(&env);
            let table = t_env.from_arrow(Arc::clone(&schema), batches.clone()).unwrap();
            t_env.create_temporary_view("t", &table).unwrap();
            let changelog = t_env.execute_sql(sql).unwrap().collect().unwrap();
            prop_assert_eq!(apply(changelog), datafusion_result(&schema, &batches, sql), "{}", sql);
        }
    }
}
