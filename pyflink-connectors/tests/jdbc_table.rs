//! The `jdbc` table connector against real MariaDB and PostgreSQL servers: a streaming GROUP BY
//! upserted by primary key, a changelog's deletes applied, rows appended without a key,
//! checkpoints flushing what the buffer holds, tables scanned whole and in parallel ranges, a
//! stream enriched by a lookup join on a database table, and
//! a property test of the upsert buffer against a map of the changes.

mod databases;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use databases::{Database, Server};
use proptest::prelude::*;
use pyflink_connectors::table::{register_connectors, JdbcConnector};
use pyflink_core::table::RowKind;
use pyflink_core::{CheckpointingMode, StreamExecutionEnvironment};
use pyflink_table::batch::ChangeBatch;
use pyflink_table::connectors::{TableConnector, TableContext};
use pyflink_table::datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
use pyflink_table::datafusion::arrow::datatypes::{DataType as ArrowType, Field, Schema};
use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};

fn servers() -> [&'static Server; 2] {
    [Server::mariadb(), Server::postgres()]
}

fn streaming(parallelism: usize) -> TableEnvironment {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_streaming_mode());
    t_env.stream_environment().set_parallelism(parallelism);
    register_connectors(&t_env);
    t_env
}

/// The `WITH` options of a `jdbc` table `table` of `database`, and `extra` ones.
fn options(database: &Database, table: &str, extra: &str) -> String {
    format!(
        "'connector' = 'jdbc', 'url' = '{}', 'table-name' = '{table}', 'username' = '{}', 'password' = '{}'{extra}",
        database.jdbc_url(),
        database.user,
        database.password
    )
}

fn text(rows: Vec<Vec<Option<String>>>) -> Vec<String> {
    rows.into_iter()
        .map(|row| row.into_iter().map(|value| value.unwrap_or_else(|| "NULL".into())).collect::<Vec<_>>().join(","))
        .collect()
}

/// Also with the sink at another parallelism than the GROUP BY, where the rows are exchanged by
/// the primary key first, so that each key's changes reach one writer in order.
#[test]
fn a_streaming_group_by_is_upserted_by_its_primary_key() {
    for (server, sink_parallelism) in
        servers().into_iter().flat_map(|server| [(server, ""), (server, ", 'sink.parallelism' = '3'")])
    {
        let database = server.create_database("upsert");
        database
            .execute("CREATE TABLE by_province (province VARCHAR(32) PRIMARY KEY, hits BIGINT, bytes DECIMAL(12, 2))");
        let t_env = streaming(2);
        let rows: Vec<String> = (0..300)
            .map(|n| format!("('{}', {}.25)", ["beijing", "shanghai", "it''s", "guangdong"][n % 4], n % 7))
            .collect();
        t_env
            .execute_sql(&format!(
                "CREATE TABLE sink (province STRING, hits BIGINT, bytes DECIMAL(12, 2), PRIMARY KEY (province) NOT \
                 ENFORCED) WITH ({})",
                options(&database, "by_province", &format!(", 'sink.buffer-flush.max-rows' = '7'{sink_parallelism}"))
            ))
            .unwrap();
        t_env
            .execute_sql(&format!(
                "INSERT INTO sink SELECT province, COUNT(*), CAST(SUM(size) AS DECIMAL(12, 2)) FROM (VALUES {}) AS \
                 logs(province, size) GROUP BY province",
                rows.join(", ")
            ))
            .unwrap()
            .wait()
            .unwrap();
        let mut expected: BTreeMap<String, (i64, f64)> = BTreeMap::new();
        for n in 0..300 {
            let entry = expected.entry(["beijing", "shanghai", "it's", "guangdong"][n % 4].to_string()).or_default();
            entry.0 += 1;
            entry.1 += (n % 7) as f64 + 0.25;
        }
        let expected: Vec<String> =
            expected.iter().map(|(k, (hits, bytes))| format!("{k},{hits},{bytes:.2}")).collect();
        assert_eq!(
            text(database.rows("SELECT province, hits, bytes FROM by_province ORDER BY province")),
            expected,
            "{:?}{sink_parallelism}",
            server.kind
        );
    }
}

