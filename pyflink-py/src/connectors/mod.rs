//! The connectors and record formats Python reaches: each Python connector object crosses the
//! interface once, as a spec the engine turns into a `pyflink-connectors` source or sink.
//!
//! - [`formats`]: how Kafka records' and files' bytes become Python values (strings, JSON or
//!   CSV rows, Avro records) and back;
//! - [`files`] and [`bulk_files`]: `FileSource` and `FileSink` in row and bulk formats
//!   (Parquet, ORC, Avro, CSV);
//! - [`kafka`]: `KafkaSource`, `KafkaSink` and PyFlink 1.x's `FlinkKafkaConsumer` /
//!   `FlinkKafkaProducer`;
//! - [`jdbc`]: the DataStream API's `JdbcSink`.

pub mod bulk_files;
pub mod files;
pub mod formats;
pub mod jdbc;
pub mod kafka;
