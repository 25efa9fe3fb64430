//! Step: `kubeadm join` on every other node, all at once, discovering the control plane by the
//! bootstrap token and pinning its CA by hash.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::kubeadm;
use crate::node;

use super::kubeadm_init::{registration, write_node_config};
use super::InitContext;

/// Waits until the controller-manager's bootstrap signer has signed the `cluster-info` ConfigMap
/// for our token. A join that starts before then fails discovery and retries only every few
/// seconds (measured: first joins took 20 s right after init, 2 s once signed).
fn wait_for_signed_cluster_info(first: &crate::state::NodeState, token: &str) -> Result<()> {
    let token_id = token.split('.').next().unwrap_or_default();
    let jsonpath = format!("jsonpath={{.data.jws-kubeconfig-{token_id}}}");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let signed = node::admin_kubectl(
            first,
            &[
                "-n",
                "kube-public",
                "get",
                "configmap",
                "cluster-info",
                "-o",
                &jsonpath,
            ],
        )
        .is_ok_and(|s| !s.trim().is_empty());
        if signed {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::node(
                &first.name,
                "cluster-info was not signed for the bootstrap token within 120 s: \
                 is kube-controller-manager running? (`kubeadm-nspawn exec NODE -- crictl ps -a`)",
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

pub fn run(ctx: &mut InitContext) -> Result<()> {
    let config = ctx
        .config
        .clone()
        .ok_or_else(|| Error::InvalidArgument("kubeadm init has not run".into()))?;
    let hash = ctx.ca_cert_hash.clone().unwrap_or_default();
    wait_for_signed_cluster_info(&ctx.state.nodes[0], &config.token)?;
    let workers = &ctx.state.nodes[1..];
    let mut paths = vec![];
    for n in workers {
        let text = kubeadm::join_config(&config, &hash, &registration(n));
        paths.push(write_node_config(ctx, n, "kubeadm-join.yaml", &text)?);
    }
    let cluster_dir = &ctx.paths.dir;
    std::thread::scope(|scope| {
        let joins: Vec<_> = workers
            .iter()
            .zip(&paths)
            .map(|(n, path)| {
                scope.spawn(move || {
                    // -v=5 and stderr into the log: kubeadm's progress has no timestamps otherwise.
                    let script = format!("kubeadm join -v=5 --config {path} 2>&1");
                    let log = cluster_dir.join(format!("kubeadm-join-{}.log", n.name));
                    node::run_logged(n, &["sh", "-c", &script], &log).map(drop)
                })
            })
            .collect();
        for join in joins {
            join.join()
                .unwrap_or_else(|_| Err(Error::InvalidArgument("join thread panicked".into())))?;
        }
        Ok(())
    })
}
