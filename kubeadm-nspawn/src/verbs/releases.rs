//! `releases list` and `releases gc`: the cache of released versions, with the clusters that use
//! each one (those a gc keeps).

use std::path::Path;

use serde::Serialize;

use crate::cluster;
use crate::error::Result;
use crate::kube::releases::{self, Cached};
use crate::model::state::ClusterState;

#[derive(Debug, Serialize)]
pub struct CachedRelease {
    #[serde(flatten)]
    pub cached: Cached,
    pub clusters: Vec<String>,
}

pub fn list(state_dir: &Path, cache_dir: &Path) -> Result<Vec<CachedRelease>> {
    let clusters = cluster::states(state_dir)?;
    Ok(releases::list(cache_dir)?
        .into_iter()
        .map(|cached| CachedRelease {
            clusters: users(&clusters, &cached),
            cached,
        })
        .collect())
}

pub fn gc(state_dir: &Path, cache_dir: &Path) -> Result<(Vec<Cached>, u64)> {
    let clusters = cluster::states(state_dir)?;
    Ok(releases::gc(cache_dir, &|cached| {
        !users(&clusters, cached).is_empty()
    })?)
}

fn users(clusters: &[ClusterState], cached: &Cached) -> Vec<String> {
    clusters
        .iter()
        .filter(|c| {
            c.kubernetes
                .binaries()
                .is_some_and(|b| b.dir.starts_with(&cached.dir))
        })
        .map(|c| c.name.to_string())
        .collect()
}
