//! The cluster config file (`up --config FILE`, `init --config FILE`): one YAML document,
//! `apiVersion: kubeadm-nspawn/v1alpha1`, `kind: Cluster`, that describes a cluster reproducibly.
//! docs/config.md documents every field; docs/cluster.yaml is a full example.
//!
//! Read in two passes: serde-saphyr (a maintained, safe-Rust YAML parser; serde_yaml is archived)
//! turns the text into a JSON value, then serde_path_to_error deserializes the typed file from it,
//! so an unknown field or a wrong type is reported with its path (`nodes[1].extraMounts[0].readonly`).
//! What the file says is then checked, its relative paths made absolute against the file's
//! directory, and merged with the command line ([`UpFlags`], [`InitFlags`]): a flag given wins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const API_VERSION: &str = "kubeadm-nspawn/v1alpha1";
pub const KIND: &str = "Cluster";

/// What a node's own systemd, journald, containerd and kubelet are left of its memory limit,
/// outside what pods may use (measured: 57-84 MiB RSS on a worker, plus page cache).
pub const NODE_OVERHEAD_BYTES: u64 = 160 << 20;
/// The kubelet's hard eviction threshold for memory on a node with a memory limit.
pub const EVICTION_MEMORY_AVAILABLE: &str = "100Mi";
/// The smallest memory limit a node may get: the control plane alone takes ~350 MiB.
pub const MIN_MEMORY_BYTES: u64 = 512 << 20;

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

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
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

/// A host path bound into a node.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Mount {
    pub host_path: PathBuf,
    pub node_path: PathBuf,
    #[serde(default)]
    pub read_only: bool,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Networking {
    pub subnet: Option<String>,
    pub pod_subnet: Option<String>,
    pub service_subnet: Option<String>,
    pub masquerade: Option<bool>,
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
    pub fn as_str(self) -> &'static str {
        match self {
            ImageMethod::Debootstrap => "debootstrap",
            ImageMethod::Mkosi => "mkosi",
            ImageMethod::Download => "download",
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

/// A node's settings from the file: recorded in its state by `up`.
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
}

impl ComponentSettings {
    /// `A=true,B=false`, as the components' `--feature-gates` flag takes them.
    pub fn feature_gates_flag(&self) -> Option<String> {
        (!self.feature_gates.is_empty()).then(|| {
            self.feature_gates
                .iter()
                .map(|(gate, on)| format!("{gate}={on}"))
                .collect::<Vec<_>>()
                .join(",")
        })
    }

    /// `api/all=true,batch/v2=false`, as kube-apiserver's `--runtime-config` takes it.
    pub fn runtime_config_flag(&self) -> Option<String> {
        (!self.runtime_config.is_empty()).then(|| {
            self.runtime_config
                .iter()
                .map(|(api, value)| format!("{api}={value}"))
                .collect::<Vec<_>>()
                .join(",")
        })
    }
}

/// A config file read and checked, paths absolute.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file's directory: its relative paths were made absolute under it.
    pub dir: PathBuf,
    pub raw: ClusterFile,
    pub nodes: Vec<NodeSettings>,
    /// How many of `nodes` (the first ones) are control planes.
    pub control_planes: usize,
    pub components: ComponentSettings,
}

/// Reads and checks `path`. Every error is one line naming the file and the field's path.
pub fn load(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::InvalidArgument(format!("--config {}: cannot read it: {e}", path.display()))
    })?;
    let base = path
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    parse(&text, &base).map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))
}

/// Parses and checks the text of a config file whose relative paths are under `base`.
pub fn parse(text: &str, base: &Path) -> std::result::Result<Config, String> {
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
                "apiVersion: {other:?} is not supported; this kubeadm-nspawn reads {API_VERSION}"
            ))
        }
        None => return Err(format!("apiVersion: missing (want {API_VERSION})")),
    }
    match value.get("kind").and_then(|v| v.as_str()) {
        Some(KIND) => {}
        other => return Err(format!("kind: {other:?}, want {KIND}")),
    }
    let raw: ClusterFile = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        format!("{path}: {}", e.inner())
    })?;
    check(raw, base)
}

