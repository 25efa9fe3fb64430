//! Mounts under a directory. debootstrap and mkosi mount /proc, /sys and /dev into the tree they
//! build; a build that is interrupted leaves those mounts, and removing the tree without unmounting
//! them first would reach into the host's /proc, /sys and /dev.

use std::path::{Path, PathBuf};

use nix::mount::{umount2, MntFlags};

use crate::error::{Error, Result};

/// Mount points at or below `dir`, deepest first.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut mounts: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(unescape)
        .map(PathBuf::from)
        .filter(|m| m.starts_with(dir))
        .collect();
    mounts.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    mounts.dedup();
    mounts
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// Lazily unmounts everything at or below `dir`.
pub fn unmount_all_under(dir: &Path) -> Result<()> {
    for mount in mounts_under(dir) {
        umount2(&mount, MntFlags::MNT_DETACH).map_err(|e| {
            Error::io(
                "unmount",
                &mount,
                std::io::Error::from_raw_os_error(e as i32),
            )
        })?;
    }
    Ok(())
}

/// Removes a directory tree after unmounting whatever is mounted inside it. A missing tree is fine.
pub fn remove_tree(dir: &Path) -> Result<()> {
    if dir.symlink_metadata().is_err() {
        return Ok(());
    }
    unmount_all_under(dir)?;
    std::fs::remove_dir_all(dir).map_err(|e| Error::io("remove", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_mountinfo_paths() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/x\\134y"), "/x\\y");
    }

    #[test]
    fn finds_nothing_under_a_plain_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(mounts_under(dir.path()).is_empty());
        remove_tree(&dir.path().join("missing")).unwrap();
    }
}
