//! Components that are binaries in every node: the kubelet (swapped, restarted, waited for until
//! each node reports Ready again) and the tools (kubeadm, kubectl, crictl: swapped).

use std::path::Path;
use std::time::SystemTime;

use crate::actions::wait_ready;
use crate::cluster::node;
use crate::error::{Error, Result};
use crate::host::image_pusher;

use super::Target;

pub fn update(target: &Target, component: &str, binary: &Path, restart: bool) -> Result<String> {
    let nodes = &target.state.kubernetes_nodes();
    let dest = format!("/usr/local/bin/{component}");
    // The binary the nodes run now, kept to put back (the host's copy may be rebuilt already).
    let previous = target.work_dir().join("previous").join(component);
    if restart {
        let first = node::handle(&nodes[0])?;
        let source = first.root().join(dest.trim_start_matches('/'));
        std::fs::create_dir_all(previous.parent().unwrap_or(Path::new("/")))
            .map_err(|e| Error::io("create", &previous, e))?;
        std::fs::copy(&source, &previous).map_err(|e| Error::io("copy", &source, e))?;
    }
    image_pusher::push(nodes, &[], &[], &[format!("{}:{dest}", binary.display())])?;
    if !restart {
        return Ok(format!("copied into {} nodes", nodes.len()));
    }
    let failure = match restart_and_wait(target) {
        Ok(()) => return Ok(format!("restarted on {} nodes, all Ready", nodes.len())),
        Err(e) => e,
    };
    let log = kubelet_log(target);
    if target.rollback {
        image_pusher::push(nodes, &[], &[], &[format!("{}:{dest}", previous.display())])?;
        restart_and_wait(target)?;
    }
    Err(Error::UpdateFailed {
        component: component.into(),
        why: failure.to_string(),
        log,
        rolled_back: target.rollback,
    })
}

/// `systemctl restart kubelet` in every node, then every node Ready as reported after that.
fn restart_and_wait(target: &Target) -> Result<()> {
    let since = SystemTime::now();
    let nodes = target.state.kubernetes_nodes();
    kns_plumbing::parallel::each(
        &nodes,
        |n| &n.name,
        |n| node::run(n, &["systemctl", "restart", "kubelet"]).map(drop),
    )?;
    wait_ready::wait(
        &nodes,
        &target.binaries.path("kubectl"),
        &target.paths.dir.join("kubeconfig"),
        target.wait,
        Some(since),
    )
}

/// The end of the first node's kubelet log.
fn kubelet_log(target: &Target) -> String {
    let Ok(first) = target.state.first_control_plane() else {
        return String::new();
    };
    node::run(
        first,
        &[
            "journalctl",
            "-u",
            "kubelet",
            "-n",
            "15",
            "--no-pager",
            "-o",
            "cat",
        ],
    )
    .unwrap_or_default()
}
