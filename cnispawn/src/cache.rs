//! The result cache, like libcni's: for each attachment, the config ADD used and the result it
//! produced, so DEL runs the same chain with the same `prevResult` even if the config directory has
//! changed since. Written before the first plugin runs (without a result), so a `del` after a crash
//! in the middle of ADD still knows which chain to undo.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

pub const DEFAULT_CACHE_DIR: &str = "/var/lib/cni/kubeadm-nspawn";

const KIND: &str = "cnispawnCacheV1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CacheEntry {
    pub kind: String,
    pub netns: String,
    pub container_id: String,
    pub if_name: String,
    pub cni_args: Option<String>,
    /// The network config list in `.conflist` form.
    pub config: Value,
    /// The chain's final result; `None` while ADD is under way or after it failed.
    pub result: Option<Value>,
}

impl CacheEntry {
    pub fn new(
        netns: &str,
        container_id: &str,
        if_name: &str,
        cni_args: Option<&str>,
        config: Value,
    ) -> Self {
        CacheEntry {
            kind: KIND.to_owned(),
            netns: netns.to_owned(),
            container_id: container_id.to_owned(),
            if_name: if_name.to_owned(),
            cni_args: cni_args.map(str::to_owned),
            config,
            result: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ResultCache {
    dir: PathBuf,
}

impl ResultCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ResultCache { dir: dir.into() }
    }

    /// One file per (netns, interface); both names are validated, so the path stays in the cache.
    fn path(&self, netns: &str, if_name: &str) -> PathBuf {
        self.dir
            .join("results")
            .join(format!("{netns}-{if_name}.json"))
    }

    pub fn load(&self, netns: &str, if_name: &str) -> Result<Option<CacheEntry>> {
        let path = self.path(netns, if_name);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        let entry: CacheEntry = serde_json::from_slice(&bytes).map_err(|e| Error::Config {
            path: path.clone(),
            msg: format!("unreadable cache entry ({e}); remove the file to proceed"),
        })?;
        Ok(Some(entry))
    }

    /// Writes the entry atomically (temp file + rename): a reader sees the old or the new one.
    pub fn store(&self, entry: &CacheEntry) -> Result<()> {
        let path = self.path(&entry.netns, &entry.if_name);
        let dir = path.parent().unwrap_or(Path::new("/"));
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
        let bytes = serde_json::to_vec_pretty(entry).unwrap_or_default();
        kns_plumbing::atomic_file::write(&path, &bytes, 0o600)
            .map_err(|e| Error::io("write", &path, e))
    }

    /// Removes the entry; a missing one is fine.
    pub fn remove(&self, netns: &str, if_name: &str) -> Result<()> {
        let path = self.path(netns, if_name);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove", &path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn store_load_remove_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ResultCache::new(dir.path());
        assert_eq!(cache.load("ns", "eth0").unwrap(), None);
        let mut entry = CacheEntry::new("ns", "ns", "eth0", Some("A=b"), json!({"name": "n"}));
        cache.store(&entry).unwrap();
        assert_eq!(cache.load("ns", "eth0").unwrap().as_ref(), Some(&entry));
        entry.result = Some(json!({"cniVersion": "1.0.0"}));
        cache.store(&entry).unwrap();
        assert_eq!(cache.load("ns", "eth0").unwrap(), Some(entry));
        cache.remove("ns", "eth0").unwrap();
        cache.remove("ns", "eth0").unwrap();
        assert_eq!(cache.load("ns", "eth0").unwrap(), None);
    }

    #[test]
    fn a_corrupt_entry_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ResultCache::new(dir.path());
        std::fs::create_dir_all(dir.path().join("results")).unwrap();
        std::fs::write(dir.path().join("results/ns-eth0.json"), "{").unwrap();
        let err = cache.load("ns", "eth0").unwrap_err().to_string();
        assert!(
            err.contains("ns-eth0.json") && err.contains("remove the file"),
            "{err}"
        );
    }
}