fn check(mut raw: ClusterFile, base: &Path) -> std::result::Result<Config, String> {
    if let Some(name) = &raw.name {
        crate::model::names::ClusterName::new(name).map_err(|e| format!("name: {e}"))?;
    }
    let absolute = |p: &Path| -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    let k = &mut raw.kubernetes;
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
        *p = absolute(p);
    }
    if let Some(image) = &raw.image {
        let download = image.method == ImageMethod::Download;
        if download != image.url.is_some() || (image.sha256.is_some() && !download) {
            return Err(
                "image: url (and sha256) go with method: download, and method: download needs a url"
                    .into(),
            );
        }
    }
    let mut nodes = vec![];
    let mut control_planes = 0;
    for (i, node) in raw.nodes.iter_mut().enumerate() {
        let at = format!("nodes[{i}]");
        let control_plane = node.role.unwrap_or(if i == 0 {
            Role::ControlPlane
        } else {
            Role::Worker
        }) == Role::ControlPlane;
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
        for (key, value) in &node.labels {
            check_label(key, value).map_err(|e| format!("{at}.labels.{key}: {e}"))?;
        }
        let mut seen = vec![];
        for (m, mount) in node.extra_mounts.iter_mut().enumerate() {
            let at = format!("{at}.extraMounts[{m}]");
            mount.host_path = absolute(&mount.host_path);
            check_mount(mount).map_err(|e| format!("{at}: {e}"))?;
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
            .map(|q| check_memory(q).map_err(|e| format!("{at}.memory: {e}")))
            .transpose()?;
        if let Some(cpus) = node.cpus {
            check_cpus(cpus).map_err(|e| format!("{at}.cpus: {e}"))?;
        }
        nodes.push(NodeSettings {
            labels: node.labels.clone(),
            extra_mounts: node.extra_mounts.clone(),
            limits: Limits {
                memory_bytes,
                cpus: node.cpus,
            },
        });
    }
    for gate in raw.feature_gates.keys() {
        if gate.is_empty() || !gate.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!(
                "featureGates.{gate}: a feature gate is a name like InPlacePodVerticalScaling"
            ));
        }
    }
    for (api, value) in &raw.runtime_config {
        if api.is_empty() || api.contains([',', '=', ' ']) || value.contains([',', '=', ' ']) {
            return Err(format!(
                "runtimeConfig.{api}: keys are API groups/versions (api/alpha, batch/v2alpha1), values true or false"
            ));
        }
    }
    let mut kubeadm_patches = vec![];
    let mut file_names = vec![];
    for (i, p) in raw.kubeadm_patches.iter().enumerate() {
        let at = format!("kubeadmPatches[{i}]");
        let patch = match (&p.file, &p.target, &p.patch) {
            (Some(file), None, None) if p.patch_type.is_none() => {
                let file = absolute(file);
                let name = file
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                crate::kube::kubeadm::check_patch_name(&name)
                    .map_err(|e| format!("{at}.file: {e}"))?;
                if !file.is_file() {
                    return Err(format!("{at}.file: {}: no such file", file.display()));
                }
                if file_names.contains(&name) {
                    return Err(format!("{at}.file: a second patch named {name}"));
                }
                file_names.push(name);
                Patch::File(file)
            }
            (None, Some(target), Some(patch)) => {
                if !crate::kube::kubeadm::PATCH_TARGETS.contains(&target.as_str()) {
                    return Err(format!(
                        "{at}.target: {target:?} is not one of {}",
                        crate::kube::kubeadm::PATCH_TARGETS.join(", ")
                    ));
                }
                let patch_type = p.patch_type.clone().unwrap_or_else(|| "strategic".into());
                if !matches!(patch_type.as_str(), "strategic" | "merge" | "json") {
                    return Err(format!(
                        "{at}.type: {patch_type:?} is not strategic, merge or json"
                    ));
                }
                serde_saphyr::from_str::<serde_json::Value>(patch).map_err(|e| {
                    format!(
                        "{at}.patch: not YAML: {}",
                        e.to_string().lines().next().unwrap_or_default()
                    )
                })?;
                Patch::Inline {
                    target: target.clone(),
                    patch_type,
                    patch: patch.clone(),
                }
            }
            _ => {
                return Err(format!(
                    "{at}: either `file: PATH` or `target:` with `patch:` (and optional `type:`)"
                ))
            }
        };
        kubeadm_patches.push(patch);
    }
    if let Some(why) = crate::model::names::control_planes_problem(control_planes, nodes.len())
        .filter(|_| !nodes.is_empty())
    {
        return Err(format!("nodes: {why} control-plane nodes"));
    }
    Ok(Config {
        dir: base.to_path_buf(),
        control_planes: control_planes.max(1),
        components: ComponentSettings {
            feature_gates: raw.feature_gates.clone(),
            runtime_config: raw.runtime_config.clone(),
            kubeadm_patches,
        },
        nodes,
        raw,
    })
}

