//! kubeadm's configuration for a cluster of nspawn nodes (v1beta3 for Kubernetes 1.22 to 1.30,
//! v1beta4 from 1.31, as kubeadm's own API documents them): InitConfiguration +
//! ClusterConfiguration + KubeletConfiguration + KubeProxyConfiguration for the first node, a
//! JoinConfiguration per worker. Everything a node would otherwise guess or pull is
//! explicit: the version, the node IPs, the private image repository and tags, the subnets.

use std::path::PathBuf;

use crate::cluster::node::Exec;
use crate::error::{Error, Result};
use crate::kube::images::REPOSITORY;
use crate::model::state::NodeState;

pub const CRI_SOCKET: &str = "unix:///run/containerd/containerd.sock";
/// Where the configuration and patches go inside a node.
pub const NODE_CONFIG_DIR: &str = "/etc/kubeadm-nspawn";
pub const PATCH_TARGETS: &[&str] = &[
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubeletconfiguration",
];

/// The preflight checks that cannot pass inside an nspawn node, each for a reason of the node, not
/// of the cluster: everything else kubeadm checks must pass.
pub const IGNORED_PREFLIGHT_ERRORS: &[(&str, &str)] = &[
    (
        "SystemVerification",
        "no kernel config or modules are visible in a node (/proc/config.gz, /lib/modules)",
    ),
    (
        "Swap",
        "a node sees the host's swap; kubelet runs with failSwapOn: false",
    ),
    (
        "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables",
        "br_netfilter's sysctls are not visible in a node's network namespace",
    ),
];

/// The kubeadm configuration API a Kubernetes version gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigApi {
    /// Kubernetes 1.22 to 1.30 (v1beta4 appeared in 1.31).
    V1beta3,
    /// Kubernetes 1.31 and later: extra arguments are `name`/`value` lists, not maps.
    V1beta4,
}

impl ConfigApi {
    /// By the version `kubeadm version` reports (`v1.31.0`, `v1.32.0-alpha.1+abc`); a version it
    /// cannot read gets v1beta3, which every kubeadm up to 1.34 still reads.
    pub fn for_version(version: &str) -> ConfigApi {
        match crate::kube::releases::version::Version::minor_of(version) {
            Some((major, minor)) if (major, minor) >= (1, 31) => ConfigApi::V1beta4,
            _ => ConfigApi::V1beta3,
        }
    }

    fn api_version(self) -> &'static str {
        match self {
            ConfigApi::V1beta3 => "kubeadm.k8s.io/v1beta3",
            ConfigApi::V1beta4 => "kubeadm.k8s.io/v1beta4",
        }
    }

    /// An `extraArgs`-like field at `indent` spaces: a map in v1beta3, a list of name/value pairs in
    /// v1beta4. Each argument has a comment saying why.
    fn extra_args(self, field: &str, indent: usize, args: &[ExtraArg]) -> String {
        let pad = " ".repeat(indent);
        let mut text = format!("{pad}{field}:\n");
        for (name, value, why) in args {
            for line in why.lines() {
                text.push_str(&format!("{pad}  # {line}\n"));
            }
            match self {
                ConfigApi::V1beta3 => text.push_str(&format!("{pad}  {name}: \"{value}\"\n")),
                ConfigApi::V1beta4 => text.push_str(&format!(
                    "{pad}  - name: {name}\n{pad}    value: \"{value}\"\n"
                )),
            }
        }
        text
    }
}

/// kubeadm's EtcdLearnerMode: a joining control plane's etcd member is added as a learner and
/// promoted once it has caught up. Without it the member counts toward quorum from the moment it
/// is added, so until its etcd runs a 2-member cluster has lost quorum: measured, every write
/// (the joining kubelet's mirror pods, leases) stalled, the first controller-manager restarted, and
/// each control-plane join took 16–21 s.
const LEARNER_GATE: &str = "  # A joining control plane's etcd member starts as a learner: no quorum lost while it starts.\n  EtcdLearnerMode: true\n";

/// Whether kubeadm `version` needs EtcdLearnerMode turned on: alpha (off) in 1.27 and 1.28, on by
/// default from 1.29, unknown before 1.27.
fn learner_gate_needed(version: &str) -> bool {
    matches!(
        crate::kube::releases::version::Version::minor_of(version),
        Some((1, 27 | 28))
    )
}

/// A component's flag: name, value, and why it is set.
type ExtraArg<'a> = (&'a str, &'a str, &'a str);

