//! kubeadm's configuration for a cluster of nspawn nodes, as serde types written to YAML:
//! InitConfiguration + ClusterConfiguration + KubeletConfiguration + KubeProxyConfiguration for
//! the first control plane, a JoinConfiguration for every other node. Everything a node would
//! otherwise guess or pull is explicit: the version, the node addresses, the private image
//! repository and tags, the ranges. What differs between minors is asked of [`Minor`].

pub mod kube_proxy;
pub mod kubeadm;
pub mod kubelet;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use kns_node::containerd::CgroupDriver;

use self::kubeadm::{
    ApiEndpoint, ApiServer, Arg, BootstrapToken, BootstrapTokenDiscovery, ClusterConfiguration,
    ControlPlaneComponent, Discovery, Etcd, ExtraArgs, ImageMeta, InitConfiguration,
    JoinConfiguration, JoinControlPlane, Networking, NodeRegistrationOptions, Patches,
};
use super::minor::{KubeadmApi, Minor};
use super::proxy_mode;
use crate::model::names::ClusterName;
use crate::model::ranges6::{AnyCidr, IpFamily};
use crate::model::settings::{
    ComponentSettings, KubeProxyMode, Limits, EVICTION_MEMORY_AVAILABLE, NODE_OVERHEAD_BYTES,
};

pub const CRI_SOCKET: &str = "unix:///run/containerd/containerd.sock";
/// Where the configuration and patches go inside a node.
pub const NODE_CONFIG_DIR: &str = "/etc/kubeadm-nspawn";
/// The repository every synthesized image is named under: it resolves nowhere, so a missing
/// image can never turn into a pull.
pub const REPOSITORY: &str = "kubeadm-nspawn.local";
/// The API servers' port.
pub const API_PORT: u16 = 6443;
/// The node's own KubeletConfiguration patch (its limits), named to sort after the user's.
pub const NODE_KUBELET_PATCH: &str = "kubeletconfigurationzz-node-limits+merge.json";

/// What the documents are made from: the cluster as `init` knows it.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub cluster_name: ClusterName,
    /// `kubeadm version -o short`.
    pub kubernetes_version: String,
    pub minor: Minor,
    /// The first control plane's address of the primary family (where `kubeadm init` runs, what
    /// its API server advertises).
    pub control_plane_ip: IpAddr,
    /// Where the API is reached (kubeadm's controlPlaneEndpoint): the load balancer's address,
    /// or the one control plane's, on the IPv4 node subnet every family has (the host's
    /// kubeconfig and the load balancer use it).
    pub endpoint_ip: Ipv4Addr,
    /// The families Kubernetes speaks: the bind addresses of the control plane and the kubelet.
    pub ip_family: IpFamily,
    /// With several control planes: the key `kubeadm init --upload-certs` encrypts the control
    /// plane's certificates with (in the kubeadm-certs Secret, deleted by kubeadm after 2 h) and
    /// `kubeadm join --control-plane` decrypts them with.
    pub certificate_key: Option<String>,
    /// The cluster has no workers: its control planes run the pods too, without kubeadm's
    /// `node-role.kubernetes.io/control-plane:NoSchedule` taint (as kind does).
    pub untainted_control_planes: bool,
    pub etcd_tag: String,
    /// None: kubeadm skips the CoreDNS addon.
    pub coredns_tag: Option<String>,
    pub token: String,
    /// Whether kubeadm patch files go into the nodes' patches directory.
    pub patches: bool,
    /// The pod ranges, the primary family's first (one for each family).
    pub pod_subnets: Vec<AnyCidr>,
    /// The service ranges, in the same order.
    pub service_subnets: Vec<AnyCidr>,
    /// The host (and so the nodes) runs cgroup v1 (or hybrid).
    pub cgroup_v1: bool,
    /// Who owns the pod cgroups: what every node's containerd was configured with
    /// ([`crate::host::cgroup::Layout::cgroup_driver`]), so the kubelet's must be the same.
    pub cgroup_driver: CgroupDriver,
    /// Feature gates and runtime config for every component (the config file's).
    pub components: ComponentSettings,
}

/// Ranges or addresses as Kubernetes takes a list of them: comma-joined, in order.
fn joined<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl NodeRegistration {
    /// Its address of the primary family (what a control plane advertises).
    fn primary_ip(&self) -> String {
        self.ips
            .first()
            .map(ToString::to_string)
            .unwrap_or_default()
    }
}

