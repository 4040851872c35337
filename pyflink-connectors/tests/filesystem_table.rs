//! The `filesystem` table connector: tables read from and written to files in `csv`, `json`
//! and `raw`, with the text Flink's formats write, malformed lines failing with the line or
//! skipped, updating queries refused, and a streaming job that fails mid-stream writing every
//! row exactly once.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pyflink_connectors::file::finished_files;
use pyflink_connectors::table::{register_connectors, FileSystemConnector};
use pyflink_core::table::{Row, Value};
use pyflink_core::{CheckpointingMode, RestartStrategy, StreamExecutionEnvironment};
use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
use pyflink_table::schema::Schema;
use pyflink_table::types::DataType;

fn batch_env() -> TableEnvironment {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    t_env.stream_environment().set_parallelism(1);
    register_connectors(&t_env);
    t_env
}

/// The lines of the finished files under `dir`, in file order.
fn written(dir: &Path) -> Vec<String> {
    finished_files(dir)
        .unwrap()
        .iter()
        .flat_map(|file| std::fs::read_to_string(file).unwrap().lines().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

fn strings(rows: Vec<Row>) -> Vec<String> {
    let mut rows: Vec<String> = rows.iter().map(ToString::to_string).collect();
    rows.sort();
    rows
}

#[test]
fn csv_rows_are_written_as_flink_writes_them_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let t_env = batch_env();
    t_env
        .execute_sql(&format!(
            "CREATE TABLE out (id INT, name STRING, price DECIMAL(10, 2), ratio DOUBLE, ok BOOLEAN, ts TIMESTAMP(3)) \
             WITH ('connector' = 'filesystem', 'path' = 'file://{}', 'format' = 'csv')",
            dir.path().display()
        ))
        .unwrap();
    t_env
        .execute_sql(
            "INSERT INTO out VALUES \
             (1, 'plain', 1.5, 0.25, TRUE, TIMESTAMP '2024-01-02 03:04:05'), \
             (2, 'with, comma', 20, 1e20, FALSE, TIMESTAMP '2024-01-02 03:04:05.120'), \
             (3, 'say \"hi\"', NULL, NULL, NULL, NULL)",
        )
        .unwrap()
        .wait()
        .unwrap();
    let mut lines = written(dir.path());
    lines.sort();
    assert_eq!(
        lines,
        [
            "1,plain,1.50,0.25,true,2024-01-02 03:04:05",
            "2,\"with, comma\",20.00,1.0E20,false,2024-01-02 03:04:05.120",
            "3,\"say \"\"hi\"\"\",,,,",
        ]
    );
    let rows = t_env.execute_sql("SELECT id, name, ratio, ok, ts FROM out").unwrap().collect().unwrap();
    assert_eq!(
        strings(rows),
        [
            "+I[1, plain, 0.25, true, 2024-01-02T03:04:05]",
            "+I[2, with, comma, 1e20, false, 2024-01-02T03:04:05.120]",
            "+I[3, say \"hi\", null, null, null]"
        ]
    );
    let total = t_env.execute_sql("SELECT CAST(SUM(price) AS STRING) AS total FROM out").unwrap().collect().unwrap();
    assert_eq!(total[0].to_string(), "+I[21.50]");
}

#[test]
fn csv_options_set_the_dialect_and_short_lines_ignoring_parse_errors_leave_columns_null() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.txt"), "# a comment\n1;'a;b'\n2\n\n3;\n-;x\n").unwrap();
    let t_env = batch_env();
    t_env
        .execute_sql(&format!(
            "CREATE TABLE t (n INT, s STRING) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv', \
             'csv.field-delimiter' = ';', 'csv.quote-character' = '''', 'csv.allow-comments' = 'true', \
             'csv.null-literal' = '-', 'csv.ignore-parse-errors' = 'true')",
            dir.path().display()
        ))
        .unwrap();
    let rows = t_env.execute_sql("SELECT n, s FROM t").unwrap().collect().unwrap();
    // The empty line is a row of one empty field, as in Flink.
    assert_eq!(strings(rows), ["+I[1, a;b]", "+I[2, null]", "+I[3, ]", "+I[null, null]", "+I[null, x]"]);
}

