//! HTTP downloads of release files: a small text (a checksum file, a channel's version), or a file
//! streamed to disk while its sha256 is computed, cut short by a failure elsewhere or a signal.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// What went wrong with one URL; the caller says which file it was.
#[derive(Debug)]
pub enum Failure {
    /// No connection (refused, no route, DNS, TLS).
    Unreachable(String),
    /// The server answered with an error status.
    Status(u16),
    /// The body ended before its Content-Length, or reading it failed.
    CutShort {
        got: u64,
        expected: Option<u64>,
        why: String,
    },
    /// Writing the file failed.
    Local(String),
    /// Another download failed, or a signal came: this one stopped.
    Cancelled,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Unreachable(why) => write!(f, "cannot reach the server: {why}"),
            Failure::Status(404) => f.write_str("not found (HTTP 404)"),
            Failure::Status(code) => write!(f, "HTTP status {code}"),
            Failure::CutShort { got, expected, why } => match expected {
                Some(total) => write!(f, "cut short after {got} of {total} bytes ({why})"),
                None => write!(f, "cut short after {got} bytes ({why})"),
            },
            Failure::Local(why) => f.write_str(why),
            Failure::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// One HTTP client for a whole release: connections are not kept waiting on a dead mirror.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        // A stalled server, not a slow one: no byte for this long ends the download.
        .timeout_recv_body(Some(Duration::from_secs(60)))
        .timeout_recv_response(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn get(agent: &ureq::Agent, url: &str) -> Result<ureq::http::Response<ureq::Body>, Failure> {
    agent.get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(code) => Failure::Status(code),
        other => Failure::Unreachable(other.to_string()),
    })
}

/// A small text file (checksums, a channel's version), at most 64 KiB.
pub fn text(agent: &ureq::Agent, url: &str) -> Result<String, Failure> {
    let mut body = get(agent, url)?.into_body();
    body.with_config()
        .limit(64 * 1024)
        .read_to_string()
        .map_err(|e| Failure::CutShort {
            got: 0,
            expected: None,
            why: e.to_string(),
        })
}

/// Streams `url` into `dest` (created), reporting each chunk's size to `progress` (first call:
/// the total, when the server says it); returns the sha256 of the bytes (hex).
pub fn file(
    agent: &ureq::Agent,
    url: &str,
    dest: &Path,
    cancel: &AtomicBool,
    progress: &dyn Fn(Option<u64>, u64),
) -> Result<String, Failure> {
    let response = get(agent, url)?;
    let expected = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    progress(expected, 0);
    let mut body = response.into_body().into_reader();
    let mut out = File::create(dest)
        .map_err(|e| Failure::Local(format!("create {}: {e}", dest.display())))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 17];
    let mut got = 0u64;
    loop {
        if cancel.load(Ordering::Relaxed) || kns_plumbing::signals::interrupted() {
            return Err(Failure::Cancelled);
        }
        let n = match body.read(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                return Err(Failure::CutShort {
                    got,
                    expected,
                    why: e.to_string(),
                })
            }
        };
        if n == 0 {
            break;
        }
        got += n as u64;
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| Failure::Local(format!("write {}: {e}", dest.display())))?;
        progress(None, n as u64);
    }
    if let Some(total) = expected.filter(|t| got < *t) {
        return Err(Failure::CutShort {
            got,
            expected: Some(total),
            why: "the connection closed".into(),
        });
    }
    out.sync_all()
        .map_err(|e| Failure::Local(format!("sync {}: {e}", dest.display())))?;
    Ok(kns_plumbing::hex::encode(&hasher.finalize()))
}

/// The sha256 a published checksum file gives for `file_name`: a file of one bare hash (the
/// Kubernetes `.sha256` files), or of `HASH  NAME` / `HASH *NAME` lines (sha256sum's format:
/// etcd's SHA256SUMS, CoreDNS's `.sha256`).
pub fn checksum_in(text: &str, file_name: &str) -> Result<String, String> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let hash = match lines.as_slice() {
        [only] if !only.contains(char::is_whitespace) => Some(*only),
        _ => lines.iter().find_map(|line| {
            let (hash, name) = line.split_once(char::is_whitespace)?;
            let name = name.trim_start().trim_start_matches('*');
            (name.rsplit('/').next() == Some(file_name)).then_some(hash)
        }),
    };
    match hash {
        Some(h) if kns_plumbing::hex::is_sha256(&h.to_ascii_lowercase()) => {
            Ok(h.to_ascii_lowercase())
        }
        Some(h) => Err(format!("\"{h}\" is not a sha256")),
        None => Err(format!("no line for {file_name}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_files_in_both_upstream_shapes() {
        let hash = "8dc78774f7cbeaf787994d386eec663f0a3cf24de1ea4893598096cb39ef2508";
        assert_eq!(checksum_in(&format!("{hash}\n"), "kubeadm").unwrap(), hash);
        assert_eq!(
            checksum_in(&format!("{}\n", hash.to_uppercase()), "kubeadm").unwrap(),
            hash
        );
        let sums = format!(
            "{}  etcd-v3.5.10-darwin-amd64.zip\n{hash}  etcd-v3.5.10-linux-amd64.tar.gz\n{}  etcd-v3.5.10-linux-arm64.tar.gz\n",
            "1".repeat(64),
            "2".repeat(64)
        );
        assert_eq!(
            checksum_in(&sums, "etcd-v3.5.10-linux-amd64.tar.gz").unwrap(),
            hash
        );
        assert_eq!(
            checksum_in(
                &format!("{hash} *coredns_1.10.1_linux_amd64.tgz"),
                "coredns_1.10.1_linux_amd64.tgz"
            )
            .unwrap(),
            hash
        );
        assert_eq!(
            checksum_in(&format!("{hash}  ./dist/crictl.tar.gz"), "crictl.tar.gz").unwrap(),
            hash
        );
        assert!(checksum_in(&sums, "etcd-v3.5.10-linux-s390x.tar.gz")
            .unwrap_err()
            .contains("no line for"));
        assert!(checksum_in("<html>Not Found</html>", "kubeadm").is_err());
        assert!(checksum_in("", "kubeadm").is_err());
    }
}
