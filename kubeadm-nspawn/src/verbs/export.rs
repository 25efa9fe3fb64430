//! `export logs`: what someone needs to see why a cluster broke, into a directory (and a
//! `.tar.gz`), from a running cluster, a stopped one or one whose state or init is broken (see
//! [`crate::actions::export_logs`]). Reads only: never waits for a busy cluster.

use std::path::{Path, PathBuf};

use crate::actions::export_logs::{self, Destination, Exported};
use crate::cluster::{Access, Cluster};
use crate::error::Result;
use crate::model::layout::ClusterPaths;
use crate::model::names::ClusterName;

pub fn run(
    state_dir: &Path,
    name: &ClusterName,
    dest: Option<PathBuf>,
    archive: bool,
    owner: Option<(u32, u32)>,
) -> Result<Exported> {
    super::require_root()?;
    let paths = ClusterPaths::new(state_dir, name);
    let cluster = match Cluster::open(state_dir, name, Access::Read) {
        Ok(cluster) => Some(cluster),
        Err(crate::cluster::Error::CorruptState { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let dir = dest.unwrap_or_else(|| PathBuf::from(format!("{name}-logs-{}", timestamp())));
    let to = Destination {
        dir,
        archive,
        owner,
    };
    export_logs::export(name, &paths, cluster.as_ref(), &to)
}

/// `20261125T193000Z` (RFC 3339 without its separators), for a default directory name.
fn timestamp() -> String {
    crate::actions::wait_ready::rfc3339(std::time::SystemTime::now()).replace([':', '-'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_and_sortable() {
        let t = timestamp();
        assert_eq!(t.len(), 16, "{t}");
        assert!(
            t.starts_with("20") && t.ends_with('Z') && t.contains('T'),
            "{t}"
        );
    }
}
