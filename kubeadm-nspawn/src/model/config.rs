//! The cluster config file (`up --config FILE`, `init --config FILE`): one YAML document,
//! `apiVersion: kubeadm-nspawn/v1alpha1`, `kind: Cluster`, that describes a cluster reproducibly.
//! docs/config.md documents every field; docs/cluster.yaml is a full example.
//!
//! Read in two passes: serde-saphyr (a maintained, safe-Rust YAML parser; serde_yaml is archived)
//! turns the text into a JSON value, then serde_path_to_error deserializes the typed file from it,
//! so an unknown field or a wrong type is reported with its path (`nodes[1].extraMounts[0].readonly`).
//! What the file says is then checked and its relative paths made absolute against the file's
//! directory; what the host has (paths, memory, CPUs) is asked through [`HostView`], so this module
//! touches nothing itself. Flags are merged over it by the command line (`cli`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::names::{check_control_planes, ClusterName};
use super::settings::{
    ComponentSettings, ImageSource, KubeProxyMode, Limits, Mount, NodeSettings, Patch,
    MIN_MEMORY_BYTES,
};

pub const API_VERSION: &str = "kubeadm-nspawn/v1alpha1";
pub const KIND: &str = "Cluster";

/// What kubeadm's patches may target.
pub const PATCH_TARGETS: &[&str] = &[
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubeletconfiguration",
];

/// A config file, or a patch file, that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `message` names the field's path.
    #[error("{}: {message}", .file.display())]
    File { file: PathBuf, message: String },

    /// A kubeadm patch file named as kubeadm does not read.
    #[error("--kubeadm-patch {name}: {}", if *.extension { "must end in .yaml or .json".to_owned() } else {
        format!(
            "kubeadm patch files are named TARGET[SUFFIX][+strategic|merge|json].yaml with TARGET one of {}",
            PATCH_TARGETS.join(", ")
        )
    })]
    PatchName {
        name: String,
        /// The extension is wrong (else the target or the patch type).
        extension: bool,
    },
}

impl kns_plumbing::report::Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::File { .. } => Some("docs/config.md documents every field".into()),
            Error::PatchName { .. } => None,
        }
    }
}

/// What a config file's check needs to know of the host.
pub trait HostView {
    /// Whether `path` exists (a mount's host path, a patch file).
    fn exists(&self, path: &Path) -> bool;
    /// The host's memory, as a node's kubelet sees it.
    fn memory_bytes(&self) -> u64;
    /// The host's online CPUs.
    fn cpus(&self) -> u64;
}

