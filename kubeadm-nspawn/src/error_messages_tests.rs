//! Every error of kubeadm-nspawn, printed as its `main` prints it (each lifted into the verbs'
//! [`Error`], whose hint is the one shown): clusters and nodes named plainly (`cluster "dev"`,
//! `node "dev-n0"`), durations in seconds, no Rust Debug text (kns_plumbing::plain). Each error
//! enum has a sample of every variant ([`every_variant!`]: a variant without one does not compile).

use kns_plumbing::undo::WithCleanup;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;

use kns_plumbing::every_variant;
use kns_plumbing::parallel::Panicked;
use kns_plumbing::plain::{assert_plain, debug_artefacts};

use crate::error::Error;
use crate::host::error::{Io, Timeout};
use crate::kube::documents::Unwritable;
use crate::kube::releases::download::Failure;
use crate::model::collisions::Collision;
use crate::model::config::HostView;
use crate::model::names::{check_control_planes, check_node_count, ClusterName};
use crate::model::ranges::{
    check, Cidr, HostClaim, NodeSubnet, OtherCluster, RangeKind, Ranges, DEFAULT_POD_SUBNET,
    DEFAULT_SERVICE_SUBNET,
};
use crate::{cluster, host, kube, model};

fn dev() -> ClusterName {
    ClusterName::new("dev").unwrap()
}

fn node() -> String {
    "dev-n0".into()
}

fn cidr(text: &str) -> Cidr {
    Cidr::parse(text, "--subnet").unwrap()
}

fn os(errno: i32) -> std::io::Error {
    std::io::Error::from_raw_os_error(errno)
}

fn io() -> Io {
    Io::new(
        "read",
        "/var/lib/kubeadm-nspawn/dev/state.json",
        os(libc::EACCES),
    )
}

fn node_failed() -> kns_node::Error {
    kns_node::Error::Failed {
        node: node(),
        command: "kubeadm init --config /kind/kubeadm.conf".into(),
        status: ExitStatus::from_raw(1 << 8),
        output: "[ERROR Port-6443]: Port 6443 is in use".into(),
    }
}

fn node_root() -> kns_node::root::Error {
    kns_node::root::Error {
        op: "write",
        root: "/proc/4242/root".into(),
        path: "/etc/kubernetes/kubelet.conf".into(),
        source: os(libc::EROFS),
    }
}

fn timeout() -> Timeout {
    Timeout {
        what: "nodes Ready".into(),
        after: Duration::from_secs(300),
        waiting: Some("dev-n1, dev-n2 not Ready".into()),
        last_error: Some("kubectl failed: connection refused".into()),
        look: "`kubectl --kubeconfig /var/lib/kubeadm-nspawn/dev/kubeconfig describe nodes`".into(),
    }
}

fn panicked() -> Panicked {
    Panicked {
        what: "dev-n1: the work on it".into(),
        message: "index out of bounds: the len is 1 but the index is 1".into(),
    }
}

/// What a config file's check asks of the host, answered as a small host would.
struct SmallHost;

impl HostView for SmallHost {
    fn exists(&self, _: &Path) -> bool {
        true
    }
    fn memory_bytes(&self) -> u64 {
        8 << 30
    }
    fn cpus(&self) -> u64 {
        4
    }
}

const HEAD: &str = "apiVersion: kubeadm-nspawn/v1alpha1\nkind: Cluster\n";

fn config_message(body: &str) -> String {
    crate::model::config::parse(&format!("{HEAD}{body}"), Path::new("/home/me"), &SmallHost)
        .unwrap_err()
}

fn names() -> Vec<(model::names::Error, &'static str)> {
    use model::names::Error;
    every_variant!(Error {
        Error::ClusterName(..) => (
            ClusterName::new("Dev").unwrap_err(),
            "invalid cluster name \"Dev\": use 1 to 32 lower-case letters",
        );
        Error::NodeCount(..) => (
            check_node_count(0).unwrap_err(),
            "--nodes 0: a cluster has 1 to 50 nodes",
        );
        Error::ControlPlanes { .. } => (
            check_control_planes(2, 3).unwrap_err(),
            "--control-planes 2: give an odd number (etcd needs a majority",
        ), (
            check_control_planes(3, 1).unwrap_err(),
            "--control-planes 3 is more than the 1 nodes: give --nodes 3 or more",
        );
    })
}

