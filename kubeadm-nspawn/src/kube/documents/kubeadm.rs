//! kubeadm's own documents, as kubeadm-nspawn writes them: only the fields it sets, named as
//! kubeadm's `kubeadm.k8s.io/v1beta3` and `v1beta4` types name them (the unit tests parse every
//! generated document back into strict copies of those types, `kns-upstream-api`).

use std::collections::BTreeMap;

use serde::Serialize;

/// `extraArgs`-like fields: a map in v1beta3, a list of name/value pairs in v1beta4.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ExtraArgs {
    Map(BTreeMap<String, String>),
    List(Vec<Arg>),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Arg {
    pub name: String,
    pub value: String,
}

impl ExtraArgs {
    pub fn is_empty(&self) -> bool {
        match self {
            ExtraArgs::Map(m) => m.is_empty(),
            ExtraArgs::List(l) => l.is_empty(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitConfiguration {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub bootstrap_tokens: Vec<BootstrapToken>,
    /// With several control planes: the key `--upload-certs` encrypts the control plane's
    /// certificates with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_key: Option<String>,
    #[serde(rename = "localAPIEndpoint")]
    pub local_api_endpoint: ApiEndpoint,
    pub node_registration: NodeRegistrationOptions,
    /// kubeadm init's phases not run (`addon/coredns`, `addon/kube-proxy`): in the document, not
    /// `--skip-phases`, since the flag replaces the document's list whole.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skip_phases: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patches: Option<Patches>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BootstrapToken {
    pub token: String,
    pub ttl: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiEndpoint {
    pub advertise_address: String,
    pub bind_port: u16,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRegistrationOptions {
    pub name: String,
    /// `Some(vec![])` writes `taints: []` (no control-plane taint); None leaves kubeadm's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taints: Option<Vec<Taint>>,
    pub cri_socket: String,
    pub image_pull_policy: &'static str,
    #[serde(skip_serializing_if = "ExtraArgs::is_empty")]
    pub kubelet_extra_args: ExtraArgs,
    pub ignore_preflight_errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Taint {
    pub key: String,
    pub effect: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Patches {
    pub directory: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterConfiguration {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub cluster_name: String,
    pub kubernetes_version: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub feature_gates: BTreeMap<String, bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_algorithm: Option<&'static str>,
    pub control_plane_endpoint: String,
    pub image_repository: String,
    pub etcd: Etcd,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<ImageMeta>,
    pub networking: Networking,
    pub api_server: ApiServer,
    pub controller_manager: ControlPlaneComponent,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<ControlPlaneComponent>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Etcd {
    pub local: ImageMeta,
}

/// Where kubeadm pulls a component's image from (kubeadm's `ImageMeta`, which its local etcd
/// and its DNS both take).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageMeta {
    pub image_repository: String,
    pub image_tag: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Networking {
    pub pod_subnet: String,
    pub service_subnet: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiServer {
    #[serde(rename = "certSANs")]
    pub cert_sans: Vec<String>,
    #[serde(skip_serializing_if = "ExtraArgs::is_empty")]
    pub extra_args: ExtraArgs,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlPlaneComponent {
    #[serde(skip_serializing_if = "ExtraArgs::is_empty")]
    pub extra_args: ExtraArgs,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinConfiguration {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub discovery: Discovery,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<JoinControlPlane>,
    pub node_registration: NodeRegistrationOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patches: Option<Patches>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Discovery {
    pub bootstrap_token: BootstrapTokenDiscovery,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BootstrapTokenDiscovery {
    pub api_server_endpoint: String,
    pub token: String,
    pub ca_cert_hashes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinControlPlane {
    #[serde(rename = "localAPIEndpoint")]
    pub local_api_endpoint: ApiEndpoint,
    pub certificate_key: String,
}
