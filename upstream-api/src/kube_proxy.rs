//! `kubeproxy.config.k8s.io/v1alpha1` `KubeProxyConfiguration`, field by field from upstream
//! `staging/src/k8s.io/kube-proxy/config/v1alpha1/types.go` (mirrored as `kubernetes/kube-proxy`,
//! `config/v1alpha1/types.go`), read at the last patch tag of every minor v0.28.15 … v0.36.3,
//! v0.37.0-beta.0 and the development head after it.
//!
//! The struct is the union of the fields of 1.28–1.37 ([`VERSIONED`]: `nftables` and three
//! conntrack fields came in 1.29, `windowsRunAsService` in 1.31; none was removed). Upstream marks
//! almost nothing `omitempty` here: value fields default to Go's zero value when missing or
//! `null`, pointers are `Option`. The `linux`/`windows` sections and `detectLocal` as a list exist
//! only in the internal `v1alpha2` types, not in the `v1alpha1` that kube-proxy and kubeadm read.
//!
//! [`check_mode`] applies the per-minor rules for `mode` (nftables from 1.29, behind the
//! `NFTablesProxyMode` feature gate until it went GA in 1.33; `kernelspace` only on Windows).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::kubelet::component_base::{
    decode_document, null_default, ClientConnectionConfiguration, Duration, Input,
    LoggingConfiguration,
};
use crate::{Minor, Result, Versioned};

pub const API_VERSION: &str = "kubeproxy.config.k8s.io/v1alpha1";
pub const KIND: &str = "KubeProxyConfiguration";

/// The `KubeProxyConfiguration` of `input` (YAML text, from which the one
/// `KubeProxyConfiguration` document is taken, or a JSON value), decoded strictly and checked
/// against `minor`'s fields ([`VERSIONED`]) and, for a Linux node, its `mode` ([`check_mode`]).
pub fn parse<'a>(input: impl Into<Input<'a>>, minor: Minor) -> Result<KubeProxyConfiguration> {
    let (config, _) = decode_document(input.into(), API_VERSION, KIND, VERSIONED, minor)?;
    check_mode(&config, minor, Os::Linux)?;
    Ok(config)
}

/// The fields that not every minor 1.28–1.37 has.
pub const VERSIONED: &[Versioned] = &[
    Versioned::since("nftables", Minor(1, 29)),
    Versioned::since("conntrack.tcpBeLiberal", Minor(1, 29)),
    Versioned::since("conntrack.udpTimeout", Minor(1, 29)),
    Versioned::since("conntrack.udpStreamTimeout", Minor(1, 29)),
    Versioned::since("logging.options.text", Minor(1, 30)),
    Versioned::since("windowsRunAsService", Minor(1, 31)),
];

/// The node's operating system, for [`check_mode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    Windows,
}

/// The feature gate that guarded `mode: nftables`: alpha (off) in 1.29–1.30, beta (on) in
/// 1.31–1.32, GA and locked on from 1.33 (kubernetes `pkg/features/kube_features.go`).
pub const NFTABLES_GATE: &str = "NFTablesProxyMode";

/// Whether `minor`'s kube-proxy on `os` accepts `config.mode`, as kube-proxy's validation
/// (`pkg/proxy/apis/config/validation`, `validateProxyModeLinux`/`Windows`) decides it: on Linux
/// `""`, `iptables`, `ipvs`, and `nftables` when the `NFTablesProxyMode` gate is on (the
/// document's `featureGates` over the gate's default in that minor); on Windows `""` and
/// `kernelspace`. Setting the gate to false from 1.33 on is refused too (a locked gate).
pub fn check_mode(config: &KubeProxyConfiguration, minor: Minor, os: Os) -> Result<()> {
    let gate = config
        .feature_gates
        .as_ref()
        .and_then(|g| g.get(NFTABLES_GATE))
        .copied();
    if minor < Minor(1, 29) && gate.is_some() {
        return Err(format!(
            "{KIND}: featureGates.{NFTABLES_GATE} does not exist before 1.29 (this is {minor})"
        ));
    }
    if minor >= Minor(1, 33) && gate == Some(false) {
        return Err(format!(
            "{KIND}: featureGates.{NFTABLES_GATE} is GA and locked to true from 1.33 (this is {minor})"
        ));
    }
    let mode = config.mode;
    let ok = match (os, mode) {
        (_, ProxyMode::Unset) => true,
        (Os::Linux, ProxyMode::Iptables | ProxyMode::Ipvs) => true,
        (Os::Linux, ProxyMode::Nftables) => {
            if minor < Minor(1, 29) {
                return Err(format!(
                    "{KIND}: mode \"nftables\" does not exist before 1.29 (this is {minor})"
                ));
            }
            let default_on = minor >= Minor(1, 31);
            if !gate.unwrap_or(default_on) {
                return Err(format!(
                    "{KIND}: mode \"nftables\" needs featureGates.{NFTABLES_GATE}: true in {minor}"
                ));
            }
            true
        }
        (Os::Windows, ProxyMode::Kernelspace) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{KIND}: mode {:?} is not a proxy mode of {os:?} nodes",
            mode.as_str()
        ))
    }
}