/// A batch of `(name, n)` rows with the given kinds.
fn changes(rows: &[(RowKind, &str, Option<i64>)]) -> ChangeBatch {
    let schema = Arc::new(schema());
    let names = StringArray::from(rows.iter().map(|(_, name, _)| Some(*name)).collect::<Vec<_>>());
    let numbers = Int64Array::from(rows.iter().map(|(_, _, n)| *n).collect::<Vec<_>>());
    let batch = RecordBatch::try_new(schema, vec![Arc::new(names), Arc::new(numbers)]).unwrap();
    ChangeBatch { rows: batch, kinds: Some(rows.iter().map(|(kind, _, _)| *kind).collect()) }
}

fn schema() -> Schema {
    Schema::new(vec![Field::new("name", ArrowType::Utf8, false), Field::new("n", ArrowType::Int64, true)])
}

/// Writes `batches` through the connector's sink into `table` of `database`, keyed by `name`
/// if `keyed`, with the sink option `extra`.
fn write_changes(database: &Database, table: &str, keyed: bool, batches: Vec<ChangeBatch>, extra: &[(&str, &str)]) {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(1);
    let mut options: BTreeMap<String, String> = [
        ("connector", "jdbc".to_string()),
        ("url", database.jdbc_url()),
        ("table-name", table.to_string()),
        ("username", database.user.clone()),
        ("password", database.password.clone()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value))
    .collect();
    options.extend(extra.iter().map(|(key, value)| (key.to_string(), value.to_string())));
    let context = TableContext {
        env: &env,
        table_name: "changes",
        schema: Arc::new(schema()),
        options: &options,
        primary_key: keyed.then(|| vec![0]),
        partition_keys: Vec::new(),
        metadata: Vec::new(),
        streaming: true,
    };
    JdbcConnector.sink(&context, env.from_collection(batches)).unwrap();
    env.execute("write changes").unwrap();
}

#[test]
fn updates_and_deletes_of_a_changelog_reach_the_table() {
    for server in servers() {
        let database = server.create_database("changelog");
        database.execute("CREATE TABLE people (name VARCHAR(16) PRIMARY KEY, n BIGINT)");
        let batches = vec![
            changes(&[(RowKind::Insert, "ann", Some(1)), (RowKind::Insert, "bob", Some(2))]),
            changes(&[
                (RowKind::UpdateBefore, "ann", Some(1)),
                (RowKind::UpdateAfter, "ann", Some(10)),
                (RowKind::Delete, "bob", Some(2)),
                (RowKind::Insert, "cy", None),
            ]),
            // A key deleted and inserted again within one flush ends inserted.
            changes(&[(RowKind::Delete, "cy", None), (RowKind::Insert, "cy", Some(3))]),
        ];
        write_changes(&database, "people", true, batches, &[("sink.buffer-flush.max-rows", "2")]);
        assert_eq!(text(database.rows("SELECT name, n FROM people ORDER BY name")), ["ann,10", "cy,3"]);
    }
}

#[test]
fn without_a_key_rows_are_appended_and_a_delete_is_refused() {
    for server in servers() {
        let database = server.create_database("append");
        database.execute("CREATE TABLE events (name VARCHAR(16), n BIGINT)");
        let t_env = streaming(1);
        t_env
            .execute_sql(&format!(
                "CREATE TABLE sink (name STRING, n BIGINT) WITH ({})",
                options(&database, "events", "")
            ))
            .unwrap();
        t_env.execute_sql("INSERT INTO sink VALUES ('a', 1), ('a', 1), ('b\\\\c', NULL)").unwrap().wait().unwrap();
        assert_eq!(text(database.rows("SELECT name, n FROM events ORDER BY name")), ["a,1", "a,1", "b\\\\c,NULL"]);
        let updating =
            t_env.execute_sql("INSERT INTO sink SELECT name, COUNT(*) FROM (VALUES ('x')) AS t(name) GROUP BY name");
        let error = match updating {
            Err(error) => error.to_string(),
            Ok(result) => result.wait().unwrap_err().to_string(),
        };
        assert!(error.contains("doesn't support consuming update changes"), "{error}");
    }
}

