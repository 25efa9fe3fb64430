//! The KubeProxyConfiguration (`kubeproxy.config.k8s.io/v1alpha1`) of the cluster.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeProxyConfiguration {
    pub api_version: &'static str,
    pub kind: &'static str,
    /// Written explicitly: kube-proxy 1.37 warns when it is left unset.
    pub mode: &'static str,
    pub conntrack: Conntrack,
    #[serde(rename = "clusterCIDR")]
    pub cluster_cidr: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub feature_gates: BTreeMap<String, bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conntrack {
    /// nf_conntrack_max is not writable from a node: leave the host's value alone.
    pub max_per_core: u32,
}