/// Label keys and values as Kubernetes takes them, and only in namespaces a kubelet may set
/// (NodeRestriction): anything else would make the kubelet refuse to start.
fn check_label(key: &str, value: &str) -> std::result::Result<(), String> {
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

fn check_mount(mount: &Mount) -> std::result::Result<(), String> {
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
    if !mount.host_path.exists() {
        return Err(format!(
            "hostPath: {}: no such file or directory",
            mount.host_path.display()
        ));
    }
    Ok(())
}

/// A Kubernetes memory quantity in bytes: plain bytes, or with a suffix Ki Mi Gi Ti (powers of
/// 1024) or k M G T (powers of 1000).
pub fn parse_memory(quantity: &str) -> std::result::Result<u64, String> {
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
                "{quantity:?}: not a quantity like 2Gi, 1536Mi or 2G"
            ))
        }
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{quantity:?}: not a quantity like 2Gi, 1536Mi or 2G"))?;
    Ok((n * factor as f64) as u64)
}

fn check_memory(quantity: &str) -> std::result::Result<u64, String> {
    let bytes = parse_memory(quantity)?;
    let host = host_memory_bytes();
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

fn check_cpus(cpus: f64) -> std::result::Result<(), String> {
    let host = host_cpus();
    if !(cpus >= 0.1 && cpus <= host as f64) {
        return Err(format!("{cpus}: give 0.1 to {host} (this host's CPUs)"));
    }
    Ok(())
}

/// The host's memory as a node's kubelet sees it: MemTotal of /proc/meminfo (nodes share it).
pub fn host_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(u64::MAX)
}

/// The host's online CPUs, which is what a node's kubelet reports as its capacity.
pub fn host_cpus() -> u64 {
    // SAFETY: sysconf has no side effects.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    n.max(1) as u64
}

/// `up`'s flags that the file can also say (None / false: not given).
#[derive(Debug, Clone, Default)]
pub struct UpFlags {
    pub name: Option<String>,
    pub nodes: Option<usize>,
    pub control_planes: Option<usize>,
    pub subnet: Option<String>,
    pub pod_subnet: Option<String>,
    pub service_subnet: Option<String>,
    pub no_masquerade: bool,
    pub image_method: Option<ImageMethod>,
    pub image_url: Option<String>,
    pub image_sha256: Option<String>,
    pub binaries: Binaries,
}

/// Where the Kubernetes binaries come from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Binaries {
    pub kube_bin: Option<PathBuf>,
    pub kube_root: Option<PathBuf>,
    pub extra_bin: Option<PathBuf>,
    pub version: Option<String>,
}

impl Binaries {
    fn from_file(k: &KubernetesFile) -> Binaries {
        Binaries {
            kube_bin: k.kube_bin.clone(),
            kube_root: k.kube_root.clone(),
            extra_bin: k.extra_bin.clone(),
            version: k.version.clone(),
        }
    }

    /// The flags' choice over the file's: a flag naming the binaries (`--kube-bin`, `--kube-root`,
    /// `--kube-version`) replaces the file's choice whole; `--extra-bin` alone replaces only extraBin.
    fn over(self, file: Binaries) -> Binaries {
        if self.kube_bin.is_some() || self.kube_root.is_some() || self.version.is_some() {
            self
        } else if self.extra_bin.is_some() {
            Binaries {
                extra_bin: self.extra_bin,
                version: None,
                ..file
            }
        } else {
            file
        }
    }

    pub fn given(&self) -> bool {
        self.kube_bin.is_some() || self.kube_root.is_some()
    }
}

