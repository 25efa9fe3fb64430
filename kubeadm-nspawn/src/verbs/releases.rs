//! `releases list|get|gc`: the cache of downloaded Kubernetes releases, and which clusters use
//! which version (a version a cluster runs is never removed: `update` and `start` need it).

use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::kube::releases::{self, Cached};
use crate::model::state::ClusterState;

/// A cached version and the clusters made with it.
#[derive(Debug, Serialize)]
pub struct CachedRelease {
    #[serde(flatten)]
    pub cached: Cached,
    pub clusters: Vec<String>,
}

pub fn list(state_dir: &Path, cache_dir: &Path) -> Result<Vec<CachedRelease>> {
    let clusters = super::list::list(state_dir)?;
    Ok(releases::list(cache_dir)?
        .into_iter()
        .map(|cached| CachedRelease {
            clusters: users(&clusters, &cached),
            cached,
        })
        .collect())
}

/// Removes every cached version no cluster in `state_dir` uses; returns them and the bytes freed.
pub fn gc(state_dir: &Path, cache_dir: &Path) -> Result<(Vec<Cached>, u64)> {
    let clusters = super::list::list(state_dir)?;
    releases::gc(cache_dir, &|cached| !users(&clusters, cached).is_empty())
}

fn users(clusters: &[ClusterState], cached: &Cached) -> Vec<String> {
    clusters
        .iter()
        .filter(|c| {
            c.kubernetes
                .as_ref()
                .is_some_and(|k| k.binaries.dir.starts_with(&cached.dir))
        })
        .map(|c| c.name.clone())
        .collect()
}
