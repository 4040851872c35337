//! Regular joins in streaming and batch mode: inner, left, right and full outer joins, the semi
//! and anti joins of `EXISTS` / `IN` subqueries, joins of changelogs, and a property test that
//! applies a streaming join's changelog and compares it with a nested-loop join of the final
//! inputs.

mod common;

use pyflink_core::table::{Row, RowKind, Value};
use pyflink_core::{RocksDbOptions, StateBackendConfig, StreamExecutionEnvironment};
use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
use pyflink_table::types::DataType;

use common::{apply, cut_into_batches, sorted};

use proptest::prelude::*;

fn columns(names: &[&'static str]) -> Vec<(&'static str, DataType)> {
    names.iter().map(|name| (*name, DataType::parse("BIGINT").unwrap())).collect()
}

fn value(v: Option<i64>) -> Value {
    v.map_or(Value::Null, Value::BigInt)
}

/// Registers the view `name` of rows `(k, v)` with columns `names`, in one batch.
fn view(t_env: &TableEnvironment, name: &str, names: &[&'static str], rows: &[(Option<i64>, i64)]) {
    view_in_batches(t_env, name, names, rows, &[rows.len()]);
}

/// Registers the view `name` of rows `(k, v)` with columns `names`, cut into batches as `cuts`
/// says.
fn view_in_batches(
    t_env: &TableEnvironment,
    name: &str,
    names: &[&'static str],
    rows: &[(Option<i64>, i64)],
    cuts: &[usize],
) {
    let rows: Vec<Row> = rows.iter().map(|(k, v)| Row::of(vec![value(*k), Value::BigInt(*v)])).collect();
    let fields: Vec<_> = columns(names).iter().map(|(name, data_type)| data_type.to_arrow_field(name)).collect();
    let schema = std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new(fields));
    let table = t_env.from_arrow(std::sync::Arc::clone(&schema), cut_into_batches(&rows, &schema, cuts)).unwrap();
    t_env.create_temporary_view(name, &table).unwrap();
}

fn streaming(parallelism: usize, rocksdb: bool) -> TableEnvironment {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    if rocksdb {
        env.set_state_backend(StateBackendConfig::RocksDb(RocksDbOptions::default()));
    }
    TableEnvironment::from_stream_environment(&env)
}

fn orders_and_customers(t_env: &TableEnvironment) {
    // (customer, amount) and (id, region); customer 3 has no region, region 20 no orders, and
    // an order without a customer matches nothing.
    view(t_env, "orders", &["customer", "amount"], &[(Some(1), 10), (Some(1), 15), (Some(3), 7), (None, 5)]);
    view(t_env, "customers", &["id", "region"], &[(Some(1), 100), (Some(2), 200), (Some(1), 101)]);
}

fn row(values: &[Option<i64>]) -> Vec<Value> {
    values.iter().map(|v| value(*v)).collect()
}

#[test]
fn joins_in_batch_mode_print_their_final_rows() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    orders_and_customers(&t_env);
    let sql = "SELECT customer, amount, region FROM orders o LEFT JOIN customers c ON o.customer = c.id \
               WHERE amount > 6";
    let result = t_env.execute_sql(sql).unwrap();
    let rows = sorted(result.collect().unwrap().into_iter().map(|row| row.fields).collect());
    assert_eq!(
        rows,
        vec![
            row(&[Some(1), Some(10), Some(100)]),
            row(&[Some(1), Some(10), Some(101)]),
            row(&[Some(1), Some(15), Some(100)]),
            row(&[Some(1), Some(15), Some(101)]),
            row(&[Some(3), Some(7), None]),
        ]
    );
}

#[test]
fn outer_joins_in_streaming_mode_end_with_padded_rows_exactly_for_rows_without_a_match() {
    for parallelism in [1, 3] {
        let t_env = streaming(parallelism, false);
        orders_and_customers(&t_env);
        let sql = "SELECT customer, amount, id, region FROM orders FULL JOIN customers ON customer = id";
        let changelog = t_env.execute_sql(sql).unwrap().collect().unwrap();
        assert_eq!(
            apply(changelog),
            sorted(vec![
                row(&[None, None, Some(2), Some(200)]),
                row(&[None, Some(5), None, None]),
                row(&[Some(1), Some(10), Some(1), Some(100)]),
                row(&[Some(1), Some(10), Some(1), Some(101)]),
                row(&[Some(1), Some(15), Some(1), Some(100)]),
                row(&[Some(1), Some(15), Some(1), Some(101)]),
                row(&[Some(3), Some(7), None, None]),
            ])
        );
    }
}

#[test]
fn an_inner_join_of_insert_only_tables_emits_insertions_only() {
    let t_env = streaming(2, false);
    orders_and_customers(&t_env);
    let changelog = t_env
        .execute_sql("SELECT amount, region FROM orders JOIN customers ON customer = id AND region > 100")
        .unwrap()
        .collect()
        .unwrap();
    assert!(changelog.iter().all(|row| row.kind == RowKind::Insert), "{changelog:?}");
    assert_eq!(apply(changelog), vec![row(&[Some(10), Some(101)]), row(&[Some(15), Some(101)])]);
}

#[test]
fn a_join_with_an_aggregate_retracts_the_rows_of_results_the_aggregate_updates() {
    let t_env = streaming(1, false);
    orders_and_customers(&t_env);
    let sql = "SELECT id, region, total FROM customers \
               JOIN (SELECT customer, SUM(amount) AS total FROM orders GROUP BY customer) ON customer = id";
    let changelog = t_env.execute_sql(sql).unwrap().collect().unwrap();
    assert_eq!(apply(changelog), vec![row(&[Some(1), Some(100), Some(25)]), row(&[Some(1), Some(101), Some(25)])]);
}

#[test]
fn exists_and_in_subqueries_run_as_semi_and_anti_joins() {
    let t_env = streaming(2, false);
    orders_and_customers(&t_env);
    let ids = |sql: &str| apply(t_env.execute_sql(sql).unwrap().collect().unwrap());
    assert_eq!(
        ids("SELECT id, region FROM customers WHERE EXISTS (SELECT * FROM orders WHERE customer = id)"),
        vec![row(&[Some(1), Some(100)]), row(&[Some(1), Some(101)])]
    );
    assert_eq!(
        ids("SELECT id FROM customers WHERE NOT EXISTS (SELECT * FROM orders WHERE customer = id AND amount > 12)"),
        vec![row(&[Some(2)])]
    );
    assert_eq!(
        ids("SELECT amount FROM orders WHERE customer IN (SELECT id FROM customers)"),
        vec![row(&[Some(10)]), row(&[Some(15)])]
    );
}

#[test]
fn join_keys_of_different_types_are_compared_as_one_type() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    view(&t_env, "a", &["k", "v"], &[(Some(1), 1)]);
    let small = t_env
        .from_elements(
            vec![Row::of(vec![Value::Int(1), Value::Int(2)])],
            &[("k", DataType::parse("INT").unwrap()), ("w", DataType::parse("INT").unwrap())],
        )
        .unwrap();
    t_env.create_temporary_view("b", &small).unwrap();
    let rows = t_env.execute_sql("SELECT v, w FROM a JOIN b ON a.k = b.k").unwrap().collect().unwrap();
    assert_eq!(rows.iter().map(Row::to_string).collect::<Vec<_>>(), vec!["+I[1, 2]"]);
}

