//! The `kafka` table connector against a real Kafka-protocol broker (tansu): CSV records read
//! by SQL with malformed ones read as Flink reads them and counted, a query's rows written as JSON records and read back,
//! and options refused with what to set.

mod broker;

use std::time::Duration;

use broker::read_committed::read_partition;
use broker::{produce, produce_keyed, Broker};
use pyflink_connectors::table::register_connectors;
use pyflink_core::checkpoint::CheckpointingMode;
use pyflink_core::metrics::MetricValue;
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
fn csv_records_are_read_with_malformed_ones_counted_and_rows_written_back_as_json() {
    let broker = Broker::start();
    broker.create_topic("access_log", 2);
    broker.create_topic("by_province", 1);
    let mut records: Vec<String> = (0..200).map(|n| format!("{},{}", ["beijing", "tibet"][n % 2], n)).collect();
    // As Flink's CSV reads them ignoring parse errors: a NULL size, a NULL size (the field is
    // missing), and a line of too many fields skipped.
    records.extend(["beijing,not-a-number", "a line with one field", "tibet,7,extra"].map(String::from));
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
    let copied = t_env
        .execute_sql("INSERT INTO by_province SELECT province, size FROM access_log WHERE size >= 190")
        .unwrap()
        .wait()
        .unwrap()
        .expect("the INSERT ran a job");
    let total = |name: &str| -> i64 {
        copied
            .get_metrics()
            .iter()
            .filter(|(id, _)| id.starts_with("RecordDecoder") && id.ends_with(name))
            .map(|(_, value)| match value {
                MetricValue::Counter(count) => *count,
                other => panic!("{name} is {other:?}"),
            })
            .sum()
    };
    assert_eq!((total(".numRecordsSkipped"), total(".numValuesNotParsed")), (1, 1));
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
    let named =
        ["beijing,not-a-number", "a line with one field", "tibet,7,extra"].iter().any(|line| strict.contains(line));
    assert!(named && strict.contains("kafka table 'strict_log'"), "{strict}");
}