impl ClusterConfig {
    /// The loopback address components bind to when they serve only the node itself: IPv6's in
    /// an IPv6 cluster, else kubeadm's own default (IPv4's; None: left to kubeadm).
    fn loopback(&self) -> Option<&'static str> {
        (self.ip_family == IpFamily::Ipv6).then_some("::1")
    }

    fn api(&self) -> KubeadmApi {
        self.minor.kubeadm_api()
    }

    /// `args` (name, value) as the API version writes extra arguments.
    fn extra_args(&self, args: &[(&str, String)]) -> ExtraArgs {
        match self.api() {
            KubeadmApi::V1beta3 => ExtraArgs::Map(
                args.iter()
                    .map(|(n, v)| ((*n).to_owned(), v.clone()))
                    .collect(),
            ),
            KubeadmApi::V1beta4 => ExtraArgs::List(
                args.iter()
                    .map(|(n, v)| Arg {
                        name: (*n).to_owned(),
                        value: v.clone(),
                    })
                    .collect(),
            ),
        }
    }

    /// The kubelet must be told to run on this cgroup v1 host: it refuses v1 from 1.35 unless
    /// `failCgroupV1: false` (KEP-4569; before 1.35 that is its default, and the field is left
    /// out), and kubeadm's SystemVerification fails on v1 from 1.35 too.
    pub fn allows_cgroup_v1(&self) -> bool {
        self.cgroup_v1 && self.minor.refuses_cgroup_v1()
    }

    /// The one line `init` prints when [`ClusterConfig::allows_cgroup_v1`].
    pub fn cgroup_v1_warning(&self) -> Option<String> {
        self.allows_cgroup_v1().then(|| {
            format!(
                "warning: Kubernetes {} on a cgroup v1 host: failCgroupV1 set false and \
                 SystemVerification ignored; cgroup v1 is deprecated upstream (kubelets refuse it \
                 from 1.35 unless told)",
                self.minor
            )
        })
    }

    /// The preflight checks that cannot pass inside an nspawn node, each for a reason of the
    /// node, not of the cluster: everything else kubeadm checks must pass.
    pub fn ignored_preflight_errors(&self) -> Vec<String> {
        // No kernel config or modules are visible in a node (/proc/config.gz, /lib/modules), in
        // any minor (DESIGN.md §7.1, measured); from 1.35 a cgroup v1 host is this check's error
        // too ([`ClusterConfig::allows_cgroup_v1`]).
        let mut ignored = vec!["SystemVerification".to_owned()];
        // A node sees the host's swap; the kubelet runs with failSwapOn: false.
        ignored.push("Swap".into());
        if self.minor.checks_bridge_nf_call() {
            // br_netfilter's sysctls are not visible in a node's network namespace.
            ignored.push("FileContent--proc-sys-net-bridge-bridge-nf-call-iptables".into());
            if self.ip_family == IpFamily::Ipv6 {
                // Its IPv6 twin, checked when the control plane advertises an IPv6 address.
                ignored.push("FileContent--proc-sys-net-bridge-bridge-nf-call-ip6tables".into());
            }
        }
        ignored
    }
}

/// How one node registers with the cluster.
#[derive(Debug, Clone)]
pub struct NodeRegistration {
    pub name: String,
    /// Its addresses, the primary family's first (both in dual-stack): the kubelet's node-ip.
    pub ips: Vec<IpAddr>,
    /// The kubelet's `--node-labels`.
    pub labels: BTreeMap<String, String>,
    /// This node's own KubeletConfiguration patch (its limits), a JSON merge patch.
    pub kubelet_patch: Option<String>,
}

/// How a node joins: as a worker, or as another control plane (stacked etcd; its certificates
/// from the kubeadm-certs Secret `kubeadm init --upload-certs` made).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinAs {
    Worker,
    ControlPlane,
}

/// A document could not be written as YAML (a bug: every field is a plain value).
#[derive(Debug, thiserror::Error)]
#[error("writing {what} as YAML: {message}")]
pub struct Unwritable {
    pub what: &'static str,
    pub message: String,
}

fn yaml(what: &'static str, document: &impl serde::Serialize) -> Result<String, Unwritable> {
    serde_saphyr::to_string(document).map_err(|e| Unwritable {
        what,
        message: e.to_string(),
    })
}

