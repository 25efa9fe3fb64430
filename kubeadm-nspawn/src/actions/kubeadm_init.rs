//! Step: `kubeadm init` on the first control-plane node with the generated configuration; returns
//! what the other nodes need to join: the configuration (token, endpoint, certificate key) and the
//! CA's public key hash. With several control planes the endpoint is the load balancer and
//! `--upload-certs` puts the control plane's certificates in the cluster for the others.

use crate::cluster::node;
use crate::error::Result;
use crate::kube::binaries::KubeBinaries;
use crate::kube::images::ImageSet;
use crate::kube::kubeadm::{self, ClusterConfig, NodeRegistration};

use super::InitContext;

/// What `kubeadm join` on the other nodes needs from the first.
pub struct Joining {
    pub config: ClusterConfig,
    pub ca_cert_hash: String,
}

pub fn run(ctx: &InitContext, kube: &KubeBinaries, images: &ImageSet) -> Result<Joining> {
    let first = ctx.state.first_control_plane()?;
    let random = |e| crate::Error::io("read", "/dev/urandom", e);
    let token = kubeadm::new_token().map_err(random)?;
    let certificate_key = match ctx.state.load_balancer() {
        Some(_) => Some(kubeadm::new_certificate_key().map_err(random)?),
        None => None,
    };
    let config = ClusterConfig {
        cluster_name: ctx.state.name.clone(),
        kubernetes_version: kube.version.clone(),
        control_plane_ip: first.ip.clone(),
        endpoint_ip: ctx.state.api_endpoint_ip()?,
        certificate_key,
        untainted_control_planes: ctx.state.workers().is_empty(),
        etcd_tag: images.etcd_tag.clone(),
        coredns_tag: images.coredns_tag.clone(),
        token,
        patches: !ctx.opts.patches.is_empty(),
        pod_subnet: ctx.state.pod_subnet.clone(),
        service_subnet: ctx.state.service_subnet.clone(),
        cgroup_v1: crate::host::cgroup::host_is_v1(),
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
    if config.certificate_key.is_some() {
        script.push_str(" --upload-certs");
    }
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
