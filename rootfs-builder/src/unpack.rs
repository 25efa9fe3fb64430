//! Unpacking a root filesystem tarball without trusting it: every entry is checked before anything is
//! written, so a hostile or broken archive cannot write outside the destination, plant device nodes
//! a rootfs does not need, or leave links that point out of the root.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

use crate::error::{Error, Result};

/// Character devices a root filesystem may carry (what debootstrap and container images ship in
/// /dev); anything else, and every block device, is refused.
const ALLOWED_CHAR_DEVICES: &[&str] = &[
    "dev/null",
    "dev/zero",
    "dev/full",
    "dev/random",
    "dev/urandom",
    "dev/tty",
    "dev/console",
    "dev/ptmx",
];

/// Unpacks `archive` (plain tar) into `dest`, which must exist. Owners, modes and mtimes are kept.
pub fn unpack(archive: impl Read, dest: &Path) -> Result<u64> {
    let mut archive = tar::Archive::new(archive);
    archive.set_preserve_permissions(true);
    archive.set_preserve_ownerships(true);
    archive.set_preserve_mtime(true);
    archive.set_unpack_xattrs(true);
    archive.set_overwrite(true);
    let mut count = 0;
    let entries = archive
        .entries()
        .map_err(|e| Error::Archive(format!("cannot read: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| Error::Archive(format!("corrupt or truncated: {e}")))?;
        let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let path = check_path(&raw_path)?;
        if path.as_os_str().is_empty() {
            continue; // "./" itself
        }
        let link = entry
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned());
        check_entry(
            &raw_path,
            &path,
            entry.header().entry_type(),
            link.as_deref(),
        )?;
        // unpack_in refuses to write through a symlink that leads out of `dest`.
        let unpacked = entry
            .unpack_in(dest)
            .map_err(|e| Error::Archive(format!("cannot unpack \"{raw_path}\": {}", chain(&e))))?;
        if !unpacked {
            return Err(Error::UnsafeEntry {
                entry: raw_path,
                why: "it would be written outside the root".into(),
            });
        }
        count += 1;
    }
    Ok(count)
}

/// An error with its sources: the tar crate puts the cause (EPERM, ENOSPC, ...) in `source()`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The entry's path relative to the root, `./` stripped. Absolute paths and `..` are refused: in a
/// rootfs tarball they are the sign of a wrong or hostile archive.
pub fn check_path(raw: &str) -> Result<PathBuf> {
    let unsafe_entry = |why: &str| Error::UnsafeEntry {
        entry: raw.to_owned(),
        why: why.to_owned(),
    };
    let mut clean = PathBuf::new();
    for component in Path::new(raw).components() {
        match component {
            Component::Normal(c) => clean.push(c),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return Err(unsafe_entry("absolute path")),
            Component::ParentDir => return Err(unsafe_entry("path contains '..'")),
        }
    }
    Ok(clean)
}

/// Checks links and special files.
pub fn check_entry(raw: &str, path: &Path, kind: EntryType, link: Option<&str>) -> Result<()> {
    let unsafe_entry = |why: String| Error::UnsafeEntry {
        entry: raw.to_owned(),
        why,
    };
    match kind {
        EntryType::Symlink => {
            let target = link.ok_or_else(|| unsafe_entry("symlink without a target".into()))?;
            if !symlink_stays_inside(path, target) {
                return Err(unsafe_entry(format!(
                    "symlink to \"{target}\" escapes the root"
                )));
            }
        }
        EntryType::Link => {
            let target = link.ok_or_else(|| unsafe_entry("hard link without a target".into()))?;
            check_path(target)
                .map_err(|_| unsafe_entry(format!("hard link to \"{target}\" escapes the root")))?;
        }
        EntryType::Char => {
            let name = path.to_string_lossy();
            if !ALLOWED_CHAR_DEVICES.contains(&name.as_ref()) {
                return Err(unsafe_entry(
                    "character device outside what a rootfs needs (/dev/null, /dev/zero, ...)"
                        .into(),
                ));
            }
        }
        EntryType::Block => return Err(unsafe_entry("block device".into())),
        _ => {}
    }
    Ok(())
}

/// An absolute target stays inside (inside the node it resolves against the node's root); a
/// relative one must not climb above the root from the link's directory.
fn symlink_stays_inside(link_path: &Path, target: &str) -> bool {
    if target.starts_with('/') {
        return true;
    }
    let mut depth = link_path.components().count() as isize - 1; // the link's directory
    for component in Path::new(target).components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_and_never_climb() {
        assert_eq!(
            check_path("./etc/passwd").unwrap(),
            PathBuf::from("etc/passwd")
        );
        assert_eq!(check_path("usr/bin/").unwrap(), PathBuf::from("usr/bin"));
        assert_eq!(check_path("./").unwrap(), PathBuf::new());
        for bad in ["/etc/passwd", "../evil", "a/../../evil", "./.."] {
            let err = check_path(bad).unwrap_err().to_string();
            assert!(err.starts_with("unsafe archive entry"), "{bad}: {err}");
        }
    }

    #[test]
    fn symlinks_may_be_absolute_but_not_climb_out() {
        let p = Path::new("usr/lib/x/link");
        assert!(symlink_stays_inside(p, "/etc/alternatives/x"));
        assert!(symlink_stays_inside(p, "../../../bin/sh")); // = /bin/sh
        assert!(symlink_stays_inside(p, "target"));
        assert!(!symlink_stays_inside(p, "../../../../etc/shadow"));
        assert!(!symlink_stays_inside(Path::new("link"), ".."));
        let err = check_entry("x", Path::new("x"), EntryType::Symlink, Some("../../host"));
        assert!(err.unwrap_err().to_string().contains("escapes the root"));
    }

    #[test]
    fn only_the_usual_dev_nodes_are_allowed() {
        check_entry("./dev/null", Path::new("dev/null"), EntryType::Char, None).unwrap();
        let err = check_entry("./dev/sda", Path::new("dev/sda"), EntryType::Block, None);
        assert!(err.unwrap_err().to_string().contains("block device"));
        let err = check_entry("./etc/mem", Path::new("etc/mem"), EntryType::Char, None);
        assert!(err.unwrap_err().to_string().contains("character device"));
        let err = check_entry(
            "h",
            Path::new("h"),
            EntryType::Link,
            Some("../../etc/shadow"),
        );
        assert!(err.unwrap_err().to_string().contains("hard link"));
    }
}
