//! Fuzzes the Avro row decoder: any bytes give a row or an error, never a panic; a row read is
//! written, read back and written again to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyflink_connectors::formats::avro::{AvroRowDeserializationSchema, AvroRowSerializationSchema};
use pyflink_connectors::serialization::{DeserializationSchema, SerializationSchema};

const SCHEMA: &str = r#"{"type": "record", "name": "R", "fields": [
    {"name": "b", "type": "boolean"}, {"name": "i", "type": "int"}, {"name": "l", "type": ["null", "long"]},
    {"name": "d", "type": "double"}, {"name": "s", "type": ["string", "null"]}]}"#;

fuzz_target!(|data: &[u8]| {
    let reader = AvroRowDeserializationSchema::new(SCHEMA).unwrap();
    let writer = AvroRowSerializationSchema::new(SCHEMA).unwrap();
    if let Ok(row) = reader.deserialize(data) {
        let again = writer.serialize(&row).expect("a row read is written");
        let reread = reader.deserialize(&again).expect("a row written is read");
        assert_eq!(writer.serialize(&reread).unwrap(), again);
    }
});
