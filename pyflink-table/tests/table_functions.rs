//! Table functions (`LATERAL TABLE(f(..))`) in SQL and the Table API (`flat_map`,
//! `join_lateral`, `left_outer_join_lateral`, and `map` of scalar functions): cross and left
//! joins of each row with the rows its call gives, filters on those rows, a GROUP BY over them
//! in streaming mode, and a property test against a loop over the input rows.

mod common;

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Int64Array, ListArray, StructArray};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType as ArrowType, Field, Fields, Int64Type, Schema};
use datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};
use pyflink_core::table::{Row, Value};
use pyflink_core::StreamExecutionEnvironment;
use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
use pyflink_table::expressions::{call, col, Expression};
use pyflink_table::types::DataType;

use common::{apply, cut_into_batches, sorted};

use proptest::prelude::*;

/// `count_to(n)`: the rows (1, 10), (2, 20), .., (n, 10 n); none for n <= 0, and a NULL list
/// (no rows either) for a NULL n.
fn register_count_to(t_env: &TableEnvironment) {
    let fields =
        Fields::from(vec![Field::new("i", ArrowType::Int64, true), Field::new("tens", ArrowType::Int64, true)]);
    let item = Arc::new(Field::new("item", ArrowType::Struct(fields.clone()), true));
    let result = ArrowType::List(Arc::clone(&item));
    let count_to = Arc::new(move |args: &[ColumnarValue]| {
        let n = args[0].to_array(1)?;
        let n = n.as_primitive::<Int64Type>();
        let lengths: Vec<usize> =
            (0..n.len()).map(|row| if n.is_null(row) { 0 } else { n.value(row).max(0) as usize }).collect();
        let i = Int64Array::from_iter_values(lengths.iter().flat_map(|&n| 1..=n as i64));
        let tens = Int64Array::from_iter_values(i.values().iter().map(|i| i * 10));
        let values = StructArray::new(fields.clone(), vec![Arc::new(i), Arc::new(tens)], None);
        let nulls = NullBuffer::from((0..n.len()).map(|row| n.is_valid(row)).collect::<Vec<_>>());
        let lists =
            ListArray::new(Arc::clone(&item), OffsetBuffer::from_lengths(lengths), Arc::new(values), Some(nulls));
        Ok(ColumnarValue::Array(Arc::new(lists)))
    });
    let function = create_udf("count_to", vec![ArrowType::Int64], result, Volatility::Immutable, count_to);
    t_env.create_temporary_system_table_function(function).unwrap();
}

fn numbers(t_env: &TableEnvironment, values: &[Option<i64>], cuts: &[usize]) {
    let rows: Vec<Row> = values
        .iter()
        .enumerate()
        .map(|(id, n)| Row::of(vec![Value::BigInt(id as i64), n.map_or(Value::Null, Value::BigInt)]))
        .collect();
    let bigint = DataType::parse("BIGINT").unwrap();
    let schema = Arc::new(Schema::new(vec![bigint.to_arrow_field("id"), bigint.to_arrow_field("n")]));
    let table = t_env.from_arrow(Arc::clone(&schema), cut_into_batches(&rows, &schema, cuts)).unwrap();
    t_env.create_temporary_view("numbers", &table).unwrap();
}

fn batch_env() -> TableEnvironment {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    register_count_to(&t_env);
    t_env
}

fn strings(rows: Vec<Row>) -> Vec<String> {
    rows.iter().map(ToString::to_string).collect()
}

#[test]
fn a_cross_join_pairs_each_row_with_the_rows_its_call_gives_in_order() {
    let t_env = batch_env();
    numbers(&t_env, &[Some(2), Some(0), None, Some(1)], &[4]);
    let comma = t_env.execute_sql("SELECT id, i, tens FROM numbers, LATERAL TABLE(count_to(n)) AS T(i, tens)").unwrap();
    assert_eq!(strings(comma.collect().unwrap()), ["+I[0, 1, 10]", "+I[0, 2, 20]", "+I[3, 1, 10]"]);
    // Without names the function's own column names are used; `n` itself is not selected, so
    // only the function reads it.
    let cross = t_env.execute_sql("SELECT id, tens FROM numbers CROSS JOIN LATERAL TABLE(count_to(n))").unwrap();
    assert_eq!(strings(cross.collect().unwrap()), ["+I[0, 10]", "+I[0, 20]", "+I[3, 10]"]);
}

#[test]
fn a_left_join_on_true_keeps_the_rows_without_any_padded_with_nulls() {
    let t_env = batch_env();
    numbers(&t_env, &[Some(2), Some(0), None], &[3]);
    let sql = "SELECT id, i FROM numbers LEFT JOIN LATERAL TABLE(count_to(n)) AS T(i, tens) ON TRUE";
    assert_eq!(
        strings(t_env.execute_sql(sql).unwrap().collect().unwrap()),
        ["+I[0, 1]", "+I[0, 2]", "+I[1, null]", "+I[2, null]"]
    );
    // The condition decides which of a row's function rows count; a row left with none is padded.
    let sql = "SELECT id, i FROM numbers LEFT JOIN LATERAL TABLE(count_to(n)) AS T(i, tens) ON i > 1";
    assert_eq!(strings(t_env.execute_sql(sql).unwrap().collect().unwrap()), ["+I[0, 2]", "+I[1, null]", "+I[2, null]"]);
}

