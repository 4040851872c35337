//! `FileSink`: rows written into rolling part files, made visible exactly once when the
//! checkpoint that holds them completes.

use std::collections::HashMap;
use std::fmt::Display;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pyflink_core::sinks::{Sink, SinkWriter, SinkWriterContext};
use pyflink_core::{Data, FlinkError, Result};
use rand::Rng;

use super::bulk::{BulkWriter, BulkWriterFactory};
use super::compaction::{Committed, Compaction, FileCompactStrategy, FileCompactor};

/// How a record becomes bytes of a part file (Flink's `Encoder`).
pub trait Encoder<T>: Send + Sync + 'static {
    /// Appends the bytes of `value` to `out`.
    fn encode(&self, value: &T, out: &mut Vec<u8>) -> Result<()>;
}

/// Each record's text and a line break (Flink's `SimpleStringEncoder`, UTF-8).
#[derive(Debug, Clone, Copy, Default)]
pub struct SimpleStringEncoder;

impl<T: Display> Encoder<T> for SimpleStringEncoder {
    fn encode(&self, value: &T, out: &mut Vec<u8>) -> Result<()> {
        writeln!(out, "{value}").map_err(|e| FlinkError::Connector(format!("cannot encode a record: {e}")))
    }
}

/// The prefix and suffix of part file names (Flink's `OutputFileConfig`; default `part`, no
/// suffix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFileConfig {
    part_prefix: String,
    part_suffix: String,
}

impl Default for OutputFileConfig {
    fn default() -> Self {
        OutputFileConfig { part_prefix: "part".into(), part_suffix: String::new() }
    }
}

impl OutputFileConfig {
    /// The configuration with part file names starting with `prefix`.
    pub fn with_part_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.part_prefix = prefix.into();
        self
    }

    /// The configuration with part file names ending with `suffix`.
    pub fn with_part_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.part_suffix = suffix.into();
        self
    }
}

/// When a part file ends and the next begins (Flink's `DefaultRollingPolicy`): at a size, an
/// age, or a time without writes; also at every checkpoint.
///
/// ```
/// use pyflink_connectors::file::RollingPolicy;
/// use std::time::Duration;
/// let small = RollingPolicy::default_rolling_policy().with_max_part_size(1 << 20)
///     .with_rollover_interval(Duration::from_secs(600));
/// assert_ne!(small, RollingPolicy::default_rolling_policy());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollingPolicy {
    part_size: u64,
    rollover_interval: Duration,
    inactivity_interval: Duration,
}

impl Default for RollingPolicy {
    fn default() -> Self {
        RollingPolicy::default_rolling_policy()
    }
}

impl RollingPolicy {
    /// Parts of at most 128 MiB, 60 seconds old at most, ended after 60 seconds without writes.
    pub fn default_rolling_policy() -> Self {
        RollingPolicy {
            part_size: 128 * 1024 * 1024,
            rollover_interval: Duration::from_secs(60),
            inactivity_interval: Duration::from_secs(60),
        }
    }

    /// Parts that end only at checkpoints (Flink's `OnCheckpointRollingPolicy`).
    pub fn on_checkpoint_rolling_policy() -> Self {
        RollingPolicy { part_size: u64::MAX, rollover_interval: Duration::MAX, inactivity_interval: Duration::MAX }
    }

    /// The policy with parts ending once they reach `bytes`.
    pub fn with_max_part_size(mut self, bytes: u64) -> Self {
        self.part_size = bytes.max(1);
        self
    }

    /// The policy with parts ending once they are `interval` old.
    pub fn with_rollover_interval(mut self, interval: Duration) -> Self {
        self.rollover_interval = interval;
        self
    }

    /// The policy with parts ending after `interval` without writes.
    pub fn with_inactivity_interval(mut self, interval: Duration) -> Self {
        self.inactivity_interval = interval;
        self
    }

    fn should_roll<T>(&self, part: &PartFile<T>, now: Instant) -> bool {
        part.size >= self.part_size
            || now.duration_since(part.created) >= self.rollover_interval
            || now.duration_since(part.last_write) >= self.inactivity_interval
    }
}

