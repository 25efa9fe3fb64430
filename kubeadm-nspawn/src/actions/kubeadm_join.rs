//! Step: `kubeadm join` on every other node, discovering the control plane by the bootstrap token
//! and pinning its CA by hash: further control planes one after the other (each adds an etcd
//! member, and etcd keeps quorum only if the one added before is up), the workers all at once.

use std::time::Duration;

use kns_plumbing::parallel;

use crate::cluster::ClusterNode;
use crate::error::Result;
use crate::kube::documents::{self, JoinAs};
use crate::kube::kubeadm;

use super::kubeadm_init::{registration, write_node_config, Joining};
use super::InitContext;

pub fn run(ctx: &InitContext, joining: &Joining) -> Result<()> {
    kubeadm::wait_for_signed_cluster_info(
        &ctx.cluster.first_control_plane()?,
        &joining.config.token,
        Duration::from_secs(120),
        Duration::from_millis(250),
    )?;
    for n in ctx.cluster.control_planes().iter().skip(1) {
        join(ctx, joining, n, JoinAs::ControlPlane)?;
    }
    parallel::each(
        &ctx.cluster.workers(),
        |n| n.name(),
        |n| join(ctx, joining, n, JoinAs::Worker),
    )
    .map(drop)
}

/// `kubeadm join` on `n`, its configuration and patches written into it first; the output goes
/// to the cluster's `kubeadm-join-<node>.log`.
fn join(ctx: &InitContext, joining: &Joining, n: &ClusterNode, join_as: JoinAs) -> Result<()> {
    let registration = registration(&ctx.cluster.state, n);
    let text = documents::join_config(
        &joining.config,
        &joining.ca_cert_hash,
        &registration,
        join_as,
    )?;
    let path = write_node_config(
        n,
        &ctx.request.patches,
        &registration,
        "kubeadm-join.yaml",
        &text,
    )?;
    // -v=5 and stderr into the log: kubeadm's progress has no timestamps otherwise.
    let script = format!("kubeadm join -v=5 --config {path} 2>&1");
    n.run_logged(
        &["sh", "-c", &script],
        &ctx.cluster.paths.join_log(n.name()),
    )?;
    Ok(())
}
