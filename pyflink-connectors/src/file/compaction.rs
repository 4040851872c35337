//! File compaction for the [`FileSink`](crate::file::FileSink) (Flink's `FileCompactStrategy`
//! and `FileCompactor`): the part files of completed checkpoints are kept hidden, and merged into
//! one visible `compacted-…` file per bucket when a trigger fires: enough bytes waiting, enough
//! checkpoints since the oldest waiting file, or the end of the input.
//!
//! A compaction survives a failure at any point. Before it writes anything it records its
//! sources and target in a manifest (`.compaction-<target>`); the merged file is written under a
//! hidden name and renamed to its target, and only then are the sources and the manifest
//! removed. A manifest found later means a compaction was cut short: if its target exists, the
//! remaining sources are removed; if not, the half-written file is, and the sources wait for the
//! next compaction.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use pyflink_core::{FlinkError, Result};

/// The start of the names of committed part files waiting to be compacted.
const PENDING: &str = ".pending-";
/// The start of the names of compaction manifests.
const MANIFEST: &str = ".compaction-";
/// The start of the names of compacted files (Flink's).
const COMPACTED: &str = "compacted-";

/// When compaction happens (Flink's `FileCompactStrategy`): at least one trigger is set.
///
/// ```
/// use pyflink_connectors::file::FileCompactStrategy;
/// let strategy = FileCompactStrategy::builder().set_size_threshold(1 << 20).enable_compaction_on_checkpoint(5).build();
/// assert!(strategy.is_ok());
/// assert!(FileCompactStrategy::builder().build().is_err(), "no trigger");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileCompactStrategy {
    size_threshold: Option<u64>,
    checkpoints: Option<u64>,
    threads: usize,
}

/// Builds a [`FileCompactStrategy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileCompactStrategyBuilder {
    strategy: FileCompactStrategy,
}

impl FileCompactStrategy {
    /// A builder with no trigger yet and one compacting thread.
    pub fn builder() -> FileCompactStrategyBuilder {
        FileCompactStrategyBuilder {
            strategy: FileCompactStrategy { size_threshold: None, checkpoints: None, threads: 1 },
        }
    }
}

impl FileCompactStrategyBuilder {
    /// Compacts a bucket when `checkpoints` checkpoints have completed since its oldest waiting
    /// file was written.
    pub fn enable_compaction_on_checkpoint(mut self, checkpoints: u64) -> Self {
        self.strategy.checkpoints = Some(checkpoints);
        self
    }

    /// Compacts a bucket when its waiting files hold `bytes` bytes or more.
    pub fn set_size_threshold(mut self, bytes: u64) -> Self {
        self.strategy.size_threshold = Some(bytes);
        self
    }

    /// The threads that compact buckets at the same time (1 by default).
    pub fn set_num_compact_threads(mut self, threads: usize) -> Self {
        self.strategy.threads = threads;
        self
    }

    /// The strategy; fails without a trigger or with a trigger or thread count of 0.
    pub fn build(self) -> Result<FileCompactStrategy> {
        let strategy = self.strategy;
        if strategy.size_threshold.is_none() && strategy.checkpoints.is_none() {
            return Err(FlinkError::InvalidProgram(
                "a FileCompactStrategy needs a trigger: set_size_threshold or enable_compaction_on_checkpoint".into(),
            ));
        }
        if strategy.size_threshold == Some(0) || strategy.checkpoints == Some(0) || strategy.threads == 0 {
            return Err(FlinkError::InvalidProgram(
                "the size threshold, the checkpoints between compactions and the compacting threads must be positive"
                    .into(),
            ));
        }
        Ok(strategy)
    }
}

/// How waiting files become compacted files (Flink's `FileCompactor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileCompactor {
    /// All waiting files of a bucket, one after the other, with `delimiter` between neighbours
    /// (Flink's `ConcatFileCompactor`): for row formats.
    Concat {
        /// Bytes written between two files, if any.
        delimiter: Option<Vec<u8>>,
    },
    /// Each waiting file as it is, a compacted file of its own (Flink's
    /// `IdenticalFileCompactor`): for formats whose files cannot be joined (Parquet).
    Identical,
}

