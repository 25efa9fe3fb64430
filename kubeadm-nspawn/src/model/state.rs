//! `state.json`: what a cluster is made of, written atomically (temp file + rename) after every step
//! that creates something, so `down` after a crash knows what to remove.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClusterState {
    pub name: String,
    pub subnet: String,
    /// The pods' range inside the nodes (older clusters: the default).
    #[serde(default = "default_pod_subnet")]
    pub pod_subnet: String,
    /// The services' range (older clusters: the default).
    #[serde(default = "default_service_subnet")]
    pub service_subnet: String,
    pub bridge: String,
    pub network: String,
    pub masquerade: bool,
    pub image: ImageRef,
    pub nodes: Vec<NodeState>,
    /// Set once Kubernetes binaries are chosen (`up --kube-bin`, `init`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesState>,
    /// What `init` tells the components (feature gates, runtime config, kubeadm patches), from
    /// the config file given to `up`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub components: crate::model::config::ComponentSettings,
}

/// How far `init` got.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum InitPhase {
    /// Binaries chosen by `up`; `init` not run yet.
    Chosen,
    /// `init` started (and is running, or failed part-way).
    Initializing,
    Initialized,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesState {
    pub binaries: crate::kube::binaries::KubeBinaries,
    pub phase: InitPhase,
    /// The user's kubeconfig the cluster's context was merged into (`down` takes it out again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<PathBuf>,
    /// podCIDR of each node, in node order.
    #[serde(default)]
    pub pod_cidrs: Vec<String>,
    /// What each component's binary was when it went into the cluster (by component name:
    /// kubelet, kube-apiserver, ..., etcd, coredns, crictl), for `update`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub fingerprints: std::collections::BTreeMap<String, crate::kube::fingerprint::Fingerprint>,
}

/// The base image, as rootfs-builder reported it (its key keeps `rootfs-builder gc` off it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ImageRef {
    pub key: String,
    pub path: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeState {
    pub name: String,
    pub index: usize,
    pub netns: String,
    pub ip: String,
    pub dir: PathBuf,
    /// PID of `systemd-nspawn` (cnispawn execs into it); None until spawned.
    pub pid: Option<u32>,
    /// cnispawn failed for this node: it removed its own namespace, and whatever is at the name now
    /// (a namespace of someone else's) is not this cluster's to delete.
    #[serde(default)]
    pub network_failed: bool,
    /// Labels, extra mounts and limits from the config file.
    #[serde(default, skip_serializing_if = "is_default")]
    pub settings: crate::model::config::NodeSettings,
    /// What the node is in the cluster. Older state files have none: their first node is the
    /// control plane (see [`ClusterState::load`]).
    #[serde(default)]
    pub role: NodeRole,
}

/// A node's part in the cluster.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NodeRole {
    /// Runs etcd and the control-plane static pods (`kubeadm init`, `kubeadm join --control-plane`).
    ControlPlane,
    #[default]
    Worker,
    /// Not a Kubernetes node: haproxy in front of the control planes' API servers (a cluster
    /// with several control planes has one).
    LoadBalancer,
}

impl NodeRole {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::ControlPlane => "control-plane",
            NodeRole::Worker => "worker",
            NodeRole::LoadBalancer => "load-balancer",
        }
    }
}

impl NodeState {
    /// Whether the node is a Kubernetes node (it runs a kubelet), not the load balancer.
    pub fn is_kubernetes(&self) -> bool {
        self.role != NodeRole::LoadBalancer
    }
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    value == &T::default()
}

fn default_pod_subnet() -> String {
    crate::model::ranges::DEFAULT_POD_SUBNET.into()
}

fn default_service_subnet() -> String {
    crate::model::ranges::DEFAULT_SERVICE_SUBNET.into()
}

impl ClusterState {
    /// The Kubernetes nodes (the load balancer left out), control planes first, in node order.
    pub fn kubernetes_nodes(&self) -> Vec<NodeState> {
        self.nodes
            .iter()
            .filter(|n| n.is_kubernetes())
            .cloned()
            .collect()
    }

    /// The control-plane nodes, the first (where `kubeadm init` ran) first.
    pub fn control_planes(&self) -> Vec<NodeState> {
        self.with_role(NodeRole::ControlPlane)
    }

    /// The nodes that are only workers.
    pub fn workers(&self) -> Vec<NodeState> {
        self.with_role(NodeRole::Worker)
    }

    fn with_role(&self, role: NodeRole) -> Vec<NodeState> {
        self.nodes
            .iter()
            .filter(|n| n.role == role)
            .cloned()
            .collect()
    }

    /// The node `kubeadm init` runs on: the first control plane.
    pub fn first_control_plane(&self) -> Result<&NodeState> {
        self.nodes
            .iter()
            .find(|n| n.role == NodeRole::ControlPlane)
            .ok_or_else(|| Error::CorruptState {
                path: PathBuf::from("state.json"),
                reason: format!("cluster {:?} has no control-plane node", self.name),
            })
    }

    /// The load balancer in front of the API servers (clusters with several control planes).
    pub fn load_balancer(&self) -> Option<&NodeState> {
        self.nodes.iter().find(|n| n.role == NodeRole::LoadBalancer)
    }

