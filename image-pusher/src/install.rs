//! Binaries into a running node, like install(1): written to a temporary name in the target
//! directory, mode 0755, synced, then renamed over the old file, so a binary that runs (kubelet)
//! is replaced whole and a reader never sees half a file. The node's root is reached through
//! `/proc/<pid>/root` and every path under it is resolved with `RESOLVE_IN_ROOT`: a symlink in
//! the node (absolute or `..`) stays inside the node instead of pointing into the host.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};
use crate::node::{Node, NodeError};

/// `HOST_PATH[:NODE_PATH]`; NODE_PATH defaults to `/usr/local/bin/<file name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryCopy {
    pub source: PathBuf,
    pub dest: PathBuf,
}

impl BinaryCopy {
    pub fn parse(spec: &str) -> Result<Self> {
        let (source, dest) = match spec.split_once(':') {
            Some((s, d)) => (PathBuf::from(s), PathBuf::from(d)),
            None => {
                let name = Path::new(spec).file_name().ok_or_else(|| {
                    Error::InvalidArgument(format!("--binary \"{spec}\": no file name"))
                })?;
                (spec.into(), Path::new("/usr/local/bin").join(name))
            }
        };
        let inside = dest.is_absolute()
            && dest.file_name().is_some()
            && dest
                .components()
                .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
        if !inside {
            return Err(Error::InvalidArgument(format!(
                "--binary \"{spec}\": the destination must be an absolute path in the node, without '..'"
            )));
        }
        if !source.is_file() {
            return Err(Error::InvalidArgument(format!(
                "--binary \"{spec}\": {} is not a file",
                source.display()
            )));
        }
        Ok(BinaryCopy { source, dest })
    }
}

/// Copies one binary into the node (its root through `/proc/<leader>/root`, every path resolved
/// in it: see [`kns_node::root`]); returns the bytes written.
pub fn install(node: &Node, copy: &BinaryCopy) -> Result<u64> {
    kns_node::root::NodeRoot::open(node.root())
        .and_then(|root| root.copy_in(&copy.source, &copy.dest, 0o755))
        .map_err(|e| node.error(format!("install {}: {e}", copy.dest.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_stay_inside_the_node() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kubelet");
        std::fs::write(&file, b"x").unwrap();
        let f = file.to_str().unwrap();
        assert_eq!(
            BinaryCopy::parse(f).unwrap().dest,
            PathBuf::from("/usr/local/bin/kubelet")
        );
        assert_eq!(
            BinaryCopy::parse(&format!("{f}:/usr/bin/kubelet"))
                .unwrap()
                .dest,
            PathBuf::from("/usr/bin/kubelet")
        );
        for bad in ["relative/x", "/usr/../../etc/x", "/", "/usr/bin/.."] {
            let err = BinaryCopy::parse(&format!("{f}:{bad}"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("absolute path in the node"), "{bad}: {err}");
        }
        let err = BinaryCopy::parse("/nonexistent/knst-kubelet")
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a file"), "{err}");
    }
}