/// A sink's compaction: its strategy, its compactor, and the lock that keeps two committing
/// instances from compacting the same bucket at once.
#[derive(Debug)]
pub(crate) struct Compaction {
    pub(crate) strategy: FileCompactStrategy,
    pub(crate) compactor: FileCompactor,
    lock: Mutex<()>,
}

/// A part file to make waiting, from a writer's committable.
pub(crate) struct Committed {
    pub(crate) in_progress: PathBuf,
    pub(crate) visible: PathBuf,
    pub(crate) checkpoint: u64,
}

impl Compaction {
    pub(crate) fn new(strategy: FileCompactStrategy, compactor: FileCompactor) -> Self {
        Compaction { strategy, compactor, lock: Mutex::new(()) }
    }

    /// Commits `files` as waiting files, then compacts the buckets they are in whose trigger
    /// fired, and every bucket of `finished` (whose writers reached the end of their input).
    pub(crate) fn commit(&self, files: Vec<Committed>, finished: Vec<PathBuf>) -> Result<()> {
        let _compacting = self.lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut buckets: Vec<PathBuf> = Vec::new();
        let mut newest = 0;
        for file in &files {
            let directory = file.visible.parent().unwrap_or(Path::new("")).to_path_buf();
            let name = file_name(&file.visible)?;
            let waiting = directory.join(format!("{PENDING}{:020}-{name}", file.checkpoint));
            // A committable committed again after a restore finds its file moved already.
            if file.in_progress.exists() {
                std::fs::rename(&file.in_progress, &waiting).map_err(|e| io_error("commit", &waiting, e))?;
            }
            newest = newest.max(file.checkpoint);
            if !buckets.contains(&directory) {
                buckets.push(directory);
            }
        }
        for directory in &finished {
            if !buckets.contains(directory) {
                buckets.push(directory.clone());
            }
        }
        let mut due: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
        for directory in buckets {
            finish_interrupted(&directory)?;
            let waiting = waiting_files(&directory)?;
            if waiting.is_empty() {
                continue;
            }
            let size: u64 = waiting.iter().map(|(_, _, size)| size).sum();
            let oldest = waiting.iter().map(|(_, checkpoint, _)| *checkpoint).min().unwrap_or(newest);
            let by_size = self.strategy.size_threshold.is_some_and(|threshold| size >= threshold);
            let by_checkpoints = self.strategy.checkpoints.is_some_and(|n| newest + 1 >= oldest + n);
            if by_size || by_checkpoints || finished.contains(&directory) {
                due.push((directory, waiting.into_iter().map(|(path, _, _)| path).collect()));
            }
        }
        self.compact_buckets(&due)
    }

    /// Compacts the waiting files of each bucket of `due`, the buckets spread over the
    /// strategy's threads.
    fn compact_buckets(&self, due: &[(PathBuf, Vec<PathBuf>)]) -> Result<()> {
        let threads = self.strategy.threads.min(due.len());
        if threads <= 1 {
            return due.iter().try_for_each(|(directory, sources)| self.compact_bucket(directory, sources));
        }
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|worker| {
                    scope.spawn(move || {
                        due.iter()
                            .skip(worker)
                            .step_by(threads)
                            .try_for_each(|(directory, sources)| self.compact_bucket(directory, sources))
                    })
                })
                .collect();
            workers.into_iter().try_for_each(|worker| {
                worker.join().unwrap_or_else(|_| Err(FlinkError::Connector("a file compaction thread panicked".into())))
            })
        })
    }

    fn compact_bucket(&self, directory: &Path, sources: &[PathBuf]) -> Result<()> {
        match &self.compactor {
            FileCompactor::Concat { delimiter } => compact(directory, sources, delimiter.as_deref()),
            FileCompactor::Identical => {
                sources.iter().try_for_each(|source| compact(directory, std::slice::from_ref(source), None))
            }
        }
    }
}

fn io_error(what: &str, path: &Path, error: std::io::Error) -> FlinkError {
    FlinkError::Connector(format!("file compaction: cannot {what} '{}': {error}", path.display()))
}

