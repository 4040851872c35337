//! The framing of every checkpoint file: a header that names the format and what the file holds,
//! the payload, and a CRC-32 of all that precedes it. A file that is cut short, extended or
//! changed in any byte fails to read with an error that names it.

use std::io::Write;
use std::path::Path;

use crate::StateError;

/// The first bytes of every checkpoint file.
const MAGIC: &[u8; 4] = b"PFCK";
/// The version of the framing and of the metadata layout. Version 2 added the key encoding
/// version to the metadata.
const VERSION: u16 = 2;
/// Magic, version, kind and payload length.
const HEADER_LEN: usize = 4 + 2 + 1 + 8;

/// What a checkpoint file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FileKind {
    /// A checkpoint's `_metadata`.
    Metadata = 1,
    /// A snapshot written by an operator instance.
    State = 2,
}

/// Frames `payload` as a file of `kind`.
pub fn encode_checked(kind: FileKind, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len() + 4);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    bytes.push(kind as u8);
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(payload);
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// The payload of the framed bytes of a file of `kind`; `what` names the file in errors.
pub fn decode_checked<'a>(kind: FileKind, bytes: &'a [u8], what: &str) -> Result<&'a [u8], StateError> {
    let corrupt = |cause: String| StateError::Corrupt { what: what.to_string(), cause };
    if bytes.len() < HEADER_LEN + 4 {
        return Err(corrupt(format!("only {} bytes, shorter than any checkpoint file", bytes.len())));
    }
    if &bytes[..4] != MAGIC {
        return Err(corrupt("not a pyflink-rs checkpoint file".into()));
    }
    // The checksum first, so that a damaged version field reads as damage, not as another version.
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes(crc.try_into().expect("4 bytes"));
    let actual = crc32fast::hash(body);
    if stored != actual {
        return Err(corrupt(format!("checksum mismatch (stored {stored:08x}, computed {actual:08x})")));
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != VERSION {
        return Err(StateError::IncompatibleCheckpoint {
            what: what.to_string(),
            cause: format!("it has checkpoint format version {version}, this build reads version {VERSION}"),
        });
    }
    if bytes[6] != kind as u8 {
        return Err(corrupt(format!("holds file kind {}, expected {:?}", bytes[6], kind)));
    }
    let length = u64::from_le_bytes(body[7..HEADER_LEN].try_into().expect("8 bytes"));
    let payload = &body[HEADER_LEN..];
    if payload.len() as u64 != length {
        return Err(corrupt(format!("payload of {} bytes, the header says {length}", payload.len())));
    }
    Ok(payload)
}

/// Writes `payload` framed as `kind` to `path` and syncs it; returns the file's length and CRC.
pub fn write_checked(path: &Path, kind: FileKind, payload: &[u8]) -> Result<(u64, u32), StateError> {
    let bytes = encode_checked(kind, payload);
    let mut file = std::fs::File::create(path).map_err(|e| StateError::io(path, e))?;
    file.write_all(&bytes).and_then(|()| file.sync_all()).map_err(|e| StateError::io(path, e))?;
    Ok((bytes.len() as u64, crc32fast::hash(&bytes)))
}

/// Reads a file of `kind` written by [`write_checked`] and returns its verified payload.
pub fn read_checked(path: &Path, kind: FileKind) -> Result<Vec<u8>, StateError> {
    let bytes = std::fs::read(path).map_err(|e| StateError::io(path, e))?;
    let payload = decode_checked(kind, &bytes, &path.display().to_string())?;
    Ok(payload.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_single_byte_change_or_cut_is_detected() {
        let framed = encode_checked(FileKind::State, b"some state");
        assert_eq!(decode_checked(FileKind::State, &framed, "f").unwrap(), b"some state");
        for i in 0..framed.len() {
            let mut changed = framed.clone();
            changed[i] ^= 0x40;
            assert!(decode_checked(FileKind::State, &changed, "f").is_err(), "flip at {i}");
            assert!(decode_checked(FileKind::State, &framed[..i], "f").is_err(), "cut at {i}");
        }
        assert!(decode_checked(FileKind::Metadata, &framed, "f").is_err(), "wrong kind");
    }

    #[test]
    fn another_format_version_is_incompatible_not_corrupt() {
        let mut framed = encode_checked(FileKind::State, b"x");
        framed[4] = 1;
        let body = framed.len() - 4;
        let crc = crc32fast::hash(&framed[..body]);
        framed[body..].copy_from_slice(&crc.to_le_bytes());
        let error = decode_checked(FileKind::State, &framed, "f").unwrap_err();
        assert!(matches!(error, StateError::IncompatibleCheckpoint { .. }), "{error}");
        assert!(error.to_string().contains("format version 1, this build reads version 2"), "{error}");
    }
}
