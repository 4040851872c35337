//! `FileSource`: records decoded from the lines of files, or read from whole files by a bulk
//! format, one split per file.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyflink_core::sources::{
    InputStatus, Source, SourceOutput, SourceReader, SourceReaderContext, SourceSplit, SplitEnumeratorContext,
};
use pyflink_core::{Boundedness, Data, FlinkError, Result};
use serde::{Deserialize, Serialize};

use super::bulk::{BulkFormat, BulkRecords};

use crate::serialization::DeserializationSchema;

/// How records are decoded from the lines of a file (Flink's `StreamFormat` for line-based
/// formats).
pub trait StreamFormat<T>: Send + Sync + 'static {
    /// The record of one line (without its line ending), or `None` to skip the line; an error
    /// fails the job, naming the file and line.
    fn decode(&self, line: &str) -> Result<Option<T>>;

    /// Whether the first line of each file is a header, read past rather than decoded.
    fn skips_first_line(&self) -> bool {
        false
    }
}

/// Each line as a string (Flink's `TextLineInputFormat`, PyFlink's
/// `StreamFormat.text_line_format()`). Bytes that are not UTF-8 become U+FFFD.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextLineFormat;

impl StreamFormat<String> for TextLineFormat {
    fn decode(&self, line: &str) -> Result<Option<String>> {
        Ok(Some(line.to_string()))
    }
}

/// Each line through a [`DeserializationSchema`]: CSV or JSON lines as rows with the
/// schemas of [`crate::formats`] (Flink's `CsvReaderFormat`, and JSON lines). Empty lines are
/// skipped; lines the schema cannot read fail the job, or are skipped and counted if the schema
/// ignores parse errors.
///
/// ```
/// use pyflink_connectors::file::{LineFormat, StreamFormat};
/// use pyflink_connectors::formats::csv::CsvRowDeserializationSchema;
/// use pyflink_connectors::formats::RowType;
/// use pyflink_core::table::DataType;
///
/// let csv = CsvRowDeserializationSchema::builder(RowType::of([DataType::String, DataType::Int])).build().unwrap();
/// let format = LineFormat::new(csv);
/// assert_eq!(format.decode("flink,3").unwrap().unwrap().to_string(), "+I[flink, 3]");
/// assert_eq!(format.decode("").unwrap(), None);
/// ```
#[derive(Debug, Clone)]
pub struct LineFormat<D> {
    schema: D,
    header: bool,
}

impl<D> LineFormat<D> {
    /// Lines decoded by `schema`.
    pub fn new(schema: D) -> Self {
        LineFormat { schema, header: false }
    }

    /// These lines, the first of each file being a header that is skipped (a CSV file's column
    /// names, Flink's `CsvSchema` with `set_use_header`).
    ///
    /// ```
    /// use pyflink_connectors::file::{LineFormat, StreamFormat};
    /// use pyflink_connectors::formats::csv::CsvRowDeserializationSchema;
    /// use pyflink_connectors::formats::RowType;
    /// use pyflink_core::table::DataType;
    ///
    /// let csv = CsvRowDeserializationSchema::builder(RowType::of([DataType::Int])).build().unwrap();
    /// assert!(LineFormat::new(csv).with_header(true).skips_first_line());
    /// ```
    pub fn with_header(mut self, header: bool) -> Self {
        self.header = header;
        self
    }
}

impl<T, D: DeserializationSchema<T>> StreamFormat<T> for LineFormat<D> {
    fn decode(&self, line: &str) -> Result<Option<T>> {
        if line.is_empty() {
            return Ok(None);
        }
        self.schema.deserialize_or_skip(line.as_bytes())
    }

    fn skips_first_line(&self) -> bool {
        self.header
    }
}

/// A file to read, and how far it has been read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSplit {
    /// The file.
    pub path: PathBuf,
    /// The byte offset of the next line to read (lines only).
    pub offset: u64,
    /// The number of lines read before `offset`, for error messages; with a bulk format, the
    /// number of records read.
    pub line: u64,
    /// Whether the whole file has been read.
    pub finished: bool,
}

impl SourceSplit for FileSplit {
    fn split_id(&self) -> String {
        self.path.display().to_string()
    }
}

