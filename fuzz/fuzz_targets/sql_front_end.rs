//! Fuzzes the SQL front end: any text, planned as a query against a table and read as a column
//! type, gives a plan or a typed error, never a panic; a type read prints as text that reads
//! back as the same type.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyflink_core::table::{Row, Value};
use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
use pyflink_table::types::DataType;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(data_type) = DataType::parse(text) {
        assert_eq!(DataType::parse(&data_type.to_string()), Ok(data_type));
    }
    let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
    let rows = vec![Row::of(vec![Value::BigInt(1), Value::String("a".into())])];
    let columns = [("id", DataType::parse("BIGINT").unwrap()), ("name", DataType::parse("STRING").unwrap())];
    let table = t_env.from_elements(rows, &columns).unwrap();
    t_env.create_temporary_view("T", &table).unwrap();
    let _ = t_env.sql_query(text);
});
