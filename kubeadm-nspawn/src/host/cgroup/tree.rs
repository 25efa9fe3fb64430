//! The cgroup file system as a tree of directories: what every implementation does the same way.

use std::path::{Path, PathBuf};

use crate::host::error::{Error, Io, Result};

/// Every PID in `dir`'s `cgroup.procs` and its descendants'.
pub fn procs_under(dir: &Path) -> Vec<i32> {
    let mut pids: Vec<i32> = std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    for child in subdirs(dir) {
        pids.extend(procs_under(&child));
    }
    pids
}

/// The directories under `dir` named one of `names`, at any depth (not below a match).
pub fn find_named(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
    let mut found = vec![];
    for child in subdirs(dir) {
        if child
            .file_name()
            .is_some_and(|n| names.iter().any(|name| n == *name))
        {
            found.push(child);
        } else {
            found.extend(find_named(&child, names));
        }
    }
    found
}

/// The directories in `dir` (none when it cannot be read).
pub fn subdirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

/// Removes `dir` and every cgroup under it, children first; a missing one is already gone.
pub fn remove_tree(dir: &Path) -> Result<()> {
    for child in subdirs(dir) {
        remove_tree(&child)?;
    }
    match std::fs::remove_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Io::new("remove cgroup", dir, e).into()),
    }
}

/// Makes the cgroup `dir` if it is not there; returns whether it was made.
pub fn make(dir: &Path) -> Result<bool> {
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(Io::new("create cgroup", dir, e).into()),
    }
}

/// Writes `value` into the control file `file` of `dir`.
pub fn write(dir: &Path, file: &str, value: &str) -> Result<()> {
    let path = dir.join(file);
    std::fs::write(&path, value).map_err(|e| Error::from(Io::new("write", path, e)))
}

/// The control file `file` of `dir`, trimmed (empty when it cannot be read).
pub fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}
