//! Files in a node's root, from the host. A node's root is a directory of the host (its overlay
//! mount, or `/proc/<leader>/root` while it runs), but its symlinks are the node's: an absolute
//! link (`/etc/resolv.conf -> /run/systemd/resolve/...`) or a `..` followed from the host would
//! leave the node and touch the host. So every path is resolved with `openat2(RESOLVE_IN_ROOT)`
//! against a descriptor of the root, one directory at a time where directories are made, and
//! files are written whole (a temporary name in the same directory, synced, renamed), so a reader
//! in the node (the kubelet, systemd) never sees half a file.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Component, Path, PathBuf};

use nix::fcntl::{openat2, renameat, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fchmod, mkdirat, Mode};
use nix::unistd::{symlinkat, unlinkat, UnlinkatFlags};

/// What went wrong with a file in a node's root: the path inside the node, what was done.
#[derive(Debug, thiserror::Error)]
#[error("{op} {} in the node's root {}: {source}", .path.display(), .root.display())]
pub struct Error {
    pub op: &'static str,
    pub root: PathBuf,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A node's root directory, opened.
pub struct NodeRoot {
    dir: PathBuf,
    fd: File,
}

fn open_in(dir: RawFd, path: &Path, flags: OFlag, mode: Mode) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .mode(mode)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    // SAFETY: openat2 returned a new descriptor that nothing else owns.
    openat2(dir, path, how).map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The name `name` is written under before it is renamed over `name`: hidden, and this process's.
fn temporary_name(name: &OsStr) -> PathBuf {
    PathBuf::from(format!(
        ".{}.kns-{}",
        name.to_string_lossy(),
        std::process::id()
    ))
}

/// `path` as a path relative to the root, refusing `..` (the root's own `..` is itself anyway,
/// but a caller's `..` is a mistake worth naming).
fn relative(path: &Path) -> std::io::Result<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(part) => out.push(part),
            Component::ParentDir | Component::Prefix(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "a path in a node has no '..'",
                ))
            }
        }
    }
    Ok(out)
}

