//! Step: `kubeadm join` on every other node, all at once, discovering the control plane by the
//! bootstrap token and pinning its CA by hash.

use crate::error::{Error, Result};
use crate::kubeadm;
use crate::node;

use super::kubeadm_init::{registration, write_node_config};
use super::InitContext;

pub fn run(ctx: &mut InitContext) -> Result<()> {
    let config = ctx
        .config
        .clone()
        .ok_or_else(|| Error::InvalidArgument("kubeadm init has not run".into()))?;
    let hash = ctx.ca_cert_hash.clone().unwrap_or_default();
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
                    let out = node::run(n, &["kubeadm", "join", "--config", path]);
                    let log = cluster_dir.join(format!("kubeadm-join-{}.log", n.name));
                    let _ = std::fs::write(
                        &log,
                        match &out {
                            Ok(o) => o.clone(),
                            Err(e) => e.to_string(),
                        },
                    );
                    out.map(drop).map_err(|e| {
                        Error::node(
                            &n.name,
                            format!("kubeadm join failed ({e}); output in {}", log.display()),
                        )
                    })
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
