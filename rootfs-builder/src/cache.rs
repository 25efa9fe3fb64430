//! The content-addressed image cache: `<cache>/<key>/rootfs` plus `<cache>/<key>/image.json`.
//!
//! The key is the sha256 of the method, its inputs and the recipe version, so a changed input or
//! recipe gives a new entry and an unchanged one is reused. An entry appears only complete: it is
//! built in `<cache>/.build-<key>-<pid>` and renamed into place. A lock file per key makes concurrent
//! builds of one key wait for each other; leftovers of interrupted builds are removed by the next one.

use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::mounts;
use kns_plumbing::hex::encode as hex;

pub const DEFAULT_CACHE_DIR: &str = "/var/lib/kubeadm-nspawn/images";
pub const DEFAULT_CLUSTERS_DIR: &str = "/var/lib/kubeadm-nspawn/clusters";

/// The cache key of a set of inputs: sha256 of their canonical JSON (serde_json sorts object keys).
pub fn key_of(inputs: &Value) -> String {
    let canonical = serde_json::to_vec(inputs).unwrap_or_default();
    hex(&Sha256::digest(&canonical))
}

/// What `image.json` records about an entry, and what `build` and `list` print.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImageInfo {
    pub key: String,
    pub method: String,
    pub path: PathBuf,
    /// Bytes of the files in the rootfs.
    pub bytes: u64,
    pub inputs: Value,
    /// Seconds since the epoch.
    pub created: u64,
    pub build_seconds: f64,
}

#[derive(Debug, Clone)]
pub struct Cache {
    pub dir: PathBuf,
}

/// An exclusive lock on one key, released on drop.
pub struct KeyLock {
    _lock: Flock<File>,
}

impl Cache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Cache { dir: dir.into() }
    }

    pub fn entry_dir(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    pub fn rootfs(&self, key: &str) -> PathBuf {
        self.entry_dir(key).join("rootfs")
    }

    fn info_path(&self, key: &str) -> PathBuf {
        self.entry_dir(key).join("image.json")
    }

    /// The entry of `key`, if it is complete.
    pub fn get(&self, key: &str) -> Result<Option<ImageInfo>> {
        let path = self.info_path(key);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Error::InvalidArgument(format!(
                    "{} is unreadable ({e}); rebuild with --force",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read", &path, e)),
        }
    }

    /// Takes the lock of `key`, telling the user when another build holds it.
    pub fn lock(&self, key: &str) -> Result<KeyLock> {
        let locks = self.dir.join(".locks");
        std::fs::create_dir_all(&locks).map_err(|e| Error::io("create", &locks, e))?;
        let path = locks.join(format!("{key}.lock"));
        let file = File::create(&path).map_err(|e| Error::io("create", &path, e))?;
        let file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(KeyLock { _lock: lock }),
            Err((file, _)) => file,
        };
        eprintln!("rootfs-builder: another build of {key} is running; waiting for it");
        Flock::lock(file, FlockArg::LockExclusive)
            .map(|lock| KeyLock { _lock: lock })
            .map_err(|(_, e)| Error::io("lock", &path, std::io::Error::from_raw_os_error(e as i32)))
    }

    /// A fresh staging directory for a build of `key` (the caller holds the key's lock). Leftovers of
    /// interrupted builds of the same key are removed first.
    pub fn staging(&self, key: &str) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io("create", &self.dir, e))?;
        let prefix = format!(".build-{key}-");
        for entry in read_dir_names(&self.dir)? {
            if entry.starts_with(&prefix) {
                eprintln!("rootfs-builder: removing an interrupted build ({entry})");
                mounts::remove_tree(&self.dir.join(&entry))?;
            }
        }
        let staging = self.dir.join(format!("{prefix}{}", std::process::id()));
        std::fs::create_dir_all(staging.join("rootfs"))
            .map_err(|e| Error::io("create", &staging, e))?;
        Ok(staging)
    }

    /// Moves a finished staging directory into place as the entry of `info.key`, replacing an old
    /// entry (with --force).
    pub fn commit(&self, staging: &Path, info: &ImageInfo) -> Result<ImageInfo> {
        mounts::unmount_all_under(staging)?;
        let info_path = staging.join("image.json");
        let json = serde_json::to_vec_pretty(info).unwrap_or_default();
        std::fs::write(&info_path, json).map_err(|e| Error::io("write", &info_path, e))?;
        let entry = self.entry_dir(&info.key);
        if entry.exists() {
            // Out of the way first, so the rename below is one atomic step.
            let old = self
                .dir
                .join(format!(".old-{}-{}", info.key, std::process::id()));
            std::fs::rename(&entry, &old).map_err(|e| Error::io("rename", &entry, e))?;
            mounts::remove_tree(&old)?;
        }
        std::fs::rename(staging, &entry).map_err(|e| Error::io("rename into place", &entry, e))?;
        Ok(info.clone())
    }

    /// Every complete entry, oldest first.
    pub fn list(&self) -> Result<Vec<ImageInfo>> {
        let mut images = vec![];
        if !self.dir.exists() {
            return Ok(images);
        }
        for name in read_dir_names(&self.dir)? {
            if name.starts_with('.') {
                continue;
            }
            if let Some(info) = self.get(&name)? {
                images.push(info);
            }
        }
        images.sort_by_key(|i| i.created);
        Ok(images)
    }

    /// Removes entries no cluster uses: an entry is in use when its key appears in a cluster's
    /// `state.json` or its rootfs is a mount's lower dir. Also removes leftovers of interrupted
    /// builds that no process holds a lock for.
    pub fn gc(&self, clusters_dir: &Path, dry_run: bool) -> Result<GcReport> {
        let mut in_use_text = String::new();
        for cluster in read_dir_names(clusters_dir).unwrap_or_default() {
            let state = clusters_dir.join(cluster).join("state.json");
            if let Ok(text) = std::fs::read_to_string(&state) {
                in_use_text.push_str(&text);
            }
        }
        in_use_text.push_str(&std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default());
        let mut report = GcReport::default();
        for image in self.list()? {
            if in_use_text.contains(&image.key) {
                report.kept.push(image.key);
                continue;
            }
            if !dry_run {
                let _lock = self.lock(&image.key)?;
                mounts::remove_tree(&self.entry_dir(&image.key))?;
                let _ = std::fs::remove_file(
                    self.dir.join(".locks").join(format!("{}.lock", image.key)),
                );
            }
            report.freed_bytes += image.bytes;
            report.removed.push(image.key);
        }
        Ok(report)
    }
}

