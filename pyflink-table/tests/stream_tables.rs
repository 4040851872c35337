//! Tables of DataStreams (`from_data_stream` with a `Schema`: computed columns, a watermark)
//! and the Table API's group windows over them (`Tumble`, `Slide`, `Session`), on the data of
//! PyFlink's windowing examples, whose results PyFlink 2.3 printed; and `SESSION` windows in SQL.

use pyflink_core::table::{Row, Value};
use pyflink_core::StreamExecutionEnvironment;
use pyflink_table::environment::{Table, TableEnvironment};
use pyflink_table::expressions::{col, current_row, lit, row_interval};
use pyflink_table::schema::Schema;
use pyflink_table::types::DataType;
use pyflink_table::window::{Over, Session, Slide, Tumble};

/// The rows of PyFlink's windowing examples: an instant in epoch milliseconds, a name, a price.
const SALES: [(i64, &str, f32); 8] = [
    (1000, "Alice", 110.1),
    (4000, "Bob", 30.2),
    (3000, "Alice", 20.0),
    (2000, "Bob", 53.1),
    (5000, "Alice", 13.1),
    (3000, "Bob", 3.1),
    (7000, "Bob", 16.1),
    (10000, "Alice", 20.1),
];

fn data_type(text: &str) -> DataType {
    DataType::parse(text).unwrap()
}

/// The examples' table: `from_data_stream` of the rows with `ts` computed from `f0` and a
/// watermark 3 s behind it, aliased to `ts, name, price`.
fn sales(sales: &[(i64, &str, f32)]) -> (TableEnvironment, Table) {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(1);
    let t_env = TableEnvironment::from_stream_environment(&env);
    let rows: Vec<Row> = sales
        .iter()
        .map(|&(time, name, price)| {
            Row::of(vec![Value::TimestampLtz(time), Value::String(name.into()), Value::Float(price)])
        })
        .collect();
    let fields = [("f0", data_type("TIMESTAMP_LTZ(3)")), ("f1", data_type("STRING")), ("f2", data_type("FLOAT"))];
    let schema = Schema::new_builder()
        .column_by_expression("ts", "CAST(f0 AS TIMESTAMP(3))")
        .column("f1", data_type("STRING"))
        .column("f2", data_type("FLOAT"))
        .watermark("ts", "ts - INTERVAL '3' SECOND")
        .build();
    let table = t_env.from_data_stream(&env.from_collection(rows), &fields, &schema).unwrap();
    (t_env, table.alias(["ts", "name", "price"]).unwrap())
}

