//! Binaries into a running node, like install(1): written to a temporary name in the target
//! directory, mode 0755, synced, then renamed over the old file, so a binary that runs (kubelet)
//! is replaced whole and a reader never sees half a file. The node's root is reached through
//! `/proc/<pid>/root` and every path under it is resolved with `RESOLVE_IN_ROOT`: a symlink in
//! the node (absolute or `..`) stays inside the node instead of pointing into the host.

use std::fs::File;
use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::io::AsRawFd;
use std::path::{Component, Path, PathBuf};

use nix::fcntl::{openat2, renameat, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;
use nix::unistd::unlinkat;

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
                    Error::InvalidArgument(format!("--binary {spec:?}: no file name"))
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
                "--binary {spec:?}: the destination must be an absolute path in the node, without '..'"
            )));
        }
        if !source.is_file() {
            return Err(Error::InvalidArgument(format!(
                "--binary {spec:?}: {} is not a file",
                source.display()
            )));
        }
        Ok(BinaryCopy { source, dest })
    }
}

fn open_in_root(root: RawFd, path: &Path, flags: OFlag, mode: Mode) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .mode(mode)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    // SAFETY: openat2 returned a new descriptor that nothing else owns.
    openat2(root, path, how).map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Copies one binary into the node; returns the bytes written.
pub fn install(node: &Node, copy: &BinaryCopy) -> Result<u64> {
    let fail = |what: String| node.error(format!("install {}: {what}", copy.dest.display()));
    let root = File::open(node.root()).map_err(|e| fail(format!("cannot open its root: {e}")))?;
    let parent = copy.dest.parent().unwrap_or(Path::new("/"));
    let name = copy.dest.file_name().unwrap_or_default();
    let dir = open_in_root(
        root.as_raw_fd(),
        parent,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY,
        Mode::empty(),
    )
    .map_err(|e| fail(format!("directory {} in the node: {e}", parent.display())))?;
    let temp = PathBuf::from(format!(
        ".{}.image-pusher-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let mut source = File::open(&copy.source).map_err(|e| Error::io("open", &copy.source, e))?;
    let target = open_in_root(
        dir.as_raw_fd(),
        &temp,
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW,
        Mode::from_bits_truncate(0o755),
    )
    .map_err(|e| fail(format!("create a temporary file: {e}")))?;
    let mut target = File::from(target);
    let written = std::io::copy(&mut source, &mut target)
        .and_then(|n| {
            // The umask may have cut the mode at creation.
            nix::sys::stat::fchmod(target.as_raw_fd(), Mode::from_bits_truncate(0o755))?;
            target.flush()?;
            target.sync_all()?;
            Ok(n)
        })
        .and_then(|n| {
            renameat(Some(dir.as_raw_fd()), &temp, Some(dir.as_raw_fd()), name)?;
            Ok(n)
        });
    written.map_err(|e| {
        let _ = unlinkat(
            Some(dir.as_raw_fd()),
            &temp,
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        );
        fail(e.to_string())
    })
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
