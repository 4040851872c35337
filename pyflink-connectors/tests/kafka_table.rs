//! The `kafka` table connector against a real Kafka-protocol broker (tansu): CSV records read
//! by SQL with malformed ones skipped, a query's rows written as JSON records and read back,
//! and options refused with what to set.

mod broker;

use broker::{produce, Broker};
use pyflink_connectors::table::register_connectors;
use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};

fn streaming(parallelism: usize) -> TableEnvironment {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_streaming_mode());
    t_env.stream_environment().set_parallelism(parallelism);
    register_connectors(&t_env);
    t_env
}

fn sorted_rows(t_env: &TableEnvironment, query: &str) -> Vec<String> {
    let mut rows: Vec<String> =
        t_env.execute_sql(query).unwrap().collect().unwrap().iter().map(ToString::to_string).collect();
    rows.sort();
    rows
}

#[test]
fn csv_records_are_read_with_malformed_ones_skipped_and_rows_written_back_as_json() {
    let broker = Broker::start();
    broker.create_topic("access_log", 2);
    broker.create_topic("by_province", 1);
    let mut records: Vec<String> = (0..200).map(|n| format!("{},{}", ["beijing", "tibet"][n % 2], n)).collect();
    records.extend(["beijing,not-a-number".to_string(), "a line with one field".to_string()]);
    produce(&broker, "access_log", &records, 1);

    let t_env = streaming(2);
    let kafka = |topic: &str, extra: &str| {
        format!(
            "'connector' = 'kafka', 'topic' = '{topic}', 'properties.bootstrap.servers' = '{}', \
             'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'{extra}",
            broker.bootstrap
        )
    };
    t_env
        .execute_sql(&format!(
            "CREATE TABLE access_log (province STRING, size BIGINT) WITH ({}, 'format' = 'csv', \
             'csv.ignore-parse-errors' = 'true')",
            kafka("access_log", "")
        ))
        .unwrap();
    assert_eq!(
        sorted_rows(&t_env, "SELECT province, size FROM access_log WHERE size < 2"),
        ["+I[beijing, 0]", "+I[tibet, 1]"]
    );
    // Records one per batch: tansu 0.6 tells a topic's end wrong after larger batches.
    t_env
        .execute_sql(&format!(
            "CREATE TABLE by_province (province STRING, total BIGINT) WITH ({}, 'format' = 'json', \
             'properties.batch.num.messages' = '1')",
            kafka("by_province", "")
        ))
        .unwrap();
    t_env
        .execute_sql("INSERT INTO by_province SELECT province, size FROM access_log WHERE size >= 190")
        .unwrap()
        .wait()
        .unwrap();
    let totals =
        sorted_rows(&t_env, "SELECT province, SUM(total) AS total, COUNT(*) AS n FROM by_province GROUP BY province");
    // The final value of each group: added and never retracted.
    let finals: Vec<&str> = totals
        .iter()
        .filter(|row| !row.starts_with('-') && !totals.contains(&format!("-U{}", &row[2..])))
        .map(|row| &row[2..])
        .collect();
    assert_eq!(finals, ["[beijing, 970, 5]", "[tibet, 975, 5]"], "{totals:?}");

    let strict = t_env
        .execute_sql(&format!(
            "CREATE TABLE strict_log (province STRING, size BIGINT) WITH ({}, 'format' = 'csv')",
            kafka("access_log", "")
        ))
        .and_then(|_| t_env.execute_sql("SELECT * FROM strict_log"))
        .and_then(|result| result.collect())
        .unwrap_err()
        .to_string();
    assert!(strict.contains("beijing,not-a-number") && strict.contains("kafka table 'strict_log'"), "{strict}");
}

#[test]
fn a_table_without_what_it_needs_is_refused_with_what_to_set() {
    let t_env = streaming(1);
    for (options, expected) in [
        ("'topic' = 't', 'format' = 'csv'", "properties.bootstrap.servers"),
        ("'topic' = 't', 'properties.bootstrap.servers' = 'x:1'", "add 'format'"),
        (
            "'topic' = 't', 'format' = 'csv', 'properties.bootstrap.servers' = 'x:1', 'scan.startup.mode' = 'first'",
            "'first'",
        ),
        (
            "'topic' = 't', 'format' = 'csv', 'properties.bootstrap.servers' = 'x:1', 'sink.semantic' = 'x'",
            "sink.semantic",
        ),
    ] {
        t_env.execute_sql("DROP TABLE IF EXISTS t").unwrap();
        t_env.execute_sql(&format!("CREATE TABLE t (a STRING) WITH ('connector' = 'kafka', {options})")).unwrap();
        let error = t_env.execute_sql("SELECT * FROM t").map(|_| ()).unwrap_err().to_string();
        assert!(error.contains(expected), "{options}: {error}");
    }
}
