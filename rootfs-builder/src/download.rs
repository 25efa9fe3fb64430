//! `--method download`: a rootfs tarball (gzip or plain) from `http(s)://` or `file://`, checked
//! against its sha256 before a single entry is unpacked.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Fetches `url` into `scratch` (a file the caller removes) and returns its sha256 (hex).
pub fn fetch(url: &str, scratch: &Path) -> Result<String> {
    let download_error = |msg: String| Error::Download {
        url: url.to_owned(),
        msg,
    };
    let mut source: Box<dyn Read> = if let Some(path) = url.strip_prefix("file://") {
        Box::new(File::open(path).map_err(|e| download_error(e.to_string()))?)
    } else if url.starts_with("http://") || url.starts_with("https://") {
        let response = ureq::get(url)
            .call()
            .map_err(|e| download_error(e.to_string()))?;
        Box::new(response.into_body().into_reader())
    } else {
        return Err(Error::InvalidArgument(format!(
            "--url \"{url}\": use http://, https:// or file://"
        )));
    };
    let mut out = File::create(scratch).map_err(|e| Error::io("create", scratch, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = source
            .read(&mut buf)
            .map_err(|e| download_error(format!("reading failed: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| Error::io("write", scratch, e))?;
    }
    out.sync_all().map_err(|e| Error::io("sync", scratch, e))?;
    Ok(kns_plumbing::hex::encode(&hasher.finalize()))
}

/// Checks the downloaded bytes against the expected sha256.
pub fn verify(url: &str, expected: &str, actual: &str) -> Result<()> {
    if expected.eq_ignore_ascii_case(actual) {
        Ok(())
    } else {
        Err(Error::Checksum {
            url: url.to_owned(),
            expected: expected.to_owned(),
            actual: actual.to_owned(),
        })
    }
}

/// Unpacks a downloaded tarball, gzip-compressed or not (told apart by its magic bytes).
pub fn unpack_file(archive: &Path, dest: &Path) -> Result<u64> {
    let mut file = File::open(archive).map_err(|e| Error::io("open", archive, e))?;
    let mut magic = [0u8; 2];
    let gzip = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io("seek", archive, e))?;
    let reader = BufReader::new(file);
    if gzip {
        crate::unpack::unpack(flate2::read::GzDecoder::new(reader), dest)
    } else {
        crate::unpack::unpack(reader, dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetches_file_urls_and_hashes_them() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a.tar");
        std::fs::write(&src, b"abc").unwrap();
        let scratch = dir.path().join("dl");
        let sum = fetch(&format!("file://{}", src.display()), &scratch).unwrap();
        assert_eq!(
            sum,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(std::fs::read(&scratch).unwrap(), b"abc");
        verify("u", &sum.to_uppercase(), &sum).unwrap();
        assert!(verify("u", &"0".repeat(64), &sum)
            .unwrap_err()
            .to_string()
            .contains("sha256 mismatch"));
    }

    #[test]
    fn rejects_other_schemes() {
        let dir = tempfile::tempdir().unwrap();
        let err = fetch("ftp://x/y", &dir.path().join("dl"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("use http://, https:// or file://"), "{err}");
    }
}
