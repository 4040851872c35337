//! SQL queries over tables of given rows, run as jobs: projections, filters and built-in
//! functions, Flink's tableau output in batch and streaming mode, and the errors of bad SQL.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use pyflink_core::table::{Row, Value};
use pyflink_core::StreamExecutionEnvironment;
use pyflink_table::environment::{EnvironmentSettings, Table, TableEnvironment};
use pyflink_table::result::ResultPrinter;
use pyflink_table::types::DataType;
use pyflink_table::TableError;

fn orders(t_env: &TableEnvironment) -> Table {
    let rows = vec![
        Row::of(vec![Value::BigInt(1), Value::String("apple".into()), Value::Double(1.5), Value::Int(3)]),
        Row::of(vec![Value::BigInt(2), Value::String("pear".into()), Value::Double(0.25), Value::Null]),
        Row::of(vec![Value::BigInt(3), Value::Null, Value::Double(12.0), Value::Int(7)]),
    ];
    let columns = [
        ("id", DataType::parse("BIGINT").unwrap()),
        ("product", DataType::parse("STRING").unwrap()),
        ("price", DataType::parse("DOUBLE").unwrap()),
        ("amount", DataType::parse("INT").unwrap()),
    ];
    t_env.from_elements(rows, &columns).unwrap()
}

fn printed(t_env: &TableEnvironment, sql: &str) -> String {
    let mut out = Vec::new();
    t_env.execute_sql(sql).unwrap().print_to(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn a_batch_query_prints_its_rows_in_a_box() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    t_env.create_temporary_view("Orders", &orders(&t_env)).unwrap();
    let text = printed(&t_env, "SELECT id, upper(product) AS product, price * 2 AS twice FROM Orders WHERE id > 1");
    let expected = "\
+----------------------+--------------------------------+--------------------------------+
|                   id |                        product |                          twice |
+----------------------+--------------------------------+--------------------------------+
|                    2 |                           PEAR |                            0.5 |
|                    3 |                         <NULL> |                           24.0 |
+----------------------+--------------------------------+--------------------------------+
2 rows in set
";
    assert_eq!(text, expected);
}

#[test]
fn a_streaming_query_prints_the_change_kind_of_each_row() {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(2);
    let t_env = TableEnvironment::from_stream_environment(&env);
    t_env.create_temporary_view("Orders", &orders(&t_env)).unwrap();
    let text = printed(&t_env, "SELECT amount, product IS NULL AS missing FROM Orders");
    let expected = "\
+----+-------------+---------+
| op |      amount | missing |
+----+-------------+---------+
| +I |           3 |   FALSE |
| +I |      <NULL> |   FALSE |
| +I |           7 |    TRUE |
+----+-------------+---------+
3 rows in set
";
    assert_eq!(text, expected);
}

#[test]
fn a_query_that_selects_nothing_prints_an_empty_set() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    t_env.create_temporary_view("Orders", &orders(&t_env)).unwrap();
    assert_eq!(printed(&t_env, "SELECT id FROM Orders WHERE price > 100"), "Empty set\n");
}

#[test]
fn views_of_queries_can_be_queried_and_names_keep_their_case() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    t_env.create_temporary_view("Orders", &orders(&t_env)).unwrap();
    let cheap = t_env.sql_query("SELECT id, price FROM Orders WHERE price < 10").unwrap();
    t_env.create_temporary_view("Cheap", &cheap).unwrap();
    let rows = t_env.execute_sql("SELECT id FROM Cheap WHERE id <> 1").unwrap().collect().unwrap();
    assert_eq!(rows.iter().map(|r| r.fields.clone()).collect::<Vec<_>>(), vec![vec![Value::BigInt(2)]]);
    assert_eq!(t_env.list_tables(), vec!["Cheap".to_string(), "Orders".to_string()]);
    let schema = cheap.get_schema().unwrap();
    assert_eq!(schema[1].1.to_string(), "DOUBLE");
    let error = t_env.execute_sql("SELECT id FROM orders").unwrap_err();
    assert!(matches!(error, TableError::Validation(_)), "{error}");
    assert!(error.to_string().contains("orders"), "{error}");
    let taken = t_env.create_temporary_view("Cheap", &cheap).unwrap_err();
    assert_eq!(taken.to_string(), "Temporary table 'Cheap' already exists");
}