/// A warning kube-proxy prints for `config`'s mode in `minor`, if any: `ipvs` is deprecated from
/// 1.35 (Kubernetes' documentation; still accepted through 1.37).
pub fn mode_warning(config: &KubeProxyConfiguration, minor: Minor) -> Option<String> {
    (config.mode == ProxyMode::Ipvs && minor >= Minor(1, 35))
        .then(|| format!("{KIND}: mode \"ipvs\" is deprecated from 1.35 (this is {minor})"))
}

/// `KubeProxyConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubeProxyConfiguration {
    // metav1.TypeMeta
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_gates: Option<BTreeMap<String, bool>>,
    #[serde(default, deserialize_with = "null_default")]
    pub client_connection: ClientConnectionConfiguration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<LoggingConfiguration>,
    #[serde(default, deserialize_with = "null_default")]
    pub hostname_override: String,
    #[serde(default, deserialize_with = "null_default")]
    pub bind_address: String,
    #[serde(default, deserialize_with = "null_default")]
    pub healthz_bind_address: String,
    #[serde(default, deserialize_with = "null_default")]
    pub metrics_bind_address: String,
    #[serde(default, deserialize_with = "null_default")]
    pub bind_address_hard_fail: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub enable_profiling: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub show_hidden_metrics_for_version: String,
    #[serde(default, deserialize_with = "null_default")]
    pub mode: ProxyMode,
    #[serde(default, deserialize_with = "null_default", rename = "iptables")]
    pub iptables: KubeProxyIPTablesConfiguration,
    #[serde(default, deserialize_with = "null_default", rename = "ipvs")]
    pub ipvs: KubeProxyIPVSConfiguration,
    /// Since 1.29.
    #[serde(default, deserialize_with = "null_default", rename = "nftables")]
    pub nftables: KubeProxyNFTablesConfiguration,
    #[serde(default, deserialize_with = "null_default")]
    pub winkernel: KubeProxyWinkernelConfiguration,
    #[serde(default, deserialize_with = "null_default")]
    pub detect_local_mode: LocalMode,
    #[serde(default, deserialize_with = "null_default")]
    pub detect_local: DetectLocalConfiguration,
    #[serde(default, deserialize_with = "null_default", rename = "clusterCIDR")]
    pub cluster_cidr: String,
    /// CIDRs, or `primary` (1.29+), `localhost`/`all` keywords on the 1.37 head.
    #[serde(default, deserialize_with = "null_default")]
    pub node_port_addresses: Vec<String>,
    #[serde(default, rename = "oomScoreAdj")]
    pub oom_score_adj: Option<i32>,
    #[serde(default, deserialize_with = "null_default")]
    pub conntrack: KubeProxyConntrackConfiguration,
    #[serde(default, deserialize_with = "null_default")]
    pub config_sync_period: Duration,
    #[serde(default, deserialize_with = "null_default")]
    pub port_range: String,
    /// Since 1.31 (`omitempty`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows_run_as_service: Option<bool>,
}