/// Which directory under the base path a record goes to (Flink's `BucketAssigner`). Each
/// writer has its own assigner (from [`for_writer`](Self::for_writer)), so an assigner may
/// keep what it computed for the next record.
pub trait BucketAssigner<T>: Send + Sync + 'static {
    /// Writes the bucket of `value` (a relative directory; empty for the base path itself)
    /// into the empty `bucket`.
    fn bucket_id(&mut self, value: &T, bucket: &mut String);

    /// The assigner of one writer, in its initial state.
    fn for_writer(&self) -> Box<dyn BucketAssigner<T>>;
}

/// One bucket per hour of processing time, `2026-11-23--14` (Flink's default
/// `DateTimeBucketAssigner`, in the local time zone).
#[derive(Debug, Clone)]
pub struct DateTimeBucketAssigner {
    format: String,
    /// The second the bucket was last named for, and its name: naming a bucket formats the
    /// local time, which is not for every record.
    named_at: u64,
    name: String,
}

impl Default for DateTimeBucketAssigner {
    fn default() -> Self {
        DateTimeBucketAssigner::with_format("%Y-%m-%d--%H".into())
    }
}

impl DateTimeBucketAssigner {
    /// Buckets named by the Java date pattern `pattern` (letters `yyyy`, `yy`, `MM`, `dd`,
    /// `HH`, `mm`, `ss`; other characters stay as they are, text in `'…'` too).
    ///
    /// ```
    /// use pyflink_connectors::file::DateTimeBucketAssigner;
    /// assert!(DateTimeBucketAssigner::with_format_string("yyyy/MM/dd").is_ok());
    /// assert!(DateTimeBucketAssigner::with_format_string("EEE").is_err());
    /// ```
    pub fn with_format_string(pattern: &str) -> Result<Self> {
        let mut format = String::new();
        let mut chars = pattern.chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            if c == '\'' {
                quoted = !quoted;
                continue;
            }
            if quoted || !c.is_ascii_alphabetic() {
                if c == '%' {
                    format.push('%');
                }
                format.push(c);
                continue;
            }
            let mut run = 1;
            while chars.peek() == Some(&c) {
                chars.next();
                run += 1;
            }
            format.push_str(match (c, run) {
                ('y', 4) => "%Y",
                ('y', 2) => "%y",
                ('M', 2) => "%m",
                ('d', 2) => "%d",
                ('H', 2) => "%H",
                ('m', 2) => "%M",
                ('s', 2) => "%S",
                _ => {
                    return Err(FlinkError::InvalidProgram(format!(
                        "the bucket pattern '{pattern}' uses '{}', which is not supported; use yyyy, yy, MM, dd, HH, \
                         mm, ss and quoted text",
                        c.to_string().repeat(run)
                    )))
                }
            });
        }
        Ok(DateTimeBucketAssigner::with_format(format))
    }

    fn with_format(format: String) -> Self {
        DateTimeBucketAssigner { format, named_at: u64::MAX, name: String::new() }
    }
}

impl<T> BucketAssigner<T> for DateTimeBucketAssigner {
    fn bucket_id(&mut self, _: &T, bucket: &mut String) {
        let second = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if second != self.named_at {
            self.named_at = second;
            self.name = chrono::Local::now().format(&self.format).to_string();
        }
        bucket.push_str(&self.name);
    }

    fn for_writer(&self) -> Box<dyn BucketAssigner<T>> {
        Box::new(DateTimeBucketAssigner::with_format(self.format.clone()))
    }
}

/// Every record in the base path itself (Flink's `BasePathBucketAssigner`).
#[derive(Debug, Clone, Copy, Default)]
pub struct BasePathBucketAssigner;

impl<T> BucketAssigner<T> for BasePathBucketAssigner {
    fn bucket_id(&mut self, _: &T, _: &mut String) {}

    fn for_writer(&self) -> Box<dyn BucketAssigner<T>> {
        Box::new(BasePathBucketAssigner)
    }
}

/// How records become part files: appended one by one as encoded rows, or given to a bulk
/// writer that writes the whole file.
enum PartFormat<T> {
    Rows(Arc<dyn Encoder<T>>),
    Bulk(Arc<dyn BulkWriterFactory<T>>),
}

