//! `init`: the booted nodes made a Kubernetes cluster: `kubeadm init` on the first node,
//! `kubeadm join` on the others, pod network, kubeconfig, Ready nodes.

use std::path::{Path, PathBuf};

use crate::actions::request::{Common, InitRequest};
use crate::actions::{self, InitContext, Timings};
use crate::cluster::{self, Access, Cluster};
use crate::error::{Error, Result};
use crate::host::error::Io;
use crate::host::Host;
use crate::model::settings::Patch;
use crate::model::state::Kubernetes;

use super::{install_signal_handlers, recheck_ranges, require_root};

/// Turns a cluster's booted nodes into a Kubernetes cluster. Returns each step's duration.
pub fn run(common: &Common, mut request: InitRequest, host: &dyn Host) -> Result<Timings> {
    require_root()?;
    for patch in &request.patches {
        if !patch.is_file() {
            return Err(Error::Request(format!(
                "--kubeadm-patch {}: no such file",
                patch.display()
            )));
        }
    }
    let access = Access::Change {
        verb: "init",
        wait: common.wait,
    };
    let mut cluster = Cluster::open(&common.state_dir, &request.name, access)?;
    let name = cluster.name().clone();
    let earlier = match cluster.phase() {
        Kubernetes::Initialized(_) => return Err(cluster::Error::AlreadyInitialized(name).into()),
        // Interrupted, killed or failed: this one resets what it touched and begins again.
        Kubernetes::Initializing { step, .. } => Some(
            step.clone()
                .unwrap_or_else(|| "Marking the cluster initializing".into()),
        ),
        _ => None,
    };
    // Refused at once, not after kubeadm's four minutes of pods that cannot start.
    if let Some(why) = host.cgroups().kubelet_problem() {
        return Err(crate::host::Error::NoKubelet(why).into());
    }
    apply_config(&mut cluster, &mut request)?;
    // Before any node is touched.
    recheck_ranges(&common.state_dir, &cluster.state)?;
    cluster.require_running()?;
    // Written only once init goes ahead: a refused init leaves the cluster's directory as it was.
    let inline = materialize_patches(
        &cluster.state.components.kubeadm_patches,
        &cluster.paths.patches_dir(),
    )?;
    request.patches.extend(inline);
    check_distinct_names(&request.patches)?;
    install_signal_handlers()?;
    if let Some(step) = &earlier {
        kns_plumbing::say!(
            "an earlier init of cluster \"{name}\" stopped at \"{step}\": its nodes are reset and it \
             begins again"
        );
    }
    let mut ctx = InitContext {
        request,
        earlier,
        cluster,
        host,
        image_cache: common.state_dir.join("kube-images"),
    };
    actions::init(&mut ctx)
}

/// What `init --config` says replaces what `up` recorded; the cluster's shape is `up`'s.
fn apply_config(cluster: &mut Cluster, request: &mut InitRequest) -> Result<()> {
    let name = cluster.name().clone();
    let made = cluster.state.control_planes().count();
    if let Some(described) = request.control_planes.filter(|&k| k != made) {
        return Err(Error::Request(format!(
            "--config describes {described} control-plane nodes; cluster \"{name}\" was made with \
             {made} by `up`: `kubeadm-nspawn down --name {name}` and `up --config` it again"
        )));
    }
    if let Some(labels) = request.labels.take() {
        let kubernetes_nodes = cluster.state.kubernetes_nodes().count();
        if labels.len() > kubernetes_nodes {
            return Err(Error::Request(format!(
                "--config describes {} nodes; cluster \"{name}\" has {kubernetes_nodes}",
                labels.len(),
            )));
        }
        // The load balancer is last, after the Kubernetes nodes the labels are for.
        for (i, node) in cluster.state.nodes.iter_mut().enumerate() {
            node.settings.labels = labels.get(i).cloned().unwrap_or_default();
        }
    }
    if let Some(components) = request.components.take() {
        cluster.state.components = components;
    }
    Ok(())
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
                std::fs::create_dir_all(dir).map_err(|e| Io::new("create", dir, e))?;
                let file = dir.join(format!("{target}{i:02}config+{patch_type}.yaml"));
                std::fs::write(&file, patch).map_err(|e| Io::new("write", &file, e))?;
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
            return Err(Error::Request(format!(
                "two kubeadm patches are named \"{name}\" (from --kubeadm-patch and the config file): rename one"
            )));
        }
    }
    Ok(())
}