/// `ProxyMode` (a string type upstream; these are the values some kube-proxy of 1.28–1.37
/// accepts, see [`check_mode`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProxyMode {
    #[default]
    #[serde(rename = "")]
    Unset,
    #[serde(rename = "iptables")]
    Iptables,
    #[serde(rename = "ipvs")]
    Ipvs,
    #[serde(rename = "nftables")]
    Nftables,
    #[serde(rename = "kernelspace")]
    Kernelspace,
}

impl ProxyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyMode::Unset => "",
            ProxyMode::Iptables => "iptables",
            ProxyMode::Ipvs => "ipvs",
            ProxyMode::Nftables => "nftables",
            ProxyMode::Kernelspace => "kernelspace",
        }
    }
}

/// `LocalMode` (the internal config's constants).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LocalMode {
    #[default]
    #[serde(rename = "")]
    Unset,
    #[serde(rename = "ClusterCIDR")]
    ClusterCidr,
    #[serde(rename = "NodeCIDR")]
    NodeCidr,
    BridgeInterface,
    InterfaceNamePrefix,
}

/// `KubeProxyIPTablesConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubeProxyIPTablesConfiguration {
    #[serde(default)]
    pub masquerade_bit: Option<i32>,
    #[serde(default, deserialize_with = "null_default")]
    pub masquerade_all: bool,
    #[serde(default)]
    pub localhost_node_ports: Option<bool>,
    #[serde(default, deserialize_with = "null_default")]
    pub sync_period: Duration,
    #[serde(default, deserialize_with = "null_default")]
    pub min_sync_period: Duration,
}

/// `KubeProxyIPVSConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubeProxyIPVSConfiguration {
    #[serde(default, deserialize_with = "null_default")]
    pub sync_period: Duration,
    #[serde(default, deserialize_with = "null_default")]
    pub min_sync_period: Duration,
    #[serde(default, deserialize_with = "null_default")]
    pub scheduler: String,
    #[serde(default, deserialize_with = "null_default", rename = "excludeCIDRs")]
    pub exclude_cidrs: Vec<String>,
    #[serde(default, deserialize_with = "null_default", rename = "strictARP")]
    pub strict_arp: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub tcp_timeout: Duration,
    #[serde(default, deserialize_with = "null_default")]
    pub tcp_fin_timeout: Duration,
    #[serde(default, deserialize_with = "null_default")]
    pub udp_timeout: Duration,
}

/// `KubeProxyNFTablesConfiguration` (1.29+).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubeProxyNFTablesConfiguration {
    #[serde(default)]
    pub masquerade_bit: Option<i32>,
    #[serde(default, deserialize_with = "null_default")]
    pub masquerade_all: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub sync_period: Duration,
    #[serde(default, deserialize_with = "null_default")]
    pub min_sync_period: Duration,
}

/// `KubeProxyConntrackConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubeProxyConntrackConfiguration {
    #[serde(default)]
    pub max_per_core: Option<i32>,
    #[serde(default)]
    pub min: Option<i32>,
    #[serde(default)]
    pub tcp_established_timeout: Option<Duration>,
    #[serde(default)]
    pub tcp_close_wait_timeout: Option<Duration>,
    /// Since 1.29.
    #[serde(default, deserialize_with = "null_default")]
    pub tcp_be_liberal: bool,
    /// Since 1.29.
    #[serde(default, deserialize_with = "null_default", rename = "udpTimeout")]
    pub udp_timeout: Duration,
    /// Since 1.29.
    #[serde(
        default,
        deserialize_with = "null_default",
        rename = "udpStreamTimeout"
    )]
    pub udp_stream_timeout: Duration,
}

/// `KubeProxyWinkernelConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubeProxyWinkernelConfiguration {
    #[serde(default, deserialize_with = "null_default")]
    pub network_name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub source_vip: String,
    #[serde(default, deserialize_with = "null_default", rename = "enableDSR")]
    pub enable_dsr: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub root_hns_endpoint_name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub forward_health_check_vip: bool,
}

/// `DetectLocalConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DetectLocalConfiguration {
    #[serde(default, deserialize_with = "null_default")]
    pub bridge_interface: String,
    #[serde(default, deserialize_with = "null_default")]
    pub interface_name_prefix: String,
}

#[cfg(test)]
mod tests;