/// What `up` is to make: the file and the flags merged, defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct UpRequest {
    pub name: String,
    pub nodes: Vec<NodeSettings>,
    pub control_planes: usize,
    pub subnet: Option<String>,
    pub pod_subnet: String,
    pub service_subnet: String,
    pub masquerade: bool,
    pub image_method: ImageMethod,
    pub image_url: Option<String>,
    pub image_sha256: Option<String>,
    pub binaries: Binaries,
    pub components: ComponentSettings,
}

impl UpFlags {
    /// Merges the flags over `config` (a flag given wins; `--nodes N` keeps the file's first N
    /// nodes' settings and adds plain nodes after them).
    pub fn over(self, config: Option<&Config>) -> UpRequest {
        let raw = config.map(|c| &c.raw);
        let net = raw.map(|r| r.networking.clone()).unwrap_or_default();
        let image = raw.and_then(|r| r.image.clone());
        let mut nodes = config.map(|c| c.nodes.clone()).unwrap_or_default();
        let count = self.nodes.unwrap_or(nodes.len().max(1));
        nodes.resize(count, NodeSettings::default());
        let image_flags_given = self.image_method.is_some() || self.image_url.is_some();
        UpRequest {
            name: self
                .name
                .or_else(|| raw.and_then(|r| r.name.clone()))
                .unwrap_or_else(|| "default".into()),
            nodes,
            control_planes: self
                .control_planes
                .or(config.map(|c| c.control_planes))
                .unwrap_or(1),
            subnet: self.subnet.or(net.subnet),
            pod_subnet: self
                .pod_subnet
                .or(net.pod_subnet)
                .unwrap_or_else(|| crate::model::ranges::DEFAULT_POD_SUBNET.into()),
            service_subnet: self
                .service_subnet
                .or(net.service_subnet)
                .unwrap_or_else(|| crate::model::ranges::DEFAULT_SERVICE_SUBNET.into()),
            masquerade: !self.no_masquerade && net.masquerade.unwrap_or(true),
            image_method: self
                .image_method
                .or(image.as_ref().map(|i| i.method))
                .unwrap_or(ImageMethod::Debootstrap),
            image_url: if image_flags_given {
                self.image_url
            } else {
                image.as_ref().and_then(|i| i.url.clone())
            },
            image_sha256: if image_flags_given {
                self.image_sha256
            } else {
                image.as_ref().and_then(|i| i.sha256.clone())
            },
            binaries: self.binaries.over(
                raw.map(|r| Binaries::from_file(&r.kubernetes))
                    .unwrap_or_default(),
            ),
            components: config.map(|c| c.components.clone()).unwrap_or_default(),
        }
    }
}

/// `init`'s flags that the file can also say.
#[derive(Debug, Clone, Default)]
pub struct InitFlags {
    pub name: Option<String>,
    pub binaries: Binaries,
}

/// What `init` takes from a file given to it: the cluster, the binaries, and what the
/// components are told (which replaces what `up` recorded).
#[derive(Debug, Clone, PartialEq)]
pub struct InitRequest {
    pub name: String,
    pub binaries: Binaries,
    /// None: use what `up` recorded.
    pub components: Option<ComponentSettings>,
    /// Each node's labels (None: what `up` recorded).
    pub labels: Option<Vec<BTreeMap<String, String>>>,
    /// The control planes the file describes (None: the file lists no nodes), checked against
    /// the cluster `up` made.
    pub control_planes: Option<usize>,
}

