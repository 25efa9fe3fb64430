//! A node's root: an overlayfs with the shared base image as its read-only lower dir and the node's
//! own upper and work dirs, so nodes share the base on disk and in the page cache.

use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::error::{Io, Result};
use crate::model::layout::NodeDirs;

/// Mounts the node's root (`dirs.rootfs()`) as an overlay of `lower` and the node's own dirs.
pub fn mount_root(lower: &Path, dirs: &NodeDirs) -> Result<()> {
    let (upper, work, target) = (dirs.upper(), dirs.work(), dirs.rootfs());
    for dir in [&upper, &work, &target] {
        std::fs::create_dir_all(dir).map_err(|e| Io::new("create", dir, e))?;
    }
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    );
    mount(
        Some("overlay"),
        &target,
        Some("overlay"),
        MsFlags::empty(),
        Some(options.as_str()),
    )
    .map_err(|e| Io::errno("mount overlay on", &target, e).into())
}

/// Lazily unmounts `target` if something is mounted there.
pub fn unmount(target: &Path) -> Result<()> {
    match umount2(target, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => Ok(()),
        Err(e) => Err(Io::errno("unmount", target, e).into()),
    }
}