#[test]
fn a_checkpoint_writes_what_the_buffer_holds() {
    let database = Server::postgres().create_database("checkpoint");
    database.execute("CREATE TABLE numbers (n BIGINT PRIMARY KEY)");
    let t_env = streaming(1);
    t_env.stream_environment().enable_checkpointing(Duration::from_millis(100), CheckpointingMode::ExactlyOnce);
    t_env
        .execute_sql(
            "CREATE TABLE numbers_in (n BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '500', \
             'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = '1500')",
        )
        .unwrap();
    // Neither the size nor the timer flushes: only checkpoints (and the end) write.
    let extra = ", 'sink.buffer-flush.max-rows' = '1000000', 'sink.buffer-flush.interval' = '0'";
    t_env
        .execute_sql(&format!(
            "CREATE TABLE sink (n BIGINT, PRIMARY KEY (n) NOT ENFORCED) WITH ({})",
            options(&database, "numbers", extra)
        ))
        .unwrap();
    let job = t_env.execute_sql("INSERT INTO sink SELECT n FROM numbers_in").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let count = || database.rows("SELECT COUNT(*) FROM numbers")[0][0].clone().unwrap().parse::<u64>().unwrap();
    let mut while_running = 0;
    while while_running == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        while_running = count();
    }
    assert!(0 < while_running && while_running < 1500, "rows written while the job ran: {while_running}");
    job.wait().unwrap();
    assert_eq!(count(), 1500);
}

#[test]
fn a_table_is_scanned_whole_and_in_parallel_ranges() {
    for server in servers() {
        let database = server.create_database("scan");
        let values: Vec<String> = (1..=100)
            .map(|id| format!("({id}, 'name {id}', {}, DATE '2024-01-{:02}')", id % 2 == 0, id % 28 + 1))
            .collect();
        database.execute(&format!(
            "CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(16), adult BOOLEAN, born DATE); INSERT INTO people \
             VALUES {}",
            values.join(", ")
        ));
        let t_env = streaming(3);
        for (name, extra) in [
            ("whole", ", 'scan.fetch-size' = '7'"),
            (
                "ranges",
                ", 'scan.partition.column' = 'id', 'scan.partition.num' = '3', 'scan.partition.lower-bound' = '1', \
                 'scan.partition.upper-bound' = '100'",
            ),
        ] {
            t_env
                .execute_sql(&format!(
                    "CREATE TABLE {name} (id INT, name STRING, adult BOOLEAN, born DATE) WITH ({})",
                    options(&database, "people", extra)
                ))
                .unwrap();
            let rows = t_env
                .execute_sql(&format!(
                    "SELECT COUNT(*), SUM(id), COUNT(DISTINCT name), SUM(CASE WHEN adult THEN 1 ELSE 0 END), \
                     CAST(MAX(born) AS STRING) \
                     FROM {name}"
                ))
                .unwrap()
                .collect()
                .unwrap();
            let last = rows.last().unwrap().to_string();
            assert!(last.ends_with("[100, 5050, 100, 50, 2024-01-28]"), "{:?} {name}: {last}", server.kind);
        }
    }
}

