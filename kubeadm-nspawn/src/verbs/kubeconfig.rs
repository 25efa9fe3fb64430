//! `kubeconfig`: a cluster's kubeconfig as `init` wrote it (admin credentials, the API endpoint as
//! seen from the host). Reads only: never waits for a busy cluster.

use std::path::Path;

use crate::cluster::{Access, Cluster};
use crate::error::Result;
use crate::host::error::Io;
use crate::model::names::ClusterName;

pub fn run(state_dir: &Path, name: &ClusterName) -> Result<String> {
    let cluster = Cluster::open(state_dir, name, Access::Read)?;
    cluster.require_initialized()?;
    let file = cluster.paths.kubeconfig();
    Ok(std::fs::read_to_string(&file).map_err(|e| Io::new("read", file, e))?)
}