/// The configuration `kubeadm init --config` reads on the first node: four documents, three
/// without kube-proxy (its addon skipped).
pub fn init_config(config: &ClusterConfig, node: &NodeRegistration) -> Result<String, Unwritable> {
    let mut documents = vec![
        yaml("InitConfiguration", &init_configuration(config, node))?,
        yaml("ClusterConfiguration", &cluster_configuration(config))?,
        yaml("KubeletConfiguration", &kubelet_configuration(config))?,
    ];
    if let Some(proxy) = kube_proxy_configuration(config) {
        documents.push(yaml("KubeProxyConfiguration", &proxy)?);
    }
    Ok(documents.join("---\n"))
}

impl ClusterConfig {
    /// The phases of `kubeadm init` it does not run: CoreDNS without its image, kube-proxy
    /// with `kubeProxyMode: none` (for a pod network that replaces it).
    pub fn skip_phases(&self) -> Vec<&'static str> {
        let mut phases = vec![];
        if self.coredns_tag.is_none() {
            phases.push("addon/coredns");
        }
        if self.components.kube_proxy_mode == KubeProxyMode::None {
            phases.push("addon/kube-proxy");
        }
        phases
    }
}

/// The configuration `kubeadm join --config` reads on a node: discovery by bootstrap token
/// through the API endpoint, pinned to the cluster CA by its public key hash (never
/// unsafe-skip).
pub fn join_config(
    config: &ClusterConfig,
    ca_cert_hash: &str,
    node: &NodeRegistration,
    join_as: JoinAs,
) -> Result<String, Unwritable> {
    let control_plane = match (join_as, &config.certificate_key) {
        (JoinAs::ControlPlane, Some(key)) => Some(JoinControlPlane {
            local_api_endpoint: ApiEndpoint {
                advertise_address: node.primary_ip(),
                bind_port: API_PORT,
            },
            certificate_key: key.clone(),
        }),
        _ => None,
    };
    let untainted = join_as == JoinAs::ControlPlane && config.untainted_control_planes;
    yaml(
        "JoinConfiguration",
        &JoinConfiguration {
            api_version: config.api().api_version(),
            kind: "JoinConfiguration",
            discovery: Discovery {
                bootstrap_token: BootstrapTokenDiscovery {
                    api_server_endpoint: format!("{}:{API_PORT}", config.endpoint_ip),
                    token: config.token.clone(),
                    ca_cert_hashes: vec![ca_cert_hash.to_owned()],
                },
            },
            control_plane,
            node_registration: node_registration(config, node, untainted),
            patches: patches(config, node),
        },
    )
}

fn init_configuration(config: &ClusterConfig, node: &NodeRegistration) -> InitConfiguration {
    InitConfiguration {
        api_version: config.api().api_version(),
        kind: "InitConfiguration",
        bootstrap_tokens: vec![BootstrapToken {
            token: config.token.clone(),
            ttl: "24h0m0s".into(),
        }],
        certificate_key: config.certificate_key.clone(),
        local_api_endpoint: ApiEndpoint {
            advertise_address: config.control_plane_ip.to_string(),
            bind_port: API_PORT,
        },
        node_registration: node_registration(config, node, config.untainted_control_planes),
        skip_phases: config.skip_phases(),
        patches: patches(config, node),
    }
}

fn node_registration(
    config: &ClusterConfig,
    node: &NodeRegistration,
    untainted: bool,
) -> NodeRegistrationOptions {
    // Without node-ip a node has no InternalIP kubectl exec/logs can reach; in dual-stack both
    // addresses, the primary family's first, so the Node has an InternalIP of each.
    let mut args = vec![("node-ip", joined(&node.ips))];
    if !node.labels.is_empty() {
        let labels: Vec<String> = node
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        args.push(("node-labels", labels.join(",")));
    }
    NodeRegistrationOptions {
        name: node.name.clone(),
        // No workers: the control planes run the pods too.
        taints: untainted.then(Vec::new),
        cri_socket: CRI_SOCKET.into(),
        // Images are pushed into the node beforehand; there is no registry to pull from.
        image_pull_policy: "Never",
        kubelet_extra_args: config.extra_args(&args),
        ignore_preflight_errors: config.ignored_preflight_errors(),
    }
}