/// The kinds of join the property test runs.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Inner,
    Left,
    Right,
    Full,
    Semi,
    Anti,
}

/// The result of joining `left` (k, v) and `right` (k, w) in nested loops: rows match when
/// their keys are equal and not NULL, and, when `theta`, v < w.
fn nested_loop_join(
    kind: Kind,
    left: &[(Option<i64>, i64)],
    right: &[(Option<i64>, i64)],
    theta: bool,
) -> Vec<Vec<Value>> {
    let matches = |l: &(Option<i64>, i64), r: &(Option<i64>, i64)| l.0.is_some() && l.0 == r.0 && (!theta || l.1 < r.1);
    let mut out = Vec::new();
    for l in left {
        let partners: Vec<_> = right.iter().filter(|r| matches(l, r)).collect();
        match kind {
            Kind::Semi if !partners.is_empty() => out.push(row(&[l.0, Some(l.1)])),
            Kind::Anti if partners.is_empty() => out.push(row(&[l.0, Some(l.1)])),
            Kind::Semi | Kind::Anti => {}
            _ => {
                for r in &partners {
                    out.push(row(&[l.0, Some(l.1), r.0, Some(r.1)]));
                }
                if partners.is_empty() && matches!(kind, Kind::Left | Kind::Full) {
                    out.push(row(&[l.0, Some(l.1), None, None]));
                }
            }
        }
    }
    if matches!(kind, Kind::Right | Kind::Full) {
        for r in right.iter().filter(|r| !left.iter().any(|l| matches(l, r))) {
            out.push(row(&[None, None, r.0, Some(r.1)]));
        }
    }
    sorted(out)
}

