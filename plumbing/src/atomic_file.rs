//! Files replaced whole: written next to their final path, flushed to disk, renamed into place. A
//! reader (another tool, a second run, the next boot) sees the old file or the new one, never half
//! of one, also after a crash or a power cut.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically with permission bits `mode` (applied regardless of the
/// umask). The temporary file carries this process's PID, so two writers never share one; it is
/// removed again if anything fails.
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let tmp = temporary_path(path);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)))
        .and_then(|()| std::fs::rename(&tmp, path))
        .and_then(|()| sync_parent(path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Makes `link` a symlink to `target`, replacing whatever file or symlink is there, atomically
/// (made beside it, renamed into place): a reader never finds the link missing.
pub fn symlink(target: impl AsRef<Path>, link: &Path) -> std::io::Result<()> {
    let tmp = temporary_path(link);
    let _ = std::fs::remove_file(&tmp);
    let made = std::os::unix::fs::symlink(target, &tmp)
        .and_then(|()| std::fs::rename(&tmp, link))
        .and_then(|()| sync_parent(link));
    if made.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    made
}

/// `.<name>.tmp-<pid>`, beside `path` so the rename stays within one filesystem, and hidden, so a
/// reader of the whole directory (the kubelet's manifest directory) never takes it for a file.
pub fn temporary_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// The rename is durable only once the directory entry is: fsync the parent directory.
fn sync_parent(path: &Path) -> std::io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(parent)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_replace_files_and_links_and_leave_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("unit.service");
        symlink("/dev/null", &link).unwrap();
        assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("/dev/null"));
        symlink("../other", &link).unwrap();
        assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("../other"));
        std::fs::remove_file(&link).unwrap();
        std::fs::write(&link, "a file").unwrap();
        symlink("/dev/null", &link).unwrap();
        assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("/dev/null"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(symlink("/dev/null", &dir.path().join("no/such/dir/x")).is_err());
    }

    #[test]
    fn replaces_whole_files_with_the_given_mode_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write(&path, b"old", 0o600).unwrap();
        write(&path, b"new", 0o644).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "only the file itself");
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a directory: the rename fails, the temporary is removed.
        let path = dir.path().join("sub");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("x"), b"").unwrap();
        assert!(write(&path, b"data", 0o600).is_err());
        assert!(!temporary_path(&path).exists());
    }

    #[test]
    fn the_temporary_is_a_hidden_file_beside_the_target() {
        let tmp = temporary_path(Path::new("/etc/kubernetes/manifests/etcd.yaml"));
        assert_eq!(tmp.parent(), Some(Path::new("/etc/kubernetes/manifests")));
        assert!(tmp
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".etcd.yaml.tmp-"));
    }
}