#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub cluster_name: String,
    pub kubernetes_version: String,
    /// The first control plane's address (where `kubeadm init` runs).
    pub control_plane_ip: String,
    /// Where the API is reached (kubeadm's controlPlaneEndpoint): the load balancer's address, or
    /// the one control plane's.
    pub endpoint_ip: String,
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
    /// Whether `--kubeadm-patch` files were given (they go to NODE_CONFIG_DIR/patches).
    pub patches: bool,
    pub pod_subnet: String,
    pub service_subnet: String,
    /// The host (and so the nodes) runs cgroup v1 (or hybrid): kubelets from 1.31 must be told
    /// to run anyway.
    pub cgroup_v1: bool,
    /// Feature gates and runtime config for every component (the config file's).
    pub components: crate::model::config::ComponentSettings,
}

impl ClusterConfig {
    pub fn api(&self) -> ConfigApi {
        ConfigApi::for_version(&self.kubernetes_version)
    }
}

#[derive(Debug, Clone)]
pub struct NodeRegistration {
    pub name: String,
    pub ip: String,
    /// The kubelet's `--node-labels`.
    pub labels: std::collections::BTreeMap<String, String>,
    /// This node's own KubeletConfiguration patch (its limits), a JSON merge patch.
    pub kubelet_patch: Option<String>,
}

/// The node's own KubeletConfiguration patch, named to sort after the user's.
const NODE_KUBELET_PATCH: &str = "kubeletconfigurationzz-node-limits+merge.json";

impl NodeRegistration {
    /// How `node` registers: its name, its static address, its labels and limits.
    pub fn of(node: &NodeState) -> NodeRegistration {
        NodeRegistration {
            name: node.name.clone(),
            ip: node.ip.clone(),
            labels: node.settings.labels.clone(),
            kubelet_patch: kubelet_limits_patch(
                &node.settings.limits,
                crate::model::config::host_memory_bytes(),
                crate::model::config::host_cpus(),
            ),
        }
    }
}