fn ranges() -> Vec<(model::ranges::Error, &'static str)> {
    use model::ranges::Error;
    let nodes = NodeSubnet::new(cidr("10.22.0.0/16")).unwrap();
    let ranges = Ranges {
        nodes,
        pods: DEFAULT_POD_SUBNET,
        services: DEFAULT_SERVICE_SUBNET,
    };
    let route = HostClaim::Route {
        dst: cidr("10.22.0.0/16"),
        table: "main".into(),
        dev: "wlan0".into(),
    };
    let other = OtherCluster {
        name: "prod".into(),
        nodes: cidr("10.22.0.0/16"),
        bridge: "kns-prod".into(),
    };
    every_variant!(Error {
        Error::Cidr(..) => (
            Cidr::parse("10.244.0.1/16", "--pod-subnet").unwrap_err().into(),
            "invalid --pod-subnet \"10.244.0.1/16\": host bits are set; give the network address",
        );
        Error::SubnetPrefix(..) => (
            NodeSubnet::new(cidr("10.22.0.0/30")).unwrap_err(),
            "invalid --subnet 10.22.0.0/30: the prefix must be between /8 and /28",
        );
        Error::SubnetTooSmall { .. } => (
            NodeSubnet::new(cidr("10.22.0.0/28")).unwrap().check_holds(50).unwrap_err(),
            "--subnet 10.22.0.0/28 holds only ",
        );
        Error::PodRangeTooSmall { .. } => (
            crate::model::ranges::node_pod_prefix(&cidr("10.244.0.0/24"), 50).unwrap_err(),
            "--pod-subnet 10.244.0.0/24 is too small for 50 nodes (each needs at least a /28)",
        );
        Error::Collision(..) => (
            check(&ranges, &[route], &[], None).unwrap_err(),
            "--subnet 10.22.0.0/16 collides with the host's route to 10.22.0.0/16 via wlan0 (table main)\nhint: --subnet 10.23.0.0/16 is free",
        ), (
            check(&ranges, &[], &[other], None).unwrap_err(),
            "--subnet 10.22.0.0/16 collides with cluster \"prod\" (subnet 10.22.0.0/16)",
        ), (
            Error::Collision(Collision {
                kind: RangeKind::Pods,
                range: DEFAULT_POD_SUBNET,
                with: "--service-subnet 10.96.0.0/12".into(),
                free: None,
            }),
            "--pod-subnet 10.244.0.0/16 collides with --service-subnet 10.96.0.0/12\n",
        );
        Error::NoFreeSubnet => (
            Error::NoFreeSubnet,
            "no free /16 for the nodes in 10.0.0.0/8 or 172.16.0.0/12\nhint: pass --subnet",
        );
    })
}

fn ranges6() -> Vec<(model::ranges6::Error, &'static str)> {
    use model::ranges6::{
        check, check_pods, check_services, pick_node_subnet, Cidr6, Error, HostClaim6, NodeSubnet6,
        RangePair, Ranges6, DEFAULT_POD_SUBNET6, DEFAULT_SERVICE_SUBNET6, ULA,
    };
    let c6 = |t: &str| Cidr6::parse(t, "--subnet").unwrap();
    let uplink = HostClaim6::Address {
        interface: "eth0".into(),
        cidr: c6("fd00::/64"),
    };
    let ranges = Ranges6 {
        nodes: NodeSubnet6::new(c6("fd00::/64")).unwrap(),
        pods: DEFAULT_POD_SUBNET6,
        services: DEFAULT_SERVICE_SUBNET6,
    };
    let everything = HostClaim6::Route {
        dst: ULA,
        table: "main".into(),
        dev: "wg0".into(),
    };
    every_variant!(Error {
        Error::Cidr(..) => (
            Cidr6::parse("fd00::1/64", "--subnet").unwrap_err().into(),
            "invalid --subnet \"fd00::1/64\": host bits are set; give the network address",
        ), (
            RangePair::parse("10.244.0.1/16", "--pod-subnet").unwrap_err(),
            "invalid --pod-subnet \"10.244.0.1/16\": host bits are set",
        );
        Error::NotUla { .. } => (
            NodeSubnet6::new(c6("2001:db8::/64")).unwrap_err(),
            "--subnet 2001:db8::/64 is not a unique local range (fd00::/8)",
        );
        Error::Prefix { .. } => (
            check_services(c6("fd00:10:96::/64")).unwrap_err(),
            "--service-subnet fd00:10:96::/64: an IPv6 service range is a /108 to a /120",
        );
        Error::PodRangeTooSmall { .. } => (
            check_pods(c6("fd00:10:244::/63"), 3).unwrap_err(),
            "--pod-subnet fd00:10:244::/63 is too small for 3 nodes (each needs a /64)",
        );
        Error::Family { .. } => (
            RangePair::parse("10.244.0.0/16", "--pod-subnet")
                .unwrap()
                .check_family(model::ranges6::IpFamily::Dual, "--pod-subnet", false)
                .unwrap_err(),
            "--pod-subnet: 10.244.0.0/16 alone: a dual-stack cluster takes one range of each family\nhint: give one range for each family",
        );
        Error::Collision(..) => (
            check("dev", &ranges, &[uplink], &[], None).unwrap_err(),
            "--subnet fd00::/64 collides with the host's interface eth0 (fd00::/64)\nhint: --subnet fd",
        );
        Error::NoFreeSubnet(..) => (
            pick_node_subnet("dev", DEFAULT_POD_SUBNET6, DEFAULT_SERVICE_SUBNET6, &[everything], &[]).unwrap_err(),
            "no free IPv6 /64 derived from the cluster's name after 64 tries\nhint: pass --subnet",
        );
    })
}

