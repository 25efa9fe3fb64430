//! A node's root: an overlayfs with the shared base image as its read-only lower dir and the node's
//! own upper and work dirs, so nodes share the base on disk and in the page cache.

use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::error::{Error, Result};

pub fn mount_root(lower: &Path, upper: &Path, work: &Path, target: &Path) -> Result<()> {
    for dir in [upper, work, target] {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    );
    mount(
        Some("overlay"),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(options.as_str()),
    )
    .map_err(|e| {
        Error::io(
            "mount overlay on",
            target,
            std::io::Error::from_raw_os_error(e as i32),
        )
    })
}

/// Lazily unmounts `target` if something is mounted there.
pub fn unmount(target: &Path) -> Result<()> {
    match umount2(target, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => Ok(()),
        Err(e) => Err(Error::io(
            "unmount",
            target,
            std::io::Error::from_raw_os_error(e as i32),
        )),
    }
}