#[test]
fn a_wrong_password_fails_at_once_with_the_servers_answer() {
    for server in servers() {
        let database = server.create_database("login");
        database.execute("CREATE TABLE t (n BIGINT)");
        let t_env = streaming(1);
        let options = options(&database, "t", "").replace(&database.password, "wrong");
        t_env.execute_sql(&format!("CREATE TABLE sink (n BIGINT) WITH ({options})")).unwrap();
        let started = Instant::now();
        let error = t_env.execute_sql("INSERT INTO sink VALUES (1)").and_then(|result| result.wait()).unwrap_err();
        let error = error.to_string();
        assert!(error.contains("cannot connect") && error.contains(&database.user), "{error}");
        assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
        let error = t_env
            .execute_sql(
                "CREATE TABLE bad (n BIGINT) WITH ('connector' = 'jdbc', 'url' = 'jdbc:db2://x/y', 'table-name' = 't')",
            )
            .and_then(|_| t_env.execute_sql("INSERT INTO bad VALUES (1)"))
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(error.contains("'db2' are not supported"), "{error}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Any changelog of +I / -U / +U / -D over a few keys, cut into batches and flushed at any
    /// size, leaves the table holding the last row of every key not deleted.
    #[test]
    fn upserts_leave_the_last_row_of_each_key(
        changes_seen in proptest::collection::vec((0..4usize, 0..3u8, proptest::option::of(-5..5i64)), 1..40),
        cut in 1..10usize,
        max_rows in 1..6usize,
        postgres in any::<bool>(),
    ) {
        let server = if postgres { Server::postgres() } else { Server::mariadb() };
        let database = server.create_database("property");
        database.execute("CREATE TABLE latest (name VARCHAR(8) PRIMARY KEY, n BIGINT)");
        let names = ["k0", "k1", "k2", "k3"];
        let mut oracle: BTreeMap<&str, Option<i64>> = BTreeMap::new();
        let mut rows = Vec::new();
        for (key, kind, n) in changes_seen {
            let name = names[key];
            // A changelog as a query makes it: updates and deletes only of rows that exist.
            let kinds: Vec<RowKind> = match (oracle.contains_key(name), kind) {
                (false, _) => vec![RowKind::Insert],
                (true, 0) => vec![RowKind::UpdateBefore, RowKind::UpdateAfter],
                (true, _) => vec![RowKind::Delete],
            };
            for kind in kinds {
                let before = oracle.get(name).copied().flatten();
                match kind {
                    RowKind::Insert | RowKind::UpdateAfter => { oracle.insert(name, n); rows.push((kind, name, n)); }
                    RowKind::UpdateBefore => rows.push((kind, name, before)),
                    RowKind::Delete => { oracle.remove(name); rows.push((kind, name, before)); }
                }
            }
        }
        let batches: Vec<ChangeBatch> = rows.chunks(cut).map(changes).collect();
        let max_rows = max_rows.to_string();
        write_changes(&database, "latest", true, batches, &[("sink.buffer-flush.max-rows", &max_rows)]);
        let expected: Vec<String> = oracle
            .iter()
            .map(|(name, n)| format!("{name},{}", n.map_or("NULL".to_string(), |n| n.to_string())))
            .collect();
        prop_assert_eq!(text(database.rows("SELECT name, n FROM latest ORDER BY name")), expected);
    }
}

#[test]
fn a_table_of_flink_1_10s_keys_without_a_primary_key_is_upserted_by_the_group_by_keys() {
    for server in servers() {
        let database = server.create_database("legacy");
        database.execute(
            "CREATE TABLE cdn_access_statistic (province VARCHAR(32) PRIMARY KEY, access_count BIGINT, \
             total_download BIGINT, download_speed DOUBLE PRECISION)",
        );
        let t_env = streaming(2);
        t_env
            .execute_sql(&format!(
                "CREATE TABLE cdn_access_statistic (province VARCHAR, access_count BIGINT, total_download BIGINT, \
                 download_speed DOUBLE) WITH ('connector.type' = 'jdbc', 'connector.url' = '{}', 'connector.table' = \
                 'cdn_access_statistic', 'connector.username' = '{}', 'connector.password' = '{}', \
                 'connector.write.flush.interval' = '1s', 'connector.write.flush.max-rows' = '5')",
                database.jdbc_url(),
                database.user,
                database.password
            ))
            .unwrap();
        let logs: Vec<String> =
            (0..120).map(|n| format!("('{}', {}, {})", ["a", "b", "c"][n % 3], n, n % 4 + 1)).collect();
        t_env
            .execute_sql(&format!(
                "INSERT INTO cdn_access_statistic SELECT province, COUNT(uuid) AS access_count, SUM(response_size) AS \
                 total_download, SUM(response_size) * 1.0 / SUM(request_time) AS download_speed FROM (VALUES {}) AS \
                 logs(province, response_size, request_time), (VALUES (1)) AS ids(uuid) GROUP BY province",
                logs.join(", ")
            ))
            .unwrap()
            .wait()
            .unwrap();
        let rows: Vec<String> = database
            .rows("SELECT province, access_count, total_download, download_speed FROM cdn_access_statistic ORDER BY province")
            .into_iter()
            .map(|row| {
                let values: Vec<String> = row.into_iter().map(Option::unwrap).collect();
                let speed: f64 = values[3].parse().unwrap();
                format!("{},{},{},{speed:.3}", values[0], values[1], values[2])
            })
            .collect();
        let mut expected = Vec::new();
        for (index, province) in ["a", "b", "c"].iter().enumerate() {
            let ns: Vec<usize> = (0..120).filter(|n| n % 3 == index).collect();
            let size: usize = ns.iter().sum();
            let time: usize = ns.iter().map(|n| n % 4 + 1).sum();
            expected.push(format!("{province},40,{size},{:.3}", size as f64 / time as f64));
        }
        assert_eq!(rows, expected, "{:?}", server.kind);
    }
}

/// Orders joined with their customers, looked up in the database as each order arrives
/// (`FOR SYSTEM_TIME AS OF` the orders' processing time): an inner join drops an order whose
/// customer is missing, a left join keeps it with NULLs, and a condition on the customer alone
/// counts as not found; with a cache, each key is asked for once per join instance.
#[test]
fn orders_are_enriched_by_a_lookup_join_on_the_database_table() {
    let orders = tempfile::tempdir().unwrap();
    std::fs::write(orders.path().join("orders.csv"), "1,10,5\n2,20,7\n3,10,1\n4,99,3\n5,30,2\n").unwrap();
    for server in servers() {
        let database = server.create_database("lookup");
        database.execute("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(32), country VARCHAR(2))");
        database.execute("INSERT INTO customers VALUES (10, 'alice', 'DE'), (20, 'bob', 'FR'), (30, 'it''s', 'DE')");
        let t_env = streaming(2);
        t_env
            .execute_sql(&format!(
                "CREATE TABLE orders (order_id INT, customer_id INT, amount INT, proc_time AS PROCTIME()) WITH (\
                 'connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
                orders.path().display()
            ))
            .unwrap();
        t_env
            .execute_sql(&format!(
                "CREATE TABLE customers (id INT, name STRING, country STRING, PRIMARY KEY (id) NOT ENFORCED) WITH ({})",
                options(
                    &database,
                    "customers",
                    ", 'lookup.cache' = 'PARTIAL', 'lookup.partial-cache.max-rows' = '100', \
                     'lookup.partial-cache.expire-after-write' = '1 h'"
                )
            ))
            .unwrap();
        let rows = |query: &str| -> Vec<String> {
            let mut rows: Vec<String> =
                t_env.execute_sql(query).unwrap().collect().unwrap().iter().map(ToString::to_string).collect();
            rows.sort();
            rows
        };
        assert_eq!(
            rows(
                "SELECT o.order_id, c.name, o.amount FROM orders AS o JOIN customers FOR SYSTEM_TIME AS OF \
                  o.proc_time AS c ON o.customer_id = c.id"
            ),
            ["+I[1, alice, 5]", "+I[2, bob, 7]", "+I[3, alice, 1]", "+I[5, it's, 2]"],
            "{:?}",
            server.kind
        );
        assert_eq!(
            rows(
                "SELECT o.order_id, c.name FROM orders AS o LEFT JOIN customers FOR SYSTEM_TIME AS OF o.proc_time \
                  AS c ON o.customer_id = c.id AND c.country = 'DE'"
            ),
            ["+I[1, alice]", "+I[2, null]", "+I[3, alice]", "+I[4, null]", "+I[5, it's]"],
            "{:?}",
            server.kind
        );
        let error = t_env
            .execute_sql("SELECT * FROM orders AS o FULL JOIN customers FOR SYSTEM_TIME AS OF o.proc_time AS c ON o.customer_id = c.id")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(error.contains("INNER or LEFT"), "{error}");
    }
}