#[test]
fn filters_and_expressions_apply_to_the_function_rows() {
    let t_env = batch_env();
    numbers(&t_env, &[Some(3), Some(2)], &[2]);
    let sql = "SELECT id, i * 100 + n AS x FROM numbers, LATERAL TABLE(count_to(n)) AS T(i, tens) WHERE tens >= 20 AND id = 0";
    assert_eq!(strings(t_env.execute_sql(sql).unwrap().collect().unwrap()), ["+I[0, 203]", "+I[0, 303]"]);
}

#[test]
fn a_scalar_function_in_lateral_table_is_refused_with_what_to_use() {
    let t_env = batch_env();
    numbers(&t_env, &[Some(1)], &[1]);
    let error = t_env.execute_sql("SELECT * FROM numbers, LATERAL TABLE(abs(n))").unwrap_err().to_string();
    assert!(error.contains("'abs' is not a table function"), "{error}");
}

#[test]
fn the_table_api_flat_maps_joins_laterally_and_maps() {
    let t_env = batch_env();
    numbers(&t_env, &[Some(2), Some(0)], &[2]);
    let table = t_env.from_path("numbers").unwrap();
    let flat = table.flat_map(call("count_to", [col("n")]).alias_all(["a", "b"])).unwrap();
    assert_eq!(flat.column_names(), ["a", "b"]);
    assert_eq!(strings(flat.execute().unwrap().collect().unwrap()), ["+I[1, 10]", "+I[2, 20]"]);
    let joined = table.join_lateral(call("count_to", [col("n")])).unwrap();
    assert_eq!(joined.column_names(), ["id", "n", "i", "tens"]);
    assert_eq!(joined.execute().unwrap().collect().unwrap().len(), 2);
    let left = table.left_outer_join_lateral(call("count_to", [col("n")]).alias_all(["i", "t"]), None).unwrap();
    assert_eq!(
        strings(left.execute().unwrap().collect().unwrap()),
        ["+I[0, 2, 1, 10]", "+I[0, 2, 2, 20]", "+I[1, 0, null, null]"]
    );
    let mapped = table.map(Expression::of_sql("named_struct('twice', n * 2, 'id', id)")).unwrap();
    assert_eq!(mapped.column_names(), ["twice", "id"]);
    assert_eq!(strings(mapped.execute().unwrap().collect().unwrap()), ["+I[4, 0]", "+I[0, 1]"]);
    let single = table.map(Expression::of_sql("n + 1")).unwrap();
    assert_eq!(single.column_names(), ["f0"]);
}

#[test]
fn a_group_by_over_function_rows_updates_its_counts_in_streaming_mode() {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(2);
    let t_env = TableEnvironment::from_stream_environment(&env);
    register_count_to(&t_env);
    numbers(&t_env, &[Some(2), Some(3), Some(1)], &[1, 1, 1]);
    let sql = "SELECT i, COUNT(*) AS c FROM numbers, LATERAL TABLE(count_to(n)) AS T(i, tens) GROUP BY i";
    let changelog = t_env.execute_sql(sql).unwrap().collect().unwrap();
    let big = |v: i64| Value::BigInt(v);
    assert_eq!(apply(changelog), vec![vec![big(1), big(3)], vec![big(2), big(2)], vec![big(3), big(1)]]);
}

/// What `SELECT id, i FROM numbers LEFT JOIN LATERAL TABLE(count_to(n)) .. ON TRUE` gives,
/// row by row.
fn oracle(values: &[Option<i64>]) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for (id, n) in values.iter().enumerate() {
        let count = n.unwrap_or(0).max(0);
        if count == 0 {
            rows.push(vec![Value::BigInt(id as i64), Value::Null]);
        }
        for i in 1..=count {
            rows.push(vec![Value::BigInt(id as i64), Value::BigInt(i)]);
        }
    }
    sorted(rows)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn a_left_lateral_join_gives_what_a_loop_over_the_rows_gives(
        values in prop::collection::vec(prop::option::weighted(0.8, -1i64..4), 0..40),
        cuts in prop::collection::vec(1usize..8, 1..6),
        parallelism in 1usize..4,
    ) {
        let env = StreamExecutionEnvironment::get_execution_environment();
        env.set_parallelism(parallelism);
        let t_env = TableEnvironment::from_stream_environment(&env);
        register_count_to(&t_env);
        numbers(&t_env, &values, &cuts);
        let sql = "SELECT id, i FROM numbers LEFT JOIN LATERAL TABLE(count_to(n)) AS T(i, tens) ON TRUE";
        let changelog = t_env.execute_sql(sql).unwrap().collect().unwrap();
        prop_assert_eq!(apply(changelog), oracle(&values));
    }
}
