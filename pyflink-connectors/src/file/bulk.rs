//! Bulk formats: part files a format writes and reads whole (Parquet), rather than record by
//! record as lines.

use std::fs::File;
use std::path::Path;

use pyflink_core::Result;

/// Writes the records of one part file (Flink's `BulkWriter`). The file sink creates one per
/// part file, gives it every record of the part, and finishes it when the part ends (bulk
/// parts end at checkpoints): `finish` writes what the format keeps for the end, such as a
/// footer, and hands the file back for the sink to make durable.
pub trait BulkWriter<T>: Send {
    /// Adds `value` to the part file.
    fn add_element(&mut self, value: &T) -> Result<()>;

    /// Completes the part file and returns it.
    fn finish(self: Box<Self>) -> Result<File>;
}

/// Creates the [`BulkWriter`] of each part file (Flink's `BulkWriter.Factory`).
pub trait BulkWriterFactory<T>: Send + Sync + 'static {
    /// A writer of the new, empty part file `file` at `path` (the path is for error messages).
    fn create(&self, file: File, path: &Path) -> Result<Box<dyn BulkWriter<T>>>;
}

/// The records of one file, in order, as a [`BulkFormat`] reads them.
pub type BulkRecords<T> = Box<dyn Iterator<Item = Result<T>> + Send>;

/// Reads whole files of a format that is not line-based (Flink's `BulkFormat`), for
/// [`FileSource::for_bulk_file_format`](crate::file::FileSource::for_bulk_file_format).
pub trait BulkFormat<T>: Send + Sync + 'static {
    /// The records of the file at `path`, without the first `skip` (read before a checkpoint).
    fn read(&self, path: &Path, skip: u64) -> Result<BulkRecords<T>>;
}
