//! The Table API in Rust: operations on tables of given rows with expressions, the column names
//! Flink gives (`EXPR$n`), `JSON_VALUE`, limits and unions, and the errors of bad calls.

use pyflink_core::table::{Row, Value};
use pyflink_table::environment::{EnvironmentSettings, Table, TableEnvironment};
use pyflink_table::expressions::{col, concat, lit};
use pyflink_table::types::DataType;

const PEOPLE: [(i64, &str); 4] = [
    (1, r#"{"name": "Flink", "tel": 123, "addr": {"country": "Germany", "city": "Berlin"}}"#),
    (2, r#"{"name": "hello", "tel": 135, "addr": {"country": "China", "city": "Shanghai"}}"#),
    (3, r#"{"name": "world", "tel": 124, "addr": {"country": "USA", "city": "NewYork"}}"#),
    (4, r#"{"name": "PyFlink", "tel": 32, "addr": {"country": "China", "city": "Hangzhou"}}"#),
];

fn people(t_env: &TableEnvironment) -> Table {
    let rows = PEOPLE.iter().map(|(id, data)| Row::of(vec![Value::BigInt(*id), Value::String(data.to_string())]));
    let columns = [("id", DataType::parse("BIGINT").unwrap()), ("data", DataType::parse("STRING").unwrap())];
    t_env.from_elements(rows.collect(), &columns).unwrap()
}

fn streaming() -> TableEnvironment {
    TableEnvironment::create(EnvironmentSettings::in_streaming_mode())
}

fn rows(table: &Table) -> Vec<String> {
    table.execute().unwrap().collect().unwrap().iter().map(|row| row.to_string()).collect()
}

fn sorted(mut rows: Vec<String>) -> Vec<String> {
    rows.sort();
    rows
}

/// The table of basic_operations: id, name, tel and country read out of the JSON column.
fn contacts(t_env: &TableEnvironment) -> Table {
    people(t_env)
        .add_columns([
            col("data").json_value("$.name").alias("name"),
            col("data").json_value("$.tel").alias("tel"),
            col("data").json_value("$.addr.country").alias("country"),
        ])
        .unwrap()
        .drop_columns([col("data")])
        .unwrap()
}

#[test]
fn columns_are_added_dropped_renamed_and_replaced() {
    let t_env = streaming();
    let table = contacts(&t_env);
    assert_eq!(table.column_names(), ["id", "name", "tel", "country"]);
    assert_eq!(
        sorted(rows(&table)),
        [
            "+I[1, Flink, 123, Germany]",
            "+I[2, hello, 135, China]",
            "+I[3, world, 124, USA]",
            "+I[4, PyFlink, 32, China]"
        ]
    );
    assert_eq!(
        table.schema_string().unwrap(),
        "(\n  `id` BIGINT,\n  `name` STRING,\n  `tel` STRING,\n  `country` STRING\n)"
    );

    let renamed = table.rename_columns([col("tel").alias("telephone")]).unwrap();
    assert_eq!(renamed.column_names(), ["id", "name", "telephone", "country"]);
    let replaced = renamed
        .add_or_replace_columns([
            concat([col("id").cast(&DataType::parse("STRING").unwrap()), lit("_"), col("name")]).alias("id")
        ])
        .unwrap();
    assert_eq!(replaced.column_names(), ["id", "name", "telephone", "country"]);
    assert!(sorted(rows(&replaced)).contains(&"+I[4_PyFlink, PyFlink, 32, China]".to_string()));
}

#[test]
fn filters_aggregates_and_distinct_rows() {
    let t_env = streaming();
    let table = contacts(&t_env);
    assert_eq!(sorted(rows(&table.filter(col("id").is_not_equal(lit(3))).unwrap())).len(), 3);

    let grouped = table
        .group_by([col("country")])
        .select([col("country"), col("id").count(), col("tel").cast(&DataType::parse("BIGINT").unwrap()).max()])
        .unwrap();
    assert_eq!(grouped.column_names(), ["country", "EXPR$0", "EXPR$1"]);
    let changes = rows(&grouped);
    // China's second row updates its count: the changelog retracts the first result.
    assert!(changes.contains(&"-U[China, 1, 135]".to_string()) || changes.contains(&"-U[China, 1, 32]".to_string()));
    assert!(changes.contains(&"+U[China, 2, 135]".to_string()));

    let countries = sorted(rows(&table.select([col("country")]).unwrap().distinct().unwrap()));
    assert_eq!(countries, ["+I[China]", "+I[Germany]", "+I[USA]"]);
}

#[test]
fn sql_names_unnamed_columns_by_position() {
    let t_env = streaming();
    let sql = format!("SELECT id, id + 1, UPPER(JSON_VALUE(data, '$.name')) FROM {} WHERE id = 1", people(&t_env));
    let result = t_env.execute_sql(&sql).unwrap();
    let names: Vec<&str> = result.columns().iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["id", "EXPR$1", "EXPR$2"]);
    assert_eq!(result.collect().unwrap()[0].to_string(), "+I[1, 2, FLINK]");
}

#[test]
fn limits_take_the_first_rows_and_unions_keep_all() {
    let t_env = streaming();
    let table = people(&t_env).select([col("id")]).unwrap();
    assert_eq!(rows(&table.limit(3, 0).unwrap()).len(), 3);
    assert_eq!(rows(&table.fetch(1).unwrap()).len(), 1);
    let both = table.union_all(&table.filter(col("id").is_greater(lit(2))).unwrap()).unwrap();
    assert_eq!(sorted(rows(&both)), ["+I[1]", "+I[2]", "+I[3]", "+I[3]", "+I[4]", "+I[4]"]);

    let batch = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    let ordered = people(&batch).select([col("id")]).unwrap().order_by([col("id").desc()]).unwrap();
    assert_eq!(rows(&ordered.fetch(2).unwrap()), ["+I[4]", "+I[3]"]);
}

#[test]
fn bad_calls_say_what_to_fix() {
    let t_env = streaming();
    let table = people(&t_env);
    let unknown = table.drop_columns([col("nope")]).err().unwrap().to_string();
    assert!(unknown.contains("Cannot resolve field [nope]"), "{unknown}");
    let taken = table.add_columns([col("id").alias("data")]).err().unwrap().to_string();
    assert!(taken.contains("'data' is used already"), "{taken}");
    let rename = table.rename_columns([col("id")]).err().unwrap().to_string();
    assert!(rename.contains("col('a').alias('b')"), "{rename}");
    let path = t_env.execute_sql(&format!("SELECT JSON_VALUE(data, 'name') FROM {table}")).unwrap();
    let path = path.collect().unwrap_err().to_string();
    assert!(path.contains("does not start with '$'"), "{path}");
}

#[test]
fn a_select_of_constants_keeps_one_row_per_row() {
    let t_env = streaming();
    let ones = people(&t_env).select([lit(1).alias("one")]).unwrap();
    assert_eq!(rows(&ones), ["+I[1]", "+I[1]", "+I[1]", "+I[1]"]);
}