/// What a node's kubelet must be told of the node's limits, as a KubeletConfiguration merge
/// patch; None for a node without limits. A node's kubelet measures the host (capacity: the
/// host's memory and CPUs, whatever its cgroup allows), so the difference is reserved
/// (`systemReserved`): allocatable = limit − what the node's own services need − the eviction
/// threshold. `enforceNodeAllocatable: [pods]` makes the kubelet cap its pods' cgroup at
/// capacity − reserved, and evict against allocatable.
pub fn kubelet_limits_patch(
    limits: &crate::model::config::Limits,
    host_memory: u64,
    host_cpus: u64,
) -> Option<String> {
    if limits.is_none() {
        return None;
    }
    let mut reserved = serde_json::Map::new();
    let mut patch = serde_json::json!({"enforceNodeAllocatable": ["pods"]});
    if let Some(limit) = limits.memory_bytes {
        let memory = host_memory.saturating_sub(limit) + crate::model::config::NODE_OVERHEAD_BYTES;
        reserved.insert("memory".into(), memory.to_string().into());
        patch["evictionHard"] = serde_json::json!({"memory.available": crate::model::config::EVICTION_MEMORY_AVAILABLE});
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

/// Writes `file`, the kubeadm patch files and the node's own kubelet patch into the node's
/// /etc/kubeadm-nspawn through its root directory; returns the path inside the node.
pub fn write_node_config(
    node: &NodeState,
    patches: &[PathBuf],
    registration: &NodeRegistration,
    file: &str,
    contents: &str,
) -> Result<String> {
    let rootfs = node.dir.join("rootfs");
    let dir = rootfs.join(NODE_CONFIG_DIR.trim_start_matches('/'));
    std::fs::create_dir_all(dir.join("patches")).map_err(|e| Error::io("create", &dir, e))?;
    for patch in patches {
        let name = patch.file_name().unwrap_or_default();
        std::fs::copy(patch, dir.join("patches").join(name))
            .map_err(|e| Error::io("copy", patch, e))?;
    }
    if let Some(patch) = &registration.kubelet_patch {
        let path = dir.join("patches").join(NODE_KUBELET_PATCH);
        std::fs::write(&path, patch).map_err(|e| Error::io("write", &path, e))?;
    }
    std::fs::write(dir.join(file), contents).map_err(|e| Error::io("write", dir.join(file), e))?;
    Ok(format!("{NODE_CONFIG_DIR}/{file}"))
}

/// kubeadm's discovery hash of the cluster CA, computed in the first node with its openssl:
/// `sha256:` + sha256 of the CA's DER SubjectPublicKeyInfo, as kubeadm computes it.
pub fn ca_cert_hash(first: &impl Exec) -> Result<String> {
    let out = first.run(&[
        "sh",
        "-c",
        "openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt \
         | openssl pkey -pubin -outform der | sha256sum",
    ])?;
    let hex = out.split_whitespace().next().unwrap_or_default();
    if !kns_plumbing::hex::is_sha256(hex) {
        return Err(Error::node(first.name(), format!("no CA hash: {out:?}")));
    }
    Ok(format!("sha256:{hex}"))
}

/// Waits until the controller-manager's bootstrap signer has signed the `cluster-info` ConfigMap
/// for `token`. A join that starts before then fails discovery and retries only every few seconds
/// (measured: first joins took 20 s right after init, 2 s once signed).
pub fn wait_for_signed_cluster_info(
    first: &impl Exec,
    token: &str,
    timeout: std::time::Duration,
    poll: std::time::Duration,
) -> Result<()> {
    let token_id = token.split('.').next().unwrap_or_default();
    let jsonpath = format!("jsonpath={{.data.jws-kubeconfig-{token_id}}}");
    let start = std::time::Instant::now();
    loop {
        let signed = crate::cluster::node::admin_kubectl(
            first,
            &[
                "-n",
                "kube-public",
                "get",
                "configmap",
                "cluster-info",
                "-o",
                &jsonpath,
            ],
        )
        .is_ok_and(|s| !s.trim().is_empty());
        if signed {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(Error::Timeout {
                what: format!(
                    "cluster-info signed for the bootstrap token on {}",
                    first.name()
                ),
                after: timeout,
                look: format!(
                    "is kube-controller-manager running? `kubeadm-nspawn exec {} -- crictl ps -a`",
                    first.name()
                ),
            });
        }
        std::thread::sleep(poll);
    }
}

fn node_registration(api: ConfigApi, node: &NodeRegistration, untainted: bool) -> String {
    let ignored: Vec<String> = IGNORED_PREFLIGHT_ERRORS
        .iter()
        .map(|(check, why)| format!("  - {check}  # {why}"))
        .collect();
    let labels: Vec<String> = node
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let labels = labels.join(",");
    let mut args = vec![(
        "node-ip",
        node.ip.as_str(),
        "Without it a node has no InternalIP kubectl exec/logs can reach.",
    )];
    if !labels.is_empty() {
        args.push((
            "node-labels",
            &labels,
            "The node's labels in the cluster config file.",
        ));
    }
    let kubelet_args = api.extra_args("kubeletExtraArgs", 2, &args);
    let taints = if untainted {
        "  # No workers: the control planes run the pods too.\n  taints: []\n"
    } else {
        ""
    };
    format!(
        r#"nodeRegistration:
  name: {name}
{taints}  criSocket: {CRI_SOCKET}
  # Images are pushed into the node beforehand; there is no registry to pull from.
  imagePullPolicy: Never
{kubelet_args}  ignorePreflightErrors:
{ignored}
"#,
        name = node.name,
        ignored = ignored.join("\n")
    )
}

fn patches(config: &ClusterConfig, node: &NodeRegistration) -> String {
    if config.patches || node.kubelet_patch.is_some() {
        format!("patches:\n  directory: {NODE_CONFIG_DIR}/patches\n")
    } else {
        String::new()
    }
}

/// The configuration `kubeadm init --config` reads on the first node.
pub fn init_config(config: &ClusterConfig, node: &NodeRegistration) -> String {
    let dns = match &config.coredns_tag {
        Some(tag) => format!("dns:\n  imageRepository: {REPOSITORY}\n  imageTag: {tag}\n"),
        None => String::new(),
    };
    let (pods, services) = (&config.pod_subnet, &config.service_subnet);
    let api = config.api();
    let gates = config.components.feature_gates_flag();
    let gates_arg = gates.as_deref().map(|g| {
        (
            "feature-gates",
            g,
            "The cluster config file's featureGates.",
        )
    });
    let runtime = config.components.runtime_config_flag();
    let runtime_arg = runtime.as_deref().map(|r| {
        (
            "runtime-config",
            r,
            "The cluster config file's runtimeConfig.",
        )
    });
    let api_server_args: Vec<ExtraArg> = gates_arg.into_iter().chain(runtime_arg).collect();
    let api_server_args = if api_server_args.is_empty() {
        String::new()
    } else {
        api.extra_args("extraArgs", 2, &api_server_args)
    };
    let scheduler = match gates_arg {
        Some(arg) => format!("scheduler:\n{}", api.extra_args("extraArgs", 2, &[arg])),
        None => String::new(),
    };
    let gates_map = if config.components.feature_gates.is_empty() {
        String::new()
    } else {
        let mut text = "# The cluster config file's featureGates.\nfeatureGates:\n".to_string();
        for (gate, on) in &config.components.feature_gates {
            text.push_str(&format!("  {gate}: {on}\n"));
        }
        text
    };
    let mut controller_manager_args: Vec<ExtraArg> = vec![(
            "allocate-node-cidrs",
            "false",
            "kubeadm-nspawn gives node i the podCIDR 10.244.i.0/24 itself. The controller-manager's own\n\
             allocator first lists nodes after a fixed 10 s poll interval, which holds back every\n\
             controller started after it (the bootstrap signer workers wait for): measured, joins 10 s later.",
        ), (
            "leader-elect-retry-period",
            "500ms",
            "Its first tries for the leader lease come before the API server serves it; at the default\n\
             2 s between tries the lease came 5.5 s after the start (measured), and every controller\n\
             the joins wait for with it. Lease duration and renew deadline stay kubeadm's.",
        ), (
            "kube-api-qps",
            "100",
            "With service-account credentials each controller asks the API server for its account and\n\
             a token as it starts, and no informer (the bootstrap signer's, the CSR approver's) runs\n\
             before every controller has started: at the default 20 requests/s that took 4 s after\n\
             the lease (measured). A few-node development cluster can afford the controllers more.",
        ), (
            "kube-api-burst",
            "200",
            "The start's ~90 requests in one burst (default 30).",
        ),
    ];
    controller_manager_args.extend(gates_arg);
    let controller_manager_args = api.extra_args("extraArgs", 2, &controller_manager_args);
    // ECDSA P-256 keys instead of RSA-2048 for every certificate kubeadm makes: as strong (128-bit
    // security against RSA-2048's 112) and made in milliseconds; RSA key generation took 2.1 s of
    // `kubeadm init` on these 2 cores (measured). v1beta4 has a field for it, before that kubeadm's
    // own feature gate.
    let key_algorithm = match api {
        ConfigApi::V1beta3 => {
            let mut gates = "featureGates:\n  PublicKeysECDSA: true\n".to_string();
            if config.certificate_key.is_some() && learner_gate_needed(&config.kubernetes_version) {
                gates.push_str(LEARNER_GATE);
            }
            gates
        }
        ConfigApi::V1beta4 => "encryptionAlgorithm: ECDSA-P256\n".to_string(),
    };
    let cgroup_v1 = if config.cgroup_v1 && api == ConfigApi::V1beta4 {
        "# The host runs cgroup v1 (hybrid): kubelets from 1.31 refuse it unless told (KEP-4569).\n\
         failCgroupV1: false\n"
    } else {
        ""
    };
    let certificate_key = match &config.certificate_key {
        Some(key) => format!("certificateKey: {key}\n"),
        None => String::new(),
    };
    let sans: Vec<&str> = [
        config.control_plane_ip.as_str(),
        config.endpoint_ip.as_str(),
        "127.0.0.1",
        "localhost",
    ]
    .into_iter()
    .fold(vec![], |mut sans, san| {
        if !sans.contains(&san) {
            sans.push(san);
        }
        sans
    });
    format!(
        r#"apiVersion: {api_version}
kind: InitConfiguration
bootstrapTokens:
- token: {token}
  ttl: 24h0m0s
{certificate_key}localAPIEndpoint:
  advertiseAddress: {ip}
  bindPort: 6443
{registration}{patches}---
apiVersion: {api_version}
kind: ClusterConfiguration
clusterName: {cluster}
kubernetesVersion: {version}
{key_algorithm}controlPlaneEndpoint: {endpoint}:6443
imageRepository: {REPOSITORY}
etcd:
  local:
    imageRepository: {REPOSITORY}
    imageTag: {etcd_tag}
{dns}networking:
  podSubnet: {pods}
  serviceSubnet: {services}
apiServer:
  certSANs: [{sans}]
{api_server_args}controllerManager:
{controller_manager_args}{scheduler}---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# The node's containerd runs runc with cgroupfs (its systemd does not own pod cgroups).
cgroupDriver: cgroupfs
failSwapOn: false
# Node allocatable is not enforced: the node shares the host's cgroups and memory.
enforceNodeAllocatable: []
cgroupsPerQOS: true
# The host's disk is the node's disk: its fill level must not evict pods ...
evictionHard:
  nodefs.available: "0%"
  nodefs.inodesFree: "0%"
  imagefs.available: "0%"
# ... nor garbage-collect pushed images, which no registry could bring back.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# A restarted kubelet (update, start) first reports NotReady until its runtime checks ran, then
# Ready at its next status update: 4 s instead of 10 s apart. (Leases still carry the heartbeat.)
nodeStatusUpdateFrequency: 4s
{cgroup_v1}{gates_map}---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
conntrack:
  # nf_conntrack_max is not writable from a node; leave the host's value alone.
  maxPerCore: 0
{gates_map}"#,
        token = config.token,
        ip = config.control_plane_ip,
        endpoint = config.endpoint_ip,
        sans = sans.join(", "),
        api_version = api.api_version(),
        registration = node_registration(api, node, config.untainted_control_planes),
        patches = patches(config, node),
        cluster = config.cluster_name,
        version = config.kubernetes_version,
        etcd_tag = config.etcd_tag,
    )
}

/// How a node joins: as a worker, or as another control plane (stacked etcd; its certificates
/// from the kubeadm-certs Secret `kubeadm init --upload-certs` made).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinAs {
    Worker,
    ControlPlane,
}

/// The configuration `kubeadm join --config` reads on a node: discovery by bootstrap token through
/// the API endpoint, pinned to the cluster CA by its public key hash (never unsafe-skip).
pub fn join_config(
    config: &ClusterConfig,
    ca_cert_hash: &str,
    node: &NodeRegistration,
    join_as: JoinAs,
) -> String {
    let control_plane = match (join_as, &config.certificate_key) {
        (JoinAs::ControlPlane, Some(key)) => format!(
            "controlPlane:\n  localAPIEndpoint:\n    advertiseAddress: {ip}\n    bindPort: 6443\n  certificateKey: {key}\n",
            ip = node.ip
        ),
        _ => String::new(),
    };
    format!(
        r#"apiVersion: {api_version}
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: {endpoint}:6443
    token: {token}
    caCertHashes:
    - {ca_cert_hash}
{control_plane}{registration}{patches}"#,
        api_version = config.api().api_version(),
        endpoint = config.endpoint_ip,
        token = config.token,
        registration = node_registration(
            config.api(),
            node,
            join_as == JoinAs::ControlPlane && config.untainted_control_planes
        ),
        patches = patches(config, node),
    )
}

/// A certificate key for `kubeadm init --upload-certs`: 32 bytes from the kernel's random source,
/// in hex (AES-256, as `kubeadm certs certificate-key` makes one).
pub fn new_certificate_key() -> std::io::Result<String> {
    Ok(kns_plumbing::hex::encode(&random_bytes::<32>()?))
}

/// `N` bytes from the kernel's random source.
fn random_bytes<const N: usize>() -> std::io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
    Ok(bytes)
}

