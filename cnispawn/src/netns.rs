//! Persistent, named network namespaces, laid out exactly as `ip netns` does: an empty file under
//! `/run/netns` with the namespace bind-mounted on it, `/run/netns` itself a shared mount point so a
//! namespace created later shows up in mount namespaces made earlier. `ip netns exec`, `nsenter --net`
//! and systemd-nspawn's `--network-namespace-path` all see what this module creates.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};

use crate::error::{Error, Result};

pub const NETNS_RUN_DIR: &str = "/run/netns";

/// The longest name accepted. iproute2 has no limit of its own, but the name also serves as the CNI
/// container ID and in cache file names, so keep it short enough to read.
const MAX_NAME_LEN: usize = 64;

/// A validated network namespace name: a single path component of `[A-Za-z0-9_.-]`, not starting with a
/// dot, so it can never name anything outside `/run/netns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetnsName(String);

impl NetnsName {
    pub fn new(name: &str) -> Result<Self> {
        let invalid = |why: &str| {
            Error::InvalidArgument(format!("invalid network namespace name \"{name}\": {why}"))
        };
        if name.is_empty() {
            return Err(invalid("it is empty"));
        }
        if name.len() > MAX_NAME_LEN {
            return Err(invalid(&format!("longer than {MAX_NAME_LEN} characters")));
        }
        if name.starts_with('.') {
            return Err(invalid("it may not start with '.'"));
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        {
            return Err(invalid(&format!(
                "'{c}' is not allowed (use letters, digits, '_', '.', '-')"
            )));
        }
        Ok(NetnsName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where the namespace is bind-mounted: `/run/netns/<name>`.
    pub fn path(&self) -> PathBuf {
        Path::new(NETNS_RUN_DIR).join(&self.0)
    }
}

impl std::fmt::Display for NetnsName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `/run/netns/<name>` exists (as a file; it may be a stale file with nothing mounted on it).
pub fn exists(name: &NetnsName) -> bool {
    name.path().symlink_metadata().is_ok()
}

/// Creates the namespace and pins it at `/run/netns/<name>`. Fails if the name is taken. On failure
/// nothing is left behind.
pub fn create(name: &NetnsName) -> Result<()> {
    ensure_run_dir()?;
    let path = name.path();
    // The mount target, created exclusively so two concurrent creations of one name cannot both win.
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o444)
        .open(&path)
        .map_err(|e| match e.kind() {
            ErrorKind::AlreadyExists => Error::NetnsExists {
                name: name.to_string(),
                path: path.clone(),
            },
            _ => Error::io("create", &path, e),
        })?;

    // unshare(CLONE_NEWNET) moves only the calling thread, so do it in a throwaway thread: the process
    // stays in the host namespace and the new one lives on through the bind mount.
    let target = path.clone();
    let pinned = std::thread::spawn(move || -> Result<()> {
        unshare(CloneFlags::CLONE_NEWNET).map_err(|e| Error::sys("unshare(CLONE_NEWNET)", e))?;
        mount(
            Some("/proc/thread-self/ns/net"),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| {
            Error::sys(
                format!("bind-mount the new namespace on {}", target.display()),
                e,
            )
        })
    })
    .join()
    .unwrap_or_else(|_| {
        Err(Error::InvalidArgument(
            "the thread creating the network namespace panicked".into(),
        ))
    });

    if let Err(e) = pinned {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    Ok(())
}

/// Unmounts and removes `/run/netns/<name>`. Idempotent: a missing namespace is not an error. The
/// kernel frees the namespace (and the interfaces in it) once no process is left inside.
pub fn delete(name: &NetnsName) -> Result<bool> {
    let path = name.path();
    let mut removed = false;
    match umount2(&path, MntFlags::MNT_DETACH) {
        Ok(()) => removed = true,
        // EINVAL: the file is there but nothing is mounted on it; ENOENT: no file at all.
        Err(Errno::EINVAL) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(Error::sys(format!("unmount {}", path.display()), e)),
    }
    match std::fs::remove_file(&path) {
        Ok(()) => removed = true,
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("remove", &path, e)),
    }
    Ok(removed)
}

/// Moves the calling thread into the named namespace.
pub fn enter(name: &NetnsName) -> Result<()> {
    let path = name.path();
    let file = File::open(&path).map_err(|e| Error::io("open", &path, e))?;
    setns(&file, CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::sys(format!("setns into {}", path.display()), e))
}

/// The calling thread's current network namespace, to return to after `enter`.
pub struct CurrentNetns(File);

impl CurrentNetns {
    pub fn open() -> Result<Self> {
        let path = "/proc/thread-self/ns/net";
        File::open(path)
            .map(CurrentNetns)
            .map_err(|e| Error::io("open", path, e))
    }

    pub fn restore(&self) -> Result<()> {
        setns(&self.0, CloneFlags::CLONE_NEWNET)
            .map_err(|e| Error::sys("setns back into the original network namespace", e))
    }
}

/// Makes `/run/netns` exist and be a shared mount point, as iproute2 does, so namespaces mounted there
/// propagate to every mount namespace that has it.
fn ensure_run_dir() -> Result<()> {
    let dir = Path::new(NETNS_RUN_DIR);
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let make_shared = || {
        mount(
            None::<&str>,
            dir,
            None::<&str>,
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        )
    };
    match make_shared() {
        Ok(()) => Ok(()),
        // EINVAL: not a mount point yet. Bind it onto itself once, then it can be made shared.
        Err(Errno::EINVAL) => {
            mount(
                Some(dir),
                dir,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(|e| Error::sys(format!("bind-mount {} onto itself", dir.display()), e))?;
            make_shared()
                .map_err(|e| Error::sys(format!("make {} a shared mount", dir.display()), e))
        }
        Err(e) => Err(Error::sys(
            format!("make {} a shared mount", dir.display()),
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_names() {
        for ok in ["a", "kns-c1-0", "knst_1.2", "A9"] {
            assert_eq!(NetnsName::new(ok).unwrap().as_str(), ok);
        }
        assert_eq!(
            NetnsName::new("x").unwrap().path(),
            PathBuf::from("/run/netns/x")
        );
    }

    #[test]
    fn rejects_names_that_leave_run_netns_or_are_odd() {
        for bad in [
            "", ".", "..", "../etc", "a/b", "/abs", ".hidden", "sp ace", "tab\t", "é",
        ] {
            let err = NetnsName::new(bad).unwrap_err().to_string();
            assert!(
                err.starts_with("invalid network namespace name"),
                "{bad:?}: {err}"
            );
        }
        assert!(NetnsName::new(&"a".repeat(65)).is_err());
    }
}