impl NodeRoot {
    /// The root at `dir` (a node's mounted overlay, or `/proc/<leader>/root`).
    pub fn open(dir: impl Into<PathBuf>) -> Result<NodeRoot> {
        let dir = dir.into();
        match File::open(&dir) {
            Ok(fd) => Ok(NodeRoot { dir, fd }),
            Err(source) => Err(Error {
                op: "open",
                path: "/".into(),
                root: dir,
                source,
            }),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn fail(&self, op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
        let path = path.to_path_buf();
        move |source| Error {
            op,
            root: self.dir.clone(),
            path,
            source,
        }
    }

    /// The directory `path` of the node, made where missing, opened for the `*at` calls on its
    /// entries ([`Self::dir_fd`]'s descriptor is only a path).
    fn open_dir(&self, path: &Path) -> std::io::Result<OwnedFd> {
        let dir = self.dir_fd(path)?;
        open_in(
            dir.as_raw_fd(),
            Path::new("."),
            OFlag::O_DIRECTORY,
            Mode::empty(),
        )
        .map_err(std::io::Error::from)
    }

    /// The directory `path` of the node, made (with its parents) where missing, mode 0755.
    fn dir_fd(&self, path: &Path) -> std::io::Result<OwnedFd> {
        let mut current = open_in(
            self.fd.as_raw_fd(),
            Path::new("."),
            OFlag::O_DIRECTORY | OFlag::O_PATH,
            Mode::empty(),
        )?;
        for part in relative(path)?.components() {
            let name = part.as_os_str();
            match mkdirat(
                Some(current.as_raw_fd()),
                name,
                Mode::from_bits_truncate(0o755),
            ) {
                Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                Err(e) => return Err(e.into()),
            }
            // Resolved in the root: a symlinked directory is followed inside the node.
            let next = open_in(
                self.fd.as_raw_fd(),
                &relative(&self.dir_path_of(&current, name)?)?,
                OFlag::O_DIRECTORY | OFlag::O_PATH,
                Mode::empty(),
            )?;
            current = next;
        }
        Ok(current)
    }

    /// The node path of `name` inside the directory `parent` (read back from /proc/self/fd, so a
    /// symlink followed on the way is resolved as the kernel resolved it).
    fn dir_path_of(&self, parent: &OwnedFd, name: &OsStr) -> std::io::Result<PathBuf> {
        let host = std::fs::read_link(format!("/proc/self/fd/{}", parent.as_raw_fd()))?;
        let root = std::fs::read_link(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))?;
        let inside = host.strip_prefix(&root).unwrap_or(Path::new(""));
        Ok(Path::new("/").join(inside).join(name))
    }

    /// Makes the directory `path` and its parents in the node.
    pub fn create_dir_all(&self, path: &Path) -> Result<()> {
        self.dir_fd(path)
            .map(drop)
            .map_err(self.fail("create directory", path))
    }

    /// Writes `contents` to `path` in the node, mode `mode`, whole (temporary file + rename); its
    /// directory is made when missing.
    pub fn write(&self, path: &Path, contents: &[u8], mode: u32) -> Result<()> {
        self.replace(path, mode, |file| {
            file.write_all(contents).map(|()| contents.len() as u64)
        })
        .map(drop)
    }

    /// Copies the host file `source` to `path` in the node, mode `mode`, whole; returns the bytes
    /// copied.
    pub fn copy_in(&self, source: &Path, path: &Path, mode: u32) -> Result<u64> {
        let mut from = File::open(source).map_err(|source_error| Error {
            op: "open the host's",
            root: self.dir.clone(),
            path: source.to_path_buf(),
            source: source_error,
        })?;
        self.replace(path, mode, |file| std::io::copy(&mut from, file))
    }

    fn replace(
        &self,
        path: &Path,
        mode: u32,
        fill: impl FnOnce(&mut File) -> std::io::Result<u64>,
    ) -> Result<u64> {
        let fail = self.fail("write", path);
        let Some(name) = path.file_name() else {
            return Err(fail(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a file path",
            )));
        };
        let parent = path.parent().unwrap_or(Path::new("/"));
        let written = (|| {
            let dir = self.open_dir(parent)?;
            let temp = temporary_name(name);
            let file = open_in(
                dir.as_raw_fd(),
                &temp,
                OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC | OFlag::O_NOFOLLOW,
                Mode::from_bits_truncate(mode),
            )?;
            let mut file = File::from(file);
            let filled = fill(&mut file).and_then(|n| {
                // The umask may have cut the mode at creation.
                fchmod(file.as_raw_fd(), Mode::from_bits_truncate(mode))?;
                file.sync_all()?;
                renameat(Some(dir.as_raw_fd()), &temp, Some(dir.as_raw_fd()), name)?;
                Ok(n)
            });
            if filled.is_err() {
                let _ = unlinkat(Some(dir.as_raw_fd()), &temp, UnlinkatFlags::NoRemoveDir);
            }
            filled
        })();
        written.map_err(fail)
    }

    /// Makes `path` in the node a symlink to `target` (replacing what is there).
    pub fn symlink(&self, target: &Path, path: &Path) -> Result<()> {
        let fail = self.fail("link", path);
        let name = path.file_name().unwrap_or_default();
        let linked = (|| {
            let dir = self.open_dir(path.parent().unwrap_or(Path::new("/")))?;
            let temp = temporary_name(name);
            let _ = unlinkat(Some(dir.as_raw_fd()), &temp, UnlinkatFlags::NoRemoveDir);
            symlinkat(target, Some(dir.as_raw_fd()), &temp)?;
            renameat(Some(dir.as_raw_fd()), &temp, Some(dir.as_raw_fd()), name)?;
            Ok::<(), std::io::Error>(())
        })();
        linked.map_err(fail)
    }