/// Reads the files under a set of paths with a [`StreamFormat`].
///
/// ```
/// use pyflink_connectors::file::{FileSource, TextLineFormat};
/// use std::time::Duration;
/// let bounded = FileSource::for_record_stream_format(TextLineFormat, ["/tmp"]).process_static_file_set();
/// let watching = FileSource::for_record_stream_format(TextLineFormat, ["/tmp"])
///     .monitor_continuously(Duration::from_secs(1));
/// assert!(bounded.build().is_ok() && watching.build().is_ok());
/// ```
pub struct FileSource<T> {
    format: SourceFormat<T>,
    paths: Vec<PathBuf>,
    monitor_interval: Option<Duration>,
}

/// Builds a [`FileSource`].
pub struct FileSourceBuilder<T> {
    source: FileSource<T>,
}

impl<T: Data> FileSource<T> {
    /// A source of the records `format` decodes from the files at or under `paths`.
    pub fn for_record_stream_format<P: AsRef<Path>>(
        format: impl StreamFormat<T>,
        paths: impl IntoIterator<Item = P>,
    ) -> FileSourceBuilder<T> {
        let paths = paths.into_iter().map(|p| p.as_ref().to_path_buf()).collect();
        let format = SourceFormat::Lines(Arc::new(format));
        FileSourceBuilder { source: FileSource { format, paths, monitor_interval: None } }
    }

    /// A source of the records `format` reads from the whole files at or under `paths`
    /// (Flink's `forBulkFileFormat`). A checkpoint holds the number of records read from each.
    pub fn for_bulk_file_format<P: AsRef<Path>>(
        format: impl BulkFormat<T>,
        paths: impl IntoIterator<Item = P>,
    ) -> FileSourceBuilder<T> {
        let paths = paths.into_iter().map(|p| p.as_ref().to_path_buf()).collect();
        let format = SourceFormat::Bulk(Arc::new(format));
        FileSourceBuilder { source: FileSource { format, paths, monitor_interval: None } }
    }
}

/// How a source reads its files: line by line, or whole by a bulk format.
enum SourceFormat<T> {
    Lines(Arc<dyn StreamFormat<T>>),
    Bulk(Arc<dyn BulkFormat<T>>),
}

impl<T> Clone for SourceFormat<T> {
    fn clone(&self) -> Self {
        match self {
            SourceFormat::Lines(format) => SourceFormat::Lines(Arc::clone(format)),
            SourceFormat::Bulk(format) => SourceFormat::Bulk(Arc::clone(format)),
        }
    }
}

impl<T: Data> FileSourceBuilder<T> {
    /// Reads the files present when the job starts, then ends (the default).
    pub fn process_static_file_set(mut self) -> Self {
        self.source.monitor_interval = None;
        self
    }

    /// Never ends: looks for new files under the paths every `interval`.
    pub fn monitor_continuously(mut self, interval: Duration) -> Self {
        self.source.monitor_interval = Some(interval.max(Duration::from_millis(1)));
        self
    }

    /// The source; fails without paths.
    pub fn build(self) -> Result<FileSource<T>> {
        if self.source.paths.is_empty() {
            return Err(FlinkError::InvalidProgram("a FileSource needs at least one path to read".into()));
        }
        Ok(self.source)
    }
}

/// Whether a file name marks a hidden file, which sources skip (as Flink does: `.` and `_`).
fn is_hidden(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.') || n.starts_with('_'))
}

/// The files at or under `paths`, sorted; fails on a path that does not exist.
fn list_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = BTreeSet::new();
    let mut pending: Vec<PathBuf> = paths.to_vec();
    while let Some(path) = pending.pop() {
        let metadata = std::fs::metadata(&path).map_err(|e| {
            FlinkError::InvalidProgram(format!("the file source cannot read '{}': {e}", path.display()))
        })?;
        if metadata.is_dir() {
            let entries = std::fs::read_dir(&path)
                .map_err(|e| FlinkError::InvalidProgram(format!("cannot list '{}': {e}", path.display())))?;
            for entry in entries {
                let entry =
                    entry.map_err(|e| FlinkError::InvalidProgram(format!("cannot list '{}': {e}", path.display())))?;
                if !is_hidden(&entry.path()) {
                    pending.push(entry.path());
                }
            }
        } else {
            files.insert(path);
        }
    }
    Ok(files.into_iter().collect())
}

