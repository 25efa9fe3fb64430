//! `kubeadm.k8s.io/v1beta4`, field by field as `cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go`
//! defines it, as the union of the fields of 1.31–1.37; the fields that appeared later are listed
//! in [`CLUSTER_VERSIONED`] and [`UPGRADE_VERSIONED`]. Read by kubeadm from 1.31 (before that,
//! only behind `--allow-experimental-api`).
//!
//! The changes against v1beta3: `extraArgs` and `kubeletExtraArgs` are lists of
//! [`Arg`] (name/value) instead of maps; `extraEnvs`, `dryRun`, `encryptionAlgorithm`,
//! `certificateValidityPeriod`, `caCertificateValidityPeriod`, `dns.disabled`, `proxy`,
//! `nodeRegistration.imagePullSerial`, `timeouts` are new; `apiServer.timeoutForControlPlane` and
//! `discovery.timeout` are gone (now `timeouts.controlPlaneComponentHealthCheck` and
//! `timeouts.discovery`); `ResetConfiguration` and `UpgradeConfiguration` are new kinds.
//!
//! As in [`super::v1beta3`], Go fields without `omitempty` are optional here except the key
//! fields of list elements.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::core::{BootstrapToken, Duration, EnvVar, Taint};
use crate::{Minor, Versioned};

/// The types v1beta4 took over from v1beta3 field for field (the same Go structs and json tags
/// in both `types.go`), defined once.
pub use super::v1beta3::{
    ApiEndpoint, BootstrapTokenDiscovery, FileDiscovery, HostPathMount, ImageMeta,
    JoinControlPlane, Networking, Patches,
};

/// `ClusterConfiguration` fields that came after 1.31:
/// - `etcd.external.httpEndpoints`: kubernetes/kubernetes#134890, listed in CHANGELOG-1.35.md
///   under v1.35.0 ("Kubeadm: Added the `HTTPEndpoints` field to
///   `ClusterConfiguration.Etcd.ExternalEtcd`").
///
/// Every other field of this file is in the 1.31 types (kubernetes/kubernetes 1329935 and the
/// 1.31 v1beta4 reference of kubernetes/website 020646f) and still in 1.37 (fork
/// liggitt/kubernetes 94640da1).
pub const CLUSTER_VERSIONED: &[Versioned] = &[Versioned::since(
    "etcd.external.httpEndpoints",
    Minor(1, 35),
)];

/// `UpgradeConfiguration` fields that differ between minors:
/// - `apply.skipPhases`: in 1.31 the Go field `UpgradeApplyConfiguration.SkipPhases` had no json
///   tag, so its key was `SkipPhases`; the 1.37 types carry `json:"skipPhases,omitempty"`. The
///   fix is taken to come with `kubeadm upgrade apply` phases (kubernetes/kubernetes#126032, in
///   CHANGELOG-1.32.md under v1.32.0-alpha.1); the exact commit that added the tag was not read,
///   so 1.32 is an assumption.
/// - `plan.etcdUpgrade`: not in the 1.31 types (kubernetes/website 020646f's v1beta4 reference),
///   in the 1.37 ones; added with `kubeadm upgrade plan --etcd-upgrade`
///   (kubernetes/kubernetes#130023, February 2025, so the 1.33 cycle; kubernetes/website#50654
///   synced the 1.33 `kubeadm upgrade plan` page with the flag). Read from the PR's dates, not
///   from a CHANGELOG entry.
pub const UPGRADE_VERSIONED: &[Versioned] = &[
    Versioned {
        path: "apply.SkipPhases",
        since: Minor(1, 31),
        removed: Some(Minor(1, 32)),
    },
    Versioned::since("apply.skipPhases", Minor(1, 32)),
    Versioned::since("plan.etcdUpgrade", Minor(1, 33)),
];

/// The values of `ClusterConfiguration.encryptionAlgorithm` and the minor each appeared in:
/// `RSA-2048` (the default), `RSA-3072`, `RSA-4096` and `ECDSA-P256` with v1beta4 in 1.31;
/// `ECDSA-P384` in 1.34 (kubernetes/kubernetes#131677, CHANGELOG-1.34.md under
/// v1.34.0-alpha.1). The `ML-DSA-44/65/87` values of the experimental `kubeadm.k8s.io/v1` (1.37
/// development) are not in v1beta4 as of 1.37 and are refused.
pub const ENCRYPTION_ALGORITHMS: &[(&str, Minor)] = &[
    ("RSA-2048", Minor(1, 31)),
    ("RSA-3072", Minor(1, 31)),
    ("RSA-4096", Minor(1, 31)),
    ("ECDSA-P256", Minor(1, 31)),
    ("ECDSA-P384", Minor(1, 34)),
];

