//! Fuzzes the CSV row decoder: any bytes give a row, a skip or an error, never a panic; a row
//! read is written back and read again equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyflink_connectors::formats::csv::{CsvRowDeserializationSchema, CsvRowSerializationSchema};
use pyflink_connectors::formats::RowType;
use pyflink_connectors::serialization::{DeserializationSchema, SerializationSchema};
use pyflink_core::table::DataType;

fuzz_target!(|data: &[u8]| {
    let row_type = RowType::new([("i", DataType::BigInt), ("s", DataType::String), ("f", DataType::Float)]);
    let reader = CsvRowDeserializationSchema::builder(row_type.clone())
        .set_escape_character('\\')
        .set_null_literal("NULL")
        .set_allow_comments(true)
        .build()
        .unwrap();
    let writer = CsvRowSerializationSchema::builder(row_type)
        .set_escape_character('\\')
        .set_null_literal("NULL")
        .build()
        .unwrap();
    if let Ok(Some(row)) = reader.deserialize_or_skip(data) {
        let csv = writer.serialize(&row).expect("a row read is written");
        let again = reader.deserialize(&csv).expect("a row written is read");
        assert_eq!(writer.serialize(&again).unwrap(), csv);
    }
});
