//! Step: `kubeadm join` on every other node, all at once, discovering the control plane by the
//! bootstrap token and pinning its CA by hash.

use std::time::Duration;

use crate::error::Result;
use crate::kubeadm::{self, NodeRegistration};
use crate::{node, parallel};

use super::kubeadm_init::Joining;
use super::InitContext;

pub fn run(ctx: &InitContext, joining: &Joining) -> Result<()> {
    let first = node::handle(&ctx.state.nodes[0])?;
    kubeadm::wait_for_signed_cluster_info(
        &first,
        &joining.config.token,
        Duration::from_secs(120),
        Duration::from_millis(250),
    )?;
    let workers = &ctx.state.nodes[1..];
    let mut paths = vec![];
    for n in workers {
        let registration = NodeRegistration::of(n);
        let text = kubeadm::join_config(&joining.config, &joining.ca_cert_hash, &registration);
        paths.push(kubeadm::write_node_config(
            n,
            &ctx.opts.patches,
            &registration,
            "kubeadm-join.yaml",
            &text,
        )?);
    }
    let jobs: Vec<_> = workers.iter().zip(&paths).collect();
    let cluster_dir = &ctx.paths.dir;
    parallel::each(
        &jobs,
        |(n, _)| &n.name,
        |(n, path)| {
            // -v=5 and stderr into the log: kubeadm's progress has no timestamps otherwise.
            let script = format!("kubeadm join -v=5 --config {path} 2>&1");
            let log = cluster_dir.join(format!("kubeadm-join-{}.log", n.name));
            node::run_logged(&node::handle(n)?, &["sh", "-c", &script], &log).map(drop)
        },
    )
    .map(drop)
}
