//! Step of an `init` that begins again after an earlier one was interrupted or failed: every
//! Kubernetes node that kubeadm touched is reset (`kubeadm reset -f`: its static pods, etcd data,
//! certificates and kubelet configuration go), so `kubeadm init` and `join` find clean nodes. The
//! nodes' images, binaries and pod network stay: the steps that put them there are done again
//! and find them.

use kns_node::Exec;

use crate::cluster::ClusterNode;
use crate::error::{Error, Result};
use crate::kube::documents::CRI_SOCKET;

/// Where `load` puts kubeadm in a node: a node without it was never touched by kubeadm.
const KUBEADM: &str = "/usr/local/bin/kubeadm";

/// Resets `nodes` (all at once); the log of each reset goes to `log(node)`.
pub fn reset(nodes: &[ClusterNode], log: impl Fn(&str) -> std::path::PathBuf + Sync) -> Result<()> {
    kns_plumbing::parallel::each(
        nodes,
        |n| n.name(),
        |n| {
            if n.run(&["test", "-x", KUBEADM]).is_err() {
                return Ok(());
            }
            let cri_socket = format!("--cri-socket={CRI_SOCKET}");
            // Its etcd member goes with the whole cluster: nobody is left to remove it from.
            n.run_logged(
                &[
                    KUBEADM,
                    "reset",
                    "--force",
                    &cri_socket,
                    "--skip-phases=remove-etcd-member",
                ],
                &log(n.name()),
            )?;
            // kubeadm reset keeps what it did not make: an etcd data dir of an init killed
            // before kubeadm recorded it.
            n.run(&[
                "sh",
                "-c",
                "rm -rf /var/lib/etcd/* /etc/kubernetes/manifests/*",
            ])
            .map(drop)
            .map_err(Error::from)
        },
    )?;
    Ok(())
}