fn config() -> Vec<(model::config::Error, &'static str)> {
    use model::config::Error;
    every_variant!(Error {
        Error::File { .. } => (
            Error::File {
                file: "/home/me/cluster.yaml".into(),
                message: config_message(
                    "nodes:\n- {}\n- extraMounts:\n  - hostPath: /tmp\n    nodePath: /src\n    readonly: true\n",
                ),
            },
            "/home/me/cluster.yaml: nodes[1].extraMounts[0].readonly: unknown field `readonly`",
        ), (
            Error::File {
                file: "/home/me/cluster.yaml".into(),
                message: config_message("nodes:\n- cpus: lots\n"),
            },
            "/home/me/cluster.yaml: nodes[0].cpus: invalid type: string \"lots\"",
        );
        Error::PatchName { .. } => (
            crate::model::config::check_patch_name("etcd.yml").unwrap_err(),
            "--kubeadm-patch etcd.yml: must end in .yaml or .json",
        ), (
            crate::model::config::check_patch_name("apiserver.yaml").unwrap_err(),
            "--kubeadm-patch apiserver.yaml: kubeadm patch files are named TARGET[SUFFIX][+strategic|merge|json].yaml with TARGET one of etcd, kube-apiserver",
        );
    })
}

fn model() -> Vec<(model::Error, &'static str)> {
    use model::Error;
    every_variant!(Error {
        Error::Name(..) => (
            ClusterName::new("-dev").unwrap_err().into(),
            "invalid cluster name \"-dev\"",
        );
        Error::Range(..) => (
            model::ranges::Error::NoFreeSubnet.into(),
            "hint: pass --subnet with a range of your choice",
        );
        Error::Range6(..) => (
            model::ranges6::Error::NoFreeSubnet(64).into(),
            "hint: pass --subnet with an IPv6 /64",
        );
        Error::Config(..) => (
            model::config::Error::File {
                file: "/home/me/cluster.yaml".into(),
                message: config_message("nodez: 3\n"),
            }
            .into(),
            "/home/me/cluster.yaml: nodez: unknown field `nodez`",
        );
        Error::Invalid(..) => (
            Error::Invalid(
                "--image-url (and --image-sha256) go with --image-method download, which needs --image-url".into(),
            ),
            "--image-url (and --image-sha256) go with --image-method download",
        );
    })
}

