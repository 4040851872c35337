//! The file connector: [`FileSource`] and [`FileSink`], with Flink's names and behaviour.
//!
//! A `FileSource` reads every file under its paths (hidden files, whose names start with `.`
//! or `_`, are skipped), one split per file, decoding records with a [`StreamFormat`]
//! (text lines, or CSV and JSON lines through a [`LineFormat`]) or reading whole files with a
//! [`BulkFormat`] (Parquet);
//! `process_static_file_set` makes it bounded, `monitor_continuously` keeps looking for new
//! files. Its checkpoints hold each file's read position.
//!
//! A `FileSink` writes records with an [`Encoder`] (or a [`BulkWriter`], which writes whole
//! part files, such as Parquet's, and rolls them at checkpoints) into part files under
//! `base path / bucket /`, named `<prefix>-<writer id>-<counter><suffix>`
//! ([`OutputFileConfig`]). A part file is written hidden (`.<name>.inprogress.<id>`), rolled
//! by the [`RollingPolicy`] and at every checkpoint, and renamed to its visible name when the
//! checkpoint completes (or at the end of input when the job takes no checkpoints): what is
//! visible has been written exactly once. With compaction ([`FileSinkBuilder::enable_compact`]),
//! committed part files stay hidden until a [`FileCompactStrategy`] trigger merges each
//! bucket's into one visible `compacted-…` file with a [`FileCompactor`].

mod bulk;
mod compaction;
mod sink;
mod source;

pub use bulk::{BulkFormat, BulkRecords, BulkWriter, BulkWriterFactory};
pub use compaction::{FileCompactStrategy, FileCompactStrategyBuilder, FileCompactor};
pub use sink::{
    finished_files, BasePathBucketAssigner, BucketAssigner, DateTimeBucketAssigner, Encoder, FileSink, FileSinkBuilder,
    OutputFileConfig, RollingPolicy, SimpleStringEncoder,
};
pub use source::{FileSource, FileSourceBuilder, FileSplit, LineFormat, StreamFormat, TextLineFormat};