/// The file as written (field names as in YAML).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterFile {
    pub api_version: String,
    pub kind: String,
    pub name: Option<String>,
    /// One entry per node; the first is the control plane. Absent: one node.
    #[serde(default)]
    pub nodes: Vec<NodeFile>,
    #[serde(default)]
    pub networking: Networking,
    pub image: Option<ImageFile>,
    #[serde(default)]
    pub kubernetes: KubernetesFile,
    #[serde(default)]
    pub kubeadm_patches: Vec<PatchFile>,
    #[serde(default)]
    pub feature_gates: BTreeMap<String, bool>,
    #[serde(default)]
    pub runtime_config: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    ControlPlane,
    Worker,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeFile {
    pub role: Option<Role>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub extra_mounts: Vec<Mount>,
    /// A Kubernetes quantity: `2Gi`, `1536Mi`, `2G`, bytes.
    pub memory: Option<String>,
    /// CPUs the node may use (CFS quota): `1`, `0.5`.
    pub cpus: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Networking {
    /// `ipv4` (default), `ipv6` or `dual` (IPv4 first).
    pub ip_family: Option<super::ranges6::IpFamily>,
    /// The node subnets: an IPv4 one, an IPv6 /64, or both, comma-separated.
    pub subnet: Option<String>,
    pub pod_subnet: Option<String>,
    pub service_subnet: Option<String>,
    pub masquerade: Option<bool>,
    /// Resolvers for the nodes (addresses), instead of the host's.
    #[serde(default)]
    pub dns: Vec<std::net::IpAddr>,
    /// kube-proxy's mode (`iptables` by default), or `none`.
    pub kube_proxy_mode: Option<KubeProxyMode>,
    /// No pod network from kubeadm-nspawn: the user applies their own.
    #[serde(rename = "disableDefaultCNI")]
    pub disable_default_cni: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageFile {
    pub method: ImageMethod,
    pub url: Option<String>,
    pub sha256: Option<String>,
}

/// How rootfs-builder gets the node base image (the file's `image.method`, `up --image-method`).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ImageMethod {
    Debootstrap,
    Mkosi,
    Download,
}

impl ImageMethod {
    /// The source this method with `url` and `sha256` names; None when they do not go together
    /// (a url without download, download without a url).
    pub fn source(self, url: Option<String>, sha256: Option<String>) -> Option<ImageSource> {
        match (self, url) {
            (ImageMethod::Download, Some(url)) => Some(ImageSource::Download { url, sha256 }),
            (ImageMethod::Debootstrap, None) if sha256.is_none() => Some(ImageSource::Debootstrap),
            (ImageMethod::Mkosi, None) if sha256.is_none() => Some(ImageSource::Mkosi),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubernetesFile {
    pub kube_bin: Option<PathBuf>,
    pub kube_root: Option<PathBuf>,
    pub extra_bin: Option<PathBuf>,
    /// A released version (`--kube-version`).
    pub version: Option<String>,
}

/// A kubeadm patch: a file (kubeadm's naming), or inline.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchFile {
    pub file: Option<PathBuf>,
    pub target: Option<String>,
    #[serde(rename = "type")]
    pub patch_type: Option<String>,
    /// The patch itself (YAML or JSON text).
    pub patch: Option<String>,
}

/// A config file read and checked, paths absolute.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file's directory: its relative paths were made absolute under it.
    pub dir: PathBuf,
    pub raw: ClusterFile,
    pub name: Option<ClusterName>,
    pub nodes: Vec<NodeSettings>,
    /// How many of `nodes` (the first ones) are control planes.
    pub control_planes: usize,
    /// The base image the file asks for, if it names one.
    pub image: Option<ImageSource>,
    pub components: ComponentSettings,
}

/// Parses and checks the text of a config file whose relative paths are under `base`. The error
/// is one line, starting with the field's path.
pub fn parse(text: &str, base: &Path, host: &dyn HostView) -> Result<Config, String> {
    let value: serde_json::Value = serde_saphyr::from_str(text).map_err(|e| {
        // saphyr renders a source snippet after its first line: the first line says it all.
        let message = e.to_string();
        let first = message.lines().next().unwrap_or_default();
        first.trim_start_matches("error: ").to_string()
    })?;
    // The version first: a file of another version gets that said, not its fields' errors.
    if !value.is_object() {
        return Err(format!(
            "not a cluster config file (expected a mapping with apiVersion: {API_VERSION}, kind: {KIND})"
        ));
    }
    match value.get("apiVersion").and_then(|v| v.as_str()) {
        Some(API_VERSION) => {}
        Some(other) => {
            return Err(format!(
                "apiVersion: \"{other}\" is not supported; this kubeadm-nspawn reads {API_VERSION}"
            ))
        }
        None => return Err(format!("apiVersion: missing (want {API_VERSION})")),
    }
    match value.get("kind").and_then(|v| v.as_str()) {
        Some(KIND) => {}
        Some(other) => return Err(format!("kind: \"{other}\", want {KIND}")),
        None => return Err(format!("kind: missing (want {KIND})")),
    }
    let raw: ClusterFile = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        format!("{path}: {}", e.inner())
    })?;
    check(raw, base, host)
}

