//! `load`: image archives and host Docker images into every node of a cluster.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::host::image_pusher;
use crate::model::names::{ClusterName, ClusterPaths};
use crate::model::state::ClusterState;
use crate::require_root;

/// Loads image archives and images of the host's Docker into every node of a cluster (like
/// `kind load image-archive` and `kind load docker-image`).
pub fn load(
    state_dir: &Path,
    name: &ClusterName,
    archives: &[PathBuf],
    docker_images: &[String],
) -> Result<serde_json::Value> {
    require_root()?;
    if archives.is_empty() && docker_images.is_empty() {
        return Err(Error::InvalidArgument(
            "give at least one image archive or --docker-image REF".into(),
        ));
    }
    if let Some(missing) = archives.iter().find(|a| !a.is_file()) {
        return Err(Error::InvalidArgument(format!(
            "{}: no such file",
            missing.display()
        )));
    }
    let paths = ClusterPaths::new(state_dir, name);
    if !paths.state_file().exists() {
        return Err(Error::InvalidArgument(format!(
            "no cluster {name:?}: create it with `kubeadm-nspawn up --name {name}`"
        )));
    }
    let state = ClusterState::load(&paths.state_file())?;
    super::list::require_running(&state)?;
    // Into every Kubernetes node (the load balancer runs no pods).
    image_pusher::push(&state.kubernetes_nodes(), archives, docker_images, &[])
}
