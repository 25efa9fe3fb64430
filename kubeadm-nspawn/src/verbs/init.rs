//! `init`: the booted nodes made a Kubernetes cluster.

use crate::actions::{self, InitContext, InitOptions};
use crate::cluster::{ClusterName, ClusterPaths};
use crate::error::{Error, Result};
use crate::state::{ClusterState, InitPhase};
use crate::{install_signal_handlers, require_root};
use crate::{kubeadm, kubeconfig};

/// Turns a cluster's booted nodes into a Kubernetes cluster: `kubeadm init` on the first node,
/// `kubeadm join` on the others, pod network, kubeconfig, Ready nodes. Returns each step's
/// duration.
pub fn init(name: &ClusterName, opts: InitOptions) -> Result<Vec<(&'static str, f64)>> {
    require_root()?;
    for patch in &opts.patches {
        let file_name = patch
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        kubeadm::check_patch_name(&file_name).map_err(Error::InvalidArgument)?;
        if !patch.is_file() {
            return Err(Error::InvalidArgument(format!(
                "--kubeadm-patch {}: no such file",
                patch.display()
            )));
        }
    }
    let paths = ClusterPaths::new(&opts.state_dir, name);
    if !paths.state_file().exists() {
        return Err(Error::NoCluster(name.to_string()));
    }
    let state = ClusterState::load(&paths.state_file())?;
    match state.kubernetes.as_ref().map(|k| k.phase) {
        Some(InitPhase::Initialized) => {
            return Err(Error::InvalidArgument(format!(
                "cluster {name:?} is already initialized: `kubectl --context {}` uses it; \
                 `kubeadm-nspawn down --name {name}` and `up` for a new one",
                kubeconfig::context_name(&name.to_string())
            )))
        }
        Some(InitPhase::Initializing) => {
            return Err(Error::InvalidArgument(format!(
                "an earlier `init` of cluster {name:?} failed or is still running: \
                 `kubeadm-nspawn down --name {name}` and `up` it again"
            )))
        }
        _ => {}
    }
    // Before any node is touched.
    super::list::recheck_ranges(&opts.state_dir, &state)?;
    super::list::require_running(&state)?;
    install_signal_handlers()?;
    let mut ctx = InitContext { opts, paths, state };
    actions::init(&mut ctx)
}