/// The reader of `path` among `parallelism` readers: a hash of the path, so that readers that
/// discover files on their own agree on who reads each.
fn owner(path: &Path, parallelism: usize) -> usize {
    // FNV-1a: stable across processes and runs, unlike the standard hasher.
    let hash = path
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3));
    (hash % parallelism.max(1) as u64) as usize
}

impl<T: Data> Source<T> for FileSource<T> {
    type Split = FileSplit;
    type Reader = FileReader<T>;

    fn boundedness(&self) -> Boundedness {
        if self.monitor_interval.is_some() {
            Boundedness::ContinuousUnbounded
        } else {
            Boundedness::Bounded
        }
    }

    fn enumerate_splits(&self, _: &SplitEnumeratorContext) -> Result<Vec<FileSplit>> {
        Ok(list_files(&self.paths)?
            .into_iter()
            .map(|path| FileSplit { path, offset: 0, line: 0, finished: false })
            .collect())
    }

    fn assign_split(&self, split: &FileSplit, _: usize, context: &SplitEnumeratorContext) -> usize {
        owner(&split.path, context.parallelism)
    }

    fn create_reader(&self, context: &SourceReaderContext) -> Result<FileReader<T>> {
        Ok(FileReader {
            format: self.format.clone(),
            paths: self.paths.clone(),
            monitor_interval: self.monitor_interval,
            subtask: context.subtask_index,
            parallelism: context.parallelism,
            splits: Vec::new(),
            open: None,
            next_scan: None,
        })
    }
}

/// The open file of a reader: the split's index and the buffered file, or the records a bulk
/// format reads from it.
struct OpenFile<T> {
    split: usize,
    reader: OpenReader<T>,
}

enum OpenReader<T> {
    Lines(BufReader<File>),
    Records(BulkRecords<T>),
}

/// Reads the files assigned to one parallel instance, one after the other.
pub struct FileReader<T> {
    format: SourceFormat<T>,
    paths: Vec<PathBuf>,
    monitor_interval: Option<Duration>,
    subtask: usize,
    parallelism: usize,
    splits: Vec<FileSplit>,
    open: Option<OpenFile<T>>,
    next_scan: Option<Instant>,
}

impl<T: Data> FileReader<T> {
    /// Adds the new files under the paths that this reader owns.
    fn discover(&mut self) -> Result<()> {
        let known: BTreeSet<PathBuf> = self.splits.iter().map(|s| s.path.clone()).collect();
        for path in list_files(&self.paths)? {
            if owner(&path, self.parallelism) == self.subtask && !known.contains(&path) {
                self.splits.push(FileSplit { path, offset: 0, line: 0, finished: false });
            }
        }
        Ok(())
    }

    /// The open file, opening the next unfinished split if none is open.
    fn open_next(&mut self) -> Result<Option<&mut OpenFile<T>>> {
        if self.open.is_none() {
            let Some(index) = self.splits.iter().position(|s| !s.finished) else { return Ok(None) };
            let split = &self.splits[index];
            let reader = match &self.format {
                SourceFormat::Lines(_) => {
                    let io = |e: std::io::Error| {
                        FlinkError::Connector(format!("cannot read '{}': {e}", split.path.display()))
                    };
                    let mut file = File::open(&split.path).map_err(io)?;
                    file.seek(SeekFrom::Start(split.offset)).map_err(io)?;
                    OpenReader::Lines(BufReader::with_capacity(1 << 16, file))
                }
                SourceFormat::Bulk(format) => OpenReader::Records(format.read(&split.path, split.line)?),
            };
            self.open = Some(OpenFile { split: index, reader });
        }
        Ok(self.open.as_mut())
    }

