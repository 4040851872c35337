//! Rows as records of Avro object container files: a bulk writer for the file sink (Flink's
//! `AvroBulkWriters.forGenericRecord`, uncompressed) and a bulk format for the file source
//! (Flink's `AvroInputFormat`), for the flat record schemas of [`crate::formats::avro`].
//!
//! A container file is the magic `Obj\x01`, a metadata map holding the writer's schema and
//! codec, a 16-byte sync marker, then blocks: a record count, a byte count, the records in
//! Avro's binary encoding, and the sync marker again.
//!
//! ```
//! use pyflink_connectors::file::{BulkFormat, BulkWriterFactory};
//! use pyflink_connectors::formats::avro_file::{AvroFileFormat, AvroFileWriterFactory};
//! use pyflink_core::table::{Row, Value};
//!
//! let schema = r#"{"type": "record", "name": "Reading", "fields": [
//!     {"name": "sensor", "type": "string"}, {"name": "value", "type": ["null", "double"]}]}"#;
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("readings.avro");
//! let mut writer = AvroFileWriterFactory::new(schema).unwrap()
//!     .create(std::fs::File::create(&path).unwrap(), &path).unwrap();
//! writer.add_element(&Row::of(vec![Value::String("s1".into()), Value::Double(0.5)])).unwrap();
//! writer.add_element(&Row::of(vec![Value::String("s2".into()), Value::Null])).unwrap();
//! writer.finish().unwrap();
//!
//! let rows: Vec<String> = AvroFileFormat::new(schema).unwrap().read(&path, 1).unwrap()
//!     .map(|row| row.unwrap().to_string()).collect();
//! assert_eq!(rows, ["+I[s2, null]"]);
//! ```

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use pyflink_core::table::Row;
use pyflink_core::{FlinkError, Result};
use rand::Rng;

use crate::file::{BulkFormat, BulkRecords, BulkWriter, BulkWriterFactory};
use crate::formats::avro::{write_long, AvroRowDeserializationSchema, AvroRowSerializationSchema, Input};
use crate::serialization::SerializationSchema;

const MAGIC: &[u8; 4] = b"Obj\x01";
/// The records a writer gathers into one block.
const BLOCK_RECORDS: usize = 1000;

fn avro_error(what: &str, path: &Path, error: impl std::fmt::Display) -> FlinkError {
    FlinkError::Connector(format!("Avro file: cannot {what} '{}': {error}", path.display()))
}

/// Appends `bytes` as Avro `bytes` (or `string`): the length, then the bytes.
fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_long(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
}

/// Writes rows of a flat record schema as Avro container files (Flink's
/// `AvroBulkWriters.forGenericRecord`).
#[derive(Debug, Clone)]
pub struct AvroFileWriterFactory {
    schema_json: String,
    records: AvroRowSerializationSchema,
}

impl AvroFileWriterFactory {
    /// Writers of records of `avro_schema` (Avro's JSON form of a record schema).
    pub fn new(avro_schema: &str) -> Result<Self> {
        let records = AvroRowSerializationSchema::new(avro_schema)?;
        // The schema as the file states it: parsed and printed in Avro's canonical JSON.
        let schema_json = apache_avro::Schema::parse_str(avro_schema)
            .map_err(|e| FlinkError::InvalidProgram(format!("the Avro schema cannot make rows: {e}")))?
            .canonical_form();
        Ok(AvroFileWriterFactory { schema_json, records })
    }
}

impl BulkWriterFactory<Row> for AvroFileWriterFactory {
    fn create(&self, file: File, path: &Path) -> Result<Box<dyn BulkWriter<Row>>> {
        let mut header = Vec::with_capacity(64 + self.schema_json.len());
        header.extend_from_slice(MAGIC);
        write_long(&mut header, 2);
        write_bytes(&mut header, b"avro.codec");
        write_bytes(&mut header, b"null");
        write_bytes(&mut header, b"avro.schema");
        write_bytes(&mut header, self.schema_json.as_bytes());
        write_long(&mut header, 0);
        let sync: [u8; 16] = rand::rng().random();
        header.extend_from_slice(&sync);
        let mut out = BufWriter::with_capacity(1 << 16, file);
        out.write_all(&header).map_err(|e| avro_error("write", path, e))?;
        Ok(Box::new(AvroFileWriter {
            records: self.records.clone(),
            sync,
            block: Vec::new(),
            count: 0,
            out,
            path: path.to_path_buf(),
        }))
    }
}

/// Writes one Avro container file, a block of [`BLOCK_RECORDS`] records at a time.
struct AvroFileWriter {
    records: AvroRowSerializationSchema,
    sync: [u8; 16],
    block: Vec<u8>,
    count: usize,
    out: BufWriter<File>,
    path: PathBuf,
}

impl AvroFileWriter {
    fn write_block(&mut self) -> Result<()> {
        if self.count == 0 {
            return Ok(());
        }
        let mut sizes = Vec::with_capacity(20);
        write_long(&mut sizes, self.count as i64);
        write_long(&mut sizes, self.block.len() as i64);
        let written = self
            .out
            .write_all(&sizes)
            .and_then(|()| self.out.write_all(&self.block))
            .and_then(|()| self.out.write_all(&self.sync));
        written.map_err(|e| avro_error("write", &self.path, e))?;
        self.block.clear();
        self.count = 0;
        Ok(())
    }
}

