//! The checkpoint directory of a job: writing snapshot files, committing metadata atomically,
//! retaining the newest checkpoints, and finding the newest complete one.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::checkpoint::file_format::{decode_checked, write_checked, FileKind};
use crate::checkpoint::metadata::{CheckpointMetadata, FileFormat, FileHandle};
use crate::checkpoint::shared_files::{checksum_file, SharedFiles};
use crate::StateError;

/// The name of a checkpoint's metadata file, as in Flink.
pub const METADATA_FILE: &str = "_metadata";

/// A checkpoint that a restore passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedCheckpoint {
    /// The checkpoint's directory.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

/// The checkpoints of one job under `root`: `root/chk-<id>/…` with file paths in metadata
/// relative to `root`, and `root/shared/…` for the files incremental checkpoints share.
#[derive(Debug, Clone)]
pub struct CheckpointStorage {
    root: PathBuf,
    retained: usize,
}

impl CheckpointStorage {
    /// Storage under `root` (created if missing) that keeps the newest `retained` complete
    /// checkpoints (`state.checkpoints.num-retained`, at least 1).
    pub fn new(root: impl Into<PathBuf>, retained: usize) -> Result<Self, StateError> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| StateError::io(&root, e))?;
        Ok(CheckpointStorage { root, retained: retained.max(1) })
    }

    /// The directory all checkpoints of the job are in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of checkpoint `id`.
    pub fn checkpoint_dir(&self, id: u64) -> PathBuf {
        self.root.join(format!("chk-{id}"))
    }

    /// Writes `payload` as the file `name` of checkpoint `id` and returns its handle for the
    /// metadata.
    pub fn write_file(&self, id: u64, name: &str, payload: &[u8]) -> Result<FileHandle, StateError> {
        let dir = self.checkpoint_dir(id);
        std::fs::create_dir_all(&dir).map_err(|e| StateError::io(&dir, e))?;
        let relative = format!("chk-{id}/{name}");
        let (length, crc32) = write_checked(&self.root.join(&relative), FileKind::State, payload)?;
        Ok(FileHandle { name: name.to_string(), path: relative, length, crc32, format: FileFormat::Framed })
    }

    /// Reads and verifies a file listed in `metadata` of this storage: the payload of a framed
    /// file, the whole of a raw one.
    pub fn read_file(&self, _metadata: &CheckpointMetadata, handle: &FileHandle) -> Result<Vec<u8>, StateError> {
        read_verified(&self.root, handle)
    }

    /// Where the file of `handle` is.
    pub fn path_of(&self, handle: &FileHandle) -> PathBuf {
        self.root.join(&handle.path)
    }

    /// Makes checkpoint `metadata.checkpoint_id` complete: writes its metadata atomically, then
    /// removes the checkpoints beyond the number retained and the shared files no retained
    /// checkpoint lists.
    pub fn commit(&self, metadata: &CheckpointMetadata) -> Result<PathBuf, StateError> {
        self.commit_with_in_flight(metadata, &HashSet::new(), None)
    }

    /// As [`CheckpointStorage::commit`], keeping the shared files in `in_flight` (written for
    /// checkpoints still in progress) and forgetting removed ones in `shared`.
    pub fn commit_with_in_flight(
        &self,
        metadata: &CheckpointMetadata,
        in_flight: &HashSet<String>,
        shared: Option<&mut SharedFiles>,
    ) -> Result<PathBuf, StateError> {
        let dir = self.checkpoint_dir(metadata.checkpoint_id);
        std::fs::create_dir_all(&dir).map_err(|e| StateError::io(&dir, e))?;
        write_metadata_atomically(&dir, metadata)?;
        self.prune(metadata.checkpoint_id);
        self.remove_unreferenced_shared(in_flight, shared);
        Ok(dir)
    }

    /// Removes the directory of a checkpoint that will not complete.
    pub fn discard(&self, id: u64) {
        let _ = std::fs::remove_dir_all(self.checkpoint_dir(id));
    }

    /// Removes complete checkpoints older than the newest `retained`, and incomplete ones older
    /// than `newest`.
    fn prune(&self, newest: u64) {
        let mut ids = self.checkpoint_ids();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        let mut kept = 0;
        for id in ids {
            let dir = self.checkpoint_dir(id);
            let complete = dir.join(METADATA_FILE).exists();
            if complete && kept < self.retained && id <= newest {
                kept += 1;
            } else if id < newest {
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
    }

    /// The directories of the checkpoints present.
    pub(crate) fn checkpoint_dirs(&self) -> Vec<PathBuf> {
        self.checkpoint_ids().into_iter().map(|id| self.checkpoint_dir(id)).collect()
    }

    /// The ids of the checkpoint directories present.
    fn checkpoint_ids(&self) -> Vec<u64> {
        let Ok(entries) = std::fs::read_dir(&self.root) else { return Vec::new() };
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.strip_prefix("chk-")?.parse().ok())
            .collect()
    }

    /// The newest checkpoint whose metadata and files all verify, if any. Checkpoints that do
    /// not verify (cut short by a crash, or corrupt) are skipped, each with a warning in the log;
    /// a checkpoint written by a build with another checkpoint format or key encoding is an
    /// error, because skipping it would silently start the job without its state.
    pub fn latest_complete(&self) -> Result<Option<CheckpointMetadata>, StateError> {
        Ok(self.latest_complete_with_skipped()?.0)
    }

    /// As [`CheckpointStorage::latest_complete`], also returning the checkpoints skipped.
    pub fn latest_complete_with_skipped(
        &self,
    ) -> Result<(Option<CheckpointMetadata>, Vec<SkippedCheckpoint>), StateError> {
        let mut ids = self.checkpoint_ids();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        let mut skipped = Vec::new();
        for id in ids {
            let dir = self.checkpoint_dir(id);
            match load_verified(&self.root, &dir) {
                Ok(metadata) => return Ok((Some(metadata), skipped)),
                Err(incompatible @ StateError::IncompatibleCheckpoint { .. }) => return Err(incompatible),
                Err(error) => {
                    let reason = error.to_string();
                    tracing::warn!(checkpoint = %dir.display(), %reason, "skipping checkpoint that is incomplete or corrupt");
                    skipped.push(SkippedCheckpoint { path: dir, reason });
                }
            }
        }
        Ok((None, skipped))
    }

    /// Loads the checkpoint or savepoint at `path` (its directory or its `_metadata` file) and
    /// verifies all its files; returns the metadata and the storage to read its files from.
    pub fn open_path(path: &Path) -> Result<(CheckpointMetadata, CheckpointStorage), StateError> {
        let dir = if path.file_name().is_some_and(|n| n == METADATA_FILE) {
            path.parent().unwrap_or(Path::new(".")).to_path_buf()
        } else {
            path.to_path_buf()
        };
        let metadata = read_metadata(&dir)?;
        // A savepoint holds its files itself; a checkpoint's paths start at its job directory.
        let root = if metadata.savepoint { dir.clone() } else { dir.parent().unwrap_or(Path::new(".")).to_path_buf() };
        verify_files(&root, &metadata)
            .map_err(|reason| StateError::Corrupt { what: format!("checkpoint {}", dir.display()), cause: reason })?;
        Ok((metadata, CheckpointStorage { root, retained: 1 }))
    }

    /// Writes a self-contained savepoint of `metadata` (whose files are in this storage) into
    /// `target`, which must not exist yet; returns its path.
    pub fn write_savepoint(&self, metadata: &CheckpointMetadata, target: &Path) -> Result<PathBuf, StateError> {
        if target.exists() {
            return Err(StateError::Io {
                path: target.display().to_string(),
                cause: "a savepoint directory must not exist yet; choose a new path".into(),
            });
        }
        std::fs::create_dir_all(target).map_err(|e| StateError::io(target, e))?;
        let mut savepoint = metadata.clone();
        savepoint.savepoint = true;
        for (o, operator) in savepoint.operators.iter_mut().enumerate() {
            for subtask in &mut operator.subtasks {
                for file in &mut subtask.files {
                    let relative = format!("op{o}-{}-{}", subtask.subtask, file.name.replace('/', "-"));
                    let from = self.root.join(&file.path);
                    let to = target.join(&relative);
                    std::fs::copy(&from, &to).map_err(|e| StateError::io(&from, e))?;
                    file.path = relative;
                }
            }
        }
        write_metadata_atomically(target, &savepoint)?;
        Ok(target.to_path_buf())
    }
}