fn cluster() -> Vec<(cluster::Error, &'static str)> {
    use cluster::Error;
    every_variant!(Error {
        Error::NoCluster(..) => (
            Error::NoCluster(dev()),
            "no cluster \"dev\"\nhint: create it with `kubeadm-nspawn up --name dev`",
        );
        Error::Unmade(..) => (
            Error::Unmade(dev()),
            "an earlier `up` of cluster \"dev\" did not finish\nhint: `kubeadm-nspawn down --name dev` removes what it made; then `up` it again",
        );
        Error::Exists(..) => (
            Error::Exists(dev()),
            "cluster \"dev\" already exists\nhint: use it, or remove it with `kubeadm-nspawn down --name dev`",
        );
        Error::Stopped { .. } => (
            Error::Stopped { cluster: dev(), running: 1, total: 3 },
            "cluster \"dev\" is stopped (1 of 3 nodes running)\nhint: `kubeadm-nspawn start --name dev` brings it back",
        );
        Error::NotInitialized(..) => (
            Error::NotInitialized(dev()),
            "cluster \"dev\" is not initialized\nhint: `kubeadm-nspawn init --name dev` first",
        );
        Error::AlreadyInitialized(..) => (
            Error::AlreadyInitialized(dev()),
            "cluster \"dev\" is already initialized\nhint: `kubectl --context kubeadm-nspawn-dev` uses it",
        );
        Error::NoNode(..) => (
            Error::NoNode("dev-n9".into()),
            "no node \"dev-n9\"\nhint: `kubeadm-nspawn list` shows the nodes",
        );
        Error::NoNodes(..) => (
            Error::NoNodes(dev()),
            "cluster \"dev\" has no nodes\nhint: its `up` did not get that far: `kubeadm-nspawn down --name dev` removes it",
        );
        Error::CorruptState { .. } => (
            Error::CorruptState {
                cluster: dev(),
                path: "/var/lib/kubeadm-nspawn/dev/state.json".into(),
                reason: "EOF while parsing an object at line 1 column 9".into(),
            },
            "/var/lib/kubeadm-nspawn/dev/state.json: not a readable cluster state (EOF while parsing an object at line 1 column 9)\nhint: `kubeadm-nspawn down --name dev` still removes the cluster",
        );
        Error::Busy { .. } => (
            Error::Busy {
                cluster: dev(),
                holder: crate::cluster::lock::Holder {
                    verb: "init".into(),
                    pid: 4242,
                    pgid: 4242,
                    since: 1_764_000_000,
                }
                .to_string(),
            },
            "cluster \"dev\" is busy: init (pid 4242)\nhint: wait for it (without --no-wait)",
        );
        Error::Io(..) => (
            Error::Io(io()),
            "error: read /var/lib/kubeadm-nspawn/dev/state.json: Permission denied (os error 13)\n",
        );
        Error::Host(..) => (
            Error::Host(host::Error::tool("ip", "RTNETLINK answers: File exists")),
            "ip failed: RTNETLINK answers: File exists",
        );
        Error::Node(..) => (
            Error::Node(kns_node::Error::NotRunning { node: node() }),
            "node \"dev-n0\" is not running (no systemd-nspawn --machine=dev-n0)\nhint: `kubeadm-nspawn list`",
        );
        Error::NodeRoot(..) => (
            Error::NodeRoot(node_root()),
            "write /etc/kubernetes/kubelet.conf in the node's root /proc/4242/root: Read-only file system (os error 30)\n",
        );
        Error::NodeFailed { .. } => (
            Error::NodeFailed {
                node: "dev-n1".into(),
                message: "cnispawn did not report its network within 30 s".into(),
            },
            "node \"dev-n1\": cnispawn did not report its network within 30 s",
        ), (
            // A logged command's failure (ClusterNode::run_logged).
            Error::NodeFailed {
                node: node(),
                message: "`sh -c kubeadm init -v=5 --config /kind/kubeadm.yaml 2>&1` failed (exit status: 1); \
                          its log is /var/lib/kubeadm-nspawn/dev/kubeadm-init.log:\n\
                          [ERROR Port-6443]: Port 6443 is in use"
                    .into(),
            },
            "node \"dev-n0\": `sh -c kubeadm init -v=5 --config /kind/kubeadm.yaml 2>&1` failed (exit status: 1); its log is /var/lib/kubeadm-nspawn/dev/kubeadm-init.log:\n  | [ERROR Port-6443]",
        );
        Error::Unwritable { .. } => (
            Error::Unwritable { cluster: dev(), message: "key must be a string".into() },
            "writing the state of cluster \"dev\": key must be a string",
        );
        Error::Interrupted => (Error::Interrupted, "interrupted by a signal");
    })
}

fn host() -> Vec<(host::Error, &'static str)> {
    use host::Error;
    every_variant!(Error {
        Error::Io(..) => (
            Error::Io(Io::errno(
                "mount the overlay on",
                "/var/lib/kubeadm-nspawn/dev/nodes/dev-n0/rootfs",
                nix::errno::Errno::EINVAL,
            )),
            "mount the overlay on /var/lib/kubeadm-nspawn/dev/nodes/dev-n0/rootfs: Invalid argument (os error 22)",
        );
        Error::Tool { .. } => (
            Error::Tool {
                tool: "cnispawn".into(),
                message: "network namespace \"kns-dev-0\" already exists at /run/netns/kns-dev-0".into(),
                hint: Some("remove it with `cnispawn del --netns kns-dev-0`".into()),
            },
            "cnispawn failed: network namespace \"kns-dev-0\" already exists at /run/netns/kns-dev-0\nhint: remove it with `cnispawn del --netns kns-dev-0`",
        ), (
            Error::tool("image-pusher", "printed no JSON line (EOF while parsing a value at line 1 column 0): \"\""),
            "image-pusher failed: printed no JSON line",
        ), (
            Error::tool("ip link del", ""),
            "error: ip link del failed\n",
        );
        Error::Cgroup { .. } => (
            Error::Cgroup {
                node: node(),
                message: "no cgroup memory controller on this host to enforce the node's limit".into(),
            },
            "node \"dev-n0\": no cgroup memory controller on this host to enforce the node's limit",
        ), (
            Error::Cgroup {
                node: node(),
                message: format!(
                    "processes {} survived SIGKILL for {}",
                    "4242, 4243",
                    kns_plumbing::report::seconds(Duration::from_millis(2500))
                ),
            },
            "node \"dev-n0\": processes 4242, 4243 survived SIGKILL for 2.50 s",
        );
        Error::NoKubelet(..) => (
            Error::NoKubelet("the host's cgroups v1 have no pids controller".into()),
            "the host's cgroups v1 have no pids controller\nhint: nodes still boot here",
        );
        Error::NodeRoot(..) => (
            Error::NodeRoot(node_root()),
            "write /etc/kubernetes/kubelet.conf in the node's root /proc/4242/root",
        );
    })
}