#[test]
fn bad_sql_says_what_is_wrong_and_where() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    t_env.create_temporary_view("Orders", &orders(&t_env)).unwrap();
    let error = |sql: &str| t_env.execute_sql(sql).unwrap_err().to_string();
    let unknown_column = error("SELECT colour FROM Orders");
    assert!(unknown_column.contains("colour"), "{unknown_column}");
    let unknown_table = error("SELECT id FROM Shipments");
    assert!(unknown_table.contains("Shipments"), "{unknown_table}");
    let syntax = error("SELECT id FORM Orders");
    assert!(syntax.starts_with("SQL validation failed: "), "{syntax}");
    assert!(syntax.contains("Line: 1, Column"), "{syntax}");
    let mismatch = error("SELECT id FROM Orders WHERE product > ARRAY[1]");
    assert!(mismatch.starts_with("SQL validation failed: "), "{mismatch}");
    assert!(error("SELECT 1; SELECT 2").contains("only one statement"));
    let not_in = error("SELECT id FROM Orders WHERE id NOT IN (SELECT id FROM Orders WHERE id > 1)");
    assert_eq!(
        not_in,
        "not supported yet: NOT IN over a subquery whose column may be NULL (write NOT EXISTS) in queries"
    );
}

#[test]
fn decimals_dates_bytes_arrays_maps_and_rows_print_as_flink_casts_them_to_strings() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    let sql = "SELECT CAST('21.5' AS DECIMAL(10, 2)) AS d, DATE '2024-02-28' AS day, X'cafe' AS raw, \
               ARRAY[1, NULL] AS xs, named_struct('a', 1, 'b', 'x') AS r, MAP['k', 1] AS m";
    let text = printed(&t_env, sql);
    let cells: Vec<&str> = text.lines().nth(3).unwrap().split('|').map(str::trim).collect();
    assert_eq!(cells, ["", "21.50", "2024-02-28", "x'cafe'", "[1, NULL]", "(1, x)", "{k=1}", ""], "{text}");
}

/// `MAP[...]` of constant keys and values from columns (a map per row), `CAST(... AS BYTES)`,
/// and `TO_TIMESTAMP_LTZ` of seconds and of milliseconds, as Flink writes them.
#[test]
fn maps_of_column_values_binary_casts_and_epoch_timestamps() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    let sql = "SELECT MAP['n', n, 'twice', n * 2] AS m, CAST(CAST(n AS STRING) AS BYTES) AS b, \
               TO_TIMESTAMP_LTZ(n, 0) AS s, TO_TIMESTAMP_LTZ(n * 1000 + 5, 3) AS ms \
               FROM (VALUES (1), (2)) AS t(n) ORDER BY n";
    let text = printed(&t_env, sql);
    let rows: Vec<Vec<&str>> =
        text.lines().skip(3).take(2).map(|line| line.split('|').map(str::trim).collect()).collect();
    assert_eq!(
        rows,
        [
            ["", "{n=1, twice=2}", "x'31'", "1970-01-01 00:00:01.000", "1970-01-01 00:00:01.005", ""],
            ["", "{n=2, twice=4}", "x'32'", "1970-01-01 00:00:02.000", "1970-01-01 00:00:02.005", ""],
        ],
        "{text}"
    );
    let error = t_env.execute_sql("SELECT TO_TIMESTAMP_LTZ(1, 6)").and_then(|r| r.collect()).unwrap_err();
    assert!(error.to_string().contains("use 0 (seconds) or 3 (milliseconds)"), "{error}");
}

#[test]
fn a_value_that_cannot_be_computed_fails_the_query_with_the_reason() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    t_env.create_temporary_view("Orders", &orders(&t_env)).unwrap();
    // As in Flink, the query starts, and its job's failure comes with its rows.
    let result = t_env.execute_sql("SELECT CAST(product AS INT) FROM Orders").unwrap();
    let error = result.collect().unwrap_err().to_string();
    assert!(error.contains("apple"), "{error}");
}