/// Writes `_metadata` into `dir` through a temporary file, a sync and a rename.
fn write_metadata_atomically(dir: &Path, metadata: &CheckpointMetadata) -> Result<(), StateError> {
    let temporary = dir.join(format!("{METADATA_FILE}.inprogress"));
    let bytes = metadata.encode()?;
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&temporary).map_err(|e| StateError::io(&temporary, e))?;
        file.write_all(&bytes).and_then(|()| file.sync_all()).map_err(|e| StateError::io(&temporary, e))?;
    }
    let target = dir.join(METADATA_FILE);
    std::fs::rename(&temporary, &target).map_err(|e| StateError::io(&target, e))?;
    // The rename is durable once the directory is synced.
    if let Ok(handle) = std::fs::File::open(dir) {
        let _ = handle.sync_all();
    }
    Ok(())
}

pub(crate) fn read_metadata(dir: &Path) -> Result<CheckpointMetadata, StateError> {
    let path = dir.join(METADATA_FILE);
    let bytes = std::fs::read(&path).map_err(|e| StateError::io(&path, e))?;
    CheckpointMetadata::decode(&bytes).map_err(|e| match e {
        StateError::Corrupt { cause, .. } => StateError::Corrupt { what: path.display().to_string(), cause },
        StateError::IncompatibleCheckpoint { cause, .. } => {
            StateError::IncompatibleCheckpoint { what: format!("checkpoint {}", dir.display()), cause }
        }
        other => other,
    })
}