fn kube() -> Vec<(kube::Error, &'static str)> {
    use kube::Error;
    let url = "https://dl.k8s.io/release/v1.28.99/bin/linux/amd64/kubeadm";
    let download = |failure| {
        crate::kube::releases::download_error("kubeadm of Kubernetes v1.28.99", url, failure)
    };
    every_variant!(Error {
        Error::Io(..) => (
            Error::io("read", "/home/me/kube/bin/kubeadm", os(libc::ENOENT)),
            "error: read /home/me/kube/bin/kubeadm: No such file or directory (os error 2)\n",
        );
        Error::Host(..) => (
            Error::tool("kubectl", "The connection to the server 10.22.0.10:6443 was refused"),
            "kubectl failed: The connection to the server 10.22.0.10:6443 was refused",
        );
        Error::Node(..) => (
            Error::Node(node_failed()),
            "node \"dev-n0\": `kubeadm init --config /kind/kubeadm.conf` failed (exit status: 1):\n  | [ERROR Port-6443]",
        );
        Error::Timeout(..) => (
            Error::Timeout(timeout()),
            "nodes Ready: not done after 300 s (dev-n1, dev-n2 not Ready); last error: kubectl failed: connection refused\nhint: `kubectl --kubeconfig",
        );
        Error::Unwritable(..) => (
            Error::Unwritable(Unwritable {
                what: "ClusterConfiguration",
                message: "unsupported value".into(),
            }),
            "writing ClusterConfiguration as YAML: unsupported value",
        );
        Error::TwoSources => (Error::TwoSources, "give --kube-bin or --kube-root, not both");
        Error::NoSource => (Error::NoSource, "no Kubernetes binaries: give --kube-bin DIR");
        Error::MissingBinaries { .. } => (
            Error::MissingBinaries {
                dir: "/home/me/kube/bin".into(),
                missing: vec!["kubeadm", "kubelet"],
            },
            "--kube-bin /home/me/kube/bin: missing kubeadm, kubelet",
        );
        Error::NotATree(..) => (
            Error::NotATree("/home/me/src".into()),
            "--kube-root /home/me/src: not a Kubernetes source tree (no cmd/kubeadm)",
        );
        Error::NotBuilt { .. } => (
            Error::NotBuilt {
                root: "/home/me/kubernetes".into(),
                output: Some("_output/bin"),
                missing: vec!["kube-proxy"],
            },
            "--kube-root /home/me/kubernetes: _output/bin lacks kube-proxy\nhint: run `make WHAT=\"cmd/kube-proxy\"` in the tree",
        ), (
            Error::NotBuilt {
                root: "/home/me/kubernetes".into(),
                output: None,
                missing: vec![],
            },
            "--kube-root /home/me/kubernetes: nothing built yet\nhint: run `make WHAT=\"cmd/kubeadm cmd/kubelet",
        );
        Error::NotADirectory(..) => (
            Error::NotADirectory("/home/me/etcd".into()),
            "--extra-bin /home/me/etcd: not a directory",
        );
        Error::MissingExtra { .. } => (
            Error::MissingExtra {
                name: "crictl",
                why: "kubeadm needs it in every node (cri-tools: `go build ./cmd/crictl`)",
            },
            "no crictl in --extra-bin DIR: kubeadm needs it in every node",
        );
        Error::NoVersion { .. } => (
            Error::NoVersion {
                binary: "/home/me/kube/bin/kubelet".into(),
                args: "--version".into(),
                stderr: "cannot execute binary file: Exec format error".into(),
            },
            "`/home/me/kube/bin/kubelet --version` printed no version (cannot execute binary file: Exec format error): is it a Kubernetes binary for this machine?",
        ), (
            Error::NoVersion {
                binary: "/home/me/kube/bin/kubelet".into(),
                args: "--version".into(),
                stderr: String::new(),
            },
            "`/home/me/kube/bin/kubelet --version` printed no version: is it",
        );
        Error::NoE2ePrograms { .. } => (
            Error::NoE2ePrograms {
                missing: vec!["e2e.test", "ginkgo"],
                place: "--e2e-bin /home/me/e2e".into(),
                looked: vec!["/home/me/e2e".into()],
                hint: "build them: `make WHAT=\"test/e2e/e2e.test vendor/github.com/onsi/ginkgo/v2/ginkgo\"`".into(),
            },
            "e2e.test and ginkgo not found in --e2e-bin /home/me/e2e (looked in /home/me/e2e)\nhint: build them",
        );
        Error::NotAnE2eTree(..) => (
            Error::NotAnE2eTree("/home/me/src".into()),
            "--kube-root /home/me/src: not a Kubernetes source tree (no test/e2e)",
        );
        Error::NoTreeToBuild { .. } => (
            Error::NoTreeToBuild { cluster: "dev".into(), dir: "/home/me/kube/bin".into() },
            "--build needs a source tree: the binaries of cluster \"dev\" (/home/me/kube/bin) are not a tree's build\nhint: give --kube-root TREE",
        );
        Error::BuildFailed { .. } => (
            Error::BuildFailed { tree: "/home/me/k8s".into(), status: "exit status: 2".into() },
            "make in /home/me/k8s failed (exit status: 2): its output is above\nhint: make runs as you",
        );
        Error::NotKubeadm { .. } => (
            Error::NotKubeadm { binary: "/home/me/kube/bin/kubeadm".into(), said: "hello".into() },
            "/home/me/kube/bin/kubeadm: `kubeadm version -o short` says \"hello\", not a version: is it kubeadm?",
        );
        Error::NotOneBuild { .. } => (
            Error::NotOneBuild {
                dir: "/home/me/kube/bin".into(),
                kubeadm: "v1.28.7".into(),
                mismatched: vec!["kubelet is v1.29.0".into()],
            },
            "the Kubernetes binaries in /home/me/kube/bin are not one build: kubeadm is v1.28.7, kubelet is v1.29.0",
        );
        Error::Release(..) => (
            Error::Release(format!(
                "--kube-version: {}",
                crate::kube::version::Version::parse("1.28.banana").unwrap_err()
            )),
            "--kube-version: \"1.28.banana\" is not a Kubernetes version",
        );
        Error::Download { .. } => (
            download(Failure::Status(404)),
            "kubeadm of Kubernetes v1.28.99: not found (HTTP 404) (https://dl.k8s.io/release/v1.28.99/bin/linux/amd64/kubeadm)\nhint: check that the version is released",
        ), (
            download(Failure::Status(503)),
            "kubeadm of Kubernetes v1.28.99: HTTP status 503 (",
        ), (
            download(Failure::Unreachable("Connection refused (os error 111)".into())),
            "cannot reach the server: Connection refused (os error 111)",
        ), (
            download(Failure::CutShort {
                got: 1024,
                expected: Some(4096),
                why: "unexpected end of file".into(),
            }),
            "cut short after 1024 of 4096 bytes (unexpected end of file)",
        ), (
            download(Failure::CutShort { got: 1024, expected: None, why: "timed out".into() }),
            "cut short after 1024 bytes (timed out)",
        ), (
            download(Failure::Local("write /var/lib/kubeadm-nspawn/releases/staging/kubeadm: No space left on device (os error 28)".into())),
            "hint: make room on the cache's file system",
        );
        Error::CorruptRecord { .. } => (
            Error::CorruptRecord {
                path: "/var/lib/kubeadm-nspawn/releases/v1.28.7/release.json".into(),
                reason: "missing field `version` at line 1 column 2".into(),
            },
            "/var/lib/kubeadm-nspawn/releases/v1.28.7/release.json: not a readable release record (missing field `version`",
        );
        Error::NoCaHash { .. } => (
            Error::NoCaHash { node: node(), output: "unable to load certificate".into() },
            "node \"dev-n0\": no hash of the cluster CA's public key (the command printed \"unable to load certificate\")",
        );
        Error::AdminConf(..) => (
            crate::kube::kubeconfig::from_admin_conf("apiVersion: v1\n", "dev", "https://10.22.0.10:6443")
                .unwrap_err(),
            "admin.conf has no certificate-authority-data: kubeadm init did not finish",
        );
        Error::RuntimeLibraries(..) => (
            Error::RuntimeLibraries("ldd: /usr/sbin/iptables: No such file or directory".into()),
            "cannot list the shared libraries of the node base's iptables (ldd: /usr/sbin/iptables: No such file or directory)",
        ), (
            Error::RuntimeLibraries(String::new()),
            "cannot list the shared libraries of the node base's iptables\n",
        );
        Error::Interrupted => (
            download(Failure::Cancelled),
            "error: interrupted by a signal\n",
        );
        Error::Panicked(..) => (
            Error::Panicked(panicked()),
            "internal error: dev-n1: the work on it panicked: index out of bounds: the len is 1 but the index is 1\n",
        );
        Error::Internal(..) => (
            Error::Internal("no etcd version, and no failure".into()),
            "internal error: no etcd version, and no failure",
        );
    })
}