impl<T> Clone for PartFormat<T> {
    fn clone(&self) -> Self {
        match self {
            PartFormat::Rows(encoder) => PartFormat::Rows(Arc::clone(encoder)),
            PartFormat::Bulk(factory) => PartFormat::Bulk(Arc::clone(factory)),
        }
    }
}

/// Writes records as rows of part files under a base path, or as bulk-format part files.
pub struct FileSink<T> {
    base_path: PathBuf,
    format: PartFormat<T>,
    buckets: Arc<dyn BucketAssigner<T>>,
    config: OutputFileConfig,
    rolling: RollingPolicy,
    compaction: Option<Arc<Compaction>>,
}

/// Builds a [`FileSink`].
pub struct FileSinkBuilder<T> {
    sink: FileSink<T>,
}

impl<T: Data> FileSink<T> {
    /// A sink of rows that `encoder` writes into part files under `base_path`.
    pub fn for_row_format(base_path: impl AsRef<Path>, encoder: impl Encoder<T>) -> FileSinkBuilder<T> {
        FileSinkBuilder {
            sink: FileSink {
                base_path: base_path.as_ref().to_path_buf(),
                format: PartFormat::Rows(Arc::new(encoder)),
                buckets: Arc::new(DateTimeBucketAssigner::default()),
                config: OutputFileConfig::default(),
                rolling: RollingPolicy::default(),
                compaction: None,
            },
        }
    }

    /// A sink of part files under `base_path` that bulk writers of `factory` write whole
    /// (Flink's `forBulkFormat`). Parts end at checkpoints (and at the rolling policy's age or
    /// inactivity, if one is set: a bulk part's size is not known until it ends).
    pub fn for_bulk_format(base_path: impl AsRef<Path>, factory: impl BulkWriterFactory<T>) -> FileSinkBuilder<T> {
        FileSinkBuilder {
            sink: FileSink {
                base_path: base_path.as_ref().to_path_buf(),
                format: PartFormat::Bulk(Arc::new(factory)),
                buckets: Arc::new(DateTimeBucketAssigner::default()),
                config: OutputFileConfig::default(),
                rolling: RollingPolicy::on_checkpoint_rolling_policy(),
                compaction: None,
            },
        }
    }
}

impl<T: Data> FileSinkBuilder<T> {
    /// Names part files as `config` says.
    pub fn with_output_file_config(mut self, config: OutputFileConfig) -> Self {
        self.sink.config = config;
        self
    }

    /// Ends part files as `policy` says (and at every checkpoint).
    pub fn with_rolling_policy(mut self, policy: RollingPolicy) -> Self {
        self.sink.rolling = policy;
        self
    }

    /// Puts records into the buckets `assigner` picks.
    pub fn with_bucket_assigner(mut self, assigner: impl BucketAssigner<T>) -> Self {
        self.sink.buckets = Arc::new(assigner);
        self
    }

    /// Keeps committed part files hidden until `strategy` has them merged by `compactor`
    /// into one visible `compacted-…` file per bucket (Flink's `enableCompact`). Bulk formats
    /// take [`FileCompactor::Identical`]: their files cannot be joined.
    ///
    /// ```
    /// use pyflink_connectors::file::{FileCompactStrategy, FileCompactor, FileSink, SimpleStringEncoder};
    /// let strategy = FileCompactStrategy::builder().enable_compaction_on_checkpoint(3).build().unwrap();
    /// let sink = FileSink::<String>::for_row_format("/tmp/out", SimpleStringEncoder)
    ///     .enable_compact(strategy, FileCompactor::Concat { delimiter: None })
    ///     .build();
    /// # drop(sink);
    /// ```
    pub fn enable_compact(mut self, strategy: FileCompactStrategy, compactor: FileCompactor) -> Self {
        self.sink.compaction = Some(Arc::new(Compaction::new(strategy, compactor)));
        self
    }

    /// Makes committed part files visible as they are (the default).
    pub fn disable_compact(mut self) -> Self {
        self.sink.compaction = None;
        self
    }

    /// The sink.
    pub fn build(self) -> FileSink<T> {
        self.sink
    }
}

/// What writes a part file: the buffered file rows are appended to with their encoder, or a
/// bulk writer.
enum PartContent<T> {
    Rows(BufWriter<File>, Arc<dyn Encoder<T>>),
    Bulk(Box<dyn BulkWriter<T>>),
}

