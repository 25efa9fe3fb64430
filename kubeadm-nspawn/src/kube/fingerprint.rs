//! What a binary is, for `update`: its sha256, with the size and modification time it had when
//! hashed, so an unchanged file is recognised without reading it again (as `make` does).

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::error::{Error, Result};
pub use crate::model::binaries::Fingerprint;

/// The fingerprint of `path`; `known` is reused without reading the file when its size and
/// modification time are still those of `known`.
pub fn of(path: &Path, known: Option<&Fingerprint>) -> Result<Fingerprint> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io("read", path, e))?;
    let (size, mtime_ns) = (meta.len(), meta.mtime() * 1_000_000_000 + meta.mtime_nsec());
    if let Some(known) = known.filter(|k| k.size == size && k.mtime_ns == mtime_ns) {
        return Ok(known.clone());
    }
    let mut file = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io("read", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(Fingerprint {
        sha256: kns_plumbing::hex::encode(&hasher.finalize()),
        size,
        mtime_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_files_are_not_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubelet");
        std::fs::write(&path, b"abc").unwrap();
        let first = of(&path, None).unwrap();
        assert_eq!(
            first.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(first.short(), "ba7816bf8f01");
        // A stale hash with the same size and time is believed: the file was not read.
        let stale = Fingerprint {
            sha256: "0".repeat(64),
            ..first.clone()
        };
        assert_eq!(of(&path, Some(&stale)).unwrap(), stale);
        // A rebuilt file (another size) is hashed anew.
        std::fs::write(&path, b"abcd").unwrap();
        assert_ne!(of(&path, Some(&first)).unwrap().sha256, first.sha256);
    }
}
