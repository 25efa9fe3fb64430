//! `down`: a cluster removed without a trace, whatever state it is in (idempotent). A cluster
//! whose state.json cannot be read is removed from what its directory and the naming rules show.

use std::path::Path;

use crate::actions::teardown::{self, HostObjects};
use crate::cluster::{self, Access, Cluster};
use crate::error::Result;
use crate::host::{firewall, network_managers, Host};
use crate::kube::kubeconfig;
use crate::model::layout::ClusterPaths;
use crate::model::names::ClusterName;

use super::{require_root, STOP_TIMEOUT};

/// Removes cluster `name`; false when there was none.
/// `down` goes first: a verb holding the cluster is asked to stop (and killed if it does not),
/// whatever `access` says of waiting.
pub fn run(state_dir: &Path, name: &ClusterName, host: &dyn Host, access: Access) -> Result<bool> {
    require_root()?;
    let access = match access {
        Access::Change { verb, .. } => Access::Change {
            verb,
            wait: cluster::lock::Wait::TakeOver,
        },
        Access::Read => Access::Read,
    };
    let paths = ClusterPaths::new(state_dir, name);
    if !paths.dir.exists() {
        return Ok(false);
    }
    if !paths.state_file().exists() {
        // A directory `up` made and was killed before its first save: nothing else exists.
        host.remove_dir_all(&paths.dir)?;
        return Ok(true);
    }
    let (objects, held) = match Cluster::open(state_dir, name, access) {
        Ok(cluster) => {
            remove_context(&cluster);
            (HostObjects::of(&cluster), Some(cluster))
        }
        Err(e @ cluster::Error::CorruptState { .. }) => {
            eprintln!("warning: {e}; removing what its directory and the naming rules show");
            (HostObjects::recover(&paths, name), None)
        }
        // Removed by the verb that held it (an `up` undoing what it made), or a directory that
        // verb left without a state.
        Err(cluster::Error::NoCluster(_)) => {
            if paths.dir.exists() {
                host.remove_dir_all(&paths.dir)?;
            }
            return Ok(true);
        }
        Err(e) => return Err(e.into()),
    };
    teardown::teardown(host, &objects, &teardown::poweroff(host, STOP_TIMEOUT))?;
    if let Some(cluster) = &held {
        firewall::close(&cluster.state.forward_rules)?;
    }
    // The last cluster gone: the network managers may manage kns-* again.
    if cluster::list(state_dir)?.is_empty() {
        for e in network_managers::forget_our_links()? {
            eprintln!("warning: {e}; the network manager sees its file gone at its next reload");
        }
    }
    Ok(true)
}

/// The cluster's context out of the user's kubeconfig; a failure is said and does not stop the
/// removal (the context is the user's to delete then).
fn remove_context(cluster: &Cluster) {
    let (Some(target), Some(binaries)) = (cluster.phase().kubeconfig(), cluster.phase().binaries())
    else {
        return;
    };
    let name = cluster.name();
    if let Err(e) = kubeconfig::remove(target, name.as_str(), &binaries.path("kubectl")) {
        eprintln!(
            "warning: context {} stays in {}: {e}",
            name.context(),
            target.display()
        );
    }
}
