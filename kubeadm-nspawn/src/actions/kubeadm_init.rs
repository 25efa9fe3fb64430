//! Step: `kubeadm init` on the first node with the generated configuration; returns what the
//! workers need to join: the configuration (token, endpoint) and the CA's public key hash.

use crate::error::Result;
use crate::images::ImageSet;
use crate::kube::KubeBinaries;
use crate::kubeadm::{self, ClusterConfig, NodeRegistration};
use crate::node;

use super::InitContext;

/// What `kubeadm join` on the workers needs from the first node.
pub struct Joining {
    pub config: ClusterConfig,
    pub ca_cert_hash: String,
}

pub fn run(ctx: &InitContext, kube: &KubeBinaries, images: &ImageSet) -> Result<Joining> {
    let first = &ctx.state.nodes[0];
    let token = kubeadm::new_token().map_err(|e| crate::Error::io("read", "/dev/urandom", e))?;
    let config = ClusterConfig {
        cluster_name: ctx.state.name.clone(),
        kubernetes_version: kube.version.clone(),
        control_plane_ip: first.ip.clone(),
        etcd_tag: images.etcd_tag.clone(),
        coredns_tag: images.coredns_tag.clone(),
        token,
        patches: !ctx.opts.patches.is_empty(),
        pod_subnet: ctx.state.pod_subnet.clone(),
        service_subnet: ctx.state.service_subnet.clone(),
        cgroup_v1: crate::cgroup::host_is_v1(),
        components: ctx.state.components.clone(),
    };
    let registration = NodeRegistration::of(first);
    let path = kubeadm::write_node_config(
        first,
        &ctx.opts.patches,
        &registration,
        "kubeadm.yaml",
        &kubeadm::init_config(&config, &registration),
    )?;
    // -v=5 and stderr into the log: each phase's start gets a timestamp (where the time goes).
    let mut script = format!("kubeadm init -v=5 --config {path}");
    if config.coredns_tag.is_none() {
        script.push_str(" --skip-phases=addon/coredns");
    }
    script.push_str(" 2>&1");
    let first = node::handle(first)?;
    node::run_logged(
        &first,
        &["sh", "-c", &script],
        &ctx.paths.dir.join("kubeadm-init.log"),
    )?;
    Ok(Joining {
        ca_cert_hash: kubeadm::ca_cert_hash(&first)?,
        config,
    })
}