fn file_name(path: &Path) -> Result<&str> {
    path.file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| FlinkError::Connector(format!("file sink paths must be UTF-8: '{}'", path.display())))
}

/// The waiting files of `directory`, sorted by name (so by checkpoint): path, checkpoint, size.
fn waiting_files(directory: &Path) -> Result<Vec<(PathBuf, u64, u64)>> {
    let mut waiting = Vec::new();
    let entries = std::fs::read_dir(directory).map_err(|e| io_error("list", directory, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error("list", directory, e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
        let Some(rest) = name.strip_prefix(PENDING) else { continue };
        let Some(checkpoint) = rest.get(..20).and_then(|digits| digits.parse::<u64>().ok()) else { continue };
        let size = entry.metadata().map_err(|e| io_error("read", &entry.path(), e))?.len();
        waiting.push((entry.path(), checkpoint, size));
    }
    waiting.sort();
    Ok(waiting)
}

/// The visible name of a waiting file: its part file name.
fn visible_name(waiting: &Path) -> Result<&str> {
    let name = file_name(waiting)?;
    Ok(name.strip_prefix(PENDING).and_then(|rest| rest.get(21..)).unwrap_or(name))
}

/// Merges `sources` of `directory` into one compacted file named after the first, with
/// `delimiter` between neighbours, and removes them.
fn compact(directory: &Path, sources: &[PathBuf], delimiter: Option<&[u8]>) -> Result<()> {
    let Some(first) = sources.first() else { return Ok(()) };
    let target_name = format!("{COMPACTED}{}", visible_name(first)?);
    let target = directory.join(&target_name);
    let temporary = directory.join(format!(".{target_name}.compacting"));
    let manifest = directory.join(format!("{MANIFEST}{target_name}"));
    let mut listing = String::new();
    for source in sources {
        listing.push_str(file_name(source)?);
        listing.push('\n');
    }
    write_durably(&manifest, |out| out.write_all(listing.as_bytes()))?;
    write_durably(&temporary, |out| {
        let mut buffer = vec![0; 1 << 16];
        for (index, source) in sources.iter().enumerate() {
            if index > 0 {
                out.write_all(delimiter.unwrap_or_default())?;
            }
            let mut input = File::open(source)?;
            loop {
                let read = input.read(&mut buffer)?;
                if read == 0 {
                    break;
                }
                out.write_all(&buffer[..read])?;
            }
        }
        Ok(())
    })?;
    std::fs::rename(&temporary, &target).map_err(|e| io_error("publish", &target, e))?;
    remove_sources(directory, &listing)?;
    std::fs::remove_file(&manifest).map_err(|e| io_error("remove", &manifest, e))
}

/// Writes a file with `fill` and makes it durable.
fn write_durably(path: &Path, fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) -> Result<()> {
    let file = File::create(path).map_err(|e| io_error("create", path, e))?;
    let mut out = BufWriter::with_capacity(1 << 16, file);
    fill(&mut out).map_err(|e| io_error("write", path, e))?;
    let file = out.into_inner().map_err(|e| io_error("write", path, e.into_error()))?;
    file.sync_all().map_err(|e| io_error("write", path, e))
}

/// Removes the sources of a manifest's `listing` that are still there.
fn remove_sources(directory: &Path, listing: &str) -> Result<()> {
    for name in listing.lines().filter(|name| !name.is_empty()) {
        let source = directory.join(name);
        match std::fs::remove_file(&source) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("remove", &source, e)),
        }
    }
    Ok(())
}

