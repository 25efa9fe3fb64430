//! Step: `kubeadm join` on every other node, discovering the control plane by the bootstrap token
//! and pinning its CA by hash: further control planes one after the other (each adds an etcd
//! member, and etcd keeps quorum only if the one added before is up), the workers all at once.

use std::time::Duration;

use crate::cluster::node;
use crate::error::Result;
use crate::kube::kubeadm::{self, JoinAs, NodeRegistration};
use crate::model::state::NodeState;
use kns_plumbing::parallel;

use super::kubeadm_init::Joining;
use super::InitContext;

pub fn run(ctx: &InitContext, joining: &Joining) -> Result<()> {
    let first = node::handle(ctx.state.first_control_plane()?)?;
    kubeadm::wait_for_signed_cluster_info(
        &first,
        &joining.config.token,
        Duration::from_secs(120),
        Duration::from_millis(250),
    )?;
    for n in ctx.state.control_planes().iter().skip(1) {
        join(ctx, joining, n, JoinAs::ControlPlane)?;
    }
    parallel::each(
        &ctx.state.workers(),
        |n| &n.name,
        |n| join(ctx, joining, n, JoinAs::Worker),
    )
    .map(drop)
}

/// `kubeadm join` on `n`, its configuration and patches written into it first; the output goes
/// to the cluster's `kubeadm-join-<node>.log`.
fn join(ctx: &InitContext, joining: &Joining, n: &NodeState, join_as: JoinAs) -> Result<()> {
    let registration = NodeRegistration::of(n);
    let text = kubeadm::join_config(
        &joining.config,
        &joining.ca_cert_hash,
        &registration,
        join_as,
    );
    let path = kubeadm::write_node_config(
        n,
        &ctx.opts.patches,
        &registration,
        "kubeadm-join.yaml",
        &text,
    )?;
    // -v=5 and stderr into the log: kubeadm's progress has no timestamps otherwise.
    let script = format!("kubeadm join -v=5 --config {path} 2>&1");
    let log = ctx.paths.dir.join(format!("kubeadm-join-{}.log", n.name));
    node::run_logged(&node::handle(n)?, &["sh", "-c", &script], &log).map(drop)
}