    /// Where the API is served: the load balancer's address, or the only control plane's.
    pub fn api_endpoint_ip(&self) -> Result<String> {
        match self.load_balancer() {
            Some(lb) => Ok(lb.ip.clone()),
            None => Ok(self.first_control_plane()?.ip.clone()),
        }
    }

    /// The cluster's three ranges, as recorded.
    pub fn ranges(&self) -> Result<crate::model::ranges::Ranges> {
        use crate::model::ranges::Cidr;
        Ok(crate::model::ranges::Ranges {
            nodes: Cidr::parse(&self.subnet, "subnet")?,
            pods: Cidr::parse(&self.pod_subnet, "pod subnet")?,
            services: Cidr::parse(&self.service_subnet, "service subnet")?,
        })
    }

    /// The cluster as another cluster's collision check sees it (None: no subnet recorded).
    pub fn as_other(&self) -> Option<crate::model::ranges::OtherCluster> {
        Some(crate::model::ranges::OtherCluster {
            name: self.name.clone(),
            nodes: crate::model::ranges::Cidr::parse(&self.subnet, "subnet").ok()?,
            bridge: self.bridge.clone(),
        })
    }

    /// What can be known of a cluster whose state.json is unreadable, from its directory and the
    /// naming rules alone: its nodes (`nodes/<cluster>-n<i>`), their namespaces and cgroups, any
    /// nspawn still running for them, its bridge. Enough for `down` to remove it.
    pub fn recover(
        paths: &crate::model::names::ClusterPaths,
        name: &crate::model::names::ClusterName,
    ) -> Self {
        let recovered = |index: usize, node: String, netns: String, role: NodeRole| NodeState {
            pid: kns_node::process::find_nspawn(&node).ok().flatten(),
            netns,
            ip: String::new(),
            dir: paths.node_dir(&node),
            name: node,
            index,
            network_failed: false,
            settings: Default::default(),
            role,
        };
        let mut nodes: Vec<NodeState> = (0..crate::model::names::MAX_NODES)
            .map(|index| (index, name.node_name(index)))
            .take_while(|(_, node)| paths.node_dir(node).exists())
            .map(|(index, node)| {
                let role = if index == 0 {
                    NodeRole::ControlPlane
                } else {
                    NodeRole::Worker
                };
                recovered(index, node, name.netns(index), role)
            })
            .collect();
        let lb = name.load_balancer_name();
        if paths.node_dir(&lb).exists() {
            nodes.push(recovered(
                nodes.len(),
                lb,
                name.load_balancer_netns(),
                NodeRole::LoadBalancer,
            ));
        }
        ClusterState {
            name: name.to_string(),
            subnet: String::new(),
            pod_subnet: default_pod_subnet(),
            service_subnet: default_service_subnet(),
            bridge: name.bridge(),
            network: name.network(),
            masquerade: false,
            image: ImageRef::default(),
            nodes,
            kubernetes: None,
            components: Default::default(),
        }
    }

    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
        let mut state: ClusterState =
            serde_json::from_slice(&bytes).map_err(|e| Error::CorruptState {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        // Written before nodes had roles: the first node is the one control plane.
        if !state.nodes.iter().any(|n| n.role == NodeRole::ControlPlane) {
            if let Some(first) = state.nodes.first_mut() {
                first.role = NodeRole::ControlPlane;
            }
        }
        Ok(state)
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        kns_plumbing::atomic_file::write(path, &bytes, 0o600)
            .map_err(|e| Error::io("write", path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let state = ClusterState {
            name: "c".into(),
            subnet: "10.22.0.0/16".into(),
            pod_subnet: default_pod_subnet(),
            service_subnet: default_service_subnet(),
            bridge: "kns-c".into(),
            network: "kns-c".into(),
            masquerade: false,
            image: ImageRef {
                key: "k".into(),
                path: "/x".into(),
            },
            nodes: vec![NodeState {
                name: "c-n0".into(),
                index: 0,
                netns: "kns-c-0".into(),
                ip: "10.22.0.10".into(),
                dir: "/d".into(),
                pid: Some(42),
                network_failed: false,
                settings: Default::default(),
                role: NodeRole::ControlPlane,
            }],
            kubernetes: None,
            components: Default::default(),
        };
        state.save(&path).unwrap();
        assert_eq!(ClusterState::load(&path).unwrap(), state);
        assert!(!path.with_extension("json.tmp").exists());
    }

    #[test]
    fn a_state_from_before_roles_has_its_first_node_as_the_control_plane() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let node = |i: usize| {
            format!(
                r#"{{"name":"c-n{i}","index":{i},"netns":"kns-c-{i}","ip":"10.22.0.1{i}","dir":"/d{i}","pid":null}}"#
            )
        };
        std::fs::write(
            &path,
            format!(
                r#"{{"name":"c","subnet":"10.22.0.0/16","bridge":"kns-c","network":"kns-c","masquerade":false,"image":{{"key":"k","path":"/x"}},"nodes":[{},{}]}}"#,
                node(0),
                node(1)
            ),
        )
        .unwrap();
        let state = ClusterState::load(&path).unwrap();
        assert_eq!(state.nodes[0].role, NodeRole::ControlPlane);
        assert_eq!(state.nodes[1].role, NodeRole::Worker);
        assert_eq!(state.first_control_plane().unwrap().name, "c-n0");
        assert_eq!(state.api_endpoint_ip().unwrap(), "10.22.0.10");
        assert!(state.load_balancer().is_none());
    }
}