    /// Removes the file `path` of the node; one that is not there is no error.
    pub fn remove(&self, path: &Path) -> Result<()> {
        let fail = self.fail("remove", path);
        let name = path.file_name().unwrap_or_default();
        let removed = (|| {
            let dir = self.open_dir(path.parent().unwrap_or(Path::new("/")))?;
            match unlinkat(Some(dir.as_raw_fd()), name, UnlinkatFlags::NoRemoveDir) {
                Ok(()) | Err(nix::errno::Errno::ENOENT) => Ok(()),
                Err(e) => Err(std::io::Error::from(e)),
            }
        })();
        removed.map_err(fail)
    }

    /// The file `path` of the node, read whole.
    pub fn read(&self, path: &Path) -> Result<Vec<u8>> {
        let fail = self.fail("read", path);
        let read = (|| {
            let fd = open_in(
                self.fd.as_raw_fd(),
                &relative(path)?,
                OFlag::O_RDONLY,
                Mode::empty(),
            )?;
            let mut bytes = vec![];
            File::from(fd).read_to_end(&mut bytes)?;
            Ok::<_, std::io::Error>(bytes)
        })();
        read.map_err(fail)
    }

    /// Whether `path` exists in the node (resolved in it).
    pub fn exists(&self, path: &Path) -> bool {
        relative(path)
            .is_ok_and(|p| open_in(self.fd.as_raw_fd(), &p, OFlag::O_PATH, Mode::empty()).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn absolute_symlinks_of_the_node_stay_in_the_node() {
        let host = tempfile::tempdir().unwrap();
        let node = host.path().join("node");
        let outside = host.path().join("outside");
        std::fs::create_dir_all(node.join("real-etc")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        // In the node, /etc is a link to /real-etc; from the host, that would be the host's
        // /real-etc. And /etc/evil points at the host's directory by an absolute path.
        std::os::unix::fs::symlink("/real-etc", node.join("etc")).unwrap();
        std::os::unix::fs::symlink(&outside, node.join("real-etc/evil")).unwrap();
        let root = NodeRoot::open(&node).unwrap();
        root.write(Path::new("/etc/hostname"), b"n0\n", 0o644)
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(node.join("real-etc/hostname")).unwrap(),
            "n0\n"
        );
        // The link leads to a directory the node does not have: refused, as mkdir -p refuses a
        // dangling link, and nothing is made on the host.
        assert!(root
            .write(Path::new("/etc/evil/x/file"), b"x", 0o600)
            .is_err());
        assert!(
            std::fs::read_dir(&outside).unwrap().next().is_none(),
            "left the node"
        );
        assert_eq!(
            root.read(Path::new("/etc/hostname")).unwrap(),
            b"n0\n".to_vec()
        );
        let mode = std::fs::metadata(node.join("real-etc/hostname"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
        assert!(root.write(Path::new("/../x"), b"", 0o644).is_err());
        root.symlink(
            Path::new("/dev/null"),
            Path::new("/etc/systemd/system/a.service"),
        )
        .unwrap();
        root.symlink(
            Path::new("/dev/null"),
            Path::new("/etc/systemd/system/a.service"),
        )
        .unwrap();
        assert_eq!(
            std::fs::read_link(node.join("real-etc/systemd/system/a.service")).unwrap(),
            Path::new("/dev/null")
        );
        let source = host.path().join("bin");
        std::fs::write(&source, b"binary").unwrap();
        assert_eq!(
            root.copy_in(&source, Path::new("/usr/local/bin/k"), 0o755)
                .unwrap(),
            6
        );
        assert!(root.exists(Path::new("/usr/local/bin/k")));
        root.remove(Path::new("/usr/local/bin/k")).unwrap();
        root.remove(Path::new("/usr/local/bin/k")).unwrap();
        assert!(!root.exists(Path::new("/usr/local/bin/k")));
        root.copy_in(&source, Path::new("/usr/local/bin/k"), 0o755)
            .unwrap();
        assert!(!root.exists(Path::new("/usr/local/bin/nope")));
        let leftovers: Vec<_> = std::fs::read_dir(node.join("usr/local/bin"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("k")]);
    }
}