/// Reads `dir`'s metadata and checks every file it lists (paths relative to `root`).
fn load_verified(root: &Path, dir: &Path) -> Result<CheckpointMetadata, StateError> {
    let corrupt = |cause: String| StateError::Corrupt { what: format!("checkpoint {}", dir.display()), cause };
    if !dir.join(METADATA_FILE).exists() {
        return Err(corrupt("it has no _metadata (it never completed)".into()));
    }
    let metadata = read_metadata(dir)?;
    verify_files(root, &metadata).map_err(corrupt)?;
    Ok(metadata)
}

/// Checks the length and checksum of every file of `metadata`.
fn verify_files(root: &Path, metadata: &CheckpointMetadata) -> Result<(), String> {
    for file in metadata.operators.iter().flat_map(|o| &o.subtasks).flat_map(|s| &s.files) {
        match file.format {
            FileFormat::Framed => read_verified(root, file).map(drop),
            // RocksDB's files can be large: checked in blocks rather than read whole.
            FileFormat::Raw => {
                let path = root.join(&file.path);
                checksum_file(&path).and_then(|actual| check_against(&path, handle_says(file), actual))
            }
        }
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn handle_says(handle: &FileHandle) -> (u64, u32) {
    (handle.length, handle.crc32)
}

/// An error unless a file's length and checksum are what its handle says.
fn check_against(path: &Path, expected: (u64, u32), actual: (u64, u32)) -> Result<(), StateError> {
    if actual == expected {
        return Ok(());
    }
    Err(StateError::Corrupt {
        what: path.display().to_string(),
        cause: format!(
            "{} bytes with checksum {:08x}, the metadata says {} bytes with {:08x}",
            actual.0, actual.1, expected.0, expected.1
        ),
    })
}

/// Reads a file and checks it against its handle and, if framed, its own framing.
fn read_verified(root: &Path, handle: &FileHandle) -> Result<Vec<u8>, StateError> {
    let path = root.join(&handle.path);
    let bytes = std::fs::read(&path).map_err(|e| StateError::io(&path, e))?;
    check_against(&path, handle_says(handle), (bytes.len() as u64, crc32fast::hash(&bytes)))?;
    match handle.format {
        FileFormat::Framed => Ok(decode_checked(FileKind::State, &bytes, &path.display().to_string())?.to_vec()),
        FileFormat::Raw => Ok(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{OperatorSnapshot, SubtaskSnapshot};

    fn checkpoint(storage: &CheckpointStorage, id: u64, payload: &[u8]) -> CheckpointMetadata {
        let file = storage.write_file(id, "keyed", payload).unwrap();
        let operator = OperatorSnapshot {
            operator_id: "op".into(),
            parallelism: 1,
            max_parallelism: 128,
            subtasks: vec![SubtaskSnapshot { subtask: 0, files: vec![file], key_groups: None }],
        };
        let metadata = CheckpointMetadata::new(id, vec![operator]);
        storage.commit(&metadata).unwrap();
        metadata
    }

    #[test]
    fn a_checkpoint_of_another_key_encoding_fails_the_restore_instead_of_being_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let storage = CheckpointStorage::new(dir.path(), 3).unwrap();
        checkpoint(&storage, 1, b"one");
        let mut other = checkpoint(&storage, 2, b"two");
        other.key_encoding = crate::key_encoding::KEY_ENCODING_VERSION + 1;
        storage.commit(&other).unwrap();
        let error = storage.latest_complete().unwrap_err().to_string();
        assert!(error.contains("chk-2 cannot be restored by this build"), "{error}");
        assert!(error.contains("key encoding version 2, this build uses version 1"), "{error}");
        let error = CheckpointStorage::open_path(&storage.checkpoint_dir(2)).unwrap_err().to_string();
        assert!(error.contains("key encoding version 2"), "{error}");
    }

    #[test]
    fn corrupt_and_partial_checkpoints_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let storage = CheckpointStorage::new(dir.path(), 3).unwrap();
        checkpoint(&storage, 1, b"one");
        checkpoint(&storage, 2, b"two");
        // Checkpoint 3 never completed: files but no metadata.
        storage.write_file(3, "keyed", b"three").unwrap();
        // Flip one byte of checkpoint 2's file.
        let file = storage.checkpoint_dir(2).join("keyed");
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[20] ^= 1;
        std::fs::write(&file, bytes).unwrap();

        let (latest, skipped) = storage.latest_complete_with_skipped().unwrap();
        assert_eq!(latest.unwrap().checkpoint_id, 1);
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(skipped[0].reason.contains("never completed"), "{}", skipped[0].reason);
        assert!(skipped[1].reason.contains("checksum"), "{}", skipped[1].reason);
    }

    #[test]
    fn only_the_retained_number_of_checkpoints_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let storage = CheckpointStorage::new(dir.path(), 2).unwrap();
        for id in 1..=4 {
            checkpoint(&storage, id, b"x");
        }
        let mut ids = storage.checkpoint_ids();
        ids.sort();
        assert_eq!(ids, vec![3, 4]);
    }

    #[test]
    fn savepoints_are_self_contained() {
        let dir = tempfile::tempdir().unwrap();
        let storage = CheckpointStorage::new(dir.path().join("job"), 1).unwrap();
        let metadata = checkpoint(&storage, 7, b"seven");
        let target = dir.path().join("savepoint-1");
        storage.write_savepoint(&metadata, &target).unwrap();
        std::fs::remove_dir_all(dir.path().join("job")).unwrap();
        let (restored, from) = CheckpointStorage::open_path(&target).unwrap();
        assert!(restored.savepoint);
        let handle = &restored.operators[0].subtasks[0].files[0];
        assert_eq!(from.read_file(&restored, handle).unwrap(), b"seven");
        assert!(storage.write_savepoint(&metadata, &target).is_err(), "existing target");
    }
}
