//! Components that are binaries in every node: the kubelet (swapped, restarted, waited for until
//! each node reports Ready again) and the tools (kubeadm, kubectl, crictl: swapped). The binary
//! goes into each node through image-pusher (resolved in the node's root, replaced whole); the one
//! it replaces is kept from the first node, through the same rule, to be put back.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use kns_node::Exec;

use super::{rollout, Target};
use crate::actions::wait_ready;
use crate::error::{Error, Result};
use crate::host::error::Io;
use crate::host::image_pusher;
use crate::model::component::Component;

pub fn update(
    target: &Target,
    component: Component,
    binary: &Path,
    restart: bool,
) -> Result<String> {
    let nodes = target.cluster.kubernetes_nodes();
    let dest = PathBuf::from("/usr/local/bin").join(component.name());
    let push = |source: &Path| -> Result<()> {
        let states: Vec<_> = nodes.iter().map(|n| &n.state).collect();
        let binary = format!("{}:{}", source.display(), dest.display());
        image_pusher::push(&states, &[], &[], &[binary])?;
        Ok(())
    };
    if !restart {
        push(binary)?;
        return Ok(format!("copied into {} nodes", nodes.len()));
    }
    // The binary the nodes run now, kept to put back (the host's copy may be rebuilt already).
    let previous = target.previous_dir().join(component.name());
    let parent = previous.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(parent).map_err(|e| Io::new("create", parent, e))?;
    let running = target.cluster.first_control_plane()?.read_file(&dest)?;
    std::fs::write(&previous, running).map_err(|e| Io::new("write", &previous, e))?;
    push(binary)?;
    rollout::wait_or_put_back(
        component.name(),
        target.rollback,
        || restart_and_wait(target),
        || kubelet_log(target),
        || push(&previous),
    )?;
    Ok(format!("restarted on {} nodes, all Ready", nodes.len()))
}

/// `systemctl restart kubelet` in every node, then every node Ready as reported after that.
fn restart_and_wait(target: &Target) -> Result<()> {
    let since = SystemTime::now();
    let nodes = target.cluster.kubernetes_nodes();
    kns_plumbing::parallel::each(
        &nodes,
        |n| n.name(),
        |n| {
            n.run(&["systemctl", "restart", "kubelet"])
                .map(drop)
                .map_err(Error::from)
        },
    )?;
    wait_ready::wait_for(
        &nodes,
        &target.binaries.path("kubectl"),
        &target.cluster.paths.kubeconfig(),
        target.wait,
        Some(since),
        wait_ready::Want::of(&target.cluster.state.components),
    )
}

/// The end of the first node's kubelet log.
fn kubelet_log(target: &Target) -> String {
    let Ok(first) = target.cluster.first_control_plane() else {
        return String::new();
    };
    first
        .run(&[
            "journalctl",
            "-u",
            "kubelet",
            "-n",
            "15",
            "--no-pager",
            "-o",
            "cat",
        ])
        .unwrap_or_default()
}