fn patches(config: &ClusterConfig, node: &NodeRegistration) -> Option<Patches> {
    (config.patches || node.kubelet_patch.is_some()).then(|| Patches {
        directory: format!("{NODE_CONFIG_DIR}/patches"),
    })
}

/// The subject alternative names of the API servers' certificates: the first control plane,
/// the endpoint, loopback; each once.
fn cert_sans(config: &ClusterConfig) -> Vec<String> {
    let mut sans: Vec<String> = vec![];
    for san in [
        config.control_plane_ip.to_string(),
        config.endpoint_ip.to_string(),
        "127.0.0.1".into(),
        "localhost".into(),
    ] {
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    sans
}

fn cluster_configuration(config: &ClusterConfig) -> ClusterConfiguration {
    let gates = config.components.feature_gates_flag();
    let gates_arg = gates.map(|g| ("feature-gates", g));
    let runtime_arg = config
        .components
        .runtime_config_flag()
        .map(|r| ("runtime-config", r));
    let api_server_args: Vec<(&str, String)> =
        gates_arg.clone().into_iter().chain(runtime_arg).collect();
    let mut controller_manager_args = controller_manager_args();
    controller_manager_args.extend(gates_arg.clone());
    // In an IPv6 cluster the controller-manager and the scheduler serve (health, metrics) on
    // IPv6's loopback; kubeadm's probes follow the bind address.
    let bind = config.loopback().map(|ip| ("bind-address", ip.to_owned()));
    controller_manager_args.extend(bind.clone());
    let scheduler_args: Vec<(&str, String)> = gates_arg.clone().into_iter().chain(bind).collect();
    // ECDSA P-256 keys instead of RSA-2048 for every certificate kubeadm makes: as strong
    // (128-bit security against RSA-2048's 112) and made in milliseconds; RSA key generation took
    // 2.1 s of `kubeadm init` on these 2 cores (measured). v1beta4 has a field for it, before
    // that kubeadm's own feature gate.
    let (mut feature_gates, encryption_algorithm) = match config.api() {
        KubeadmApi::V1beta3 => (BTreeMap::from([("PublicKeysECDSA".to_owned(), true)]), None),
        KubeadmApi::V1beta4 => (BTreeMap::new(), Some("ECDSA-P256")),
    };
    if config.certificate_key.is_some() && config.minor.needs_learner_gate() {
        // A joining control plane's etcd member starts as a learner: no quorum lost while it
        // starts (measured: without it each control-plane join took 16-21 s).
        feature_gates.insert("EtcdLearnerMode".into(), true);
    }
    ClusterConfiguration {
        api_version: config.api().api_version(),
        kind: "ClusterConfiguration",
        cluster_name: config.cluster_name.to_string(),
        kubernetes_version: config.kubernetes_version.clone(),
        feature_gates,
        encryption_algorithm,
        control_plane_endpoint: format!("{}:{API_PORT}", config.endpoint_ip),
        image_repository: REPOSITORY.into(),
        etcd: Etcd {
            local: ImageMeta {
                image_repository: REPOSITORY.into(),
                image_tag: config.etcd_tag.clone(),
            },
        },
        dns: config.coredns_tag.as_ref().map(|tag| ImageMeta {
            image_repository: REPOSITORY.into(),
            image_tag: tag.clone(),
        }),
        networking: Networking {
            pod_subnet: joined(&config.pod_subnets),
            service_subnet: joined(&config.service_subnets),
        },
        api_server: ApiServer {
            cert_sans: cert_sans(config),
            extra_args: config.extra_args(&api_server_args),
        },
        controller_manager: ControlPlaneComponent {
            extra_args: config.extra_args(&controller_manager_args),
        },
        scheduler: (!scheduler_args.is_empty()).then(|| ControlPlaneComponent {
            extra_args: config.extra_args(&scheduler_args),
        }),
    }
}

/// The controller-manager's flags, each measured (docs/decisions.md).
fn controller_manager_args() -> Vec<(&'static str, String)> {
    vec![
        // kubeadm-nspawn gives node i the podCIDR 10.244.i.0/24 itself. The controller-manager's
        // own allocator first lists nodes after a fixed 10 s poll interval, which holds back
        // every controller started after it (the bootstrap signer workers wait for): measured,
        // joins 10 s later.
        ("allocate-node-cidrs", "false".into()),
        // Its first tries for the leader lease come before the API server serves it; at the
        // default 2 s between tries the lease came 5.5 s after the start (measured), and every
        // controller the joins wait for with it. Lease duration and renew deadline stay kubeadm's.
        ("leader-elect-retry-period", "500ms".into()),
        // With service-account credentials each controller asks the API server for its account
        // and a token as it starts, and no informer (the bootstrap signer's, the CSR approver's)
        // runs before every controller has started: at the default 20 requests/s that took 4 s
        // after the lease (measured). A few-node development cluster can afford the controllers
        // more.
        ("kube-api-qps", "100".into()),
        // The start's ~90 requests in one burst (default 30).
        ("kube-api-burst", "200".into()),
    ]
}

fn kubelet_configuration(config: &ClusterConfig) -> kubelet::KubeletConfiguration {
    kubelet::KubeletConfiguration {
        api_version: "kubelet.config.k8s.io/v1beta1",
        kind: "KubeletConfiguration",
        cgroup_driver: config.cgroup_driver.name(),
        fail_swap_on: false,
        enforce_node_allocatable: vec![],
        cgroups_per_qos: true,
        eviction_hard: [
            ("nodefs.available", "0%"),
            ("nodefs.inodesFree", "0%"),
            ("imagefs.available", "0%"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        image_gc_high_threshold_percent: 100,
        image_gc_low_threshold_percent: 99,
        node_status_update_frequency: "4s",
        fail_cgroup_v1: config.allows_cgroup_v1().then_some(false),
        healthz_bind_address: config.loopback(),
        feature_gates: config.components.feature_gates.clone(),
    }
}

/// kube-proxy's configuration in the cluster's mode; None for `none` (no kube-proxy). The
/// cluster's gates, and the one its mode needs in this minor (nftables where it is alpha).
fn kube_proxy_configuration(config: &ClusterConfig) -> Option<kube_proxy::KubeProxyConfiguration> {
    let mode = config.components.kube_proxy_mode;
    let mut feature_gates = config.components.feature_gates.clone();
    if let Some((gate, on)) = proxy_mode::kube_proxy_gate(mode, config.minor) {
        feature_gates.entry(gate.to_owned()).or_insert(on);
    }
    Some(kube_proxy::KubeProxyConfiguration {
        api_version: "kubeproxy.config.k8s.io/v1alpha1",
        kind: "KubeProxyConfiguration",
        mode: match mode {
            KubeProxyMode::None => return None,
            mode => mode.as_str(),
        },
        conntrack: kube_proxy::Conntrack { max_per_core: 0 },
        // The pod ranges: what kube-proxy takes as in-cluster traffic (each family's).
        cluster_cidr: joined(&config.pod_subnets),
        feature_gates,
    })
}

/// What a node's kubelet must be told of the node's limits, as a KubeletConfiguration merge
/// patch; None for a node without limits. A node's kubelet measures the host (capacity: the
/// host's memory and CPUs, whatever its cgroup allows), so the difference is reserved
/// (`systemReserved`): allocatable = limit − what the node's own services need − the eviction
/// threshold. `enforceNodeAllocatable: [pods]` makes the kubelet cap its pods' cgroup at
/// capacity − reserved, and evict against allocatable.
pub fn kubelet_limits_patch(limits: &Limits, host_memory: u64, host_cpus: u64) -> Option<String> {
    if limits.is_none() {
        return None;
    }
    let mut reserved = serde_json::Map::new();
    let mut patch = serde_json::json!({"enforceNodeAllocatable": ["pods"]});
    if let Some(limit) = limits.memory_bytes {
        let memory = host_memory.saturating_sub(limit) + NODE_OVERHEAD_BYTES;
        reserved.insert("memory".into(), memory.to_string().into());
        patch["evictionHard"] = serde_json::json!({"memory.available": EVICTION_MEMORY_AVAILABLE});
    }
    if let Some(cpus) = limits.cpus {
        let millis = (host_cpus * 1000).saturating_sub((cpus * 1000.0).round() as u64);
        if millis > 0 {
            reserved.insert("cpu".into(), format!("{millis}m").into());
        }
    }
    patch["systemReserved"] = reserved.into();
    Some(patch.to_string())
}

#[cfg(test)]
mod tests;