/// A part file being written: hidden until committed.
struct PartFile<T> {
    in_progress: PathBuf,
    visible: PathBuf,
    content: PartContent<T>,
    /// The bytes written so far (rows only: a bulk writer's size is known when it finishes).
    size: u64,
    created: Instant,
    last_write: Instant,
}

impl<T> PartFile<T> {
    /// Completes, flushes and closes the file; returns its hidden and its visible path.
    fn finish(self) -> Result<(PathBuf, PathBuf)> {
        let path = self.in_progress.display().to_string();
        let file = match self.content {
            PartContent::Rows(mut buffered, _) => {
                buffered.flush().map_err(|e| FlinkError::Connector(format!("cannot write '{path}': {e}")))?;
                buffered.into_inner().map_err(|e| FlinkError::Connector(format!("cannot write '{path}': {e}")))?
            }
            PartContent::Bulk(writer) => writer.finish()?,
        };
        file.sync_all().map_err(|e| FlinkError::Connector(format!("cannot write '{path}': {e}")))?;
        Ok((self.in_progress, self.visible))
    }
}

/// A pending file as a committable: both paths, UTF-8, separated by a NUL byte; with
/// compaction, also the checkpoint that holds it.
fn committable(in_progress: &Path, visible: &Path, checkpoint: Option<u64>) -> Result<Vec<u8>> {
    match (in_progress.to_str(), visible.to_str(), checkpoint) {
        (Some(hidden), Some(shown), None) => Ok(format!("{hidden}\0{shown}").into_bytes()),
        (Some(hidden), Some(shown), Some(checkpoint)) => Ok(format!("{hidden}\0{shown}\0{checkpoint}").into_bytes()),
        _ => Err(FlinkError::Connector(format!("file sink paths must be UTF-8: '{}'", visible.display()))),
    }
}

/// The committable telling a compacting sink that a writer's input ended: its buckets in
/// `directory` are compacted whatever the trigger says.
fn finished_committable(directory: &Path) -> Result<Vec<u8>> {
    match directory.to_str() {
        Some(directory) => Ok(format!("\0finished\0{directory}").into_bytes()),
        None => Err(FlinkError::Connector(format!("file sink paths must be UTF-8: '{}'", directory.display()))),
    }
}

impl<T: Data> Sink<T> for FileSink<T> {
    type Writer = FileWriter<T>;

    fn create_writer(&self, _: &SinkWriterContext) -> Result<FileWriter<T>> {
        if let (Some(compaction), PartFormat::Bulk(_)) = (&self.compaction, &self.format) {
            if matches!(compaction.compactor, FileCompactor::Concat { .. }) {
                return Err(FlinkError::InvalidProgram(
                    "file compaction: the concat compactor joins row-format part files; bulk part files (Parquet) \
                     cannot be joined, compact them with the identical compactor"
                        .into(),
                ));
            }
        }
        let id: u128 = rand::rng().random();
        let hex = format!("{id:032x}");
        let writer_id = format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]);
        Ok(FileWriter {
            base_path: self.base_path.clone(),
            format: self.format.clone(),
            buckets: self.buckets.for_writer(),
            bucket: String::new(),
            config: self.config.clone(),
            rolling: self.rolling,
            writer_id,
            counters: HashMap::new(),
            open: HashMap::new(),
            finished: Vec::new(),
            buffer: Vec::new(),
            compacting: self.compaction.is_some(),
            directories: Vec::new(),
            ended: false,
        })
    }

    fn commit(&self, committables: Vec<Vec<u8>>) -> Result<()> {
        if let Some(compaction) = &self.compaction {
            return commit_compacting(compaction, committables);
        }
        for committable in committables {
            let text = String::from_utf8(committable)
                .map_err(|_| FlinkError::Connector("a file sink committable is not UTF-8".into()))?;
            let Some((hidden, visible)) = text.split_once('\0') else {
                return Err(FlinkError::Connector(format!("a file sink committable is malformed: {text:?}")));
            };
            match std::fs::rename(hidden, visible) {
                Ok(()) => {}
                // Committed before a failure: commits repeat after a restore.
                Err(_) if Path::new(visible).exists() => {}
                Err(e) => {
                    return Err(FlinkError::Connector(format!(
                        "cannot commit part file '{visible}' from '{hidden}': {e}"
                    )))
                }
            }
        }
        Ok(())
    }
}