/// `InitConfiguration`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InitConfiguration {
    pub api_version: String,
    pub kind: String,
    pub bootstrap_tokens: Option<Vec<BootstrapToken>>,
    pub dry_run: Option<bool>,
    pub node_registration: Option<NodeRegistrationOptions>,
    #[serde(rename = "localAPIEndpoint")]
    pub local_api_endpoint: Option<ApiEndpoint>,
    pub certificate_key: Option<String>,
    pub skip_phases: Option<Vec<String>>,
    pub patches: Option<Patches>,
    pub timeouts: Option<Timeouts>,
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
    pub proxy: Option<Proxy>,
    pub certificates_dir: Option<String>,
    pub image_repository: Option<String>,
    pub feature_gates: Option<BTreeMap<String, bool>>,
    pub cluster_name: Option<String>,
    /// One of [`ENCRYPTION_ALGORITHMS`] (checked by `kubeadm::parse` per minor).
    pub encryption_algorithm: Option<String>,
    pub certificate_validity_period: Option<Duration>,
    pub ca_certificate_validity_period: Option<Duration>,
}

/// `ControlPlaneComponent`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ControlPlaneComponent {
    pub extra_args: Option<Vec<Arg>>,
    pub extra_volumes: Option<Vec<HostPathMount>>,
    pub extra_envs: Option<Vec<EnvVar>>,
}

/// `APIServer`: `ControlPlaneComponent` inline plus `certSANs` (no `timeoutForControlPlane` any
/// more).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiServer {
    pub extra_args: Option<Vec<Arg>>,
    pub extra_volumes: Option<Vec<HostPathMount>>,
    pub extra_envs: Option<Vec<EnvVar>>,
    #[serde(rename = "certSANs")]
    pub cert_sans: Option<Vec<String>>,
}

/// `DNS`: `ImageMeta` inline plus `disabled`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Dns {
    pub image_repository: Option<String>,
    pub image_tag: Option<String>,
    pub disabled: Option<bool>,
}

/// `Proxy`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Proxy {
    pub disabled: Option<bool>,
}

/// `NodeRegistrationOptions`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeRegistrationOptions {
    pub name: Option<String>,
    #[serde(rename = "criSocket")]
    pub cri_socket: Option<String>,
    /// `json:"taints"` without omitempty: kubeadm prints `taints: null` (which reads as `None`).
    pub taints: Option<Vec<Taint>>,
    pub kubelet_extra_args: Option<Vec<Arg>>,
    pub ignore_preflight_errors: Option<Vec<String>>,
    /// `Always`, `IfNotPresent` or `Never`.
    pub image_pull_policy: Option<String>,
    pub image_pull_serial: Option<bool>,
}

/// `Etcd`: `local` and `external` are mutually exclusive (not checked here).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Etcd {
    pub local: Option<LocalEtcd>,
    pub external: Option<ExternalEtcd>,
}

/// `LocalEtcd`: `ImageMeta` inline.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LocalEtcd {
    pub image_repository: Option<String>,
    pub image_tag: Option<String>,
    pub data_dir: Option<String>,
    pub extra_args: Option<Vec<Arg>>,
    pub extra_envs: Option<Vec<EnvVar>>,
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
    /// Since 1.35 ([`CLUSTER_VERSIONED`]).
    #[serde(rename = "httpEndpoints")]
    pub http_endpoints: Option<Vec<String>>,
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
    pub dry_run: Option<bool>,
    pub node_registration: Option<NodeRegistrationOptions>,
    pub ca_cert_path: Option<String>,
    pub discovery: Option<Discovery>,
    pub control_plane: Option<JoinControlPlane>,
    pub skip_phases: Option<Vec<String>>,
    pub patches: Option<Patches>,
    pub timeouts: Option<Timeouts>,
}

/// `Discovery` (no `timeout` any more: `timeouts.discovery`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Discovery {
    pub bootstrap_token: Option<BootstrapTokenDiscovery>,
    pub file: Option<FileDiscovery>,
    pub tls_bootstrap_token: Option<String>,
}

