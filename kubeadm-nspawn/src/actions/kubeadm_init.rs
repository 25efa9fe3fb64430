//! Step: `kubeadm init` on the first node with the generated configuration, then the CA's public
//! key hash the workers pin when they join; meanwhile the workers get their binaries and images.

use crate::error::{Error, Result};
use crate::kubeadm::{self, ClusterConfig, NodeRegistration, NODE_CONFIG_DIR};
use crate::node;
use crate::state::NodeState;

use super::InitContext;

/// Writes `file` (and the `--kubeadm-patch` files) into the node's /etc/kubeadm-nspawn.
pub fn write_node_config(
    ctx: &InitContext,
    n: &NodeState,
    file: &str,
    contents: &str,
) -> Result<String> {
    let rootfs = n.dir.join("rootfs");
    let dir = rootfs.join(NODE_CONFIG_DIR.trim_start_matches('/'));
    std::fs::create_dir_all(dir.join("patches")).map_err(|e| Error::io("create", &dir, e))?;
    for patch in &ctx.opts.patches {
        let name = patch.file_name().unwrap_or_default();
        std::fs::copy(patch, dir.join("patches").join(name))
            .map_err(|e| Error::io("copy", patch, e))?;
    }
    std::fs::write(dir.join(file), contents).map_err(|e| Error::io("write", dir.join(file), e))?;
    Ok(format!("{NODE_CONFIG_DIR}/{file}"))
}

pub fn registration(n: &NodeState) -> NodeRegistration {
    NodeRegistration {
        name: n.name.clone(),
        ip: n.ip.clone(),
    }
}

/// Step: `kubeadm init` on the first node while the workers are loaded.
pub fn run(ctx: &mut InitContext) -> Result<()> {
    let workers = super::load_nodes::WorkerLoad::new(ctx)?;
    std::thread::scope(|scope| {
        let loading = scope.spawn(|| workers.run());
        let init = init_first_node(ctx);
        let loaded = loading
            .join()
            .unwrap_or_else(|_| Err(Error::InvalidArgument("load thread panicked".into())));
        init.and(loaded)
    })
}

fn init_first_node(ctx: &mut InitContext) -> Result<()> {
    let kube = ctx.kube()?;
    let images = ctx.images()?;
    let first = &ctx.state.nodes[0];
    let token = kubeadm::new_token().map_err(|e| Error::io("read", "/dev/urandom", e))?;
    let config = ClusterConfig {
        cluster_name: ctx.state.name.clone(),
        kubernetes_version: kube.version.clone(),
        control_plane_ip: first.ip.clone(),
        etcd_tag: images.etcd_tag.clone(),
        coredns_tag: images.coredns_tag.clone(),
        token,
        patches: !ctx.opts.patches.is_empty(),
    };
    let path = write_node_config(
        ctx,
        first,
        "kubeadm.yaml",
        &kubeadm::init_config(&config, &registration(first)),
    )?;
    let mut args = vec!["kubeadm", "init", "--config", path.as_str()];
    if config.coredns_tag.is_none() {
        args.push("--skip-phases=addon/coredns");
    }
    node::run_logged(first, &args, &ctx.paths.dir.join("kubeadm-init.log"))?;
    // kubeadm's discovery hash: sha256 of the CA's DER SubjectPublicKeyInfo.
    let hash = node::run(
        first,
        &[
            "sh",
            "-c",
            "openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt \
             | openssl pkey -pubin -outform der | sha256sum",
        ],
    )?;
    let hex = hash.split_whitespace().next().unwrap_or_default();
    if hex.len() != 64 {
        return Err(Error::node(&first.name, format!("no CA hash: {hash:?}")));
    }
    ctx.ca_cert_hash = Some(format!("sha256:{hex}"));
    ctx.config = Some(config);
    Ok(())
}