/// `p` made absolute under the file's directory `base`.
fn absolute(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn check(mut raw: ClusterFile, base: &Path, host: &dyn HostView) -> Result<Config, String> {
    let name = raw
        .name
        .as_deref()
        .map(ClusterName::new)
        .transpose()
        .map_err(|e| format!("name: {e}"))?;
    check_kubernetes(&mut raw.kubernetes, base)?;
    let image = raw
        .image
        .clone()
        .map(|i| {
            i.method.source(i.url, i.sha256).ok_or_else(|| {
                "image: url (and sha256) go with method: download, and method: download needs a url"
                    .to_string()
            })
        })
        .transpose()?;
    let (nodes, control_planes) = check_nodes(&mut raw.nodes, base, host)?;
    let components = ComponentSettings {
        feature_gates: check_feature_gates(&raw.feature_gates)?,
        runtime_config: check_runtime_config(&raw.runtime_config)?,
        kubeadm_patches: check_patches(&raw.kubeadm_patches, base, host)?,
        kube_proxy_mode: raw.networking.kube_proxy_mode.unwrap_or_default(),
        disable_default_cni: raw.networking.disable_default_cni.unwrap_or(false),
    };
    Ok(Config {
        dir: base.to_path_buf(),
        name,
        control_planes: control_planes.max(1),
        image,
        components,
        nodes,
        raw,
    })
}

/// One source of binaries, its paths made absolute.
fn check_kubernetes(k: &mut KubernetesFile, base: &Path) -> Result<(), String> {
    if k.kube_bin.is_some() && k.kube_root.is_some() {
        return Err(
            "kubernetes: kubeBin and kubeRoot are two answers to one question: give one".into(),
        );
    }
    if k.version.is_some()
        && (k.kube_bin.is_some() || k.kube_root.is_some() || k.extra_bin.is_some())
    {
        return Err(
            "kubernetes.version: a released version brings all its binaries; drop kubeBin, kubeRoot and extraBin"
                .into(),
        );
    }
    for p in [&mut k.kube_bin, &mut k.kube_root, &mut k.extra_bin]
        .into_iter()
        .flatten()
    {
        *p = absolute(base, p);
    }
    Ok(())
}

/// Each node's settings, control planes first; returns them and how many are control planes.
fn check_nodes(
    nodes: &mut [NodeFile],
    base: &Path,
    host: &dyn HostView,
) -> Result<(Vec<NodeSettings>, usize), String> {
    let mut settings = vec![];
    let mut control_planes = 0;
    for (i, node) in nodes.iter_mut().enumerate() {
        let at = format!("nodes[{i}]");
        let default_role = if i == 0 {
            Role::ControlPlane
        } else {
            Role::Worker
        };
        let control_plane = node.role.unwrap_or(default_role) == Role::ControlPlane;
        match (i, control_plane) {
            (0, false) => return Err(format!("{at}.role: the first node is a control plane")),
            (i, true) if i > control_planes => {
                return Err(format!(
                    "{at}.role: control-plane nodes come first in the list (nodes[{control_planes}] is a worker)"
                ))
            }
            (_, true) => control_planes += 1,
            _ => {}
        }
        settings.push(check_node(node, &at, base, host)?);
    }
    if !settings.is_empty() {
        check_control_planes(control_planes, settings.len())
            .map_err(|e| format!("nodes: {e}").replace("--control-planes ", ""))?;
    }
    Ok((settings, control_planes))
}

fn check_node(
    node: &mut NodeFile,
    at: &str,
    base: &Path,
    host: &dyn HostView,
) -> Result<NodeSettings, String> {
    for (key, value) in &node.labels {
        check_label(key, value).map_err(|e| format!("{at}.labels.{key}: {e}"))?;
    }
    let mut seen = vec![];
    for (m, mount) in node.extra_mounts.iter_mut().enumerate() {
        let at = format!("{at}.extraMounts[{m}]");
        mount.host_path = absolute(base, &mount.host_path);
        check_mount(mount, host).map_err(|e| format!("{at}: {e}"))?;
        if seen.contains(&mount.node_path) {
            return Err(format!(
                "{at}.nodePath: {} is mounted twice",
                mount.node_path.display()
            ));
        }
        seen.push(mount.node_path.clone());
    }
    let memory_bytes = node
        .memory
        .as_deref()
        .map(|q| check_memory(q, host).map_err(|e| format!("{at}.memory: {e}")))
        .transpose()?;
    if let Some(cpus) = node.cpus {
        check_cpus(cpus, host).map_err(|e| format!("{at}.cpus: {e}"))?;
    }
    Ok(NodeSettings {
        labels: node.labels.clone(),
        extra_mounts: node.extra_mounts.clone(),
        limits: Limits {
            memory_bytes,
            cpus: node.cpus,
        },
    })
}

fn check_feature_gates(gates: &BTreeMap<String, bool>) -> Result<BTreeMap<String, bool>, String> {
    for gate in gates.keys() {
        if gate.is_empty() || !gate.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!(
                "featureGates.{gate}: a feature gate is a name like InPlacePodVerticalScaling"
            ));
        }
    }
    Ok(gates.clone())
}

