//! Tables declared in SQL: `CREATE TABLE` with connectors and computed columns, `DESCRIBE`,
//! `SHOW TABLES`, `DROP`, and `INSERT INTO` (alone and in statement sets) into a connector that
//! keeps what it is given, as a user's own connector would.

use std::sync::{Arc, Mutex};

use pyflink_core::sinks::{Sink, SinkWriter, SinkWriterContext};
use pyflink_core::table::Row;
use pyflink_core::DataStream;
use pyflink_table::batch::{batch_to_rows, ChangeBatch};
use pyflink_table::connectors::{TableConnector, TableContext};
use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
use pyflink_table::result::ResultKind;

/// A connector whose tables keep the rows inserted into them, for the test to read.
#[derive(Clone, Default)]
struct Memory {
    rows: Arc<Mutex<Vec<(String, Row)>>>,
}

impl Memory {
    fn rows_of(&self, table: &str) -> Vec<String> {
        let rows = self.rows.lock().unwrap();
        let mut texts: Vec<String> = rows.iter().filter(|(t, _)| t == table).map(|(_, row)| row.to_string()).collect();
        texts.sort();
        texts
    }
}

impl TableConnector for Memory {
    fn identifier(&self) -> &str {
        "memory"
    }

    fn sink(&self, context: &TableContext<'_>, rows: DataStream<ChangeBatch>) -> pyflink_table::Result<()> {
        rows.sink_to(MemorySink { table: context.table_name.to_string(), rows: Arc::clone(&self.rows) });
        Ok(())
    }
}

struct MemorySink {
    table: String,
    rows: Arc<Mutex<Vec<(String, Row)>>>,
}

impl Sink<ChangeBatch> for MemorySink {
    type Writer = MemoryWriter;
    fn create_writer(&self, _context: &SinkWriterContext) -> pyflink_core::Result<MemoryWriter> {
        Ok(MemoryWriter { table: self.table.clone(), rows: Arc::clone(&self.rows) })
    }
}

struct MemoryWriter {
    table: String,
    rows: Arc<Mutex<Vec<(String, Row)>>>,
}

impl SinkWriter<ChangeBatch> for MemoryWriter {
    fn write(&mut self, batch: ChangeBatch, _timestamp: Option<i64>) -> pyflink_core::Result<()> {
        let rows = batch_to_rows(&batch).map_err(|e| pyflink_core::FlinkError::Runtime(e.to_string()))?;
        self.rows.lock().unwrap().extend(rows.into_iter().map(|row| (self.table.clone(), row)));
        Ok(())
    }
}

fn printed(result: &pyflink_table::result::TableResult) -> String {
    let mut out = Vec::new();
    result.print_to(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

const ORDERS: &str = "CREATE TABLE orders (
    id BIGINT,
    amount INT,
    doubled AS amount * 2,
    label AS CONCAT('order-', CAST(id AS STRING)),
    PRIMARY KEY (id) NOT ENFORCED
) WITH (
    'connector' = 'datagen',
    'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000',
    'fields.amount.min' = '1', 'fields.amount.max' = '10'
)";

#[test]
fn datagen_tables_with_computed_columns_are_queried() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    assert_eq!(t_env.execute_sql(ORDERS).unwrap().get_result_kind(), ResultKind::Success);
    let rows = t_env
        .execute_sql(
            "SELECT COUNT(*), SUM(id), MIN(amount) >= 1 AND MAX(amount) <= 10, \
             COUNT(*) FILTER (WHERE doubled = amount * 2), MAX(label) FROM orders",
        )
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].to_string(), "+I[1000, 500500, true, 1000, order-999]");
}

#[test]
fn tables_are_described_listed_and_dropped() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_streaming_mode());
    t_env.execute_sql(ORDERS).unwrap();
    t_env
        .execute_sql(
            "CREATE TABLE clicks (url STRING, ts TIMESTAMP(3), pt AS PROCTIME(), \
             WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH ('connector' = 'datagen')",
        )
        .unwrap();
    t_env.execute_sql("CREATE VIEW big AS SELECT id FROM orders WHERE amount > 5").unwrap();
    let shown = printed(&t_env.execute_sql("SHOW TABLES").unwrap());
    let names: Vec<&str> = shown.lines().filter(|l| l.starts_with('|')).map(|l| l.trim_matches('|').trim()).collect();
    assert_eq!(names, ["table name", "big", "clicks", "orders"]);
    assert!(shown.ends_with("3 rows in set\n"), "{shown}");
    let described = printed(&t_env.execute_sql("DESCRIBE clicks").unwrap());
    let lines: Vec<&str> = described.lines().collect();
    assert_eq!(
        lines[1].split('|').map(str::trim).collect::<Vec<_>>(),
        ["", "name", "type", "null", "key", "extras", "watermark", ""]
    );
    let row = |line: &str| line.split('|').map(str::trim).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(row(lines[3]), ["", "url", "STRING", "TRUE", "", "", "", ""]);
    assert_eq!(row(lines[4]), ["", "ts", "TIMESTAMP(3) *ROWTIME*", "TRUE", "", "", "ts - INTERVAL '5' SECOND", ""]);
    assert_eq!(row(lines[5]), ["", "pt", "TIMESTAMP_LTZ(3) *PROCTIME*", "FALSE", "", "AS PROCTIME()", "", ""]);
    let described = printed(&t_env.execute_sql("DESC orders").unwrap());
    assert!(described.contains(" PRI(id) |"), "{described}");
    assert!(described.contains("AS amount * 2"), "{described}");
    assert_eq!(printed(&t_env.execute_sql("DROP TABLE clicks").unwrap()), "OK\n");
    let error = t_env.execute_sql("DROP TABLE clicks").unwrap_err().to_string();
    assert!(error.contains("'default_catalog.default_database.clicks' does not exist"), "{error}");
    let error = t_env.execute_sql("DROP TABLE big").unwrap_err().to_string();
    assert!(error.contains("DROP VIEW"), "{error}");
    t_env.execute_sql("DROP VIEW big").unwrap();
    t_env.execute_sql("DROP TABLE IF EXISTS nothing").unwrap();
    let error = t_env.execute_sql(ORDERS).unwrap_err().to_string();
    assert!(error.contains("already exists"), "{error}");
    t_env.execute_sql(&ORDERS.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS")).unwrap();
}

