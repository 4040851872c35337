//! Connectors of pyflink-rs: where jobs read their records from and write them to, built on
//! the source and sink APIs of `pyflink-core` (split-based sources, two-phase-commit sinks).
//!
//! - [`file`]: `FileSource` reads lines of files, once or watching directories for new files;
//!   `FileSink` writes rows into rolling part files that become visible, exactly once, when a
//!   checkpoint completes.
//! - [`kafka`]: `KafkaSource` reads topics, one split per partition, with its read positions
//!   in checkpoints; `KafkaSink` writes records with delivery guarantee `NONE`,
//!   `AT_LEAST_ONCE` or `EXACTLY_ONCE` (Kafka transactions committed with checkpoints).
//! - [`serialization`] and [`formats`]: how records become bytes and back: UTF-8 text, raw
//!   bytes, and rows as JSON, CSV or Avro, failing on malformed input or skipping and counting it.
//! - [`table`] (cargo feature `table`): the same as table connectors of `pyflink-table`,
//!   named by a table's `'connector'` option (`filesystem`).
//!
//! The cargo feature `rocksdb` turns on `pyflink-core`'s RocksDB state backend.
//!
//! ```
//! use pyflink_connectors::file::{FileSink, FileSource, SimpleStringEncoder, TextLineFormat};
//! use pyflink_core::time::WatermarkStrategy;
//! use pyflink_core::StreamExecutionEnvironment;
//!
//! let input = tempfile::tempdir().unwrap();
//! std::fs::write(input.path().join("words.txt"), "to be\nor not\nto be\n").unwrap();
//! let output = tempfile::tempdir().unwrap();
//!
//! let env = StreamExecutionEnvironment::get_execution_environment();
//! env.set_parallelism(1);
//! let source = FileSource::for_record_stream_format(TextLineFormat, [input.path()]).build().unwrap();
//! env.from_source(source, WatermarkStrategy::no_watermarks(), "lines")
//!     .map(|line: String| line.to_uppercase())
//!     .sink_to(FileSink::for_row_format(output.path(), SimpleStringEncoder).build());
//! env.execute("shout").unwrap();
//!
//! let written = pyflink_connectors::file::finished_files(output.path()).unwrap();
//! let text: String = written.iter().map(|path| std::fs::read_to_string(path).unwrap()).collect();
//! assert_eq!(text, "TO BE\nOR NOT\nTO BE\n");
//! ```

#![deny(missing_docs)]

pub mod file;
pub mod formats;
pub mod kafka;
pub mod serialization;
#[cfg(feature = "table")]
pub mod table;

use pyflink_core::FlinkError;

/// What an error says, without the "connector error" its kind prefixes: for errors that a
/// connector wraps in one of its own, which says where.
pub(crate) fn cause(error: &FlinkError) -> String {
    match error {
        FlinkError::Connector(message) | FlinkError::Deserialization(message) => message.clone(),
        other => other.to_string(),
    }
}

/// `error`, met reading the record at `place` (such as "record 7 of topic-0"), as an error that
/// says where; a record that cannot be deserialized stays a deserialization error, which fails
/// the job without restarts, as reading it again fails again.
pub(crate) fn reading_record(place: String, error: &FlinkError) -> FlinkError {
    let message = format!("{place} cannot be read: {}", cause(error));
    match error {
        FlinkError::Deserialization(_) => FlinkError::Deserialization(message),
        _ => FlinkError::Connector(message),
    }
}