#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GcReport {
    pub removed: Vec<String>,
    pub kept: Vec<String>,
    pub freed_bytes: u64,
}

fn read_dir_names(dir: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read directory", dir, e))?;
    Ok(entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect())
}

/// Bytes of the regular files under `root` (each hard-linked inode once), not following symlinks.
pub fn disk_bytes(root: &Path) -> u64 {
    use std::collections::HashSet;
    use std::os::unix::fs::MetadataExt;
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() && seen.insert((meta.dev(), meta.ino())) {
                total += meta.len();
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info(cache: &Cache, key: &str) -> ImageInfo {
        ImageInfo {
            key: key.into(),
            method: "download".into(),
            path: cache.rootfs(key),
            bytes: 3,
            inputs: json!({}),
            created: 1,
            build_seconds: 0.5,
        }
    }

    #[test]
    fn keys_are_stable_and_sensitive_to_every_input() {
        let a = key_of(&json!({"method": "debootstrap", "suite": "bookworm", "recipe": "1"}));
        let same = key_of(&json!({"recipe": "1", "suite": "bookworm", "method": "debootstrap"}));
        let other = key_of(&json!({"method": "debootstrap", "suite": "trixie", "recipe": "1"}));
        assert_eq!(a, same, "key order must not matter");
        assert_ne!(a, other);
        assert_eq!(a.len(), 64);
        // Pinned: a change here silently invalidates every user's cache, so make it on purpose.
        assert_eq!(
            key_of(&json!({"a": 1})),
            "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
        );
    }

    #[test]
    fn staging_commit_list_and_gc() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().join("images"));
        let clusters = tmp.path().join("clusters");
        assert!(cache.list().unwrap().is_empty());
        for key in ["k1", "k2"] {
            let _lock = cache.lock(key).unwrap();
            let staging = cache.staging(key).unwrap();
            std::fs::write(staging.join("rootfs/f"), "abc").unwrap();
            cache.commit(&staging, &info(&cache, key)).unwrap();
            assert!(!staging.exists());
        }
        assert_eq!(cache.get("k1").unwrap().unwrap().bytes, 3);
        assert_eq!(cache.list().unwrap().len(), 2);
        // A leftover of an interrupted build is removed by the next staging of that key.
        std::fs::create_dir_all(cache.dir.join(".build-k1-99999/rootfs")).unwrap();
        let staging = cache.staging("k1").unwrap();
        assert!(!cache.dir.join(".build-k1-99999").exists());
        std::fs::remove_dir_all(staging).unwrap();

        std::fs::create_dir_all(clusters.join("c1")).unwrap();
        std::fs::write(clusters.join("c1/state.json"), r#"{"image":{"key":"k2"}}"#).unwrap();
        let dry = cache.gc(&clusters, true).unwrap();
        assert_eq!(dry.removed, ["k1"]);
        assert!(cache.get("k1").unwrap().is_some());
        let report = cache.gc(&clusters, false).unwrap();
        assert_eq!(
            (report.removed, report.kept, report.freed_bytes),
            (vec!["k1".into()], vec!["k2".into()], 3)
        );
        assert!(cache.get("k1").unwrap().is_none());
        assert!(cache.get("k2").unwrap().is_some());
    }

    #[test]
    fn disk_bytes_counts_hard_links_once() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("a"), "12345").unwrap();
        std::fs::hard_link(tmp.path().join("a"), tmp.path().join("b")).unwrap();
        std::os::unix::fs::symlink("a", tmp.path().join("c")).unwrap();
        assert_eq!(disk_bytes(tmp.path()), 5);
    }
}
