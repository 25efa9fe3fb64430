//! `kubeadm.k8s.io/v1beta3`, field by field as `cmd/kubeadm/app/apis/kubeadm/v1beta3/types.go`
//! defines it. Read by kubeadm 1.22–1.36 (deprecated from 1.31, removed in 1.37); the types did
//! not change between 1.28 and the last version before the removal (see [`VERSIONED`]).
//!
//! Go fields without `omitempty` are still optional here (Go's decoding never requires a key,
//! and kubeadm defaults most of them) except inside list elements, where an element without its
//! key fields (an extra volume without `hostPath`, a taint without `key`) is useless; those are
//! required.
//!
//! The types v1beta4 took over unchanged (`APIEndpoint`, `Networking`, `ImageMeta`,
//! `JoinControlPlane`, the discovery types, `HostPathMount`, `Patches`) are defined here only;
//! [`super::v1beta4`] re-exports them.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::core::{BootstrapToken, Duration, Taint};
use crate::Versioned;

/// Fields of v1beta3 that exist only in some minors of 1.28–1.36: none. v1beta3's `types.go`
/// reads the same at kubernetes/kubernetes 428c3fe9 (the 1.28-era version, matching the struct
/// tags in the kubeadm v1.28.7 binary) and in the last snapshot before its removal (fork
/// liggitt/kubernetes 94640da1, 1.37 development): only comments and the TypeMeta tag spelling
/// (`",inline"` → `""`, no effect on decoding) differ.
pub const VERSIONED: &[Versioned] = &[];

/// `InitConfiguration`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InitConfiguration {
    pub api_version: String,
    pub kind: String,
    pub bootstrap_tokens: Option<Vec<BootstrapToken>>,
    pub node_registration: Option<NodeRegistrationOptions>,
    #[serde(rename = "localAPIEndpoint")]
    pub local_api_endpoint: Option<ApiEndpoint>,
    pub certificate_key: Option<String>,
    pub skip_phases: Option<Vec<String>>,
    pub patches: Option<Patches>,
}

/// `ClusterConfiguration`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterConfiguration {
    pub api_version: String,
    pub kind: String,
    pub etcd: Option<Etcd>,
    pub networking: Option<Networking>,
    pub kubernetes_version: Option<String>,
    pub control_plane_endpoint: Option<String>,
    pub api_server: Option<ApiServer>,
    pub controller_manager: Option<ControlPlaneComponent>,
    pub scheduler: Option<ControlPlaneComponent>,
    pub dns: Option<Dns>,
    pub certificates_dir: Option<String>,
    pub image_repository: Option<String>,
    pub feature_gates: Option<BTreeMap<String, bool>>,
    pub cluster_name: Option<String>,
}

/// `ControlPlaneComponent`: `extraArgs` is a string→string map in v1beta3.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ControlPlaneComponent {
    pub extra_args: Option<BTreeMap<String, String>>,
    pub extra_volumes: Option<Vec<HostPathMount>>,
}

/// `APIServer`: `ControlPlaneComponent` inline, plus its own fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiServer {
    pub extra_args: Option<BTreeMap<String, String>>,
    pub extra_volumes: Option<Vec<HostPathMount>>,
    #[serde(rename = "certSANs")]
    pub cert_sans: Option<Vec<String>>,
    pub timeout_for_control_plane: Option<Duration>,
}

/// `DNS`: `ImageMeta` inline.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Dns {
    pub image_repository: Option<String>,
    pub image_tag: Option<String>,
}

/// `ImageMeta` (inlined into `Dns` and `LocalEtcd` of both versions; kept as a type for
/// completeness).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageMeta {
    pub image_repository: Option<String>,
    pub image_tag: Option<String>,
}

/// `APIEndpoint`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiEndpoint {
    pub advertise_address: Option<String>,
    pub bind_port: Option<i32>,
}

/// `NodeRegistrationOptions`: `kubeletExtraArgs` is a string→string map in v1beta3.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeRegistrationOptions {
    pub name: Option<String>,
    #[serde(rename = "criSocket")]
    pub cri_socket: Option<String>,
    /// `json:"taints"` without omitempty: kubeadm prints `taints: null` (which reads as `None`).
    pub taints: Option<Vec<Taint>>,
    pub kubelet_extra_args: Option<BTreeMap<String, String>>,
    pub ignore_preflight_errors: Option<Vec<String>>,
    /// `Always`, `IfNotPresent` or `Never`.
    pub image_pull_policy: Option<String>,
}

/// `Networking`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Networking {
    pub service_subnet: Option<String>,
    pub pod_subnet: Option<String>,
    pub dns_domain: Option<String>,
}

/// `Etcd`: `local` and `external` are mutually exclusive (not checked here).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Etcd {
    pub local: Option<LocalEtcd>,
    pub external: Option<ExternalEtcd>,
}

/// `LocalEtcd`: `ImageMeta` inline; `extraArgs` is a string→string map in v1beta3.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LocalEtcd {
    pub image_repository: Option<String>,
    pub image_tag: Option<String>,
    pub data_dir: Option<String>,
    pub extra_args: Option<BTreeMap<String, String>>,
    #[serde(rename = "serverCertSANs")]
    pub server_cert_sans: Option<Vec<String>>,
    #[serde(rename = "peerCertSANs")]
    pub peer_cert_sans: Option<Vec<String>>,
}

/// `ExternalEtcd`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExternalEtcd {
    pub endpoints: Option<Vec<String>>,
    pub ca_file: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
}

/// `JoinConfiguration`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JoinConfiguration {
    pub api_version: String,
    pub kind: String,
    pub node_registration: Option<NodeRegistrationOptions>,
    pub ca_cert_path: Option<String>,
    pub discovery: Option<Discovery>,
    pub control_plane: Option<JoinControlPlane>,
    pub skip_phases: Option<Vec<String>>,
    pub patches: Option<Patches>,
}

/// `JoinControlPlane`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JoinControlPlane {
    #[serde(rename = "localAPIEndpoint")]
    pub local_api_endpoint: Option<ApiEndpoint>,
    pub certificate_key: Option<String>,
}

/// `Discovery`: v1beta3 still has `timeout` here (v1beta4 moved it to `timeouts.discovery`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Discovery {
    pub bootstrap_token: Option<BootstrapTokenDiscovery>,
    pub file: Option<FileDiscovery>,
    pub tls_bootstrap_token: Option<String>,
    pub timeout: Option<Duration>,
}

/// `BootstrapTokenDiscovery`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BootstrapTokenDiscovery {
    pub token: Option<String>,
    pub api_server_endpoint: Option<String>,
    pub ca_cert_hashes: Option<Vec<String>>,
    #[serde(rename = "unsafeSkipCAVerification")]
    pub unsafe_skip_ca_verification: Option<bool>,
}

/// `FileDiscovery`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FileDiscovery {
    pub kube_config_path: String,
}

/// `HostPathMount`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HostPathMount {
    pub name: String,
    pub host_path: String,
    pub mount_path: String,
    pub read_only: Option<bool>,
    /// A `corev1.HostPathType` (`DirectoryOrCreate`, `File`, ...).
    pub path_type: Option<String>,
}

/// `Patches`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Patches {
    pub directory: Option<String>,
}
