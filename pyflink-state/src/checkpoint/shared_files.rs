//! The files of incremental checkpoints: RocksDB's SST files go once into the job's `shared/`
//! directory and every later checkpoint that still needs them lists them again; the other files
//! of a RocksDB checkpoint go into the checkpoint's own directory. A shared file is removed when
//! no retained checkpoint lists it any more and no checkpoint in progress has written it.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use crate::checkpoint::metadata::{FileFormat, FileHandle, SubtaskSnapshot, SHARED_DIR};
use crate::checkpoint::storage::{read_metadata, CheckpointStorage, METADATA_FILE};
use crate::native::{is_immutable, NativeFiles, NativeStatePart};
use crate::{KeyedStateSnapshot, StateError};

/// The shared files this process has written or checked, with their length and checksum, so
/// that a later checkpoint lists them without reading them again.
#[derive(Debug, Default)]
pub struct SharedFiles {
    known: HashMap<String, (u64, u32)>,
}

impl CheckpointStorage {
    /// Writes the files of the RocksDB checkpoint `part` into checkpoint `id` and returns their
    /// handles: SST files that `shared/` holds already are only listed; `task` names the
    /// operator instance in the names of the checkpoint's own files.
    pub fn write_native_files(
        &self,
        id: u64,
        task: &str,
        part: &NativeStatePart,
        shared: &mut SharedFiles,
    ) -> Result<Vec<FileHandle>, StateError> {
        let files = part.require_files()?;
        let prefix = part.file_name_prefix();
        let mut handles = Vec::with_capacity(files.files().len());
        for (name, from) in files.files() {
            let relative = if is_immutable(name) {
                format!("{SHARED_DIR}{}-{name}", part.id)
            } else {
                format!("chk-{id}/{task}-rocksdb-{}-{name}", part.id)
            };
            let target = self.root().join(&relative);
            let (length, crc32) = match shared.known.get(&relative) {
                Some(known) if target.exists() => *known,
                _ if is_immutable(name) && target.exists() => checksum_file(&target)?,
                _ => copy_checked(from, &target)?,
            };
            if is_immutable(name) {
                shared.known.insert(relative.clone(), (length, crc32));
            }
            handles.push(FileHandle {
                name: format!("{prefix}{name}"),
                path: relative,
                length,
                crc32,
                format: FileFormat::Raw,
            });
        }
        Ok(handles)
    }

    /// Tells the RocksDB parts of `snapshot`, decoded from the checkpoint files of `subtask`,
    /// where their files are in this storage.
    pub fn attach_native_files(&self, subtask: &SubtaskSnapshot, snapshot: &mut KeyedStateSnapshot) {
        for part in &mut snapshot.native {
            let prefix = part.file_name_prefix();
            let files = subtask
                .files
                .iter()
                .filter_map(|handle| Some((handle.name.strip_prefix(&prefix)?.to_string(), self.path_of(handle))))
                .collect();
            part.attach_files(Arc::new(NativeFiles::at(files)));
        }
    }

    /// Removes the shared files that no complete checkpoint left lists and that are not in
    /// `in_flight` (written for checkpoints still in progress). If a retained checkpoint's
    /// metadata cannot be read, nothing is removed: a file it lists might be removed otherwise.
    pub(crate) fn remove_unreferenced_shared(&self, in_flight: &HashSet<String>, shared: Option<&mut SharedFiles>) {
        let dir = self.root().join(SHARED_DIR);
        let Ok(entries) = std::fs::read_dir(&dir) else { return };
        let mut referenced: HashSet<String> = in_flight.clone();
        for checkpoint in self.checkpoint_dirs() {
            if !checkpoint.join(METADATA_FILE).exists() {
                continue;
            }
            match read_metadata(&checkpoint) {
                Ok(metadata) => referenced.extend(
                    metadata
                        .operators
                        .iter()
                        .flat_map(|o| &o.subtasks)
                        .flat_map(|s| &s.files)
                        .filter(|f| f.is_shared())
                        .map(|f| f.path.clone()),
                ),
                Err(error) => {
                    tracing::warn!(checkpoint = %checkpoint.display(), %error, "keeping every shared checkpoint file: a checkpoint's metadata cannot be read");
                    return;
                }
            }
        }
        let mut removed = Vec::new();
        for entry in entries.filter_map(|e| e.ok()) {
            let Some(name) = entry.file_name().to_str().map(|n| format!("{SHARED_DIR}{n}")) else { continue };
            if !referenced.contains(&name) && std::fs::remove_file(entry.path()).is_ok() {
                removed.push(name);
            }
        }
        if let Some(shared) = shared {
            for name in &removed {
                shared.known.remove(name);
            }
        }
    }
}

/// Copies `from` to `to` through a temporary name, syncs it, and returns its length and CRC-32:
/// a file present under its final name is always complete.
fn copy_checked(from: &Path, to: &Path) -> Result<(u64, u32), StateError> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| StateError::io(parent, e))?;
    }
    let temporary = to.with_extension("inprogress");
    let mut target = std::fs::File::create(&temporary).map_err(|e| StateError::io(&temporary, e))?;
    let checked = read_checksummed(from, |block| target.write_all(block).map_err(|e| StateError::io(&temporary, e)))?;
    target.sync_all().map_err(|e| StateError::io(&temporary, e))?;
    std::fs::rename(&temporary, to).map_err(|e| StateError::io(to, e))?;
    Ok(checked)
}

/// The length and CRC-32 of the file at `path`, read in blocks.
pub(crate) fn checksum_file(path: &Path) -> Result<(u64, u32), StateError> {
    read_checksummed(path, |_| Ok(()))
}

/// Reads the file at `path` in blocks, handing each to `each`; returns its length and CRC-32.
fn read_checksummed(
    path: &Path,
    mut each: impl FnMut(&[u8]) -> Result<(), StateError>,
) -> Result<(u64, u32), StateError> {
    let mut file = std::fs::File::open(path).map_err(|e| StateError::io(path, e))?;
    let mut hasher = crc32fast::Hasher::new();
    let mut length = 0u64;
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).map_err(|e| StateError::io(path, e))?;
        if read == 0 {
            return Ok((length, hasher.finalize()));
        }
        hasher.update(&buffer[..read]);
        each(&buffer[..read])?;
        length += read as u64;
    }
}
