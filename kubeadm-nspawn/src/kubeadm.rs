//! kubeadm's configuration for a cluster of nspawn nodes (v1beta3, Kubernetes 1.22 and later):
//! InitConfiguration + ClusterConfiguration + KubeletConfiguration + KubeProxyConfiguration for the
//! first node, a JoinConfiguration per worker. Everything a node would otherwise guess or pull is
//! explicit: the version, the node IPs, the private image repository and tags, the subnets.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::images::REPOSITORY;
use crate::node::Exec;
use crate::state::NodeState;

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

#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub cluster_name: String,
    pub kubernetes_version: String,
    pub control_plane_ip: String,
    pub etcd_tag: String,
    /// None: kubeadm skips the CoreDNS addon.
    pub coredns_tag: Option<String>,
    pub token: String,
    /// Whether `--kubeadm-patch` files were given (they go to NODE_CONFIG_DIR/patches).
    pub patches: bool,
    pub pod_subnet: String,
    pub service_subnet: String,
}

#[derive(Debug, Clone)]
pub struct NodeRegistration {
    pub name: String,
    pub ip: String,
}

impl NodeRegistration {
    /// How `node` registers: its name and its static address.
    pub fn of(node: &NodeState) -> NodeRegistration {
        NodeRegistration {
            name: node.name.clone(),
            ip: node.ip.clone(),
        }
    }
}

/// Writes `file` (and the `--kubeadm-patch` files) into the node's /etc/kubeadm-nspawn through its
/// root directory; returns the path inside the node.
pub fn write_node_config(
    node: &NodeState,
    patches: &[PathBuf],
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
        let signed = crate::node::admin_kubectl(
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

fn node_registration(node: &NodeRegistration) -> String {
    let ignored: Vec<String> = IGNORED_PREFLIGHT_ERRORS
        .iter()
        .map(|(check, why)| format!("  - {check}  # {why}"))
        .collect();
    format!(
        r#"nodeRegistration:
  name: {name}
  criSocket: {CRI_SOCKET}
  # Images are pushed into the node beforehand; there is no registry to pull from.
  imagePullPolicy: Never
  kubeletExtraArgs:
    # Without it a node has no InternalIP kubectl exec/logs can reach.
    node-ip: {ip}
  ignorePreflightErrors:
{ignored}
"#,
        name = node.name,
        ip = node.ip,
        ignored = ignored.join("\n")
    )
}

fn patches(config: &ClusterConfig) -> String {
    if config.patches {
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
    format!(
        r#"apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
bootstrapTokens:
- token: {token}
  ttl: 24h0m0s
localAPIEndpoint:
  advertiseAddress: {ip}
  bindPort: 6443
{registration}{patches}---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
clusterName: {cluster}
kubernetesVersion: {version}
controlPlaneEndpoint: {ip}:6443
imageRepository: {REPOSITORY}
etcd:
  local:
    imageRepository: {REPOSITORY}
    imageTag: {etcd_tag}
{dns}networking:
  podSubnet: {pods}
  serviceSubnet: {services}
apiServer:
  certSANs: [{ip}, 127.0.0.1, localhost]
controllerManager:
  extraArgs:
    # kubeadm-nspawn gives node i the podCIDR 10.244.i.0/24 itself. The controller-manager's own
    # allocator first lists nodes after a fixed 10 s poll interval, which holds back every
    # controller started after it (the bootstrap signer workers wait for): measured, joins 10 s later.
    allocate-node-cidrs: "false"
---
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
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
conntrack:
  # nf_conntrack_max is not writable from a node; leave the host's value alone.
  maxPerCore: 0
"#,
        token = config.token,
        ip = config.control_plane_ip,
        registration = node_registration(node),
        patches = patches(config),
        cluster = config.cluster_name,
        version = config.kubernetes_version,
        etcd_tag = config.etcd_tag,
    )
}

/// The configuration `kubeadm join --config` reads on a worker: discovery by bootstrap token,
/// pinned to the cluster CA by its public key hash (never unsafe-skip).
pub fn join_config(config: &ClusterConfig, ca_cert_hash: &str, node: &NodeRegistration) -> String {
    format!(
        r#"apiVersion: kubeadm.k8s.io/v1beta3
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: {ip}:6443
    token: {token}
    caCertHashes:
    - {ca_cert_hash}
{registration}{patches}"#,
        ip = config.control_plane_ip,
        token = config.token,
        registration = node_registration(node),
        patches = patches(config),
    )
}

/// A bootstrap token (`[a-z0-9]{6}.[a-z0-9]{16}`) from the kernel's random source.
pub fn new_token() -> std::io::Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 22];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
    let chars: String = bytes
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
            etcd_tag: "3.5.16-0".into(),
            coredns_tag: Some("v1.10.1".into()),
            token: "abcdef.0123456789abcdef".into(),
            patches: false,
            pod_subnet: "10.244.0.0/16".into(),
            service_subnet: "10.96.0.0/12".into(),
        }
    }

    fn node(i: usize) -> NodeRegistration {
        NodeRegistration {
            name: format!("dev-n{i}"),
            ip: format!("10.22.0.{}", 10 + i),
        }
    }

    #[test]
    fn init_config_is_explicit_about_everything_a_node_would_pull_or_guess() {
        let text = init_config(&config(), &node(0));
        for line in [
            "kubernetesVersion: v1.28.7",
            "advertiseAddress: 10.22.0.10",
            "node-ip: 10.22.0.10",
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
    fn join_config_pins_the_ca_and_sets_the_node_ip() {
        let text = join_config(&config(), "sha256:abc", &node(2));
        for line in [
            "apiServerEndpoint: 10.22.0.10:6443",
            "token: abcdef.0123456789abcdef",
            "- sha256:abc",
            "name: dev-n2",
            "node-ip: 10.22.0.12",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert!(!text.contains("unsafeSkipCAVerification"));
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