fn proxy_mode() -> Vec<(kube::proxy_mode::Error, &'static str)> {
    use crate::model::settings::KubeProxyMode;
    use kube::proxy_mode::Error as E;
    every_variant!(E {
        E::NftablesTooOld { .. } => (
            E::NftablesTooOld { version: "v1.28.7".into() },
            "kube-proxy mode nftables needs Kubernetes 1.29 or later; these binaries are v1.28.7",
        );
        E::NftablesGateOff { .. } => (
            E::NftablesGateOff { version: "v1.30.1".into() },
            "kube-proxy mode nftables needs the NFTablesProxyMode feature gate in v1.30.1; featureGates sets it false\nhint: drop featureGates.NFTablesProxyMode",
        );
        E::NoIpvs { .. } => (
            E::NoIpvs { missing: vec!["the ip_vs module (/proc/net/ip_vs is absent)".into(), "the ip_vs_rr module".into()] },
            "kube-proxy mode ipvs needs IPVS in the host's kernel (nodes share it and cannot load modules): missing the ip_vs module (/proc/net/ip_vs is absent), the ip_vs_rr module\nhint: load them on the host (`modprobe -a ip_vs",
        );
        E::NoTool { .. } => (
            E::NoTool { mode: KubeProxyMode::Ipvs, tool: "ipset", path: "/var/lib/kubeadm-nspawn/images/k/rootfs/usr/sbin/ipset".into() },
            "kube-proxy mode ipvs runs ipset, which the node base image has not (/var/lib/kubeadm-nspawn/images/k/rootfs/usr/sbin/ipset is absent)",
        );
    })
}

