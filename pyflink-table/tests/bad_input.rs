//! Whatever text is given as SQL or as a type, the answer is a plan or a typed error: nothing
//! panics (the `sql_front_end` fuzz target searches further).

use proptest::prelude::*;
use pyflink_core::table::{Row, Value};
use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
use pyflink_table::types::DataType;

/// Words and symbols of SQL, so that random sequences come near valid queries.
const VOCABULARY: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "ORDER",
    "LIMIT",
    "AS",
    "AND",
    "OR",
    "NOT",
    "NULL",
    "IS",
    "IN",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "INT",
    "STRING",
    "TIMESTAMP(3)",
    "T",
    "id",
    "name",
    "*",
    ",",
    "(",
    ")",
    "+",
    "-",
    "/",
    "=",
    "<>",
    "<",
    ">",
    "'x'",
    "1",
    "0",
    "1.5",
    "upper",
    "count",
    "sum",
    "concat",
    "JOIN",
    "ON",
    "UNION",
    "ALL",
    "DISTINCT",
    "OVER",
    "PARTITION",
    "`id`",
    "\"name\"",
    ";",
    "[",
    "]",
    "ARRAY",
    "INTERVAL",
    "'1' SECOND",
    "WITH",
    "VALUES",
    "x",
    "::",
    "%",
    "||",
    "TRUE",
    "EXISTS",
    "LIKE",
    "BETWEEN",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_sql_text_plans_or_fails_cleanly(words in proptest::collection::vec(proptest::sample::select(VOCABULARY), 0..14)) {
        let sql = words.join(" ");
        let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
        let rows = vec![Row::of(vec![Value::BigInt(1), Value::String("a".into())])];
        let columns = [("id", DataType::parse("BIGINT").unwrap()), ("name", DataType::parse("STRING").unwrap())];
        let table = t_env.from_elements(rows, &columns).unwrap();
        t_env.create_temporary_view("T", &table).unwrap();
        let _ = t_env.sql_query(&sql);
        let _ = DataType::parse(&sql);
    }

    #[test]
    fn any_characters_plan_or_fail_cleanly(sql in "\\PC{0,40}") {
        let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
        let _ = t_env.sql_query(&sql);
        let _ = DataType::parse(&sql);
    }
}
