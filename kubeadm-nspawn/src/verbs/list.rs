//! `list`: every cluster and its nodes, as their last saved states say, with whether each node
//! runs. Reads only: never waits for a busy cluster.

use std::path::Path;

use serde::Serialize;

use crate::cluster::{self, ClusterNode, Listed};
use crate::error::Result;
use crate::model::layout::ClusterPaths;
use crate::model::state::{ClusterState, NodeState};

/// A cluster as `list` shows it (and `list --json` prints it).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterView {
    pub name: String,
    /// running, stopped, partly stopped, or the verb under way (stopping, starting, updating).
    pub state: String,
    /// ipv4, ipv6 or dual (#31).
    pub ip_family: String,
    /// The node subnets: IPv4, then IPv6 when the cluster has it (comma-separated); the pod and
    /// service ranges Kubernetes has, the primary family's first.
    pub subnet: String,
    pub pod_subnet: String,
    pub service_subnet: String,
    pub bridge: String,
    /// The Kubernetes phase: none, chosen, initializing, initialized.
    pub kubernetes: &'static str,
    /// The step an `init` that did not finish was at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_step: Option<String>,
    /// The verb holding the cluster's lock now (`init (pid 4242)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub busy: Option<String>,
    pub version: Option<String>,
    /// kube-proxy's mode (`none`: no kube-proxy).
    pub kube_proxy_mode: &'static str,
    /// Whose pod network: `default` (kubeadm-nspawn's bridge), `user` (disableDefaultCNI).
    pub pod_network: &'static str,
    pub nodes: Vec<NodeView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeView {
    #[serde(flatten)]
    pub node: NodeState,
    /// Its IPv6 address, when the cluster has IPv6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip6: Option<std::net::Ipv6Addr>,
    pub running: bool,
}

/// A cluster whose state.json cannot be read: its name, and why.
pub type Unreadable = (String, String);

/// The clusters, and those whose state.json cannot be read.
pub fn run(state_dir: &Path) -> Result<(Vec<ClusterView>, Vec<Unreadable>)> {
    let mut views = vec![];
    let mut unreadable = vec![];
    for listed in cluster::list(state_dir)? {
        match listed {
            Listed::Readable(state) => views.push(view(state_dir, &state)),
            Listed::Unreadable { name, error } => unreadable.push((name, error.to_string())),
        }
    }
    Ok((views, unreadable))
}

fn view(state_dir: &Path, state: &ClusterState) -> ClusterView {
    let paths = ClusterPaths::new(state_dir, &state.name);
    let nodes: Vec<NodeView> = state
        .nodes
        .iter()
        .map(|n| NodeView {
            running: ClusterNode::new(&state.name, &paths, n).is_running(),
            ip6: state.node_ip6(n),
            node: n.clone(),
        })
        .collect();
    let running = nodes.iter().filter(|n| n.running).count();
    let lifecycle = match (&state.transition, running) {
        (Some(t), _) => t.to_string(),
        (None, r) if r == nodes.len() => "running".into(),
        (None, 0) => "stopped".into(),
        (None, r) => format!("partly stopped: {r} of {} nodes running", nodes.len()),
    };
    let init_step = match &state.kubernetes {
        crate::model::state::Kubernetes::Initializing { step, .. } => step.clone(),
        _ => None,
    };
    ClusterView {
        name: state.name.to_string(),
        state: lifecycle,
        ip_family: state.ip_family.to_string(),
        subnet: state.node_subnets().join(","),
        pod_subnet: state.pod_subnets().join(","),
        service_subnet: state.service_subnets().join(","),
        bridge: state.name.bridge(),
        kubernetes: state.kubernetes.phase_name(),
        init_step,
        busy: cluster::lock::holder(&paths.lock_file()).map(|h| h.to_string()),
        version: state.kubernetes.binaries().map(|b| b.version.clone()),
        kube_proxy_mode: state.components.kube_proxy_mode.as_str(),
        pod_network: pod_network(&state.components),
        nodes,
    }
}

/// Whose pod network a cluster runs, as `list` and `export logs` name it.
pub fn pod_network(components: &crate::model::settings::ComponentSettings) -> &'static str {
    if components.disable_default_cni {
        "user"
    } else {
        "default"
    }
}