fn verb() -> Vec<(Error, &'static str)> {
    every_variant!(Error {
        Error::Invalid(..) => (
            check_node_count(51).unwrap_err().into(),
            "--nodes 51: a cluster has 1 to 50 nodes",
        );
        Error::Cluster(..) => (
            cluster::Error::NoCluster(dev()).into(),
            "no cluster \"dev\"\nhint: create it with `kubeadm-nspawn up --name dev`",
        );
        Error::Kube(..) => (kube::Error::TwoSources.into(), "give --kube-bin or --kube-root, not both");
        Error::Host(..) => (
            host::Error::NoKubelet("the host's cgroups v1 have no pids controller".into()).into(),
            "hint: nodes still boot here (`up`, `stop`, `start`, `exec`)",
        );
        Error::ProxyMode(..) => (
            kube::proxy_mode::Error::NftablesTooOld { version: "v1.28.7".into() }.into(),
            "kube-proxy mode nftables needs Kubernetes 1.29 or later; these binaries are v1.28.7\nhint: give binaries of 1.29+",
        );
        Error::Node(..) => (
            kns_node::Error::Degraded { node: node(), units: vec!["containerd.service".into()] }.into(),
            "node \"dev-n0\" booted degraded, failed units: containerd.service\nhint: `kubeadm-nspawn exec dev-n0 -- systemctl status containerd.service` says why",
        );
        Error::Timeout(..) => (
            timeout().into(),
            "hint: `kubectl --kubeconfig /var/lib/kubeadm-nspawn/dev/kubeconfig describe nodes`",
        );
        Error::NotRoot => (Error::NotRoot, "kubeadm-nspawn needs root (");
        Error::UpdateFailed { .. } => (
            Error::UpdateFailed {
                component: "kube-apiserver".into(),
                why: "node \"dev-n1\": its new container exited 3 times".into(),
                log: "E0101 00:00:00 flag provided but not defined: -bogus".into(),
                rolled_back: true,
            },
            "update of kube-apiserver failed: node \"dev-n1\": its new container exited 3 times; the previous one is back\n  | E0101",
        ), (
            Error::UpdateFailed {
                component: "kubelet".into(),
                why: "node \"dev-n1\": not Ready".into(),
                log: String::new(),
                rolled_back: false,
            },
            "update of kubelet failed: node \"dev-n1\": not Ready; left as it is (--no-rollback)\n",
        );
        Error::UpdateInterrupted { .. } => (
            Error::UpdateInterrupted { component: "kube-scheduler".into(), put_back: true },
            "update of kube-scheduler interrupted: the previous one is put back\nhint: `kubeadm-nspawn update` again does it again",
        ), (
            Error::UpdateInterrupted { component: "kube-scheduler".into(), put_back: false },
            "update of kube-scheduler interrupted: putting the previous one back failed on some node",
        );
        Error::Containerd(..) => (
            Error::Containerd(kns_node::containerd::Error::NotAnswering {
                node: "dev-n0".into(),
                after: std::time::Duration::from_secs(30),
                last_error: Some("connection refused".into()),
            }),
            "node \"dev-n0\": containerd did not answer `ctr version` within 30 s of its restart; last error: connection refused\nhint: its log: `kubeadm-nspawn exec dev-n0 -- journalctl -u containerd -n 50`",
        ), (
            Error::Containerd(kns_node::containerd::Error::NoVersion {
                node: "dev-n0".into(),
                output: "garbage".into(),
            }),
            "node \"dev-n0\": `containerd --version` printed \"garbage\", which names no version",
        );
        Error::Request(..) => (
            Error::Request(
                "--config describes 3 nodes; cluster \"dev\" has 1".into(),
            ),
            "--config describes 3 nodes; cluster \"dev\" has 1",
        );
        Error::SpecsFailed { .. } => (
            Error::SpecsFailed {
                failed: 2,
                ran: 40,
                junit: "/home/me/_artifacts/junit.xml".into(),
                logs: Some("/home/me/_artifacts/logs".into()),
                log: "/home/me/_artifacts/e2e.log".into(),
            },
            "2 of 40 e2e specs failed (junit: /home/me/_artifacts/junit.xml; the cluster's logs: /home/me/_artifacts/logs)\nhint: each failure is in /home/me/_artifacts/e2e.log",
        );
        Error::SuiteFailed { .. } => (
            Error::SuiteFailed { why: "ginkgo exited 1 without a summary".into(), log: "/home/me/_artifacts/e2e.log".into() },
            "hint: the end of ginkgo's output says why",
        );
        Error::E2eInterrupted { .. } => (
            Error::E2eInterrupted { passed: 3, failed: 0, artifacts: "/home/me/_artifacts".into() },
            "e2e interrupted by a signal after 3 passed and 0 failed specs (ginkgo's reports are in /home/me/_artifacts)",
        );
        Error::Interrupted => (Error::Interrupted, "interrupted by a signal");
        Error::Internal(..) => (
            Error::Internal("the cluster was not marked initializing".into()),
            "internal error: the cluster was not marked initializing",
        );
        Error::Panicked(..) => (
            Error::Panicked(panicked()),
            "internal error: dev-n1: the work on it panicked: index out of bounds",
        );
        Error::Cleanup(_) => (
            Error::from(cluster::Error::NoNodes(dev()))
                .with_cleanup(Err(Io::new("remove", "/var/lib/kubeadm-nspawn/dev", os(libc::EBUSY)).into())),
            "cluster \"dev\" has no nodes; cleaning up after it also failed: remove /var/lib/kubeadm-nspawn/dev: Device or resource busy (os error 16)\nhint: its `up` did not get that far",
        );
    })
}

