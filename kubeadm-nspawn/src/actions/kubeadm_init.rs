//! Step: `kubeadm init` on the first control-plane node with the generated configuration; returns
//! what the other nodes need to join: the configuration (token, endpoint, certificate key) and the
//! CA's public key hash. With several control planes the endpoint is the load balancer and
//! `--upload-certs` puts the control plane's certificates in the cluster for the others.

use std::path::Path;

use kns_node::containerd::CgroupDriver;

use crate::cluster::ClusterNode;
use crate::error::{Error, Result};
use crate::host::facts::ThisHost;
use crate::kube::binaries::KubeBinaries;
use crate::kube::documents::{
    self, ClusterConfig, NodeRegistration, NODE_CONFIG_DIR, NODE_KUBELET_PATCH,
};
use crate::kube::images::ImageSet;
use crate::kube::kubeadm;
use crate::kube::minor::Minor;
use crate::model::config::HostView;
use crate::model::ranges6::AnyCidr;
use crate::model::state::ClusterState;

use super::InitContext;

/// What `kubeadm join` on the other nodes needs from the first.
pub struct Joining {
    pub config: ClusterConfig,
    pub ca_cert_hash: String,
}

/// `driver`: the cgroup driver the nodes' containerd was configured with, for the kubelets.
pub fn run(
    ctx: &InitContext,
    kube: &KubeBinaries,
    images: &ImageSet,
    driver: CgroupDriver,
) -> Result<Joining> {
    let config = cluster_config(ctx, kube, images, driver)?;
    if let Some(warning) = config.cgroup_v1_warning() {
        kns_plumbing::say!("   {warning}");
    }
    let first = ctx.cluster.first_control_plane()?;
    let registration = registration(&ctx.cluster.state, &first);
    let text = documents::init_config(&config, &registration)?;
    let path = write_node_config(
        &first,
        &ctx.request.patches,
        &registration,
        "kubeadm.yaml",
        &text,
    )?;
    // -v=5 and stderr into the log: each phase's start gets a timestamp (where the time goes).
    let mut script = format!("kubeadm init -v=5 --config {path}");
    if config.certificate_key.is_some() {
        script.push_str(" --upload-certs");
    }
    script.push_str(" 2>&1");
    first.run_logged(&["sh", "-c", &script], &ctx.cluster.paths.init_log())?;
    Ok(Joining {
        ca_cert_hash: kubeadm::ca_cert_hash(&first)?,
        config,
    })
}

/// What the documents are made of, from the cluster, its binaries and images.
fn cluster_config(
    ctx: &InitContext,
    kube: &KubeBinaries,
    images: &ImageSet,
    cgroup_driver: CgroupDriver,
) -> Result<ClusterConfig> {
    let state = &ctx.cluster.state;
    let minor = Minor::of(&kube.version)
        .ok_or_else(|| Error::Internal(format!("{} is not a version", kube.version)))?;
    Ok(ClusterConfig {
        cluster_name: state.name.clone(),
        kubernetes_version: kube.version.clone(),
        minor,
        control_plane_ip: *state
            .kube_ips(&ctx.cluster.first_control_plane()?.state)
            .first()
            .ok_or_else(|| Error::Internal("a node without an address".into()))?,
        endpoint_ip: ctx.cluster.api_endpoint()?,
        ip_family: state.ip_family,
        certificate_key: state
            .load_balancer()
            .map(|_| kubeadm::new_certificate_key())
            .transpose()?,
        untainted_control_planes: state.workers().next().is_none(),
        etcd_tag: images.etcd_tag.clone(),
        coredns_tag: images.coredns_tag.clone(),
        token: kubeadm::new_token()?,
        patches: !ctx.request.patches.is_empty(),
        pod_subnets: state.ip_family.order(
            AnyCidr::V4(state.ranges.pods),
            state.ipv6.map(|r| AnyCidr::V6(r.pods)),
        ),
        service_subnets: state.ip_family.order(
            AnyCidr::V4(state.ranges.services),
            state.ipv6.map(|r| AnyCidr::V6(r.services)),
        ),
        cgroup_v1: ctx.host.cgroups().layout().is_v1(),
        cgroup_driver,
        components: state.components.clone(),
    })
}

/// How `node` registers: its name, its static addresses (its family's), its labels and limits.
pub fn registration(state: &ClusterState, node: &ClusterNode) -> NodeRegistration {
    let host = ThisHost;
    NodeRegistration {
        name: node.name().to_owned(),
        ips: state.kube_ips(&node.state),
        labels: node.state.settings.labels.clone(),
        kubelet_patch: documents::kubelet_limits_patch(
            &node.state.settings.limits,
            host.memory_bytes(),
            host.cpus(),
        ),
    }
}

/// Writes `file`, the kubeadm patch files and the node's own kubelet patch into the node's
/// /etc/kubeadm-nspawn; returns the file's path inside the node.
pub fn write_node_config(
    node: &ClusterNode,
    patches: &[std::path::PathBuf],
    registration: &NodeRegistration,
    file: &str,
    contents: &str,
) -> Result<String> {
    let dir = Path::new(NODE_CONFIG_DIR);
    let root = node.root()?;
    root.create_dir_all(&dir.join("patches"))?;
    for patch in patches {
        let name = patch.file_name().unwrap_or_default();
        root.copy_in(patch, &dir.join("patches").join(name), 0o644)?;
    }
    if let Some(patch) = &registration.kubelet_patch {
        root.write(
            &dir.join("patches").join(NODE_KUBELET_PATCH),
            patch.as_bytes(),
            0o644,
        )?;
    }
    root.write(&dir.join(file), contents.as_bytes(), 0o600)?;
    Ok(format!("{NODE_CONFIG_DIR}/{file}"))
}