fn check_runtime_config(
    config: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    for (api, value) in config {
        if api.is_empty() || api.contains([',', '=', ' ']) || value.contains([',', '=', ' ']) {
            return Err(format!(
                "runtimeConfig.{api}: keys are API groups/versions (api/alpha, batch/v2alpha1), values true or false"
            ));
        }
    }
    Ok(config.clone())
}

fn check_patches(
    patches: &[PatchFile],
    base: &Path,
    host: &dyn HostView,
) -> Result<Vec<Patch>, String> {
    let mut checked = vec![];
    let mut file_names = vec![];
    for (i, p) in patches.iter().enumerate() {
        let at = format!("kubeadmPatches[{i}]");
        let patch = match (&p.file, &p.target, &p.patch) {
            (Some(file), None, None) if p.patch_type.is_none() => {
                let file = absolute(base, file);
                let name = file
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                check_patch_name(&name).map_err(|e| format!("{at}.file: {e}"))?;
                if !host.exists(&file) {
                    return Err(format!("{at}.file: {}: no such file", file.display()));
                }
                if file_names.contains(&name) {
                    return Err(format!("{at}.file: a second patch named {name}"));
                }
                file_names.push(name);
                Patch::File(file)
            }
            (None, Some(target), Some(patch)) => check_inline_patch(&at, target, p, patch)?,
            _ => {
                return Err(format!(
                    "{at}: either `file: PATH` or `target:` with `patch:` (and optional `type:`)"
                ))
            }
        };
        checked.push(patch);
    }
    Ok(checked)
}

fn check_inline_patch(at: &str, target: &str, p: &PatchFile, patch: &str) -> Result<Patch, String> {
    if !PATCH_TARGETS.contains(&target) {
        return Err(format!(
            "{at}.target: \"{target}\" is not one of {}",
            PATCH_TARGETS.join(", ")
        ));
    }
    let patch_type = p.patch_type.clone().unwrap_or_else(|| "strategic".into());
    if !matches!(patch_type.as_str(), "strategic" | "merge" | "json") {
        return Err(format!(
            "{at}.type: \"{patch_type}\" is not strategic, merge or json"
        ));
    }
    serde_saphyr::from_str::<serde_json::Value>(patch).map_err(|e| {
        format!(
            "{at}.patch: not YAML: {}",
            e.to_string().lines().next().unwrap_or_default()
        )
    })?;
    Ok(Patch::Inline {
        target: target.to_owned(),
        patch_type,
        patch: patch.to_owned(),
    })
}

/// Fails unless `file_name` is named as kubeadm reads patch files: `TARGET[SUFFIX][+PATCHTYPE].EXT`.
pub fn check_patch_name(file_name: &str) -> Result<(), Error> {
    let bad = |extension| Error::PatchName {
        name: file_name.to_owned(),
        extension,
    };
    let stem = file_name
        .strip_suffix(".yaml")
        .or_else(|| file_name.strip_suffix(".json"))
        .ok_or_else(|| bad(true))?;
    let target_part = stem.split('+').next().unwrap_or_default();
    let patch_type = stem.split_once('+').map(|(_, t)| t);
    let named = PATCH_TARGETS.iter().any(|t| target_part.starts_with(t))
        && matches!(patch_type, None | Some("strategic" | "merge" | "json"));
    if named {
        Ok(())
    } else {
        Err(bad(false))
    }
}