/// The rows of `table`, printed and sorted, with the sums rounded to one decimal (FLOAT sums
/// depend on the order they add in).
fn rows(table: &Table) -> Vec<String> {
    let mut rows: Vec<String> = table
        .execute()
        .unwrap()
        .collect()
        .unwrap()
        .iter()
        .map(|row| {
            let fields: Vec<String> = row
                .fields
                .iter()
                .map(|value| match value {
                    Value::Float(sum) => format!("{sum:.1}"),
                    other => other.to_string(),
                })
                .collect();
            fields.join(", ")
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn a_schema_picks_declares_and_computes_the_columns_of_a_stream() {
    let (_, table) = sales(&SALES);
    assert_eq!(table.column_names(), ["ts", "name", "price"]);
    assert_eq!(table.schema_string().unwrap(), "(\n  `ts` TIMESTAMP(3),\n  `name` STRING,\n  `price` FLOAT\n)");
    let first = rows(&table.filter(col("name").is_equal(lit("Bob"))).unwrap());
    assert_eq!(first[0], "1970-01-01T00:00:02, Bob, 53.1");
}

#[test]
fn tumbling_windows_of_the_tumble_window_example() {
    let (_, table) = sales(&SALES);
    let windowed = table
        .window(Tumble::over(lit(5).seconds()).on(col("ts")).alias("w"))
        .group_by([col("name"), col("w")])
        .select([col("name"), col("price").sum(), col("w").start(), col("w").end()])
        .unwrap();
    assert_eq!(
        rows(&windowed),
        [
            "Alice, 13.1, 1970-01-01T00:00:05, 1970-01-01T00:00:10",
            "Alice, 130.1, 1970-01-01T00:00, 1970-01-01T00:00:05",
            "Alice, 20.1, 1970-01-01T00:00:10, 1970-01-01T00:00:15",
            "Bob, 16.1, 1970-01-01T00:00:05, 1970-01-01T00:00:10",
            "Bob, 86.4, 1970-01-01T00:00, 1970-01-01T00:00:05",
        ]
    );
}

#[test]
fn sliding_windows_of_the_sliding_window_example() {
    let (_, table) = sales(&SALES);
    let windowed = table
        .window(Slide::over(lit(5).seconds()).every(lit(2).seconds()).on(col("ts")).alias("w"))
        .group_by([col("name"), col("w")])
        .select([col("name"), col("price").sum(), col("w").start(), col("w").end()])
        .unwrap();
    assert_eq!(
        rows(&windowed),
        [
            "Alice, 110.1, 1969-12-31T23:59:58, 1970-01-01T00:00:03",
            "Alice, 13.1, 1970-01-01T00:00:04, 1970-01-01T00:00:09",
            "Alice, 130.1, 1970-01-01T00:00, 1970-01-01T00:00:05",
            "Alice, 20.1, 1970-01-01T00:00:06, 1970-01-01T00:00:11",
            "Alice, 20.1, 1970-01-01T00:00:08, 1970-01-01T00:00:13",
            "Alice, 20.1, 1970-01-01T00:00:10, 1970-01-01T00:00:15",
            "Alice, 33.1, 1970-01-01T00:00:02, 1970-01-01T00:00:07",
            "Bob, 16.1, 1970-01-01T00:00:06, 1970-01-01T00:00:11",
            "Bob, 46.3, 1970-01-01T00:00:04, 1970-01-01T00:00:09",
            "Bob, 53.1, 1969-12-31T23:59:58, 1970-01-01T00:00:03",
            "Bob, 86.4, 1970-01-01T00:00, 1970-01-01T00:00:05",
            "Bob, 86.4, 1970-01-01T00:00:02, 1970-01-01T00:00:07",
        ]
    );
}

/// The rows of PyFlink's session_window example.
const SESSION_SALES: [(i64, &str, f32); 6] = [
    (1000, "Alice", 110.1),
    (4000, "Bob", 30.2),
    (3000, "Alice", 20.0),
    (2000, "Bob", 53.1),
    (8000, "Bob", 16.1),
    (10000, "Alice", 20.1),
];

const SESSIONS: [&str; 3] = [
    "Alice, 130.1, 1970-01-01T00:00:01, 1970-01-01T00:00:08",
    "Alice, 20.1, 1970-01-01T00:00:10, 1970-01-01T00:00:15",
    "Bob, 99.4, 1970-01-01T00:00:02, 1970-01-01T00:00:13",
];

#[test]
fn session_windows_of_the_session_window_example() {
    let (_, table) = sales(&SESSION_SALES);
    let windowed = table
        .window(Session::with_gap(lit(5).seconds()).on(col("ts")).alias("w"))
        .group_by([col("name"), col("w")])
        .select([col("name"), col("price").sum(), col("w").start(), col("w").end()])
        .unwrap();
    assert_eq!(rows(&windowed), SESSIONS);
}

#[test]
fn session_windows_in_sql_as_a_window_function_and_as_a_group_window() {
    let (t_env, table) = sales(&SESSION_SALES);
    t_env.create_temporary_view("sales", &table).unwrap();
    let function = t_env
        .sql_query(
            "SELECT name, SUM(price), window_start, window_end FROM TABLE(SESSION(TABLE sales PARTITION BY name, \
             DESCRIPTOR(ts), INTERVAL '5' SECOND)) GROUP BY name, window_start, window_end",
        )
        .unwrap();
    assert_eq!(rows(&function), SESSIONS);
    let group_window = t_env
        .sql_query(
            "SELECT name, SUM(price), SESSION_START(ts, INTERVAL '5' SECOND), SESSION_END(ts, INTERVAL '5' SECOND) \
             FROM sales GROUP BY SESSION(ts, INTERVAL '5' SECOND), name",
        )
        .unwrap();
    assert_eq!(rows(&group_window), SESSIONS);
    // Without PARTITION BY, all rows share sessions: 1 s to 15 s has no gap of 5 s.
    let everyone = t_env
        .sql_query(
            "SELECT COUNT(*), window_start, window_end FROM TABLE(SESSION(TABLE sales, DESCRIPTOR(ts), \
             INTERVAL '5' SECOND)) GROUP BY window_start, window_end",
        )
        .unwrap();
    assert_eq!(rows(&everyone), ["6, 1970-01-01T00:00:01, 1970-01-01T00:00:15"]);
}

#[test]
fn bad_schemas_and_windows_are_told() {
    let env = StreamExecutionEnvironment::get_execution_environment();
    let t_env = TableEnvironment::from_stream_environment(&env);
    let stream = env.from_collection(vec![Row::of(vec![Value::BigInt(1)])]);
    let fields = [("f0", data_type("BIGINT"))];
    let unknown = Schema::new_builder().column("id", data_type("BIGINT")).build();
    let error = t_env.from_data_stream(&stream, &fields, &unknown).err().unwrap().to_string();
    assert!(error.contains("Unable to find a field named 'id'") && error.contains("[f0]"), "{error}");
    let not_a_time = Schema::new_builder().watermark("f0", "f0").build();
    let error = t_env.from_data_stream(&stream, &fields, &not_a_time).err().unwrap().to_string();
    assert!(error.contains("TIMESTAMP(p) or TIMESTAMP_LTZ(p)"), "{error}");

    let (_, table) = sales(&SALES);
    let error = table
        .window(Tumble::over(lit(5).seconds()).on(col("ts")).alias("w"))
        .group_by([col("name")])
        .select([col("name")])
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("window's alias 'w' must be a grouping key"), "{error}");
    // A computed timestamp is no longer the event time.
    let shifted = table.select([col("name"), (col("ts") + lit(1).seconds()).alias("later")]).unwrap();
    let error = shifted
        .window(Tumble::over(lit(5).seconds()).on(col("later")).alias("w"))
        .group_by([col("w")])
        .select([col("w").start()])
        .unwrap()
        .execute()
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("requires the timecol is a time attribute"), "{error}");
}

#[test]
fn over_windows_of_the_over_window_example() {
    let (_, table) = sales(&SALES);
    let window = Over::partition_by([col("name")])
        .order_by(col("ts"))
        .preceding(row_interval(2))
        .following(current_row())
        .alias("w");
    let maxima = table.over_window(window).select([col("name"), col("price").max().over(col("w"))]).unwrap();
    assert_eq!(
        rows(&maxima),
        [
            "Alice, 110.1",
            "Alice, 110.1",
            "Alice, 110.1",
            "Alice, 20.1",
            "Bob, 30.2",
            "Bob, 53.1",
            "Bob, 53.1",
            "Bob, 53.1"
        ]
    );
}

#[test]
fn over_aggregates_in_sql_by_rows_by_time_and_unbounded() {
    let (t_env, table) = sales(&SALES);
    t_env.create_temporary_view("sales", &table).unwrap();
    let query = |frame: &str| {
        let sql = format!(
            "SELECT name, ts, COUNT(*) OVER w, SUM(price) OVER w FROM sales \
             WINDOW w AS (PARTITION BY name ORDER BY ts {frame})"
        );
        rows(&t_env.sql_query(&sql).unwrap())
    };
    // Bob's rows by time: 2 s (53.1), 3 s (3.1), 4 s (30.2), 7 s (16.1).
    let bob = |rows: Vec<String>| rows.into_iter().filter(|row| row.starts_with("Bob")).collect::<Vec<_>>();
    assert_eq!(
        bob(query("ROWS BETWEEN 1 PRECEDING AND CURRENT ROW")),
        [
            "Bob, 1970-01-01T00:00:02, 1, 53.1",
            "Bob, 1970-01-01T00:00:03, 2, 56.2",
            "Bob, 1970-01-01T00:00:04, 2, 33.3",
            "Bob, 1970-01-01T00:00:07, 2, 46.3",
        ]
    );
    assert_eq!(
        bob(query("RANGE BETWEEN INTERVAL '2' SECOND PRECEDING AND CURRENT ROW")),
        [
            "Bob, 1970-01-01T00:00:02, 1, 53.1",
            "Bob, 1970-01-01T00:00:03, 2, 56.2",
            "Bob, 1970-01-01T00:00:04, 3, 86.4",
            "Bob, 1970-01-01T00:00:07, 1, 16.1",
        ]
    );
    assert_eq!(
        bob(query("ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW")),
        [
            "Bob, 1970-01-01T00:00:02, 1, 53.1",
            "Bob, 1970-01-01T00:00:03, 2, 56.2",
            "Bob, 1970-01-01T00:00:04, 3, 86.4",
            "Bob, 1970-01-01T00:00:07, 4, 102.5",
        ]
    );
    let error = t_env.execute_sql("SELECT COUNT(*) OVER (ORDER BY price) FROM sales").err().unwrap().to_string();
    assert!(error.contains("must be defined on a time attribute"), "{error}");
}