/// A bootstrap token (`[a-z0-9]{6}.[a-z0-9]{16}`) from the kernel's random source.
pub fn new_token() -> std::io::Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let chars: String = random_bytes::<22>()?
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    Ok(format!("{}.{}", &chars[..6], &chars[6..]))
}

/// `--kubeadm-patch FILE`: kubeadm's own patch files, named `TARGET[SUFFIX][+PATCHTYPE].EXT`.
pub fn check_patch_name(file_name: &str) -> Result<(), String> {
    let stem = file_name
        .strip_suffix(".yaml")
        .or_else(|| file_name.strip_suffix(".json"))
        .ok_or_else(|| format!("--kubeadm-patch {file_name}: must end in .yaml or .json"))?;
    let target_part = stem.split('+').next().unwrap_or_default();
    let patch_type = stem.split_once('+').map(|(_, t)| t);
    let known_target = PATCH_TARGETS.iter().any(|t| target_part.starts_with(t));
    if !known_target || !matches!(patch_type, None | Some("strategic" | "merge" | "json")) {
        return Err(format!(
            "--kubeadm-patch {file_name}: kubeadm patch files are named TARGET[SUFFIX][+strategic|merge|json].yaml \
             with TARGET one of {}",
            PATCH_TARGETS.join(", ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kns_node::exec::Script;
    use std::time::Duration;

    #[test]
    fn joins_wait_for_the_signature_of_their_token() {
        let first = Script::new("c-n0")
            .answer_times("kubectl", 2, 0, "")
            .answer("kubectl", 0, "eyJhbGciOi");
        wait_for_signed_cluster_info(
            &first,
            "abcdef.0123456789abcdef",
            Duration::from_secs(5),
            Duration::ZERO,
        )
        .unwrap();
        let calls = first.calls();
        assert_eq!(calls.len(), 3);
        assert!(
            calls[0].ends_with("cluster-info -o jsonpath={.data.jws-kubeconfig-abcdef}"),
            "{calls:?}"
        );
        assert!(
            calls[0].starts_with("kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-public")
        );
        let never = Script::new("c-n0").answer("kubectl", 1, "");
        let err = wait_for_signed_cluster_info(&never, "a.b", Duration::ZERO, Duration::ZERO)
            .unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
        use kns_plumbing::report::Hint;
        assert!(err.hint().unwrap().contains("crictl ps -a"));
    }

    #[test]
    fn the_ca_hash_is_checked_for_its_shape() {
        let digest = "a".repeat(64);
        let first = Script::new("c-n0").answer("sh -c openssl", 0, &format!("{digest}  -\n"));
        assert_eq!(ca_cert_hash(&first).unwrap(), format!("sha256:{digest}"));
        let broken = Script::new("c-n0").answer("sh -c openssl", 0, "unable to load\n");
        assert!(ca_cert_hash(&broken)
            .unwrap_err()
            .to_string()
            .contains("no CA hash"));
    }

    fn config() -> ClusterConfig {
        ClusterConfig {
            cluster_name: "dev".into(),
            kubernetes_version: "v1.28.7".into(),
            control_plane_ip: "10.22.0.10".into(),
            endpoint_ip: "10.22.0.10".into(),
            certificate_key: None,
            untainted_control_planes: false,
            etcd_tag: "3.5.16-0".into(),
            coredns_tag: Some("v1.10.1".into()),
            token: "abcdef.0123456789abcdef".into(),
            patches: false,
            pod_subnet: "10.244.0.0/16".into(),
            service_subnet: "10.96.0.0/12".into(),
            cgroup_v1: true,
            components: Default::default(),
        }
    }

    fn node(i: usize) -> NodeRegistration {
        NodeRegistration {
            name: format!("dev-n{i}"),
            ip: format!("10.22.0.{}", 10 + i),
            labels: Default::default(),
            kubelet_patch: None,
        }
    }

    #[test]
    fn init_config_is_explicit_about_everything_a_node_would_pull_or_guess() {
        let text = init_config(&config(), &node(0));
        for line in [
            "kubernetesVersion: v1.28.7",
            "advertiseAddress: 10.22.0.10",
            "node-ip: \"10.22.0.10\"",
            "imagePullPolicy: Never",
            "imageRepository: kubeadm-nspawn.local",
            "imageTag: 3.5.16-0",
            "imageTag: v1.10.1",
            "podSubnet: 10.244.0.0/16",
            "serviceSubnet: 10.96.0.0/12",
            "cgroupDriver: cgroupfs",
            "mode: iptables",
            "maxPerCore: 0",
            "criSocket: unix:///run/containerd/containerd.sock",
            "- SystemVerification  #",
            "- token: abcdef.0123456789abcdef",
            "allocate-node-cidrs: \"false\"",
            "leader-elect-retry-period: \"500ms\"",
            "kube-api-qps: \"100\"",
            "kube-api-burst: \"200\"",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert_eq!(text.matches("\n---\n").count(), 3, "four documents");
        assert!(!text.contains("patches:"));
        let without_dns = init_config(
            &ClusterConfig {
                coredns_tag: None,
                patches: true,
                ..config()
            },
            &node(0),
        );
        assert!(!without_dns.contains("dns:"));
        assert!(without_dns.contains("patches:\n  directory: /etc/kubeadm-nspawn/patches"));
    }

    #[test]
    fn the_api_follows_the_version() {
        for (version, api) in [
            ("v1.28.7", ConfigApi::V1beta3),
            ("v1.30.14", ConfigApi::V1beta3),
            ("v1.31.0", ConfigApi::V1beta4),
            ("v1.32.0-alpha.1.20+0123abcd-dirty", ConfigApi::V1beta4),
            ("v2.0.0", ConfigApi::V1beta4),
            ("unknown", ConfigApi::V1beta3),
        ] {
            assert_eq!(ConfigApi::for_version(version), api, "{version}");
        }
        let v1beta3 = init_config(&config(), &node(0));
        assert_eq!(
            v1beta3
                .matches("apiVersion: kubeadm.k8s.io/v1beta3")
                .count(),
            2
        );
        assert!(v1beta3.contains("  kubeletExtraArgs:\n    # Without it"));
        assert!(v1beta3.contains("\n    node-ip: \"10.22.0.10\"\n"));
        assert!(v1beta3.contains("\n    allocate-node-cidrs: \"false\"\n"));
        // 1.28 kubelets run on cgroup v1 without being told (and reject the unknown field).
        assert!(!v1beta3.contains("failCgroupV1"));
    }

    #[test]
    fn v1beta4_for_kubernetes_1_31_and_later() {
        let newer = ClusterConfig {
            kubernetes_version: "v1.31.2".into(),
            ..config()
        };
        let text = init_config(&newer, &node(0));
        assert_eq!(
            text.matches("apiVersion: kubeadm.k8s.io/v1beta4").count(),
            2
        );
        assert!(!text.contains("v1beta3"));
        // extraArgs are lists of name/value pairs in v1beta4.
        assert!(
            text.contains("  kubeletExtraArgs:\n    # Without it a node has no InternalIP kubectl exec/logs can reach.\n    - name: node-ip\n      value: \"10.22.0.10\"\n"),
            "{text}"
        );
        assert!(
            text.contains("  extraArgs:\n")
                && text.contains("    - name: allocate-node-cidrs\n      value: \"false\"\n"),
            "{text}"
        );
        assert!(text.contains("\nfailCgroupV1: false\n"), "{text}");
        assert_eq!(text.matches("\n---\n").count(), 3, "four documents");
        let cgroup_v2 = init_config(
            &ClusterConfig {
                cgroup_v1: false,
                ..newer.clone()
            },
            &node(0),
        );
        assert!(!cgroup_v2.contains("failCgroupV1"));
        let join = join_config(&newer, "sha256:abc", &node(1), JoinAs::Worker);
        assert!(join.starts_with("apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n"));
        assert!(
            join.contains("    - name: node-ip\n      value: \"10.22.0.11\"\n"),
            "{join}"
        );
        assert!(join.contains("caCertHashes:\n    - sha256:abc"));
    }

    #[test]
    fn certificates_get_ecdsa_keys_in_either_api() {
        let old = init_config(&config(), &node(0));
        assert!(
            old.contains("featureGates:\n  PublicKeysECDSA: true\n"),
            "{old}"
        );
        let mut newer = config();
        newer.kubernetes_version = "v1.31.0".into();
        assert!(init_config(&newer, &node(0)).contains("\nencryptionAlgorithm: ECDSA-P256\n"));
    }

    #[test]
    fn the_config_files_gates_runtime_config_and_labels_reach_every_component() {
        let mut config = config();
        config.components.feature_gates = [("InPlacePodVerticalScaling".into(), true)].into();
        config.components.runtime_config =
            [("resource.k8s.io/v1alpha2".into(), "true".into())].into();
        let mut n = node(0);
        n.labels = [("tier".into(), "front".into()), ("a".into(), "b".into())].into();
        let text = init_config(&config, &n);
        // apiserver, controller-manager and scheduler flags; kubelet and kube-proxy maps.
        assert_eq!(
            text.matches("feature-gates: \"InPlacePodVerticalScaling=true\"")
                .count(),
            3,
            "{text}"
        );
        assert_eq!(
            text.matches("  InPlacePodVerticalScaling: true\n").count(),
            2,
            "{text}"
        );
        assert!(text.contains("runtime-config: \"resource.k8s.io/v1alpha2=true\""));
        assert!(text.contains("node-labels: \"a=b,tier=front\""));
        assert!(text.contains("scheduler:\n  extraArgs:\n"), "{text}");
        // v1beta4: the same as name/value lists.
        config.kubernetes_version = "v1.31.0".into();
        let text = init_config(&config, &n);
        assert!(text.contains(
            "    - name: feature-gates\n      value: \"InPlacePodVerticalScaling=true\""
        ));
        // Without them nothing extra is said.
        let plain = init_config(&super::tests::config(), &node(0));
        assert!(
            !plain.contains("feature-gates")
                && !plain.contains("node-labels")
                && !plain.contains("scheduler:")
        );
        assert!(!plain.contains("patches:"));
        n.kubelet_patch = Some("{}".into());
        assert!(
            join_config(&super::tests::config(), "sha256:x", &n, JoinAs::Worker)
                .contains("patches:\n  directory: /etc/kubeadm-nspawn/patches")
        );
    }

    #[test]
    fn a_nodes_limits_become_reservations_of_the_rest_of_the_host() {
        use crate::model::config::{Limits, NODE_OVERHEAD_BYTES};
        assert_eq!(kubelet_limits_patch(&Limits::default(), 24 << 30, 2), None);
        let patch: serde_json::Value = serde_json::from_str(
            &kubelet_limits_patch(
                &Limits {
                    memory_bytes: Some(1 << 30),
                    cpus: Some(0.5),
                },
                24 << 30,
                2,
            )
            .unwrap(),
        )
        .unwrap();
        let memory = (23u64 << 30) + NODE_OVERHEAD_BYTES;
        assert_eq!(
            patch,
            serde_json::json!({
                "enforceNodeAllocatable": ["pods"],
                "systemReserved": {"memory": memory.to_string(), "cpu": "1500m"},
                "evictionHard": {"memory.available": "100Mi"},
            })
        );
        // All the host's CPUs: nothing reserved for CPU, no memory limit: no memory eviction.
        let patch = kubelet_limits_patch(
            &Limits {
                memory_bytes: None,
                cpus: Some(2.0),
            },
            24 << 30,
            2,
        );
        assert_eq!(
            patch.unwrap(),
            r#"{"enforceNodeAllocatable":["pods"],"systemReserved":{}}"#
        );
    }

    #[test]
    fn join_config_pins_the_ca_and_sets_the_node_ip() {
        let text = join_config(&config(), "sha256:abc", &node(2), JoinAs::Worker);
        for line in [
            "apiServerEndpoint: 10.22.0.10:6443",
            "token: abcdef.0123456789abcdef",
            "- sha256:abc",
            "name: dev-n2",
            "node-ip: \"10.22.0.12\"",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert!(!text.contains("unsafeSkipCAVerification"));
        assert!(!text.contains("controlPlane:"));
    }

    #[test]
    fn several_control_planes_share_the_load_balancer_endpoint_and_a_certificate_key() {
        let key = new_certificate_key().unwrap();
        assert!(kns_plumbing::hex::is_sha256(&key), "{key}");
        let ha = ClusterConfig {
            endpoint_ip: "10.22.0.9".into(),
            certificate_key: Some(key.clone()),
            ..config()
        };
        let init = init_config(&ha, &node(0));
        assert!(
            init.contains("controlPlaneEndpoint: 10.22.0.9:6443"),
            "{init}"
        );
        assert!(init.contains("advertiseAddress: 10.22.0.10"), "{init}");
        assert!(
            init.contains(&format!("\ncertificateKey: {key}\n")),
            "{init}"
        );
        assert!(
            init.contains("certSANs: [10.22.0.10, 10.22.0.9, 127.0.0.1, localhost]"),
            "{init}"
        );
        let join = join_config(&ha, "sha256:abc", &node(1), JoinAs::ControlPlane);
        assert!(join.contains("apiServerEndpoint: 10.22.0.9:6443"), "{join}");
        assert!(
            join.contains(&format!(
                "controlPlane:\n  localAPIEndpoint:\n    advertiseAddress: 10.22.0.11\n    bindPort: 6443\n  certificateKey: {key}\n"
            )),
            "{join}"
        );
        let worker = join_config(&ha, "sha256:abc", &node(3), JoinAs::Worker);
        assert!(worker.contains("apiServerEndpoint: 10.22.0.9:6443"));
        assert!(!worker.contains("controlPlane:") && !worker.contains("certificateKey"));
        assert!(init.contains("  EtcdLearnerMode: true\n"), "{init}");
        let newer = init_config(
            &ClusterConfig {
                kubernetes_version: "v1.29.2".into(),
                ..ha.clone()
            },
            &node(0),
        );
        assert!(
            !newer.contains("EtcdLearnerMode"),
            "on by default from 1.29"
        );
        // One control plane: no key, no learners, the SANs once each.
        let single = init_config(&config(), &node(0));
        assert!(!single.contains("certificateKey") && !single.contains("EtcdLearnerMode"));
        assert!(!single.contains("taints:") && !join.contains("taints:"));
        // No workers: no control-plane taint, on the first node and the joining ones.
        let alone = ClusterConfig {
            untainted_control_planes: true,
            ..ha.clone()
        };
        assert!(init_config(&alone, &node(0)).contains("\n  taints: []\n"));
        assert!(
            join_config(&alone, "sha256:abc", &node(1), JoinAs::ControlPlane)
                .contains("\n  taints: []\n")
        );
        assert!(single.contains("certSANs: [10.22.0.10, 127.0.0.1, localhost]"));
    }

    #[test]
    fn tokens_have_kubeadms_shape() {
        let token = new_token().unwrap();
        let (id, secret) = token.split_once('.').unwrap();
        assert_eq!((id.len(), secret.len()), (6, 16));
        assert!(token
            .chars()
            .all(|c| c == '.' || c.is_ascii_lowercase() || c.is_ascii_digit()));
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
    }
}