    /// Reads the next line of the open file into `line` and decodes it; false at the file's end.
    fn read_line(
        &mut self,
        format: &dyn StreamFormat<T>,
        line: &mut Vec<u8>,
        output: &mut SourceOutput<'_, T>,
    ) -> Result<bool> {
        let Some(OpenFile { split: index, reader: OpenReader::Lines(reader) }) = self.open.as_mut() else {
            return Ok(false);
        };
        line.clear();
        let read = reader.read_until(b'\n', line);
        let split = &mut self.splits[*index];
        let read = read.map_err(|e| FlinkError::Connector(format!("cannot read '{}': {e}", split.path.display())))?;
        if read == 0 {
            return Ok(false);
        }
        split.offset += read as u64;
        split.line += 1;
        if split.line == 1 && format.skips_first_line() {
            return Ok(true);
        }
        let text = String::from_utf8_lossy(trim_line_ending(line));
        let decoded = format
            .decode(&text)
            .map_err(|e| crate::reading_record(format!("line {} of '{}'", split.line, split.path.display()), &e))?;
        if let Some(record) = decoded {
            output.collect(record);
        }
        Ok(true)
    }

    /// Emits the next record a bulk format reads from the open file; false at the file's end.
    fn read_record(&mut self, output: &mut SourceOutput<'_, T>) -> Result<bool> {
        let Some(OpenFile { split: index, reader: OpenReader::Records(records) }) = self.open.as_mut() else {
            return Ok(false);
        };
        let split = &mut self.splits[*index];
        match records.next() {
            None => Ok(false),
            Some(record) => {
                let record = record.map_err(|e| {
                    crate::reading_record(format!("record {} of '{}'", split.line + 1, split.path.display()), &e)
                })?;
                split.line += 1;
                output.collect(record);
                Ok(true)
            }
        }
    }
}

impl<T: Data> SourceReader<T, FileSplit> for FileReader<T> {
    fn add_splits(&mut self, splits: Vec<FileSplit>) {
        self.splits.extend(splits);
    }

    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<InputStatus> {
        if let Some(interval) = self.monitor_interval {
            let now = Instant::now();
            if self.next_scan.is_none_or(|at| now >= at) {
                self.discover()?;
                self.next_scan = Some(now + interval);
            }
        }
        let mut line = Vec::new();
        let format = self.format.clone();
        while output.has_capacity() {
            let Some(open) = self.open_next()? else { break };
            let index = open.split;
            let more = match &format {
                SourceFormat::Lines(format) => self.read_line(&**format, &mut line, output)?,
                SourceFormat::Bulk(_) => self.read_record(output)?,
            };
            if !more {
                self.splits[index].finished = true;
                self.open = None;
            }
        }
        if self.splits.iter().any(|s| !s.finished) {
            return Ok(InputStatus::MoreAvailable);
        }
        match self.next_scan {
            Some(at) => Ok(InputStatus::NothingAvailable(at.saturating_duration_since(Instant::now()))),
            None => Ok(InputStatus::EndOfInput),
        }
    }

    fn snapshot_state(&self) -> Vec<FileSplit> {
        self.splits.clone()
    }
}

/// `line` without its `\n` or `\r\n`.
fn trim_line_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_files_are_skipped_and_files_are_listed_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.txt", "a.txt", ".hidden", "_SUCCESS"] {
            std::fs::write(dir.path().join(name), "x\n").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/c.txt"), "y\n").unwrap();
        let files = list_files(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<_> = files.iter().map(|p| p.strip_prefix(dir.path()).unwrap().to_str().unwrap()).collect();
        assert_eq!(names, ["a.txt", "b.txt", "sub/c.txt"]);
        let missing = list_files(&[dir.path().join("nope")]).unwrap_err().to_string();
        assert!(missing.contains("cannot read") && missing.contains("nope"), "{missing}");
    }

    #[test]
    fn line_endings_are_trimmed_and_owners_are_stable() {
        assert_eq!(trim_line_ending(b"a\r\n"), b"a");
        assert_eq!(trim_line_ending(b"a\n"), b"a");
        assert_eq!(trim_line_ending(b"a"), b"a");
        let path = Path::new("/data/part-7.txt");
        assert_eq!(owner(path, 4), owner(path, 4));
        assert!((0..64).map(|i| owner(&PathBuf::from(format!("/f{i}")), 4)).collect::<BTreeSet<_>>().len() == 4);
    }
}
