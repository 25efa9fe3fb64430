//! The KubeletConfiguration (`kubelet.config.k8s.io/v1beta1`) of every node: only what differs
//! from the kubelet's defaults, each field saying why.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeletConfiguration {
    pub api_version: &'static str,
    pub kind: &'static str,
    /// The node's containerd's runc driver: `systemd` on a cgroup v2 host (the node's systemd
    /// owns its subtree), `cgroupfs` on a v1 host (it owns no controller hierarchy).
    pub cgroup_driver: &'static str,
    /// A node sees the host's swap.
    pub fail_swap_on: bool,
    /// Node allocatable is not enforced: the node shares the host's cgroups and memory (a node
    /// with limits gets `[pods]` by its own patch).
    pub enforce_node_allocatable: Vec<String>,
    #[serde(rename = "cgroupsPerQOS")]
    pub cgroups_per_qos: bool,
    /// The host's disk is the node's disk: its fill level must not evict pods ...
    pub eviction_hard: BTreeMap<String, String>,
    /// ... nor garbage-collect pushed images, which no registry could bring back.
    #[serde(rename = "imageGCHighThresholdPercent")]
    pub image_gc_high_threshold_percent: u32,
    #[serde(rename = "imageGCLowThresholdPercent")]
    pub image_gc_low_threshold_percent: u32,
    /// A restarted kubelet (update, start) first reports NotReady until its runtime checks ran,
    /// then Ready at its next status update: 4 s instead of 10 s apart (leases still carry the
    /// heartbeat).
    pub node_status_update_frequency: &'static str,
    /// `false` on a cgroup v1 (or hybrid) host for kubelets that refuse v1 unless told (1.35+,
    /// KEP-4569); absent otherwise (1.31-1.34 have the field, defaulting to false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_cgroup_v1: Option<bool>,
    /// Where the kubelet's health endpoint listens (IPv6's loopback in an IPv6 cluster; None:
    /// the kubelet's 127.0.0.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthz_bind_address: Option<&'static str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub feature_gates: BTreeMap<String, bool>,
}