#[test]
fn json_lines_are_read_by_field_name_and_written_with_sql_timestamps() {
    let input = tempfile::tempdir().unwrap();
    std::fs::write(
        input.path().join("events.json"),
        "{\"id\": 1, \"tags\": {\"a\": [1, 2]}, \"at\": \"2024-05-06 07:08:09.5\", \"extra\": true}\n\
         {\"id\": \"2\", \"tags\": \"plain\"}\n\
         \n\
         {\"id\": 3, \"tags\": null, \"at\": \"2024-05-06T07:08:09\"}\n",
    )
    .unwrap();
    let output = tempfile::tempdir().unwrap();
    let t_env = batch_env();
    for (name, dir) in [("events", input.path()), ("copy", output.path())] {
        t_env
            .execute_sql(&format!(
                "CREATE TABLE {name} (id BIGINT, tags STRING, at TIMESTAMP(3)) WITH ('connector' = 'filesystem', \
                 'path' = '{}', 'format' = 'json')",
                dir.display()
            ))
            .unwrap();
    }
    t_env.execute_sql("INSERT INTO copy SELECT id, tags, at FROM events").unwrap().wait().unwrap();
    let mut lines = written(output.path());
    lines.sort();
    assert_eq!(
        lines,
        [
            r#"{"id":1,"tags":"{\"a\":[1,2]}","at":"2024-05-06 07:08:09.500"}"#,
            r#"{"id":2,"tags":"plain","at":null}"#,
            r#"{"id":3,"tags":null,"at":"2024-05-06 07:08:09"}"#,
        ]
    );
}

#[test]
fn raw_lines_are_one_string_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("log.txt"), "first line\n\nthird, with a comma\n").unwrap();
    let t_env = batch_env();
    t_env
        .execute_sql(&format!(
            "CREATE TABLE log (line STRING) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'raw')",
            dir.path().display()
        ))
        .unwrap();
    let rows = t_env.execute_sql("SELECT CHAR_LENGTH(line) AS n, line FROM log").unwrap().collect().unwrap();
    assert_eq!(strings(rows), ["+I[0, ]", "+I[10, first line]", "+I[19, third, with a comma]"]);
    let two_columns = t_env.execute_sql(&format!(
        "CREATE TABLE bad (a STRING, b STRING) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'raw')",
        dir.path().display()
    ));
    let error = two_columns.and_then(|_| t_env.execute_sql("SELECT * FROM bad")).unwrap_err().to_string();
    assert!(error.contains("single physical column") && error.contains("a, b"), "{error}");
}

/// Flink's CSV, as PyFlink 2.3 reads these files: without `csv.ignore-parse-errors` each of
/// these lines fails the query; with it, a value that does not parse is NULL, a short line
/// (an empty one is one empty field) leaves its last columns NULL, and a line of too many
/// fields is skipped.
#[test]
fn a_malformed_line_fails_the_query_with_the_line_and_column_or_is_read_as_flink_reads_it() {
    let file = |text: &str| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("data.csv"), text).unwrap();
        dir
    };
    let bad_number = file("1,a\nnot a number,b\n4,d\n");
    let too_many = file("1,a\n3,c,extra\n");
    let too_few = file("1,a\n5\n\n6,\n");
    let t_env = batch_env();
    let read = |dir: &Path, ignore: bool| {
        t_env.execute_sql("DROP TABLE IF EXISTS t").unwrap();
        t_env
            .execute_sql(&format!(
                "CREATE TABLE t (n INT, s STRING) WITH ('connector' = 'filesystem', 'path' = '{}', \
                 'format' = 'csv', 'csv.ignore-parse-errors' = '{ignore}')",
                dir.display()
            ))
            .unwrap();
        match t_env.execute_sql("SELECT * FROM t").unwrap().collect() {
            Ok(rows) => Ok(strings(rows)),
            Err(error) => Err(error.to_string()),
        }
    };
    let error = read(bad_number.path(), false).unwrap_err();
    assert!(
        error.contains("'not a number,b'") && error.contains("column 'n'") && error.contains("csv.ignore-parse-errors"),
        "{error}"
    );
    let error = read(too_many.path(), false).unwrap_err();
    assert!(error.contains("'3,c,extra'") && error.contains("3 fields where the table has 2 columns"), "{error}");
    let error = read(too_few.path(), false).unwrap_err();
    assert!(error.contains("'5'") && error.contains("Row length mismatch. 2 fields expected but was 1."), "{error}");
    assert_eq!(read(bad_number.path(), true).unwrap(), ["+I[1, a]", "+I[4, d]", "+I[null, b]"]);
    assert_eq!(read(too_many.path(), true).unwrap(), ["+I[1, a]"]);
    assert_eq!(read(too_few.path(), true).unwrap(), ["+I[1, a]", "+I[5, null]", "+I[6, ]", "+I[null, null]"]);
}