#[test]
fn an_unbounded_query_prints_and_hands_over_its_rows_while_it_runs() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_streaming_mode());
    let ddl = "CREATE TABLE ticks (n BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '50')";
    t_env.execute_sql(ddl).unwrap();
    let result = t_env.execute_sql("SELECT n FROM ticks").unwrap();
    let (mut printer, mut out) = (ResultPrinter::default(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !String::from_utf8_lossy(&out).contains("| +I |") {
        assert!(Instant::now() < deadline, "no row printed: {}", String::from_utf8_lossy(&out));
        let done = printer.print_step(&result, Duration::from_millis(100), &mut out).unwrap();
        assert!(!done, "an unbounded query ended: {}", String::from_utf8_lossy(&out));
    }
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("+----+") && text.lines().nth(1).unwrap().starts_with("| op |"), "{text}");
    assert!(!text.contains("in set"), "{text}");
    let more = result.poll_rows(5, Duration::from_secs(30)).unwrap().unwrap();
    assert!((1..=5).contains(&more.len()), "{more:?}");
    assert!(result.job_id().is_some_and(|id| id.len() == 32), "{:?}", result.job_id());
    result.close();
    assert_eq!(result.poll_rows(5, Duration::from_millis(10)).unwrap(), None);
}

#[test]
fn rows_that_do_not_fit_their_columns_are_refused() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    let rows = vec![Row::of(vec![Value::String("seven".into())])];
    let error = t_env.from_elements(rows, &[("n", DataType::parse("INT").unwrap())]).err().unwrap();
    assert_eq!(error.to_string(), "row 0, column 'n': a value of type Int32 expected, found String(\"seven\")");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A filtering and projecting query gives what filtering and mapping the rows in Rust
    /// gives, in the same order, at any parallelism.
    #[test]
    fn filters_and_projections_equal_the_oracle(
        values in proptest::collection::vec((-50i64..50, proptest::option::of(0usize..3)), 0..60),
        threshold in -50i64..50,
        parallelism in 1usize..5,
    ) {
        let names = ["a", "b", "c"];
        let env = StreamExecutionEnvironment::get_execution_environment();
        env.set_parallelism(parallelism);
        let t_env = TableEnvironment::from_stream_environment(&env);
        let rows: Vec<Row> = values
            .iter()
            .map(|(n, name)| {
                let name = name.map_or(Value::Null, |i| Value::String(names[i].to_string()));
                Row::of(vec![Value::BigInt(*n), name])
            })
            .collect();
        let columns = [("n", DataType::parse("BIGINT").unwrap()), ("name", DataType::parse("STRING").unwrap())];
        let table = t_env.from_elements(rows, &columns).unwrap();
        t_env.create_temporary_view("T", &table).unwrap();
        let sql = format!("SELECT n * 2 AS doubled, concat(name, '!') AS loud FROM T WHERE n >= {threshold} AND name <> 'b'");
        let got: Vec<Vec<Value>> = t_env.execute_sql(&sql).unwrap().collect().unwrap().into_iter().map(|row| row.fields).collect();
        let expected: Vec<Vec<Value>> = values
            .iter()
            .filter(|(n, name)| *n >= threshold && name.is_some_and(|i| names[i] != "b"))
            .map(|(n, name)| vec![Value::BigInt(n * 2), Value::String(format!("{}!", names[name.unwrap()]))])
            .collect();
        prop_assert_eq!(got, expected);
    }
}

#[test]
fn rows_written_in_the_query_are_a_table() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    let rows = |sql: &str| -> Vec<String> {
        t_env.execute_sql(sql).unwrap().collect().unwrap().iter().map(|row| row.to_string()).collect()
    };
    assert_eq!(
        rows("SELECT id * 10, word FROM (VALUES (1, 'a'), (2, 'b')) AS t(id, word)"),
        ["+I[10, a]", "+I[20, b]"]
    );
    assert_eq!(rows("SELECT 1 + 1 AS two, 'x' AS letter"), ["+I[2, x]"]);
    // Integers written as literals go into INT columns, as Flink types them by value.
    t_env.execute_sql("CREATE TABLE ints (n INT, word STRING) WITH ('connector' = 'blackhole')").unwrap();
    t_env.execute_sql("INSERT INTO ints VALUES (1, 'a'), (2, 'b')").unwrap().wait().unwrap();
}

#[test]
fn casts_name_flink_types_that_datafusion_does_not_know() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    t_env.create_temporary_view("Orders", &orders(&t_env)).unwrap();
    let sql = "SELECT CAST(id * 1000 AS TIMESTAMP_LTZ(3)) AS at FROM Orders WHERE id = 2";
    let table = t_env.sql_query(sql).unwrap();
    assert_eq!(table.get_schema().unwrap()[0].1.to_string(), "TIMESTAMP_LTZ(3)");
    assert_eq!(table.execute().unwrap().collect().unwrap()[0].to_string(), "+I[1970-01-01T00:00:02Z]");
}
