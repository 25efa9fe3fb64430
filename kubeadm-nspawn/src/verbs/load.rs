//! `load`: image archives, or images of the host's Docker, into every Kubernetes node of a
//! running cluster (like `kind load`), through image-pusher.

use std::path::{Path, PathBuf};

use crate::cluster::{Access, Cluster};
use crate::error::{Error, Result};
use crate::host::image_pusher;
use crate::model::names::ClusterName;

use super::require_root;

pub fn run(
    state_dir: &Path,
    name: &ClusterName,
    access: Access,
    archives: &[PathBuf],
    docker_images: &[String],
) -> Result<serde_json::Value> {
    require_root()?;
    if let Some(missing) = archives.iter().find(|a| !a.is_file()) {
        return Err(Error::Request(format!(
            "{}: no such file",
            missing.display()
        )));
    }
    let cluster = Cluster::open(state_dir, name, access)?;
    cluster.require_running()?;
    let nodes: Vec<_> = cluster.state.kubernetes_nodes().collect();
    Ok(image_pusher::push(&nodes, archives, docker_images, &[])?)
}