/// Label keys and values as Kubernetes takes them, and only in namespaces a kubelet may set
/// (NodeRestriction): anything else would make the kubelet refuse to start.
fn check_label(key: &str, value: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    if !name_ok(name) {
        return Err(
            "a label name is 1-63 characters [A-Za-z0-9-_.], alphanumeric at both ends".into(),
        );
    }
    if let Some(prefix) = prefix {
        let dns = prefix.len() <= 253
            && prefix.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            });
        if !dns {
            return Err("a label prefix is a DNS subdomain (example.com/name)".into());
        }
        let kubernetes = ["kubernetes.io", "k8s.io"]
            .iter()
            .any(|d| prefix == *d || prefix.ends_with(&format!(".{d}")));
        let allowed = ["kubelet.kubernetes.io", "node.kubernetes.io"]
            .iter()
            .any(|d| prefix == *d || prefix.ends_with(&format!(".{d}")));
        if kubernetes && !allowed {
            return Err(
                "a kubelet may set labels under kubernetes.io/k8s.io only in node.kubernetes.io/ and \
                 kubelet.kubernetes.io/ (NodeRestriction); set others with kubectl label"
                    .into(),
            );
        }
    }
    if !value.is_empty() && !name_ok(value) {
        return Err(
            "a label value is empty or 1-63 characters [A-Za-z0-9-_.], alphanumeric at both ends"
                .into(),
        );
    }
    Ok(())
}

/// Paths nspawn binds itself: a mount there would hide or be hidden by them.
const NODE_PATHS_TAKEN: &[&str] = &[
    "/var/lib/containerd",
    "/var/lib/kubelet",
    "/dev/kmsg",
    "/proc",
    "/sys",
    "/dev",
    "/run",
    "/etc/kubeadm-nspawn",
];

fn check_mount(mount: &Mount, host: &dyn HostView) -> Result<(), String> {
    let node = &mount.node_path;
    let text = |p: &Path| p.to_string_lossy().into_owned();
    if !node.is_absolute() || node == Path::new("/") {
        return Err(format!(
            "nodePath: {} is not an absolute path below /",
            node.display()
        ));
    }
    if text(node).contains(':') || text(&mount.host_path).contains(':') {
        return Err("paths with ':' cannot be bound by systemd-nspawn".into());
    }
    if let Some(taken) = NODE_PATHS_TAKEN
        .iter()
        .find(|t| node.starts_with(t) || Path::new(t).starts_with(node))
    {
        return Err(format!(
            "nodePath: {} overlaps {taken}, which every node has of its own",
            node.display()
        ));
    }
    if !host.exists(&mount.host_path) {
        return Err(format!(
            "hostPath: {}: no such file or directory",
            mount.host_path.display()
        ));
    }
    Ok(())
}

/// A Kubernetes memory quantity in bytes: plain bytes, or with a suffix Ki Mi Gi Ti (powers of
/// 1024) or k M G T (powers of 1000).
pub fn parse_memory(quantity: &str) -> Result<u64, String> {
    let q = quantity.trim();
    let split = q
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(q.len());
    let (number, suffix) = q.split_at(split);
    let factor: u64 = match suffix {
        "" => 1,
        "k" => 1000,
        "M" => 1000_u64.pow(2),
        "G" => 1000_u64.pow(3),
        "T" => 1000_u64.pow(4),
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        _ => {
            return Err(format!(
                "\"{quantity}\": not a quantity like 2Gi, 1536Mi or 2G"
            ))
        }
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("\"{quantity}\": not a quantity like 2Gi, 1536Mi or 2G"))?;
    Ok((n * factor as f64) as u64)
}

fn check_memory(quantity: &str, host: &dyn HostView) -> Result<u64, String> {
    let bytes = parse_memory(quantity)?;
    let host = host.memory_bytes();
    if bytes < MIN_MEMORY_BYTES {
        return Err(format!("{quantity} is below the 512Mi a node needs"));
    }
    if bytes > host {
        return Err(format!(
            "{quantity} is more than this host has ({} MiB)",
            host >> 20
        ));
    }
    Ok(bytes)
}