impl InitFlags {
    pub fn over(self, config: Option<&Config>) -> InitRequest {
        let raw = config.map(|c| &c.raw);
        InitRequest {
            name: self
                .name
                .or_else(|| raw.and_then(|r| r.name.clone()))
                .unwrap_or_else(|| "default".into()),
            binaries: self.binaries.over(
                raw.map(|r| Binaries::from_file(&r.kubernetes))
                    .unwrap_or_default(),
            ),
            components: config.map(|c| c.components.clone()),
            labels: config.map(|c| c.nodes.iter().map(|n| n.labels.clone()).collect()),
            control_planes: config
                .filter(|c| !c.nodes.is_empty())
                .map(|c| c.control_planes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Config {
        parse(text, Path::new("/base")).unwrap()
    }

    fn parse_err(text: &str) -> String {
        parse(text, Path::new("/base")).unwrap_err()
    }

    const HEAD: &str = "apiVersion: kubeadm-nspawn/v1alpha1\nkind: Cluster\n";

    #[test]
    fn a_minimal_file_is_one_default_node() {
        let c = parse_ok(HEAD);
        let up = UpFlags::default().over(Some(&c));
        assert_eq!(up.name, "default");
        assert_eq!(up.nodes, vec![NodeSettings::default()]);
        assert!(up.masquerade);
        assert_eq!(up.image_method, ImageMethod::Debootstrap);
        assert_eq!(up.pod_subnet, crate::model::ranges::DEFAULT_POD_SUBNET);
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_named_by_their_path() {
        let e = parse_err(&format!(
            "{HEAD}nodes:\n- {{}}\n- extraMounts:\n  - hostPath: /tmp\n    nodePath: /src\n    readonly: true\n"
        ));
        assert!(
            e.starts_with("nodes[1].extraMounts[0].readonly: unknown field `readonly`"),
            "{e}"
        );
        let e = parse_err(&format!("{HEAD}nodes:\n- cpus: lots\n"));
        assert!(
            e.starts_with("nodes[0].cpus: invalid type: string \"lots\""),
            "{e}"
        );
        let e = parse_err(&format!("{HEAD}nodez: 3\n"));
        assert!(e.starts_with("nodez: unknown field `nodez`"), "{e}");
        let e = parse_err(&format!("{HEAD}featureGates:\n  Foo: maybe\n"));
        assert!(e.starts_with("featureGates.Foo: invalid type"), "{e}");
        let e = parse_err(&format!(
            "{HEAD}networking:\n  masquerade: false\n  subnet: [1]\n"
        ));
        assert!(
            e.starts_with("networking.subnet: invalid type: sequence"),
            "{e}"
        );
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
        let e = parse_err(&format!("{HEAD}nodes:\n- memory: 100Mi\n"));
        assert_eq!(e, "nodes[0].memory: 100Mi is below the 512Mi a node needs");
        let e = parse_err(&format!("{HEAD}nodes:\n- memory: 1PB\n"));
        assert!(
            e.starts_with("nodes[0].memory: \"1PB\": not a quantity"),
            "{e}"
        );
        let e = parse_err(&format!("{HEAD}nodes:\n- cpus: 0\n"));
        assert!(e.starts_with("nodes[0].cpus: 0: give 0.1 to"), "{e}");
        let e = parse_err(&format!(
            "{HEAD}nodes:\n- {{}}\n- {{}}\n- role: control-plane\n- role: control-plane\n"
        ));
        assert!(
            e.starts_with("nodes[2].role: control-plane nodes come first in the list"),
            "{e}"
        );
        let e = parse_err(&format!("{HEAD}nodes:\n- {{}}\n- role: control-plane\n"));
        assert!(
            e.starts_with("nodes: 2: give an odd number (etcd needs a majority"),
            "{e}"
        );
        let e = parse_err(&format!("{HEAD}nodes:\n- role: worker\n"));
        assert_eq!(e, "nodes[0].role: the first node is a control plane");
        let three = parse(
            &format!("{HEAD}nodes:\n- role: control-plane\n- role: control-plane\n- role: control-plane\n- {{}}\n"),
            Path::new("/base"),
        )
        .unwrap();
        assert_eq!((three.control_planes, three.nodes.len()), (3, 4));
        let up = UpFlags::default().over(Some(&three));
        assert_eq!(up.control_planes, 3);
        let init = InitFlags::default().over(Some(&three));
        assert_eq!(init.control_planes, Some(3));
        let no_nodes = parse(HEAD, Path::new("/base")).unwrap();
        assert_eq!(
            InitFlags::default().over(Some(&no_nodes)).control_planes,
            None
        );
        let flag = UpFlags {
            control_planes: Some(1),
            ..Default::default()
        };
        assert_eq!(flag.over(Some(&three)).control_planes, 1);
        let e = parse_err(&format!(
            "{HEAD}nodes:\n- labels:\n    node-role.kubernetes.io/worker: \"\"\n"
        ));
        assert!(
            e.starts_with("nodes[0].labels.node-role.kubernetes.io/worker: a kubelet may set"),
            "{e}"
        );
        let e = parse_err(&format!("{HEAD}nodes:\n- labels:\n    tier: \"-x\"\n"));
        assert!(e.starts_with("nodes[0].labels.tier: a label value"), "{e}");
        let e = parse_err(&format!(
            "{HEAD}nodes:\n- extraMounts:\n  - hostPath: /tmp\n    nodePath: /var/lib/kubelet/x\n"
        ));
        assert!(e.contains("overlaps /var/lib/kubelet"), "{e}");
        let e = parse_err(&format!(
            "{HEAD}nodes:\n- extraMounts:\n  - hostPath: no/such/dir\n    nodePath: /src\n"
        ));
        assert_eq!(
            e,
            "nodes[0].extraMounts[0]: hostPath: /base/no/such/dir: no such file or directory"
        );
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
        let c = parse(&text, dir.path()).unwrap();
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
        let e = parse(
            &format!("{HEAD}kubeadmPatches:\n- target: kubelet\n  patch: x\n"),
            dir.path(),
        )
        .unwrap_err();
        assert!(
            e.starts_with("kubeadmPatches[0].target: \"kubelet\" is not one of"),
            "{e}"
        );
        let e = parse(
            &format!("{HEAD}kubeadmPatches:\n- file: a.yaml\n  patch: x\n"),
            dir.path(),
        )
        .unwrap_err();
        assert!(e.starts_with("kubeadmPatches[0]: either"), "{e}");
        let e = parse(
            &format!("{HEAD}kubeadmPatches:\n- file: etcd.yaml\n"),
            dir.path(),
        )
        .unwrap_err();
        assert!(e.ends_with("etcd.yaml: no such file"), "{e}");
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
    fn flags_override_the_file() {
        let c = parse_ok(&format!(
            "{HEAD}name: dev\nnodes:\n- labels: {{a: b}}\n- labels: {{c: d}}\n- {{}}\nnetworking:\n  subnet: 10.30.0.0/24\n  masquerade: false\nimage:\n  method: download\n  url: http://x/y.tar\n  sha256: ab\nkubernetes:\n  kubeBin: bin\n  extraBin: /extra\n"
        ));
        let up = UpFlags::default().over(Some(&c));
        assert_eq!(up.name, "dev");
        assert_eq!(up.nodes.len(), 3);
        assert!(!up.masquerade);
        assert_eq!(up.subnet.as_deref(), Some("10.30.0.0/24"));
        assert_eq!(up.image_method, ImageMethod::Download);
        assert_eq!(up.binaries.kube_bin, Some("/base/bin".into()));
        let up = UpFlags {
            name: Some("other".into()),
            nodes: Some(1),
            image_method: Some(ImageMethod::Debootstrap),
            binaries: Binaries {
                extra_bin: Some("/mine".into()),
                ..Default::default()
            },
            ..Default::default()
        }
        .over(Some(&c));
        assert_eq!(up.name, "other");
        assert_eq!(up.nodes.len(), 1);
        assert_eq!(up.nodes[0].labels["a"], "b");
        assert_eq!(
            up.image_url, None,
            "the image flags replace the file's image whole"
        );
        assert_eq!(up.binaries.kube_bin, Some("/base/bin".into()));
        assert_eq!(up.binaries.extra_bin, Some("/mine".into()));
        let up = UpFlags {
            nodes: Some(5),
            binaries: Binaries {
                version: Some("v1.28.7".into()),
                ..Default::default()
            },
            ..Default::default()
        }
        .over(Some(&c));
        assert_eq!(up.nodes.len(), 5);
        assert_eq!(up.nodes[4], NodeSettings::default());
        assert_eq!(
            up.binaries,
            Binaries {
                version: Some("v1.28.7".into()),
                ..Default::default()
            }
        );
        let init = InitFlags::default().over(Some(&c));
        assert_eq!(init.name, "dev");
        assert_eq!(init.labels.unwrap()[1]["c"], "d");
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
        let c = parse(&text, dir.path()).unwrap();
        assert_eq!(c.nodes.len(), 3);
        assert_eq!(c.raw.name.as_deref(), Some("dev"));
        assert_eq!(c.components.kubeadm_patches.len(), 2);
        assert_eq!(c.nodes[1].limits.cpus, Some(1.0));
    }
}