/// Commits the committables of a compacting sink: part files become waiting files, and
/// buckets whose trigger fired (or whose writers ended) are compacted.
fn commit_compacting(compaction: &Compaction, committables: Vec<Vec<u8>>) -> Result<()> {
    let mut files = Vec::new();
    let mut finished = Vec::new();
    for committable in committables {
        let text = String::from_utf8(committable)
            .map_err(|_| FlinkError::Connector("a file sink committable is not UTF-8".into()))?;
        let malformed = || FlinkError::Connector(format!("a file sink committable is malformed: {text:?}"));
        let parts: Vec<&str> = text.split('\0').collect();
        match parts.as_slice() {
            ["", "finished", directory] => finished.push(PathBuf::from(directory)),
            [hidden, visible, checkpoint] => files.push(Committed {
                in_progress: PathBuf::from(hidden),
                visible: PathBuf::from(visible),
                checkpoint: checkpoint.parse().map_err(|_| malformed())?,
            }),
            _ => return Err(malformed()),
        }
    }
    compaction.commit(files, finished)
}

/// Writes one parallel instance's part files.
pub struct FileWriter<T> {
    base_path: PathBuf,
    format: PartFormat<T>,
    buckets: Box<dyn BucketAssigner<T>>,
    /// The bucket of the record being written.
    bucket: String,
    config: OutputFileConfig,
    rolling: RollingPolicy,
    writer_id: String,
    /// The next part number of each bucket.
    counters: HashMap<String, u64>,
    /// The part file being written in each bucket.
    open: HashMap<String, PartFile<T>>,
    /// The part files finished since the last checkpoint: hidden and visible paths.
    finished: Vec<(PathBuf, PathBuf)>,
    buffer: Vec<u8>,
    /// Whether the sink compacts: committables then name their checkpoint, and the writer's
    /// last ones tell which bucket directories it wrote to.
    compacting: bool,
    /// The bucket directories this writer has written to (with compaction).
    directories: Vec<PathBuf>,
    /// Whether the input ended (with compaction: the next committables are the last).
    ended: bool,
}

impl<T: 'static> FileWriter<T> {
    /// Opens the next part file of `bucket`.
    fn open_part(&mut self, bucket: &str) -> Result<PartFile<T>> {
        let directory = if bucket.is_empty() { self.base_path.clone() } else { self.base_path.join(bucket) };
        std::fs::create_dir_all(&directory)
            .map_err(|e| FlinkError::Connector(format!("cannot create '{}': {e}", directory.display())))?;
        let counter = self.counters.entry(bucket.to_string()).or_insert(0);
        // The writer id is unique to this instance, so names never collide across instances.
        let name = format!("{}-{}-{}{}", self.config.part_prefix, self.writer_id, counter, self.config.part_suffix);
        *counter += 1;
        let in_progress = directory.join(format!(".{name}.inprogress.{}", self.writer_id));
        let file = File::create(&in_progress)
            .map_err(|e| FlinkError::Connector(format!("cannot create '{}': {e}", in_progress.display())))?;
        let content = match &self.format {
            PartFormat::Rows(encoder) => {
                PartContent::Rows(BufWriter::with_capacity(1 << 16, file), Arc::clone(encoder))
            }
            PartFormat::Bulk(factory) => PartContent::Bulk(factory.create(file, &in_progress)?),
        };
        if self.compacting && !self.directories.contains(&directory) {
            self.directories.push(directory.clone());
        }
        let now = Instant::now();
        Ok(PartFile { in_progress, visible: directory.join(name), content, size: 0, created: now, last_write: now })
    }
}

