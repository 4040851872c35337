//! Aggregate functions of the user's in SQL and the Table API: a GROUP BY over inserted and
//! retracted rows (heap and RocksDB state, where accumulators live as the function's bytes),
//! changes emitted once per group and batch, `aggregate` of a row-valued function, and
//! `flat_aggregate` of a table aggregate; a property test against a loop over the rows.

mod common;

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListArray, StructArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType as ArrowType, Field, Fields, Int64Type, Schema};
use datafusion::common::ScalarValue;
use pyflink_core::table::{Row, Value};
use pyflink_core::{RocksDbOptions, StateBackendConfig, StreamExecutionEnvironment};
use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
use pyflink_table::expressions::{call, col};
use pyflink_table::types::DataType;
use pyflink_table::{AccumulatorObject, TableError, UserAggregateFunction};

use common::{apply, cut_into_batches, sorted};

use proptest::prelude::*;

/// An accumulator of numbers: their sum and count, or the greatest two.
#[derive(Debug, Default)]
struct Numbers(Mutex<Vec<i64>>);

impl AccumulatorObject for Numbers {
    fn to_bytes(&self) -> pyflink_table::Result<Vec<u8>> {
        Ok(self.0.lock().unwrap().iter().flat_map(|n| n.to_le_bytes()).collect())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn restore(bytes: &[u8]) -> Arc<dyn AccumulatorObject> {
    let numbers = bytes.chunks(8).map(|chunk| i64::from_le_bytes(chunk.try_into().unwrap())).collect();
    Arc::new(Numbers(Mutex::new(numbers)))
}

fn numbers(accumulator: &dyn AccumulatorObject) -> &Mutex<Vec<i64>> {
    &accumulator.as_any().downcast_ref::<Numbers>().expect("an accumulator of this function").0
}

/// `sum_count(x)`: the ROW (s, c) of the sum and count of the non-null x; with `fail_on`, it
/// fails when it sees that number.
#[derive(Debug)]
struct SumCount {
    result: ArrowType,
    fail_on: Option<i64>,
}

impl SumCount {
    fn new(fail_on: Option<i64>) -> Arc<Self> {
        let fields =
            Fields::from(vec![Field::new("s", ArrowType::Int64, true), Field::new("c", ArrowType::Int64, true)]);
        Arc::new(SumCount { result: ArrowType::Struct(fields), fail_on })
    }

    fn add(
        &self,
        accumulator: &dyn AccumulatorObject,
        arguments: &[ArrayRef],
        row: usize,
        sign: i64,
    ) -> pyflink_table::Result<()> {
        let x = arguments[0].as_primitive::<Int64Type>();
        if x.is_null(row) {
            return Ok(());
        }
        if Some(x.value(row)) == self.fail_on {
            return Err(TableError::Execution(format!("sum_count does not take {}", x.value(row))));
        }
        let mut held = numbers(accumulator).lock().unwrap();
        held[0] += sign * x.value(row);
        held[1] += sign;
        Ok(())
    }
}

impl UserAggregateFunction for SumCount {
    fn name(&self) -> &str {
        "sum_count"
    }

    fn result_type(&self) -> &ArrowType {
        &self.result
    }

    fn create_accumulator(&self) -> pyflink_table::Result<Arc<dyn AccumulatorObject>> {
        Ok(Arc::new(Numbers(Mutex::new(vec![0, 0]))))
    }

    fn restore_accumulator(&self, bytes: &[u8]) -> pyflink_table::Result<Arc<dyn AccumulatorObject>> {
        Ok(restore(bytes))
    }

    fn accumulate(
        &self,
        accumulator: &dyn AccumulatorObject,
        arguments: &[ArrayRef],
        row: usize,
    ) -> pyflink_table::Result<()> {
        self.add(accumulator, arguments, row, 1)
    }

    fn retract(
        &self,
        accumulator: &dyn AccumulatorObject,
        arguments: &[ArrayRef],
        row: usize,
    ) -> pyflink_table::Result<()> {
        self.add(accumulator, arguments, row, -1)
    }

    fn merge(&self, accumulator: &dyn AccumulatorObject, other: &dyn AccumulatorObject) -> pyflink_table::Result<()> {
        let other = numbers(other).lock().unwrap().clone();
        let mut held = numbers(accumulator).lock().unwrap();
        held[0] += other[0];
        held[1] += other[1];
        Ok(())
    }

    fn get_value(&self, accumulator: &dyn AccumulatorObject) -> pyflink_table::Result<ScalarValue> {
        let held = numbers(accumulator).lock().unwrap();
        let ArrowType::Struct(fields) = &self.result else { unreachable!() };
        let columns: Vec<ArrayRef> =
            vec![Arc::new(Int64Array::from(vec![held[0]])), Arc::new(Int64Array::from(vec![held[1]]))];
        Ok(ScalarValue::Struct(Arc::new(StructArray::new(fields.clone(), columns, None))))
    }
}

/// `top2(x)`, a table aggregate: the rows (v) of the greatest two x, greatest first.
#[derive(Debug)]
struct Top2 {
    item: Arc<Field>,
    result: ArrowType,
}

impl Top2 {
    fn new() -> Arc<Self> {
        let item = Arc::new(Field::new(
            "item",
            ArrowType::Struct(Fields::from(vec![Field::new("v", ArrowType::Int64, true)])),
            true,
        ));
        Arc::new(Top2 { result: ArrowType::List(Arc::clone(&item)), item })
    }
}

impl UserAggregateFunction for Top2 {
    fn name(&self) -> &str {
        "top2"
    }

    fn result_type(&self) -> &ArrowType {
        &self.result
    }

    fn create_accumulator(&self) -> pyflink_table::Result<Arc<dyn AccumulatorObject>> {
        Ok(Arc::new(Numbers::default()))
    }

    fn restore_accumulator(&self, bytes: &[u8]) -> pyflink_table::Result<Arc<dyn AccumulatorObject>> {
        Ok(restore(bytes))
    }

    fn accumulate(
        &self,
        accumulator: &dyn AccumulatorObject,
        arguments: &[ArrayRef],
        row: usize,
    ) -> pyflink_table::Result<()> {
        let x = arguments[0].as_primitive::<Int64Type>().value(row);
        let mut held = numbers(accumulator).lock().unwrap();
        held.push(x);
        held.sort_unstable_by(|a, b| b.cmp(a));
        held.truncate(2);
        Ok(())
    }

    fn retract(&self, _: &dyn AccumulatorObject, _: &[ArrayRef], _: usize) -> pyflink_table::Result<()> {
        Err(TableError::Unsupported("top2 takes no retractions".into()))
    }

    fn merge(&self, _: &dyn AccumulatorObject, _: &dyn AccumulatorObject) -> pyflink_table::Result<()> {
        Err(TableError::Unsupported("top2 does not merge".into()))
    }

    fn get_value(&self, accumulator: &dyn AccumulatorObject) -> pyflink_table::Result<ScalarValue> {
        let held = numbers(accumulator).lock().unwrap().clone();
        let ArrowType::Struct(fields) = self.item.data_type() else { unreachable!() };
        let rows = StructArray::new(fields.clone(), vec![Arc::new(Int64Array::from(held.clone()))], None);
        let list =
            ListArray::new(Arc::clone(&self.item), OffsetBuffer::from_lengths([held.len()]), Arc::new(rows), None);
        Ok(ScalarValue::List(Arc::new(list)))
    }
}

/// The view `events(k, x)` of `rows`, arriving in batches cut after `cuts` rows in turn.
fn events(t_env: &TableEnvironment, rows: &[(i64, Option<i64>)], cuts: &[usize]) {
    let rows: Vec<Row> =
        rows.iter().map(|(k, x)| Row::of(vec![Value::BigInt(*k), x.map_or(Value::Null, Value::BigInt)])).collect();
    let bigint = DataType::parse("BIGINT").unwrap();
    let schema = Arc::new(Schema::new(vec![bigint.to_arrow_field("k"), bigint.to_arrow_field("x")]));
    let table = t_env.from_arrow(Arc::clone(&schema), cut_into_batches(&rows, &schema, cuts)).unwrap();
    t_env.create_temporary_view("events", &table).unwrap();
}

fn streaming(parallelism: usize, rocksdb: bool) -> TableEnvironment {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    if rocksdb {
        env.set_state_backend(StateBackendConfig::RocksDb(RocksDbOptions::default()));
    }
    let t_env = TableEnvironment::from_stream_environment(&env);
    t_env.create_temporary_system_aggregate_function(SumCount::new(None));
    t_env.create_temporary_system_table_aggregate_function(Top2::new()).unwrap();
    t_env
}

fn strings(rows: Vec<Row>) -> Vec<String> {
    rows.iter().map(ToString::to_string).collect()
}

#[test]
fn a_group_by_emits_each_groups_change_once_per_batch() {
    let t_env = streaming(1, false);
    events(&t_env, &[(1, Some(5)), (1, Some(7)), (2, None), (1, Some(1))], &[3, 1]);
    let sql = "SELECT k, get_field(sum_count(x), 's') AS s, get_field(sum_count(x), 'c') AS c FROM events GROUP BY k";
    let changelog = strings(t_env.execute_sql(sql).unwrap().collect().unwrap());
    assert_eq!(changelog, ["+I[1, 12, 2]", "+I[2, 0, 0]", "-U[1, 12, 2]", "+U[1, 13, 3]"]);
}

#[test]
fn retracted_rows_are_taken_back_out_of_the_accumulators() {
    // The inner counts update, so the outer function gets each old count retracted.
    for rocksdb in [false, true] {
        let t_env = streaming(2, rocksdb);
        events(&t_env, &[(1, Some(0)), (2, Some(0)), (1, Some(0)), (3, Some(0)), (1, Some(0))], &[1]);
        let sql = "SELECT odd, get_field(sc, 's') AS s, get_field(sc, 'c') AS c FROM (SELECT k % 2 AS odd, \
                   sum_count(n) AS sc FROM (SELECT k, COUNT(*) AS n FROM events GROUP BY k) GROUP BY k % 2)";
        let changelog = t_env.execute_sql(sql).unwrap().collect().unwrap();
        let row = |odd: i64, s: i64, c: i64| vec![Value::BigInt(odd), Value::BigInt(s), Value::BigInt(c)];
        assert_eq!(apply(changelog), vec![row(0, 1, 1), row(1, 4, 2)], "rocksdb: {rocksdb}");
    }
}

#[test]
fn the_table_api_aggregates_into_columns_and_flat_aggregates_into_rows() {
    let t_env = streaming(1, false);
    events(&t_env, &[(1, Some(5)), (2, Some(3)), (1, Some(9)), (1, Some(7))], &[4]);
    let table = t_env.from_path("events").unwrap();
    let aggregated =
        table.group_by([col("k")]).aggregate(call("sum_count", [col("x")]).alias_all(["total", "n"])).unwrap();
    assert_eq!(aggregated.column_names(), ["k", "total", "n"]);
    assert_eq!(strings(aggregated.execute().unwrap().collect().unwrap()), ["+I[1, 21, 3]", "+I[2, 3, 1]"]);
    let top = table.group_by([col("k")]).flat_aggregate(call("top2", [col("x")])).unwrap();
    assert_eq!(top.column_names(), ["k", "v"]);
    assert_eq!(strings(top.execute().unwrap().collect().unwrap()), ["+I[1, 9]", "+I[1, 7]", "+I[2, 3]"]);
    let all = table.aggregate(call("sum_count", [col("x")])).unwrap();
    assert_eq!(strings(all.execute().unwrap().collect().unwrap()), ["+I[24, 4]"]);
    let error = table.group_by([col("k")]).flat_aggregate(call("sum_count", [col("x")])).err().unwrap().to_string();
    assert!(error.contains("flat_aggregate takes a call of a table aggregate function"), "{error}");
}

#[test]
fn a_table_aggregate_retracts_the_rows_a_group_gave_before() {
    let t_env = streaming(1, false);
    events(&t_env, &[(1, Some(5)), (1, Some(9)), (1, Some(7))], &[2, 1]);
    let top = t_env.from_path("events").unwrap().group_by([col("k")]).flat_aggregate(call("top2", [col("x")])).unwrap();
    let changelog = top.execute().unwrap().collect().unwrap();
    assert_eq!(strings(changelog.clone()), ["+I[1, 9]", "+I[1, 5]", "-U[1, 9]", "-U[1, 5]", "+U[1, 9]", "+U[1, 7]"]);
    assert_eq!(
        apply(changelog),
        vec![vec![Value::BigInt(1), Value::BigInt(7)], vec![Value::BigInt(1), Value::BigInt(9)]]
    );
}

#[test]
fn a_failing_function_fails_the_job_with_its_error() {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(1);
    let t_env = TableEnvironment::from_stream_environment(&env);
    t_env.create_temporary_system_aggregate_function(SumCount::new(Some(13)));
    events(&t_env, &[(1, Some(5)), (1, Some(13))], &[1]);
    let result = t_env.execute_sql("SELECT k, sum_count(x) AS sc FROM events GROUP BY k").unwrap();
    let error = result.collect().unwrap_err();
    assert!(error.to_string().contains("sum_count does not take 13"), "{error}");
}

#[test]
fn batch_mode_gives_each_groups_final_value() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    t_env.create_temporary_system_aggregate_function(SumCount::new(None));
    events(&t_env, &[(1, Some(5)), (2, Some(3)), (1, Some(9))], &[1]);
    let sql = "SELECT k, get_field(sum_count(x), 's') AS s FROM events GROUP BY k ORDER BY k";
    assert_eq!(strings(t_env.execute_sql(sql).unwrap().collect().unwrap()), ["+I[1, 14]", "+I[2, 3]"]);
}

/// What `SELECT k, sum_count(x) .. GROUP BY k` leaves: each key's sum and count of non-nulls.
fn oracle(rows: &[(i64, Option<i64>)]) -> Vec<Vec<Value>> {
    let mut groups: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for (k, x) in rows {
        let group = groups.entry(*k).or_default();
        if let Some(x) = x {
            group.0 += x;
            group.1 += 1;
        }
    }
    let rows = groups.into_iter().map(|(k, (s, c))| vec![Value::BigInt(k), Value::BigInt(s), Value::BigInt(c)]);
    sorted(rows.collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn a_user_aggregate_gives_what_a_loop_over_the_rows_gives(
        rows in prop::collection::vec((0i64..5, prop::option::weighted(0.8, -50i64..50)), 0..40),
        cuts in prop::collection::vec(1usize..8, 1..6),
        parallelism in 1usize..4,
        rocksdb in any::<bool>(),
    ) {
        let t_env = streaming(parallelism, rocksdb);
        events(&t_env, &rows, &cuts);
        let table = t_env.from_path("events").unwrap();
        let aggregated = table.group_by([col("k")]).aggregate(call("sum_count", [col("x")])).unwrap();
        prop_assert_eq!(apply(aggregated.execute().unwrap().collect().unwrap()), oracle(&rows));
    }
}

#[test]
fn functions_are_dropped_by_name_and_jvm_functions_are_refused() {
    let t_env = streaming(1, false);
    events(&t_env, &[(1, Some(5))], &[1]);
    t_env.execute_sql("DROP TEMPORARY SYSTEM FUNCTION sum_count").unwrap();
    let error = t_env.execute_sql("SELECT sum_count(x) FROM events").err().unwrap().to_string();
    assert!(error.contains("sum_count"), "{error}");
    t_env.execute_sql("DROP TEMPORARY FUNCTION top2").unwrap();
    let error = t_env.from_path("events").unwrap().flat_aggregate(call("top2", [col("x")])).err().unwrap().to_string();
    assert!(error.contains("table aggregate function"), "{error}");
    let error = t_env.execute_sql("DROP FUNCTION top2").err().unwrap().to_string();
    assert_eq!(error, "SQL validation failed: Temporary system function top2 doesn't exist");
    t_env.execute_sql("DROP FUNCTION IF EXISTS top2").unwrap();
    // Built-in functions are not the user's to drop.
    assert!(t_env.execute_sql("DROP FUNCTION abs").is_err());
    let error = t_env.execute_sql("CREATE FUNCTION f AS 'com.example.F' LANGUAGE JAVA").err().unwrap().to_string();
    assert!(error.contains("need a JVM"), "{error}");
}