/// Completes or undoes the compactions of `directory` that a failure cut short.
fn finish_interrupted(directory: &Path) -> Result<()> {
    let entries = std::fs::read_dir(directory).map_err(|e| io_error("list", directory, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error("list", directory, e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
        let Some(target_name) = name.strip_prefix(MANIFEST) else { continue };
        let listing = std::fs::read_to_string(entry.path()).map_err(|e| io_error("read", &entry.path(), e))?;
        if directory.join(target_name).exists() {
            remove_sources(directory, &listing)?;
        } else {
            let temporary = directory.join(format!(".{target_name}.compacting"));
            if temporary.exists() {
                std::fs::remove_file(&temporary).map_err(|e| io_error("remove", &temporary, e))?;
            }
        }
        std::fs::remove_file(entry.path()).map_err(|e| io_error("remove", &entry.path(), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(directory: &Path, checkpoint: u64, name: &str, text: &str) -> PathBuf {
        let path = directory.join(format!("{PENDING}{checkpoint:020}-{name}"));
        std::fs::write(&path, text).unwrap();
        path
    }

    fn visible(directory: &Path) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = std::fs::read_dir(directory)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| !e.file_name().to_str().unwrap().starts_with('.'))
            .map(|e| (e.file_name().into_string().unwrap(), std::fs::read_to_string(e.path()).unwrap()))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn an_interrupted_compaction_is_finished_or_undone_without_losing_or_doubling_a_record() {
        let dir = tempfile::tempdir().unwrap();
        let a = waiting(dir.path(), 1, "part-a-0", "a\n");
        let b = waiting(dir.path(), 2, "part-a-1", "b\n");
        // Cut short after publishing: the sources are still there, the target too.
        compact(dir.path(), &[a.clone(), b.clone()], None).unwrap();
        std::fs::write(&a, "a\n").unwrap();
        std::fs::write(
            dir.path().join(format!("{MANIFEST}compacted-part-a-0")),
            format!("{}\n", file_name(&a).unwrap()),
        )
        .unwrap();
        finish_interrupted(dir.path()).unwrap();
        assert!(waiting_files(dir.path()).unwrap().is_empty());
        assert_eq!(visible(dir.path()), [("compacted-part-a-0".to_string(), "a\nb\n".to_string())]);
        // Cut short before publishing: the half-written file goes, the sources wait.
        let c = waiting(dir.path(), 3, "part-b-0", "c\n");
        std::fs::write(dir.path().join(".compacted-part-b-0.compacting"), "c").unwrap();
        std::fs::write(dir.path().join(format!("{MANIFEST}compacted-part-b-0")), file_name(&c).unwrap()).unwrap();
        finish_interrupted(dir.path()).unwrap();
        assert_eq!(waiting_files(dir.path()).unwrap().len(), 1);
        assert!(!dir.path().join(".compacted-part-b-0.compacting").exists());
    }

    #[test]
    fn triggers_fire_by_size_checkpoints_or_the_end_and_compactors_join_or_copy() {
        let dir = tempfile::tempdir().unwrap();
        let by_size = Compaction::new(
            FileCompactStrategy::builder().set_size_threshold(6).build().unwrap(),
            FileCompactor::Concat { delimiter: Some(b"--\n".to_vec()) },
        );
        let commit = |compaction: &Compaction, checkpoint: u64, name: &str, text: &str, finished: bool| {
            let in_progress = dir.path().join(format!(".{name}.inprogress"));
            std::fs::write(&in_progress, text).unwrap();
            let file = Committed { in_progress, visible: dir.path().join(name), checkpoint };
            let finished = if finished { vec![dir.path().to_path_buf()] } else { Vec::new() };
            compaction.commit(vec![file], finished).unwrap();
        };
        commit(&by_size, 1, "p-0", "ab\n", false);
        assert!(visible(dir.path()).is_empty(), "3 bytes wait");
        commit(&by_size, 2, "p-1", "cd\n", false);
        assert_eq!(visible(dir.path()), [("compacted-p-0".to_string(), "ab\n--\ncd\n".to_string())]);

        let identical = Compaction::new(
            FileCompactStrategy::builder().enable_compaction_on_checkpoint(2).build().unwrap(),
            FileCompactor::Identical,
        );
        commit(&identical, 3, "q-0", "e\n", false);
        assert_eq!(visible(dir.path()).len(), 1, "one checkpoint of two");
        commit(&identical, 4, "q-1", "f\n", false);
        let names: Vec<String> = visible(dir.path()).into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["compacted-p-0", "compacted-q-0", "compacted-q-1"]);
        commit(&identical, 5, "r-0", "g\n", true);
        assert_eq!(visible(dir.path()).len(), 4, "the end of input compacts what waits");
    }
}
