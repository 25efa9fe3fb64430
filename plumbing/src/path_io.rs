//! An operation on a path that failed: what was done, to which path, why. Every tool's error enum
//! carries one as its `Io` variant, so the words (`<op> <path>: <why>`) and the constructors are
//! the same everywhere.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[error("{op} {}: {source}", .path.display())]
pub struct PathIo {
    /// What was done to the path, as a verb: `read`, `create`, `rename to`.
    pub op: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl PathIo {
    pub fn new(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> PathIo {
        PathIo {
            op,
            path: path.into(),
            source,
        }
    }

    /// The same for an errno (nix's calls).
    pub fn errno(op: &'static str, path: impl Into<PathBuf>, errno: nix::errno::Errno) -> PathIo {
        PathIo::new(op, path, std::io::Error::from_raw_os_error(errno as i32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_the_operation_the_path_and_the_cause() {
        let e = PathIo::errno("read", "/etc/x", nix::errno::Errno::ENOENT);
        assert_eq!(
            e.to_string(),
            "read /etc/x: No such file or directory (os error 2)"
        );
        assert_eq!(e.source.kind(), std::io::ErrorKind::NotFound);
    }
}