/// Where reading starts and stops, and which topics: `topic` lists and `topic-pattern`,
/// `scan.startup.mode` (`earliest-offset`, `specific-offsets`, `group-offsets` falling back to
/// `auto.offset.reset`) and `scan.bounded.mode` `specific-offsets`, in the `raw` format; and a
/// sink without delivery guarantee. (The `timestamp` modes are not checked on tansu 0.6, which
/// answers every lookup of an offset by time with 0: see `tests/kafka.rs`.)
#[test]
fn startup_and_bounded_modes_topic_lists_and_patterns_read_the_records_they_name() {
    let broker = Broker::start();
    broker.create_topic("numbers_a", 1);
    broker.create_topic("numbers_b", 1);
    produce(&broker, "numbers_a", &(1..=10).map(|n| n.to_string()).collect::<Vec<_>>(), 1);
    produce(&broker, "numbers_b", &(11..=15).map(|n| n.to_string()).collect::<Vec<_>>(), 1);
    let t_env = streaming(1);
    let read = |options: &str| -> Vec<i64> {
        t_env.execute_sql("DROP TABLE IF EXISTS numbers").unwrap();
        t_env
            .execute_sql(&format!(
                "CREATE TABLE numbers (n STRING) WITH ('connector' = 'kafka', 'properties.bootstrap.servers' = '{}', \
                 'format' = 'raw', {options})",
                broker.bootstrap
            ))
            .unwrap();
        let rows = t_env.execute_sql("SELECT CAST(n AS BIGINT) FROM numbers").unwrap().collect().unwrap();
        let mut numbers: Vec<i64> = rows
            .iter()
            .map(|row| match &row.fields[0] {
                pyflink_core::table::Value::BigInt(n) => *n,
                other => panic!("{other:?}"),
            })
            .collect();
        numbers.sort();
        numbers
    };
    let earliest = "'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'";
    let all_a: Vec<i64> = (1..=10).collect();
    let all: Vec<i64> = (1..=15).collect();
    assert_eq!(read(&format!("'topic' = 'numbers_a;numbers_b', {earliest}")), all);
    assert_eq!(read(&format!("'topic-pattern' = 'numbers_.*', {earliest}")), all);
    assert_eq!(
        read(
            "'topic' = 'numbers_a', 'scan.startup.mode' = 'specific-offsets', \
             'scan.startup.specific-offsets' = 'partition:0,offset:7', 'scan.bounded.mode' = 'latest-offset'"
        ),
        [8, 9, 10]
    );
    assert_eq!(
        read(
            "'topic' = 'numbers_a', 'properties.group.id' = 'fresh', 'properties.auto.offset.reset' = 'earliest', \
             'scan.bounded.mode' = 'latest-offset'"
        ),
        all_a
    );
    assert_eq!(
        read(
            "'topic' = 'numbers_a', 'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'specific-offsets', \
             'scan.bounded.specific-offsets' = 'partition:0,offset:3'"
        ),
        [1, 2, 3]
    );

    broker.create_topic("numbers_c", 1);
    t_env
        .execute_sql(&format!(
            "CREATE TABLE copies (n STRING) WITH ('connector' = 'kafka', 'topic' = 'numbers_c', \
             'properties.bootstrap.servers' = '{}', 'format' = 'raw', 'sink.delivery-guarantee' = 'none', \
             'properties.batch.num.messages' = '1')",
            broker.bootstrap
        ))
        .unwrap();
    t_env.execute_sql("INSERT INTO copies VALUES ('x'), ('y')").unwrap().wait().unwrap();
    let values: Vec<String> = read_partition(&broker.bootstrap, "numbers_c", 0)
        .committed_records
        .into_iter()
        .map(|(_, value)| String::from_utf8(value.unwrap()).unwrap())
        .collect();
    assert_eq!(values, ["x", "y"]);
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

/// A two-level GROUP BY (how many words have each count) retracts and deletes rows; written
/// to upsert-kafka exactly once, the topic read back by a read_committed consumer and
/// compacted (the last record per key, a tombstone removing it) holds the query's final table,
/// and the count no word ended with was deleted with a tombstone.
#[test]
fn upsert_kafka_writes_the_latest_row_per_key_and_a_tombstone_per_deletion() {
    let broker = Broker::start();
    broker.create_topic("words_per_count", 2);
    let t_env = streaming(2);
    t_env.stream_environment().enable_checkpointing(Duration::from_millis(100), CheckpointingMode::ExactlyOnce);
    let words = ["a", "b", "a", "b", "c", "c", "c", "d", "d"];
    let values: Vec<String> = words.iter().map(|word| format!("('{word}')")).collect();
    t_env
        .execute_sql(&format!(
            "CREATE TABLE words_per_count (cnt BIGINT, words BIGINT, PRIMARY KEY (cnt) NOT ENFORCED) WITH (\
             'connector' = 'upsert-kafka', 'topic' = 'words_per_count', 'properties.bootstrap.servers' = '{}', \
             'key.format' = 'csv', 'value.format' = 'json', 'sink.delivery-guarantee' = 'exactly-once', \
             'sink.transactional-id-prefix' = 'words-per-count', 'sink.parallelism' = '2')",
            broker.bootstrap
        ))
        .unwrap();
    t_env
        .execute_sql(&format!(
            "INSERT INTO words_per_count SELECT cnt, COUNT(*) FROM \
             (SELECT word, COUNT(*) AS cnt FROM (VALUES {}) AS t(word) GROUP BY word) GROUP BY cnt",
            values.join(", ")
        ))
        .unwrap()
        .wait()
        .unwrap();

    let mut compacted = std::collections::BTreeMap::new();
    let mut tombstones = Vec::new();
    for partition in 0..2 {
        let read = read_partition(&broker.bootstrap, "words_per_count", partition);
        assert_eq!(read.last_stable_offset, read.high_watermark, "a transaction was left open");
        for (key, value) in read.committed_records {
            let key = String::from_utf8(key).unwrap();
            match value {
                Some(value) => compacted.insert(key, String::from_utf8(value).unwrap()),
                None => {
                    tombstones.push(key.clone());
                    compacted.remove(&key)
                }
            };
        }
    }
    // a, b and d twice, c three times; no word once, so the count 1 was deleted.
    let expected = [("2", r#"{"cnt":2,"words":3}"#), ("3", r#"{"cnt":3,"words":1}"#)];
    assert_eq!(
        compacted.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>(),
        expected,
        "tombstones: {tombstones:?}"
    );
    assert!(tombstones.contains(&"1".to_string()), "{tombstones:?}");
}

/// An upsert-kafka topic read as the changelog of its keys: a key's first row is `+I`, a new
/// row `-U` of the old and `+U` of the new, the same row again nothing, a tombstone `-D` of
/// the key's last row and a tombstone of a key without one nothing; a GROUP BY over the table
/// retracts what the changes retract.
#[test]
fn upsert_kafka_reads_a_topic_as_the_changelog_of_its_keys() {
    let broker = Broker::start();
    broker.create_topic("users", 1);
    let user = |id: &str, city: &str, visits: i32| format!(r#"{{"id":"{id}","city":"{city}","visits":{visits}}}"#);
    let values = [user("u1", "Berlin", 1), user("u2", "Paris", 2), user("u1", "Berlin", 3), user("u2", "Rome", 5)];
    let u4 = user("u4", "Berlin", 1);
    produce_keyed(
        &broker,
        "users",
        &[
            ("u1", Some(&values[0])),
            ("u2", Some(&values[1])),
            ("u1", Some(&values[2])),
            ("u1", Some(&values[2])),
            ("u2", None),
            ("u3", None),
            ("u2", Some(&values[3])),
            ("u4", Some(&u4)),
        ],
    );
    let create = |t_env: &TableEnvironment| {
        t_env
            .execute_sql(&format!(
                "CREATE TABLE users (id STRING, city STRING, visits INT, PRIMARY KEY (id) NOT ENFORCED) WITH (\
                 'connector' = 'upsert-kafka', 'topic' = 'users', 'properties.bootstrap.servers' = '{}', \
                 'key.format' = 'csv', 'value.format' = 'json', 'scan.bounded.mode' = 'latest-offset')",
                broker.bootstrap
            ))
            .unwrap();
    };
    let t_env = streaming(1);
    create(&t_env);
    let changelog: Vec<String> =
        t_env.execute_sql("SELECT * FROM users").unwrap().collect().unwrap().iter().map(ToString::to_string).collect();
    assert_eq!(
        changelog,
        [
            "+I[u1, Berlin, 1]",
            "+I[u2, Paris, 2]",
            "-U[u1, Berlin, 1]",
            "+U[u1, Berlin, 3]",
            "-D[u2, Paris, 2]",
            "+I[u2, Rome, 5]",
            "+I[u4, Berlin, 1]",
        ]
    );

    let t_env = streaming(2);
    create(&t_env);
    let mut table = std::collections::BTreeMap::new();
    let changes = t_env.execute_sql("SELECT city, SUM(visits) FROM users GROUP BY city").unwrap().collect().unwrap();
    for change in changes.iter().map(ToString::to_string) {
        let (kind, row) = change.split_at(2);
        match kind {
            "+I" | "+U" => assert!(
                table.insert(row[1..row.len() - 1].split(", ").next().unwrap().to_string(), row.to_string()).is_none(),
                "{change}"
            ),
            _ => assert_eq!(table.remove(row[1..].split(", ").next().unwrap()).as_deref(), Some(row), "{change}"),
        }
    }
    assert_eq!(table.into_values().collect::<Vec<_>>(), ["[Berlin, 4]", "[Rome, 5]"]);
}

/// Keys and values in the `avro` format: the records hold Avro's binary encoding of the
/// schema Flink derives from the columns (a nullable BIGINT key 1 is the union branch 1 and
/// the long 1, zigzag encoded: bytes 2, 2), and read back they are the rows written.
#[test]
fn avro_keys_and_values_are_written_and_read_back() {
    let broker = Broker::start();
    broker.create_topic("orders", 1);
    let t_env = streaming(1);
    t_env
        .execute_sql(&format!(
            "CREATE TABLE orders (id BIGINT, item STRING, price DECIMAL(10, 2), at TIMESTAMP(3), paid BOOLEAN) \
             WITH ('connector' = 'kafka', 'topic' = 'orders', 'properties.bootstrap.servers' = '{}', \
             'key.format' = 'avro', 'key.fields' = 'id', 'value.format' = 'avro', \
             'value.fields-include' = 'EXCEPT_KEY', 'scan.startup.mode' = 'earliest-offset', \
             'scan.bounded.mode' = 'latest-offset', 'properties.batch.num.messages' = '1')",
            broker.bootstrap
        ))
        .unwrap();
    t_env
        .execute_sql(
            "INSERT INTO orders VALUES (1, 'tea', 3.50, TIMESTAMP '2026-12-06 10:00:00.125', TRUE), \
             (2, CAST(NULL AS STRING), -12.25, TIMESTAMP '1969-12-31 23:59:59', NULL)",
        )
        .unwrap()
        .wait()
        .unwrap();
    let records = read_partition(&broker.bootstrap, "orders", 0).committed_records;
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].0, [2, 2]);
    assert_eq!(records[1].0, [2, 4]);
    assert_eq!(
        sorted_rows(&t_env, "SELECT id, item, CAST(price AS STRING), at, paid FROM orders"),
        ["+I[1, tea, 3.50, 2026-12-06T10:00:00.125, true]", "+I[2, null, -12.25, 1969-12-31T23:59:59, null]"]
    );
}

/// METADATA columns `timestamp` and `headers` (not VIRTUAL) write the records' timestamps and
/// headers, which a read of the topic gives back; a read-only key written is refused.
#[test]
fn timestamp_and_headers_metadata_columns_are_written_into_the_records() {
    let broker = Broker::start();
    broker.create_topic("events", 1);
    let t_env = streaming(1);
    t_env
        .execute_sql(&format!(
            "CREATE TABLE events (msg STRING, ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp', \
             hs MAP<STRING, BYTES> METADATA FROM 'headers', `offset` BIGINT METADATA VIRTUAL) WITH (\
             'connector' = 'kafka', 'topic' = 'events', 'properties.bootstrap.servers' = '{}', 'format' = 'csv', \
             'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset', \
             'properties.batch.num.messages' = '1')",
            broker.bootstrap
        ))
        .unwrap();
    t_env
        .execute_sql(
            "INSERT INTO events SELECT msg, TO_TIMESTAMP_LTZ(ms, 3), MAP['trace', CAST(msg AS BYTES)] \
             FROM (VALUES ('a', 1700000000123), ('b', 86400000)) AS t(msg, ms)",
        )
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(
        sorted_rows(&t_env, "SELECT msg, ts, CAST(hs['trace'] AS STRING), `offset` FROM events"),
        ["+I[a, 2023-11-14T22:13:20.123Z, a, 0]", "+I[b, 1970-01-02T00:00:00Z, b, 1]"]
    );

    t_env
        .execute_sql(&format!(
            "CREATE TABLE bad (msg STRING, `offset` BIGINT METADATA) WITH ('connector' = 'kafka', \
             'topic' = 'events', 'properties.bootstrap.servers' = '{}', 'format' = 'csv')",
            broker.bootstrap
        ))
        .unwrap();
    let error = t_env.execute_sql("INSERT INTO bad VALUES ('c', 1)").map(|_| ()).unwrap_err().to_string();
    assert!(error.contains("Invalid metadata key 'offset'") && error.contains("for writing:\nheaders"), "{error}");
}

#[test]
fn an_upsert_kafka_table_needs_a_primary_key_and_both_formats() {
    let t_env = streaming(1);
    for (columns, options, expected) in [
        ("a STRING", "'key.format' = 'csv', 'value.format' = 'csv'", "require to define a PRIMARY KEY"),
        ("a STRING PRIMARY KEY NOT ENFORCED", "'value.format' = 'csv'", "'key.format' and 'value.format'"),
        (
            "a STRING PRIMARY KEY NOT ENFORCED",
            "'key.format' = 'csv', 'value.format' = 'csv', 'value.fields-include' = 'EXCEPT_KEY'",
            "has no columns",
        ),
        ("a STRING PRIMARY KEY NOT ENFORCED", "'key.format' = 'csv', 'value.format' = 'xml'", "'xml'"),
    ] {
        t_env.execute_sql("DROP TABLE IF EXISTS t").unwrap();
        t_env
            .execute_sql(&format!(
                "CREATE TABLE t ({columns}) WITH ('connector' = 'upsert-kafka', 'topic' = 't', \
                 'properties.bootstrap.servers' = 'x:1', {options})"
            ))
            .unwrap();
        let error = t_env.execute_sql("INSERT INTO t VALUES ('x')").map(|_| ()).unwrap_err().to_string();
        assert!(error.contains(expected), "{options}: {error}");
    }
}

/// Rows written with their key columns as the record key (`key.format`, `key.fields`, the
/// value without them), read back with the key's columns from the key, the value's from the
/// value, and METADATA columns from where each record is.
#[test]
fn key_fields_and_metadata_columns_are_read_from_the_records() {
    let broker = Broker::start();
    broker.create_topic("actions", 2);
    let t_env = streaming(1);
    let options = format!(
        "'connector' = 'kafka', 'topic' = 'actions', 'properties.bootstrap.servers' = '{}', \
         'key.format' = 'csv', 'key.fields' = 'user_id', 'value.format' = 'json', \
         'value.fields-include' = 'EXCEPT_KEY', 'scan.startup.mode' = 'earliest-offset', \
         'scan.bounded.mode' = 'latest-offset', 'properties.batch.num.messages' = '1'",
        broker.bootstrap
    );
    t_env
        .execute_sql(&format!("CREATE TABLE actions (user_id STRING, action STRING, n INT) WITH ({options})"))
        .unwrap();
    t_env
        .execute_sql(
            "INSERT INTO actions VALUES ('u1', 'login', 1), ('u2', 'login', 2), ('u1', 'buy', 3), ('u3', 'logout', 4)",
        )
        .unwrap()
        .wait()
        .unwrap();
    let mut records = Vec::new();
    for partition in 0..2 {
        for (key, value) in read_partition(&broker.bootstrap, "actions", partition).committed_records {
            records.push((partition, String::from_utf8(key).unwrap(), String::from_utf8(value.unwrap()).unwrap()));
        }
    }
    records.sort_by(|a, b| a.2.cmp(&b.2));
    let u1_partitions: Vec<i32> = records.iter().filter(|r| r.1 == "u1").map(|r| r.0).collect();
    assert_eq!(u1_partitions.len(), 2);
    assert_eq!(u1_partitions[0], u1_partitions[1], "a key's records share a partition: {records:?}");
    let values: Vec<(&str, &str)> = records.iter().map(|r| (r.1.as_str(), r.2.as_str())).collect();
    assert_eq!(
        values,
        [
            ("u1", r#"{"action":"buy","n":3}"#),
            ("u1", r#"{"action":"login","n":1}"#),
            ("u2", r#"{"action":"login","n":2}"#),
            ("u3", r#"{"action":"logout","n":4}"#),
        ]
    );

    t_env
        .execute_sql(&format!(
            "CREATE TABLE actions_read (user_id STRING, action STRING, n INT, `partition` INT METADATA VIRTUAL, \
             `offset` BIGINT METADATA VIRTUAL, ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp', \
             kind STRING METADATA FROM 'timestamp-type' VIRTUAL, `topic` STRING METADATA VIRTUAL, \
             headers MAP<STRING, BYTES> METADATA VIRTUAL) WITH ({options})"
        ))
        .unwrap();
    let rows = sorted_rows(
        &t_env,
        "SELECT user_id, action, n, `partition`, `offset`, ts IS NOT NULL, kind, `topic`, CARDINALITY(headers) \
         FROM actions_read",
    );
    let partition_of = |user: &str| records.iter().find(|r| r.1 == user).unwrap().0;
    let expected: Vec<String> = [("u1", "buy", 3), ("u1", "login", 1), ("u2", "login", 2), ("u3", "logout", 4)]
        .iter()
        .map(|(user, action, n)| format!("+I[{user}, {action}, {n}, {}, ", partition_of(user)))
        .collect();
    assert_eq!(rows.len(), 4, "{rows:?}");
    for (row, prefix) in rows.iter().zip(&expected) {
        assert!(row.starts_with(prefix.as_str()), "{row} should start with {prefix}");
        assert!(row.ends_with(", true, CreateTime, actions, 0]"), "{row}");
    }
    let u1_offsets: Vec<&str> =
        rows.iter().filter(|r| r.contains("u1")).map(|r| r.split(", ").nth(4).unwrap()).collect();
    assert_eq!(u1_offsets.len(), 2);
    assert_ne!(u1_offsets[0], u1_offsets[1], "{rows:?}");
}
