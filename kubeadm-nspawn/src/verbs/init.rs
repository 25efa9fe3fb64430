//! `init`: the booted nodes made a Kubernetes cluster.

use std::path::{Path, PathBuf};

use crate::actions::{self, InitContext, InitOptions};
use crate::error::{Error, Result};
use crate::kube::{kubeadm, kubeconfig};
use crate::model::config::Patch;
use crate::model::names::{ClusterName, ClusterPaths};
use crate::model::state::{ClusterState, InitPhase};
use crate::{install_signal_handlers, require_root};

/// Turns a cluster's booted nodes into a Kubernetes cluster: `kubeadm init` on the first node,
/// `kubeadm join` on the others, pod network, kubeconfig, Ready nodes. Returns each step's
/// duration.
pub fn init(name: &ClusterName, mut opts: InitOptions) -> Result<Vec<(&'static str, f64)>> {
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
    let mut state = ClusterState::load(&paths.state_file())?;
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
    // The cluster's shape is `up`'s: a file describing another number of control planes is for
    // another cluster.
    let made = state.control_planes().len();
    if let Some(described) = opts.control_planes.filter(|&k| k != made) {
        return Err(Error::InvalidArgument(format!(
            "--config describes {described} control-plane nodes; cluster {name:?} was made with \
             {made} by `up`: `kubeadm-nspawn down --name {name}` and `up --config` it again"
        )));
    }
    // What `init --config` says replaces what `up` recorded.
    if let Some(labels) = opts.labels.take() {
        let kubernetes_nodes = state.kubernetes_nodes().len();
        if labels.len() > kubernetes_nodes {
            return Err(Error::InvalidArgument(format!(
                "--config describes {} nodes; cluster {name:?} has {kubernetes_nodes}",
                labels.len(),
            )));
        }
        // The load balancer is last, after the Kubernetes nodes the labels are for.
        for (i, node) in state.nodes.iter_mut().enumerate() {
            node.settings.labels = labels.get(i).cloned().unwrap_or_default();
        }
    }
    if let Some(components) = opts.components.take() {
        state.components = components;
    }
    // Before any node is touched.
    super::list::recheck_ranges(&opts.state_dir, &state)?;
    super::list::require_running(&state)?;
    // Written only once init goes ahead: a refused init leaves the cluster's directory as it was.
    opts.patches.extend(materialize_patches(
        &state.components.kubeadm_patches,
        &paths.dir.join("kubeadm-patches"),
    )?);
    check_distinct_names(&opts.patches)?;
    install_signal_handlers()?;
    let mut ctx = InitContext { opts, paths, state };
    actions::init(&mut ctx)
}

/// The config file's kubeadm patches as files kubeadm reads: a file patch as it is, an inline one
/// written into `dir` as `TARGET<i>config+TYPE.yaml` (kubeadm applies a target's patches in the
/// order of their names).
fn materialize_patches(patches: &[Patch], dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = vec![];
    for (i, patch) in patches.iter().enumerate() {
        match patch {
            Patch::File(file) => files.push(file.clone()),
            Patch::Inline {
                target,
                patch_type,
                patch,
            } => {
                std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
                let file = dir.join(format!("{target}{i:02}config+{patch_type}.yaml"));
                std::fs::write(&file, patch).map_err(|e| Error::io("write", &file, e))?;
                files.push(file);
            }
        }
    }
    Ok(files)
}

/// Patch files are copied into the nodes by name: two of one name would be one.
fn check_distinct_names(patches: &[PathBuf]) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for p in patches {
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if !seen.insert(name.clone()) {
            return Err(Error::InvalidArgument(format!(
                "two kubeadm patches are named {name} (from --kubeadm-patch and the config file): rename one"
            )));
        }
    }
    Ok(())
}