impl BulkWriter<Row> for AvroFileWriter {
    fn add_element(&mut self, row: &Row) -> Result<()> {
        let datum = self.records.serialize(row)?;
        self.block.extend_from_slice(&datum);
        self.count += 1;
        if self.count >= BLOCK_RECORDS {
            self.write_block()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<File> {
        self.write_block()?;
        let path = self.path.clone();
        self.out.into_inner().map_err(|e| avro_error("write", &path, e.into_error()))
    }
}

/// Reads Avro container files of a flat record schema as rows (Flink's `AvroInputFormat`).
/// Files must hold records of the same fields (names and types) and be uncompressed.
#[derive(Debug, Clone)]
pub struct AvroFileFormat {
    records: AvroRowDeserializationSchema,
}

impl AvroFileFormat {
    /// A format reading records of `avro_schema` (Avro's JSON form of a record schema).
    pub fn new(avro_schema: &str) -> Result<Self> {
        Ok(AvroFileFormat { records: AvroRowDeserializationSchema::new(avro_schema)? })
    }

    /// The rows of a whole file's `bytes`.
    fn rows(&self, bytes: &[u8]) -> std::result::Result<Vec<Row>, String> {
        let mut input = Input::new(bytes);
        if input.take(4)? != MAGIC {
            return Err("it is not an Avro object container file (no Obj\\x01 at its start)".into());
        }
        let mut metadata = Vec::new();
        loop {
            let count = input.long()?;
            if count == 0 {
                break;
            }
            if count < 0 {
                input.long()?;
            }
            for _ in 0..count.unsigned_abs() {
                let key = String::from_utf8_lossy(input.bytes()?).into_owned();
                metadata.push((key, input.bytes()?.to_vec()));
            }
        }
        let value_of = |key: &str| metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_slice());
        match value_of("avro.codec") {
            None | Some(b"null") => {}
            Some(codec) => {
                return Err(format!(
                    "it is compressed with '{}'; only uncompressed ('null' codec) files are read",
                    String::from_utf8_lossy(codec)
                ))
            }
        }
        let written = value_of("avro.schema").ok_or("it states no schema")?;
        let written = AvroRowDeserializationSchema::new(&String::from_utf8_lossy(written))
            .map_err(|e| format!("its schema cannot be read as rows: {e}"))?;
        if written.row_type() != self.records.row_type() {
            return Err(format!(
                "its records have the fields {:?}, the format's schema {:?}",
                written.row_type().fields(),
                self.records.row_type().fields()
            ));
        }
        let sync = input.take(16)?;
        let mut rows = Vec::new();
        while input.remaining() > 0 {
            let count = input.long()?;
            let size = usize::try_from(input.long()?).map_err(|_| "a negative block size")?;
            let mut block = Input::new(input.take(size)?);
            for _ in 0..count {
                rows.push(self.records.read_record(&mut block)?);
            }
            if block.remaining() > 0 {
                return Err(format!("a block holds {} bytes after its {count} records", block.remaining()));
            }
            if input.take(16)? != sync {
                return Err("a block does not end with the file's sync marker".into());
            }
        }
        Ok(rows)
    }
}

impl BulkFormat<Row> for AvroFileFormat {
    fn read(&self, path: &Path, skip: u64) -> Result<BulkRecords<Row>> {
        let mut bytes = Vec::new();
        File::open(path).and_then(|mut file| file.read_to_end(&mut bytes)).map_err(|e| avro_error("read", path, e))?;
        let rows = self.rows(&bytes).map_err(|e| avro_error("read", path, e))?;
        Ok(Box::new(rows.into_iter().skip(skip as usize).map(Ok)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pyflink_core::table::Value;

    const SCHEMA: &str = r#"{"type": "record", "name": "R", "fields": [
        {"name": "id", "type": "long"}, {"name": "name", "type": ["null", "string"]}]}"#;

    fn rows(n: i64) -> Vec<Row> {
        (0..n)
            .map(|i| {
                Row::of(vec![Value::BigInt(i), if i % 3 == 0 { Value::Null } else { Value::String(format!("n{i}")) }])
            })
            .collect()
    }

    #[test]
    fn files_written_here_are_read_by_apache_avro_and_back_here_across_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.avro");
        let mut writer =
            AvroFileWriterFactory::new(SCHEMA).unwrap().create(File::create(&path).unwrap(), &path).unwrap();
        let written = rows(2500);
        for row in &written {
            writer.add_element(row).unwrap();
        }
        writer.finish().unwrap();
        let reference: Vec<apache_avro::types::Value> =
            apache_avro::Reader::new(File::open(&path).unwrap()).unwrap().map(Result::unwrap).collect();
        assert_eq!(reference.len(), 2500, "apache-avro reads every record of every block");
        let read: Vec<Row> = AvroFileFormat::new(SCHEMA).unwrap().read(&path, 0).unwrap().map(Result::unwrap).collect();
        assert_eq!(read, written);
    }

    #[test]
    fn files_of_another_schema_or_codec_or_not_avro_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let other = r#"{"type": "record", "name": "R", "fields": [{"name": "id", "type": "int"}]}"#;
        let schema = apache_avro::Schema::parse_str(other).unwrap();
        let path = dir.path().join("other.avro");
        let mut writer = apache_avro::Writer::new(&schema, File::create(&path).unwrap()).unwrap();
        writer
            .append_value(apache_avro::types::Value::Record(vec![("id".into(), apache_avro::types::Value::Int(1))]))
            .unwrap();
        writer.into_inner().unwrap();
        let error = AvroFileFormat::new(SCHEMA).unwrap().read(&path, 0).err().unwrap().to_string();
        assert!(error.contains("its records have the fields"), "{error}");
        std::fs::write(dir.path().join("text"), "not avro").unwrap();
        let error = AvroFileFormat::new(SCHEMA).unwrap().read(&dir.path().join("text"), 0).err().unwrap().to_string();
        assert!(error.contains("not an Avro object container file"), "{error}");
    }
}