/// `rows` grouped by key, with `aggregate` of each group's values: what a GROUP BY leaves.
fn grouped(rows: &[(Option<i64>, i64)], aggregate: fn(&[i64]) -> i64) -> Vec<(Option<i64>, i64)> {
    let mut keys: Vec<Option<i64>> = rows.iter().map(|(k, _)| *k).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|key| {
            let values: Vec<i64> = rows.iter().filter(|(k, _)| *k == key).map(|(_, v)| *v).collect();
            (key, aggregate(&values))
        })
        .collect()
}

fn rows_strategy() -> impl Strategy<Value = Vec<(Option<i64>, i64)>> {
    proptest::collection::vec((proptest::option::weighted(0.9, 0i64..4), -4i64..5), 0..25)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A streaming join's changelog, applied, equals the nested-loop join of its inputs' final
    /// rows: for every kind of join, with and without a condition beyond the keys, over
    /// inputs that are themselves changelogs of GROUP BYs (so rows of both sides are
    /// retracted), cut into batches, at parallelism 1 to 4, on the heap and in RocksDB; and a batch join's rows
    /// equal it too.
    #[test]
    fn streaming_joins_equal_a_nested_loop_join_of_the_final_inputs(
        left in rows_strategy(),
        right in rows_strategy(),
        kind in prop_oneof![
            Just(Kind::Inner), Just(Kind::Left), Just(Kind::Right), Just(Kind::Full), Just(Kind::Semi), Just(Kind::Anti)
        ],
        theta in any::<bool>(),
        cuts in proptest::collection::vec(1usize..10, 1..4),
        aggregate_left in any::<bool>(),
        aggregate_right in any::<bool>(),
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
        view_in_batches(&t_env, "l_rows", &["k", "v"], &left, &cuts);
        view_in_batches(&t_env, "r_rows", &["k", "w"], &right, &cuts);
        let (left_table, left_final) = if aggregate_left {
            ("(SELECT k, SUM(v) AS v FROM l_rows GROUP BY k)", grouped(&left, |v| v.iter().sum()))
        } else {
            ("l_rows", left.clone())
        };
        let (right_table, right_final) = if aggregate_right {
            ("(SELECT k, COUNT(*) AS w FROM r_rows GROUP BY k)", grouped(&right, |w| w.len() as i64))
        } else {
            ("r_rows", right.clone())
        };
        let condition = if theta { "l.k = r.k AND l.v < r.w" } else { "l.k = r.k" };
        let sql = match kind {
            Kind::Semi | Kind::Anti => format!(
                "SELECT l.k, l.v FROM {left_table} l WHERE {} EXISTS (SELECT * FROM {right_table} r WHERE {condition})",
                if matches!(kind, Kind::Anti) { "NOT" } else { "" }
            ),
            _ => {
                let join = match kind {
                    Kind::Left => "LEFT",
                    Kind::Right => "RIGHT",
                    Kind::Full => "FULL",
                    _ => "INNER",
                };
                format!(
                    "SELECT l.k AS lk, l.v AS lv, r.k AS rk, r.w AS rw FROM {left_table} l {join} JOIN {right_table} r \
                     ON {condition}"
                )
            }
        };
        let changelog = t_env.execute_sql(&sql).unwrap().collect().unwrap();
        prop_assert_eq!(apply(changelog), nested_loop_join(kind, &left_final, &right_final, theta), "{}", sql);
    }
}