fn check_cpus(cpus: f64, host: &dyn HostView) -> Result<(), String> {
    let host = host.cpus();
    if !(cpus >= 0.1 && cpus <= host as f64) {
        return Err(format!("{cpus}: give 0.1 to {host} (this host's CPUs)"));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// This machine's file system, with a fixed memory and CPU count.
    pub(crate) struct TestHost;

    impl HostView for TestHost {
        fn exists(&self, path: &Path) -> bool {
            path.exists()
        }
        fn memory_bytes(&self) -> u64 {
            24 << 30
        }
        fn cpus(&self) -> u64 {
            2
        }
    }

    fn parse_in(text: &str, base: &Path) -> Result<Config, String> {
        parse(text, base, &TestHost)
    }

    /// `text`, which must be a valid config file, read on [`TestHost`] with its paths under /base.
    pub(crate) fn parse_ok(text: &str) -> Config {
        parse_in(text, Path::new("/base")).unwrap()
    }

    fn parse_err(text: &str) -> String {
        parse_in(text, Path::new("/base")).unwrap_err()
    }

    /// A config file's first lines.
    pub(crate) const HEAD: &str = "apiVersion: kubeadm-nspawn/v1alpha1\nkind: Cluster\n";

    /// Each file of `HEAD` then `body` is refused with an error that starts with `says`.
    fn assert_refused(cases: &[(&str, &str)]) {
        for (body, says) in cases {
            let e = parse_err(&format!("{HEAD}{body}"));
            assert!(e.starts_with(says), "{e}: does not start with {says}");
        }
    }

    #[test]
    fn a_minimal_file_is_one_default_node() {
        let c = parse_ok(HEAD);
        assert_eq!(c.name, None);
        assert!(c.nodes.is_empty());
        assert_eq!(c.control_planes, 1);
        assert_eq!(c.image, None);
        assert_eq!(c.raw.networking, Networking::default());
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_named_by_their_path() {
        assert_refused(&[
            (
                "nodes:\n- {}\n- extraMounts:\n  - hostPath: /tmp\n    nodePath: /src\n    readonly: true\n",
                "nodes[1].extraMounts[0].readonly: unknown field `readonly`",
            ),
            (
                "nodes:\n- cpus: lots\n",
                "nodes[0].cpus: invalid type: string \"lots\"",
            ),
            ("nodez: 3\n", "nodez: unknown field `nodez`"),
            ("featureGates:\n  Foo: maybe\n", "featureGates.Foo: invalid type"),
            (
                "networking:\n  masquerade: false\n  subnet: [1]\n",
                "networking.subnet: invalid type: sequence",
            ),
            (
                "networking:\n  ipFamily: ipv5\n",
                "networking.ipFamily: unknown variant `ipv5`, expected one of `ipv4`, `ipv6`, `dual`",
            ),
        ]);
    }

    #[test]
    fn the_version_and_kind_are_checked_first() {
        let e = parse_err("apiVersion: kind.x-k8s.io/v1alpha4\nkind: Cluster\nnodes: 3\n");
        assert!(
            e.starts_with("apiVersion: \"kind.x-k8s.io/v1alpha4\" is not supported"),
            "{e}"
        );
        assert!(parse_err("kind: Cluster\n").starts_with("apiVersion: missing"));
        assert!(
            parse_err("apiVersion: kubeadm-nspawn/v1alpha1\nkind: Node\n").starts_with("kind:")
        );
        assert!(parse_err("- a\n- b\n").starts_with("not a cluster config file"));
        let e = parse_err("apiVersion: [\n");
        assert!(e.contains("line"), "a syntax error says where: {e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }

    #[test]
    fn node_settings_are_checked() {
        assert_refused(&[
            (
                "nodes:\n- memory: 1PB\n",
                "nodes[0].memory: \"1PB\": not a quantity",
            ),
            ("nodes:\n- cpus: 0\n", "nodes[0].cpus: 0: give 0.1 to"),
            (
                "nodes:\n- {}\n- {}\n- role: control-plane\n- role: control-plane\n",
                "nodes[2].role: control-plane nodes come first in the list",
            ),
            (
                "nodes:\n- {}\n- role: control-plane\n",
                "nodes: 2: give an odd number (etcd needs a majority",
            ),
            (
                "nodes:\n- labels:\n    node-role.kubernetes.io/worker: \"\"\n",
                "nodes[0].labels.node-role.kubernetes.io/worker: a kubelet may set",
            ),
            (
                "nodes:\n- labels:\n    tier: \"-x\"\n",
                "nodes[0].labels.tier: a label value",
            ),
        ]);
        for (body, exactly) in [
            (
                "nodes:\n- memory: 100Mi\n",
                "nodes[0].memory: 100Mi is below the 512Mi a node needs",
            ),
            (
                "nodes:\n- role: worker\n",
                "nodes[0].role: the first node is a control plane",
            ),
            (
                "nodes:\n- extraMounts:\n  - hostPath: no/such/dir\n    nodePath: /src\n",
                "nodes[0].extraMounts[0]: hostPath: /base/no/such/dir: no such file or directory",
            ),
        ] {
            assert_eq!(parse_err(&format!("{HEAD}{body}")), exactly);
        }
        let e = parse_err(&format!(
            "{HEAD}nodes:\n- extraMounts:\n  - hostPath: /tmp\n    nodePath: /var/lib/kubelet/x\n"
        ));
        assert!(e.contains("overlaps /var/lib/kubelet"), "{e}");
        let three = parse_ok(&format!(
            "{HEAD}nodes:\n- role: control-plane\n- role: control-plane\n- role: control-plane\n- {{}}\n"
        ));
        assert_eq!((three.control_planes, three.nodes.len()), (3, 4));
        let c = parse_ok(&format!(
            "{HEAD}nodes:\n- labels: {{tier: front, node.kubernetes.io/pool: a}}\n  memory: 1Gi\n  cpus: 1.5\n  extraMounts:\n  - {{hostPath: /tmp, nodePath: /src, readOnly: true}}\n"
        ));
        let n = &c.nodes[0];
        assert_eq!(
            n.limits,
            Limits {
                memory_bytes: Some(1 << 30),
                cpus: Some(1.5)
            }
        );
        assert_eq!(n.labels["tier"], "front");
        assert_eq!(
            n.extra_mounts[0],
            Mount {
                host_path: "/tmp".into(),
                node_path: "/src".into(),
                read_only: true
            }
        );
    }

    #[test]
    fn patch_files_follow_kubeadms_names() {
        for ok in [
            "kube-apiserver.yaml",
            "kube-apiserver0+merge.yaml",
            "kubeletconfiguration+strategic.json",
            "etcd+json.yaml",
        ] {
            assert!(check_patch_name(ok).is_ok(), "{ok}");
        }
        for bad in ["apiserver.yaml", "kube-apiserver.txt", "etcd+weird.yaml"] {
            assert!(check_patch_name(bad).is_err(), "{bad}");
        }
        let err = check_patch_name("hostname").unwrap_err().to_string();
        assert_eq!(err, "--kubeadm-patch hostname: must end in .yaml or .json");
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_memory("2Gi").unwrap(), 2 << 30);
        assert_eq!(parse_memory("1536Mi").unwrap(), 1536 << 20);
        assert_eq!(parse_memory("2G").unwrap(), 2_000_000_000);
        assert_eq!(parse_memory("1.5Gi").unwrap(), 3 << 29);
        assert_eq!(parse_memory("1048576").unwrap(), 1 << 20);
        assert!(parse_memory("2 GB").is_err());
        assert!(parse_memory("Gi").is_err());
    }

    #[test]
    fn patches_from_files_and_inline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kube-apiserver+json.yaml"), "[]").unwrap();
        let text = format!(
            "{HEAD}kubeadmPatches:\n- file: kube-apiserver+json.yaml\n- target: kube-scheduler\n  patch: |\n    metadata:\n      annotations: {{a: b}}\n"
        );
        let c = parse_in(&text, dir.path()).unwrap();
        assert_eq!(
            c.components.kubeadm_patches,
            vec![
                Patch::File(dir.path().join("kube-apiserver+json.yaml")),
                Patch::Inline {
                    target: "kube-scheduler".into(),
                    patch_type: "strategic".into(),
                    patch: "metadata:\n  annotations: {a: b}\n".into()
                }
            ]
        );
        let e = parse_in(
            &format!("{HEAD}kubeadmPatches:\n- target: kubelet\n  patch: x\n"),
            dir.path(),
        )
        .unwrap_err();
        assert!(
            e.starts_with("kubeadmPatches[0].target: \"kubelet\" is not one of"),
            "{e}"
        );
        let e = parse_in(
            &format!("{HEAD}kubeadmPatches:\n- file: a.yaml\n  patch: x\n"),
            dir.path(),
        )
        .unwrap_err();
        assert!(e.starts_with("kubeadmPatches[0]: either"), "{e}");
        let e = parse_in(
            &format!("{HEAD}kubeadmPatches:\n- file: etcd.yaml\n"),
            dir.path(),
        )
        .unwrap_err();
        assert!(e.ends_with("etcd.yaml: no such file"), "{e}");
    }

    #[test]
    fn the_proxy_mode_and_the_default_cni_are_networking_fields() {
        let c = parse_ok(&format!(
            "{HEAD}networking:\n  kubeProxyMode: nftables\n  disableDefaultCNI: true\n"
        ));
        assert_eq!(c.components.kube_proxy_mode, KubeProxyMode::Nftables);
        assert!(c.components.disable_default_cni);
        let plain = parse_ok(HEAD);
        assert_eq!(plain.components.kube_proxy_mode, KubeProxyMode::Iptables);
        assert!(!plain.components.disable_default_cni);
        let e = parse_err(&format!("{HEAD}networking:\n  kubeProxyMode: userspace\n"));
        assert!(
            e.starts_with("networking.kubeProxyMode: unknown variant `userspace`"),
            "{e}"
        );
        let e = parse_err(&format!("{HEAD}networking:\n  disableDefaultCni: true\n"));
        assert!(
            e.starts_with("networking.disableDefaultCni: unknown field"),
            "{e}"
        );
    }

    #[test]
    fn feature_gates_and_runtime_config_become_flags() {
        let c = parse_ok(&format!(
            "{HEAD}featureGates:\n  InPlacePodVerticalScaling: true\n  Foo: false\nruntimeConfig:\n  resource.k8s.io/v1alpha2: \"true\"\n"
        ));
        assert_eq!(
            c.components.feature_gates_flag().unwrap(),
            "Foo=false,InPlacePodVerticalScaling=true"
        );
        assert_eq!(
            c.components.runtime_config_flag().unwrap(),
            "resource.k8s.io/v1alpha2=true"
        );
        assert!(parse_err(&format!("{HEAD}featureGates:\n  a=b: true\n"))
            .starts_with("featureGates.a=b"));
    }

    #[test]
    fn the_example_in_docs_is_valid() {
        let text = include_str!("../../../docs/cluster.yaml");
        // Its host paths are the user's: it is read with them made to exist.
        let dir = tempfile::tempdir().unwrap();
        let text = text
            .replace("/home/me/src/app", dir.path().to_str().unwrap())
            .replace("/var/tmp/dev-volumes", dir.path().to_str().unwrap());
        std::fs::create_dir(dir.path().join("patches")).unwrap();
        std::fs::write(
            dir.path().join("patches/kube-apiserver+strategic.yaml"),
            "{}",
        )
        .unwrap();
        let c = parse_in(&text, dir.path()).unwrap();
        assert_eq!(c.nodes.len(), 3);
        assert_eq!(c.name.as_ref().map(|n| n.as_str()), Some("dev"));
        assert_eq!(c.components.kubeadm_patches.len(), 2);
        assert_eq!(c.nodes[1].limits.cpus, Some(1.0));
    }
}
