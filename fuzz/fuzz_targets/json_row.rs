//! Fuzzes the JSON row decoder: any bytes give a row or an error, never a panic; a row read
//! is written back and read again equal (the JSON of a row is a fixed point).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyflink_connectors::formats::json::{JsonRowDeserializationSchema, JsonRowSerializationSchema};
use pyflink_connectors::formats::RowType;
use pyflink_connectors::serialization::{DeserializationSchema, SerializationSchema};
use pyflink_core::table::DataType;

fuzz_target!(|data: &[u8]| {
    let row_type = RowType::new([
        ("b", DataType::Boolean),
        ("i", DataType::Int),
        ("l", DataType::BigInt),
        ("d", DataType::Double),
        ("s", DataType::String),
    ]);
    let reader = JsonRowDeserializationSchema::builder().type_info(row_type.clone()).build().unwrap();
    let writer = JsonRowSerializationSchema::builder().with_type_info(row_type).build().unwrap();
    if let Ok(row) = reader.deserialize(data) {
        let json = writer.serialize(&row).expect("a row read is written");
        let again = reader.deserialize(&json).expect("a row written is read");
        assert_eq!(writer.serialize(&again).unwrap(), json);
    }
});
