//! `kubeconfig`: the cluster's kubeconfig as `init` wrote it.

use std::path::Path;

use crate::error::{Error, Result};
use crate::model::names::{ClusterName, ClusterPaths};

/// The cluster's kubeconfig (as `init` wrote it).
pub fn kubeconfig(state_dir: &Path, name: &ClusterName) -> Result<String> {
    let paths = ClusterPaths::new(state_dir, name);
    if !paths.state_file().exists() {
        return Err(Error::NoCluster(name.to_string()));
    }
    let file = paths.dir.join("kubeconfig");
    std::fs::read_to_string(&file).map_err(|_| {
        Error::InvalidArgument(format!(
            "cluster {name:?} has no kubeconfig yet: run `kubeadm-nspawn init --name {name}`"
        ))
    })
}