impl<T: Data> SinkWriter<T> for FileWriter<T> {
    fn write(&mut self, value: T, _: Option<i64>) -> Result<()> {
        let mut bucket = std::mem::take(&mut self.bucket);
        bucket.clear();
        self.buckets.bucket_id(&value, &mut bucket);
        let now = Instant::now();
        if let Some(part) = self.open.get(bucket.as_str()) {
            if self.rolling.should_roll(part, now) {
                let part = self.open.remove(bucket.as_str()).expect("present");
                self.finished.push(part.finish()?);
            }
        }
        if !self.open.contains_key(bucket.as_str()) {
            let part = self.open_part(&bucket)?;
            self.open.insert(bucket.clone(), part);
        }
        let part = self.open.get_mut(bucket.as_str()).expect("opened above");
        self.bucket = bucket;
        part.last_write = now;
        match &mut part.content {
            PartContent::Rows(file, encoder) => {
                self.buffer.clear();
                encoder.encode(&value, &mut self.buffer)?;
                file.write_all(&self.buffer).map_err(|e| {
                    FlinkError::Connector(format!("cannot write '{}': {e}", part.in_progress.display()))
                })?;
                part.size += self.buffer.len() as u64;
                Ok(())
            }
            PartContent::Bulk(writer) => writer.add_element(&value),
        }
    }

    fn prepare_commit(&mut self, checkpoint_id: u64) -> Result<Vec<Vec<u8>>> {
        for (_, part) in self.open.drain() {
            self.finished.push(part.finish()?);
        }
        let checkpoint = self.compacting.then_some(checkpoint_id);
        let mut committables = self
            .finished
            .drain(..)
            .map(|(hidden, visible)| committable(&hidden, &visible, checkpoint))
            .collect::<Result<Vec<_>>>()?;
        if self.compacting && self.ended {
            for directory in self.directories.drain(..) {
                committables.push(finished_committable(&directory)?);
            }
        }
        Ok(committables)
    }

    fn flush(&mut self, end_of_input: bool) -> Result<()> {
        self.ended |= end_of_input;
        Ok(())
    }
}

/// The visible files at or under `path`, sorted: what a file sink has committed there.
pub fn finished_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![path.to_path_buf()];
    while let Some(path) = pending.pop() {
        for entry in std::fs::read_dir(&path)? {
            let entry = entry?;
            let hidden = entry.file_name().to_str().is_none_or(|n| n.starts_with('.') || n.starts_with('_'));
            if hidden {
                continue;
            }
            if entry.file_type()?.is_dir() {
                pending.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_date_patterns_become_bucket_formats() {
        let assigner = DateTimeBucketAssigner::with_format_string("yyyy-MM-dd--HH").unwrap();
        assert_eq!(assigner.format, DateTimeBucketAssigner::default().format);
        let quoted = DateTimeBucketAssigner::with_format_string("'day='yyyyMMdd'%'").unwrap();
        assert_eq!(quoted.format, "day=%Y%m%d%%");
        let error = DateTimeBucketAssigner::with_format_string("yyyy-MMM").unwrap_err().to_string();
        assert!(error.contains("'MMM'"), "{error}");
    }

    #[test]
    fn parts_roll_at_their_size_and_committables_name_both_paths() {
        let dir = tempfile::tempdir().unwrap();
        let sink = FileSink::<String>::for_row_format(dir.path(), SimpleStringEncoder)
            .with_bucket_assigner(BasePathBucketAssigner)
            .with_rolling_policy(RollingPolicy::default_rolling_policy().with_max_part_size(10))
            .with_output_file_config(OutputFileConfig::default().with_part_prefix("p").with_part_suffix(".txt"))
            .build();
        let mut writer = sink.create_writer(&SinkWriterContext::new(3, 4)).unwrap();
        for word in ["alpha", "beta", "gamma"] {
            writer.write(word.to_string(), None).unwrap();
        }
        let committables = writer.prepare_commit(1).unwrap();
        assert_eq!(committables.len(), 2, "'alpha\\nbeta\\n' reached 10 bytes, then 'gamma' began a part");
        assert!(finished_files(dir.path()).unwrap().is_empty(), "nothing is visible before the commit");
        sink.commit(committables.clone()).unwrap();
        sink.commit(committables).unwrap();
        let files = finished_files(dir.path()).unwrap();
        let names: Vec<String> = files.iter().map(|f| f.file_name().unwrap().to_str().unwrap().to_string()).collect();
        let named = |n: &String| n.starts_with("p-") && (n.ends_with("-0.txt") || n.ends_with("-1.txt"));
        assert!(names.iter().all(named), "{names:?}");
        let text: Vec<String> = files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect();
        assert_eq!(text, ["alpha\nbeta\n", "gamma\n"]);
    }
}