#[test]
fn bad_tables_and_updating_queries_are_refused_with_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().display();
    let t_env = TableEnvironment::create(EnvironmentSettings::in_streaming_mode());
    t_env.register_connector(Arc::new(FileSystemConnector));
    let refused = |ddl: &str, query: &str| -> String {
        t_env.execute_sql(ddl).unwrap();
        match t_env.execute_sql(query) {
            Ok(result) => panic!("{query} ran: {:?}", result.wait()),
            Err(error) => error.to_string(),
        }
    };
    let error = refused(
        &format!("CREATE TABLE a (n INT) WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'xml')"),
        "SELECT * FROM a",
    );
    assert!(error.contains("no format 'xml'"), "{error}");
    let error =
        refused("CREATE TABLE b (n INT) WITH ('connector' = 'filesystem', 'format' = 'csv')", "SELECT * FROM b");
    assert!(error.contains("Missing required options") && error.contains("path"), "{error}");
    let error = refused(
        &format!(
            "CREATE TABLE c (n INT) WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'csv', \
             'json.fail-on-missing-field' = 'true')"
        ),
        "SELECT * FROM c",
    );
    assert!(error.contains("Unsupported options") && error.contains("json.fail-on-missing-field"), "{error}");
    let error = refused(
        &format!(
            "CREATE TABLE d (k STRING, n BIGINT) WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'csv')"
        ),
        "INSERT INTO d SELECT k, COUNT(*) FROM (VALUES ('a'), ('b'), ('a')) AS v(k) GROUP BY k",
    );
    assert!(error.contains("doesn't support consuming update changes") && error.contains("filesystem"), "{error}");
    let error = refused(
        &format!(
            "CREATE TABLE e (k STRING, n INT) PARTITIONED BY (k) WITH ('connector' = 'filesystem', 'path' = '{path}', \
             'format' = 'csv')"
        ),
        "SELECT * FROM e",
    );
    assert!(error.contains("PARTITIONED BY"), "{error}");
}

/// Whether the one injected failure has happened.
static FAILED: AtomicBool = AtomicBool::new(false);

#[test]
fn a_streaming_job_that_fails_mid_stream_writes_every_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = tempfile::tempdir().unwrap();
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(2);
    env.enable_checkpointing(Duration::from_millis(20), CheckpointingMode::ExactlyOnce);
    env.set_restart_strategy(RestartStrategy::fixed_delay_restart(2, Duration::ZERO));
    let mut config = env.get_checkpoint_config();
    config.storage_dir = Some(checkpoints.path().to_path_buf());
    env.set_checkpoint_config(config);
    // Slow enough that checkpoints complete before and after the failure at row 300.
    let numbers = env.from_sequence(1, 600).unwrap().map(|n: i64| {
        std::thread::sleep(Duration::from_micros(300));
        if n == 300 && !FAILED.swap(true, Ordering::SeqCst) {
            panic!("injected failure at row {n}");
        }
        Row::of(vec![Value::BigInt(n)])
    });
    let t_env = TableEnvironment::from_stream_environment(&env);
    register_connectors(&t_env);
    let bigint = DataType::parse("BIGINT").unwrap();
    let table = t_env.from_data_stream(&numbers, &[("n", bigint)], &Schema::new_builder().build()).unwrap();
    t_env.create_temporary_view("numbers", &table).unwrap();
    t_env
        .execute_sql(&format!(
            "CREATE TABLE out (n BIGINT, tenfold BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', \
             'format' = 'json')",
            dir.path().display()
        ))
        .unwrap();
    t_env.execute_sql("INSERT INTO out SELECT n, n * 10 FROM numbers").unwrap().wait().unwrap();
    assert!(FAILED.load(Ordering::SeqCst), "the failure was injected");
    let mut numbers: Vec<(i64, i64)> = written(dir.path())
        .iter()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            (row["n"].as_i64().unwrap(), row["tenfold"].as_i64().unwrap())
        })
        .collect();
    numbers.sort();
    assert_eq!(numbers, (1..=600).map(|n| (n, n * 10)).collect::<Vec<_>>());
}