#[test]
fn inserts_cast_to_the_table_and_statement_sets_run_as_one_job() {
    let memory = Memory::default();
    let t_env = TableEnvironment::create(EnvironmentSettings::in_streaming_mode());
    t_env.register_connector(Arc::new(memory.clone()));
    t_env
        .execute_sql(
            "CREATE TABLE numbers (n INT) WITH ('connector' = 'datagen', 'fields.n.kind' = 'sequence', \
             'fields.n.start' = '1', 'fields.n.end' = '6', 'rows-per-second' = '1000000')",
        )
        .unwrap();
    t_env
        .execute_sql("CREATE TABLE wide (n BIGINT, label STRING, extra DOUBLE) WITH ('connector' = 'memory')")
        .unwrap();
    t_env.execute_sql("CREATE TABLE totals (parity INT NOT NULL, total BIGINT) WITH ('connector' = 'memory')").unwrap();
    let result = t_env.execute_sql("INSERT INTO wide (label, n) SELECT 'x', n FROM numbers WHERE n <= 2").unwrap();
    assert_eq!(
        printed(&result),
        "+---------------------------------------+\n\
         | default_catalog.default_database.wide |\n\
         +---------------------------------------+\n\
         |                                    -1 |\n\
         +---------------------------------------+\n\
         1 row in set\n"
    );
    result.wait().unwrap();
    assert_eq!(memory.rows_of("wide"), ["+I[1, x, null]", "+I[2, x, null]"]);

    let mut set = t_env.create_statement_set();
    set.add_insert_sql("INSERT INTO wide SELECT n, 'y', n / 2.0 FROM numbers WHERE n = 6").unwrap();
    set.add_insert_sql("INSERT INTO totals SELECT CAST(n % 2 AS INT), SUM(n) FROM numbers GROUP BY CAST(n % 2 AS INT)")
        .unwrap();
    set.execute().unwrap().wait().unwrap();
    assert!(memory.rows_of("wide").contains(&"+I[6, y, 3.0]".to_string()), "{:?}", memory.rows_of("wide"));
    let totals = memory.rows_of("totals");
    // The changelog of the sums ends at 9 (1 + 3 + 5) and 12 (2 + 4 + 6).
    assert!(totals.contains(&"+U[1, 9]".to_string()) && totals.contains(&"+U[0, 12]".to_string()), "{totals:?}");
}

#[test]
fn wrong_tables_and_inserts_say_what_to_fix() {
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    let error = |sql: &str| t_env.execute_sql(sql).unwrap_err().to_string();
    t_env.execute_sql("CREATE TABLE nowhere (a INT) WITH ('connector' = 'nowhere')").unwrap();
    let message = error("SELECT * FROM nowhere");
    assert!(message.contains("Could not find any factory for identifier 'nowhere'"), "{message}");
    assert!(message.contains("blackhole\ndatagen\nprint"), "{message}");
    t_env
        .execute_sql(
            "CREATE TABLE odd (a INT) WITH ('connector' = 'datagen', 'number-of-rows' = '5', 'speed' = 'fast')",
        )
        .unwrap();
    let message = error("SELECT * FROM odd");
    assert!(message.contains("Unsupported options found for 'datagen'") && message.contains("speed"), "{message}");
    t_env.execute_sql("CREATE TABLE endless (a INT) WITH ('connector' = 'datagen')").unwrap();
    assert!(error("SELECT * FROM endless").contains("unbounded"));
    t_env.execute_sql("CREATE TABLE sink (a INT, b INT) WITH ('connector' = 'blackhole')").unwrap();
    let message = error("INSERT INTO sink SELECT 'text', 1");
    assert!(message.contains("Incompatible types for sink column 'a' at position 0"), "{message}");
    assert!(message.contains("Sink schema:  [a: INT, b: INT]"), "{message}");
    let message = error("INSERT INTO sink SELECT 1");
    assert!(message.contains("the query has 1 columns and the sink 2"), "{message}");
    let message = error("INSERT INTO sink (c) SELECT 1");
    assert!(message.contains("Unknown target column 'c'"), "{message}");
    assert!(error("CREATE TABLE w (ts BIGINT, WATERMARK FOR ts AS ts) WITH ('connector' = 'datagen')")
        .contains("but the time field type is BIGINT"));
    assert!(error("CREATE TABLE c (a INT, b AS nothing(a)) WITH ('connector' = 'datagen')").contains("column 'b'"));
    let message = t_env.sql_query("DROP TABLE sink").err().unwrap().to_string();
    assert!(message.contains("sql_query() only accepts a single SQL query"), "{message}");
}