/// `ResetConfiguration`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResetConfiguration {
    pub api_version: String,
    pub kind: String,
    pub cleanup_tmp_dir: Option<bool>,
    pub certificates_dir: Option<String>,
    #[serde(rename = "criSocket")]
    pub cri_socket: Option<String>,
    pub dry_run: Option<bool>,
    pub force: Option<bool>,
    pub ignore_preflight_errors: Option<Vec<String>>,
    pub skip_phases: Option<Vec<String>>,
    /// `MNT_FORCE`, `MNT_DETACH`, `MNT_EXPIRE` or `UMOUNT_NOFOLLOW`.
    pub unmount_flags: Option<Vec<String>>,
    pub timeouts: Option<Timeouts>,
}

/// `Arg`: one extra argument (duplicates allowed). The experimental `kubeadm.k8s.io/v1`'s
/// `mergeMethod` is not a v1beta4 field.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Arg {
    pub name: String,
    pub value: String,
}

/// `Timeouts`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Timeouts {
    pub control_plane_component_health_check: Option<Duration>,
    pub kubelet_health_check: Option<Duration>,
    #[serde(rename = "kubernetesAPICall")]
    pub kubernetes_api_call: Option<Duration>,
    #[serde(rename = "etcdAPICall")]
    pub etcd_api_call: Option<Duration>,
    pub tls_bootstrap: Option<Duration>,
    pub discovery: Option<Duration>,
    pub upgrade_manifests: Option<Duration>,
}

/// `UpgradeConfiguration`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpgradeConfiguration {
    pub api_version: String,
    pub kind: String,
    pub apply: Option<UpgradeApplyConfiguration>,
    pub diff: Option<UpgradeDiffConfiguration>,
    pub node: Option<UpgradeNodeConfiguration>,
    pub plan: Option<UpgradePlanConfiguration>,
    pub timeouts: Option<Timeouts>,
}

/// `UpgradeApplyConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpgradeApplyConfiguration {
    pub kubernetes_version: Option<String>,
    pub allow_experimental_upgrades: Option<bool>,
    #[serde(rename = "allowRCUpgrades")]
    pub allow_rc_upgrades: Option<bool>,
    pub certificate_renewal: Option<bool>,
    pub dry_run: Option<bool>,
    pub etcd_upgrade: Option<bool>,
    pub force_upgrade: Option<bool>,
    pub ignore_preflight_errors: Option<Vec<String>>,
    pub patches: Option<Patches>,
    pub print_config: Option<bool>,
    /// Since 1.32 ([`UPGRADE_VERSIONED`]).
    pub skip_phases: Option<Vec<String>>,
    /// The same field in 1.31, when it had no json tag (see [`UPGRADE_VERSIONED`]).
    #[serde(rename = "SkipPhases")]
    pub skip_phases_untagged: Option<Vec<String>>,
    pub image_pull_policy: Option<String>,
    pub image_pull_serial: Option<bool>,
}

/// `UpgradeDiffConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpgradeDiffConfiguration {
    pub kubernetes_version: Option<String>,
    /// The Go field is `DiffContextLines`, its key `contextLines`.
    #[serde(rename = "contextLines")]
    pub diff_context_lines: Option<i64>,
}

/// `UpgradeNodeConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpgradeNodeConfiguration {
    pub certificate_renewal: Option<bool>,
    pub dry_run: Option<bool>,
    pub etcd_upgrade: Option<bool>,
    pub ignore_preflight_errors: Option<Vec<String>>,
    pub skip_phases: Option<Vec<String>>,
    pub patches: Option<Patches>,
    pub image_pull_policy: Option<String>,
    pub image_pull_serial: Option<bool>,
}

/// `UpgradePlanConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpgradePlanConfiguration {
    pub kubernetes_version: Option<String>,
    pub allow_experimental_upgrades: Option<bool>,
    #[serde(rename = "allowRCUpgrades")]
    pub allow_rc_upgrades: Option<bool>,
    pub dry_run: Option<bool>,
    /// Since 1.33 ([`UPGRADE_VERSIONED`]).
    pub etcd_upgrade: Option<bool>,
    pub ignore_preflight_errors: Option<Vec<String>>,
    pub print_config: Option<bool>,
}
