//! What a cluster's config file (or flags) say of its nodes and components, as `up` records it in
//! the cluster's state and `init` uses it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What a node memory limit leaves to the node's own systemd, journald, containerd and kubelet,
/// outside what pods may use (measured: 57-84 MiB RSS on a worker, plus page cache).
pub const NODE_OVERHEAD_BYTES: u64 = 160 << 20;
/// The kubelet's hard eviction threshold for memory on a node with a memory limit.
pub const EVICTION_MEMORY_AVAILABLE: &str = "100Mi";
/// The smallest memory limit a node may get: the control plane alone takes ~350 MiB.
pub const MIN_MEMORY_BYTES: u64 = 512 << 20;

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

/// A host path bound into a node.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Mount {
    pub host_path: PathBuf,
    pub node_path: PathBuf,
    #[serde(default)]
    pub read_only: bool,
}

/// A node's labels, extra mounts and limits.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeSettings {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_mounts: Vec<Mount>,
    #[serde(default, skip_serializing_if = "Limits::is_none")]
    pub limits: Limits,
}

/// A node's resource limits, enforced by its cgroups and told to its kubelet.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
}

impl Limits {
    pub fn is_none(&self) -> bool {
        self.memory_bytes.is_none() && self.cpus.is_none()
    }
}

/// A kubeadm patch, checked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub enum Patch {
    /// An absolute path to a file named as kubeadm wants.
    File(PathBuf),
    Inline {
        target: String,
        patch_type: String,
        patch: String,
    },
}

/// How kube-proxy routes Services (the file's `networking.kubeProxyMode`, `up --kube-proxy-mode`):
/// one of its modes, or `none` for no kube-proxy at all (a pod network that replaces it).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum KubeProxyMode {
    #[default]
    Iptables,
    Ipvs,
    Nftables,
    None,
}

impl KubeProxyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            KubeProxyMode::Iptables => "iptables",
            KubeProxyMode::Ipvs => "ipvs",
            KubeProxyMode::Nftables => "nftables",
            KubeProxyMode::None => "none",
        }
    }
}

impl std::fmt::Display for KubeProxyMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the cluster's components are told: recorded by `up`, used by `init`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSettings {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub feature_gates: BTreeMap<String, bool>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub runtime_config: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kubeadm_patches: Vec<Patch>,
    /// kube-proxy's mode; `none`: kubeadm's kube-proxy addon is skipped.
    #[serde(default, skip_serializing_if = "is_default")]
    pub kube_proxy_mode: KubeProxyMode,
    /// No pod network from kubeadm-nspawn (no CNI config, no pod routes): the user applies one,
    /// and the nodes are NotReady until then.
    #[serde(
        default,
        rename = "disableDefaultCNI",
        skip_serializing_if = "is_default"
    )]
    pub disable_default_cni: bool,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    value == &T::default()
}

impl ComponentSettings {
    /// `A=true,B=false`, as the components' `--feature-gates` flag takes them.
    pub fn feature_gates_flag(&self) -> Option<String> {
        key_values_flag(&self.feature_gates)
    }

    /// `api/all=true,batch/v2=false`, as kube-apiserver's `--runtime-config` takes it.
    pub fn runtime_config_flag(&self) -> Option<String> {
        key_values_flag(&self.runtime_config)
    }
}

/// `KEY=VALUE,...` of `map`, as a component's map flag takes it; none when it is empty.
fn key_values_flag<V: std::fmt::Display>(map: &BTreeMap<String, V>) -> Option<String> {
    (!map.is_empty()).then(|| {
        map.iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// How rootfs-builder gets the node base image (the file's `image`, `up --image-method`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ImageSource {
    #[default]
    Debootstrap,
    Mkosi,
    /// A root filesystem tarball, checked against its sha256 when given.
    Download {
        url: String,
        sha256: Option<String>,
    },
}

impl ImageSource {
    /// The arguments of `rootfs-builder build` for this source.
    pub fn builder_args(&self) -> Vec<String> {
        match self {
            ImageSource::Debootstrap => vec!["--method".into(), "debootstrap".into()],
            ImageSource::Mkosi => vec!["--method".into(), "mkosi".into()],
            ImageSource::Download { url, sha256 } => {
                let mut args = vec![
                    "--method".into(),
                    "download".into(),
                    "--url".into(),
                    url.clone(),
                ];
                if let Some(sum) = sha256 {
                    args.extend(["--sha256".into(), sum.clone()]);
                }
                args
            }
        }
    }
}