/// Each sample lifted into the verbs' error, as a verb returns it.
fn lifted<E: Into<Error>>(samples: Vec<(E, &'static str)>) -> Vec<(Error, &'static str)> {
    samples
        .into_iter()
        .map(|(e, says)| (e.into(), says))
        .collect()
}

/// Every layer's errors name things plainly (clusters and nodes by name, values as given, what
/// to do in the hint); a layer's own words are checked in its samples.
#[test]
fn every_layers_errors_read_plainly() {
    let layers = [
        ("verbs", verb()),
        ("model names", lifted(names())),
        ("model ranges", lifted(ranges())),
        ("model IPv6 ranges", lifted(ranges6())),
        ("model config", lifted(config())),
        ("model", lifted(model())),
        ("proxy modes", lifted(proxy_mode())),
        ("cluster", lifted(cluster())),
        ("host", lifted(host())),
        ("kube", lifted(kube())),
    ];
    for (layer, samples) in layers {
        println!("the errors of {layer}:");
        assert_plain(samples);
    }
}

#[test]
fn download_failures_read_plainly() {
    let failures = every_variant!(Failure {
        Failure::Unreachable(..) => (Failure::Unreachable("dns error: no such host".into()), "cannot reach the server: dns error");
        Failure::Status(..) => (Failure::Status(404), "not found (HTTP 404)"), (Failure::Status(500), "HTTP status 500");
        Failure::CutShort { .. } => (
            Failure::CutShort { got: 10, expected: Some(20), why: "reset".into() },
            "cut short after 10 of 20 bytes (reset)",
        ), (
            Failure::CutShort { got: 10, expected: None, why: "reset".into() },
            "cut short after 10 bytes (reset)",
        );
        Failure::Local(..) => (Failure::Local("disk full".into()), "disk full");
        Failure::Cancelled => (Failure::Cancelled, "cancelled");
    });
    for (failure, says) in failures {
        let text = failure.to_string();
        assert!(text.contains(says), "{text}: does not say {says}");
        assert_eq!(debug_artefacts(&text), Vec::<String>::new(), "{text}");
    }
}
