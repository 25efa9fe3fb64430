//! Command line of kubeadm-nspawn.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use kubeadm_nspawn::actions::update::UpdateOptions;
use kubeadm_nspawn::actions::{InitOptions, UpOptions};
use kubeadm_nspawn::kube::binaries::KubeBinaries;
use kubeadm_nspawn::kube::releases;
use kubeadm_nspawn::model::config;
use kubeadm_nspawn::model::names::{ClusterName, Subnet, DEFAULT_STATE_DIR};
use kubeadm_nspawn::model::ranges::Cidr;

#[derive(Parser)]
#[command(
    name = "kubeadm-nspawn",
    version,
    about = "Multi-node Kubernetes clusters of systemd-nspawn nodes on one machine",
    long_about = "Multi-node Kubernetes clusters of systemd-nspawn nodes on one machine.\n\n\
        `up` builds (or reuses) the node base image with rootfs-builder, gives each node an overlay root \
        and its own network namespace wired by cnispawn, and boots them all with systemd-nspawn. `init` \
        makes them a Kubernetes cluster with the real kubeadm and your Kubernetes binaries: images are \
        synthesized from the binaries and pushed into the nodes, nothing is pulled. `down` removes a \
        cluster without a trace. Needs root.",
    after_help = "Examples:\n  sudo kubeadm-nspawn up --nodes 3\n  sudo kubeadm-nspawn list\n  \
        sudo kubeadm-nspawn exec default-n0 -- systemctl status containerd\n  \
        sudo kubeadm-nspawn init --kube-bin ~/k8s/_output/local/bin/linux/amd64 --extra-bin ~/extra\n  \
        kubectl get nodes\n  sudo kubeadm-nspawn down"
)]
struct Cli {
    /// Where clusters are kept.
    #[arg(long, global = true, value_name = "DIR", default_value = DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// Show what the tools kubeadm-nspawn runs say on stderr (image-pusher, cnispawn, kubeadm's
    /// output), each line prefixed with its source.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a cluster of booted nodes.
    #[command(after_help = "Examples:\n  sudo kubeadm-nspawn up --nodes 3\n  \
        sudo kubeadm-nspawn up --name dev --nodes 2 --subnet 10.30.0.0/24 --no-masquerade\n  \
        sudo kubeadm-nspawn up --nodes 3 --kube-root ~/go/src/k8s.io/kubernetes --extra-bin ~/extra\n  \
        sudo kubeadm-nspawn up --nodes 3 --kube-version stable-1.28\n  \
        sudo kubeadm-nspawn up --nodes 4 --control-planes 3   # HA: 3 control planes, 1 worker, a load balancer\n  \
        sudo kubeadm-nspawn up --config docs/cluster.yaml   # see docs/config.md")]
    Up {
        /// A cluster config file (YAML, kubeadm-nspawn/v1alpha1; docs/config.md): nodes with their
        /// labels, mounts and limits, networking, base image, binaries, feature gates, runtime
        /// config, kubeadm patches. `init` then uses what it recorded. Flags given win over it.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Number of nodes, 1 to 50 [default: 1, or the config file's nodes].
        #[arg(long)]
        nodes: Option<usize>,
        /// How many of the nodes are control planes: 1, or an odd number up to 7 for a highly
        /// available control plane (stacked etcd; a load balancer node, `<name>-lb` at .9 of the
        /// subnet, runs haproxy in front of the API servers) [default: 1, or the config file's].
        #[arg(long, value_name = "K")]
        control_planes: Option<usize>,
        /// Cluster name [default: default].
        #[arg(long)]
        name: Option<String>,
        /// How to get the base image (see rootfs-builder --help) [default: debootstrap].
        #[arg(long, value_enum)]
        image_method: Option<config::ImageMethod>,
        /// Tarball for --image-method download.
        #[arg(long, value_name = "URL")]
        image_url: Option<String>,
        /// sha256 of --image-url.
        #[arg(long, value_name = "HEX")]
        image_sha256: Option<String>,
        /// The nodes' subnet on the host bridge: gateway at .1, node i at .(10+i). Default: 10.22.0.0/16
        /// when free, else the next free /16. Checked against the host's addresses and routes, the
        /// other clusters and the pod and service ranges.
        #[arg(long, value_name = "CIDR")]
        subnet: Option<String>,
        /// The pods' range inside the nodes (node i gets the i-th /24 of it) [default: 10.244.0.0/16].
        #[arg(long, value_name = "CIDR")]
        pod_subnet: Option<String>,
        /// The services' (ClusterIP) range [default: 10.96.0.0/12].
        #[arg(long, value_name = "CIDR")]
        service_subnet: Option<String>,
        /// Give the nodes no route off the host and no NAT (nothing they send can leave the machine).
        #[arg(long)]
        no_masquerade: bool,
        /// Keep what was created when `up` fails (for debugging).
        #[arg(long)]
        retain: bool,
        /// How long a node may take to boot.
        #[arg(long, value_name = "SECONDS", default_value_t = 60)]
        boot_timeout: u64,
        /// Kubernetes binaries to record for a later `init` (checked now).
        #[command(flatten)]
        kube: KubeArgs,
        #[command(flatten)]
        release: ReleaseArgs,
    },
    /// Make the nodes a Kubernetes cluster: kubeadm init on the first node, join the others,
    /// pod network, kubeconfig context kubeadm-nspawn-NAME, wait for Ready.
    #[command(
        long_about = "Make the nodes a Kubernetes cluster: kubeadm init on the first node, join the \
            others, pod network, kubeconfig context kubeadm-nspawn-NAME, wait for Ready.\n\n\
            The binaries: --kube-bin/--kube-root (your build), else --kube-version (a release, \
            downloaded once and cached), else what `up` recorded, else the default release v1.28.7 \
            (the newest version the project's end-to-end tests verify).",
        after_help = "Examples:\n  sudo kubeadm-nspawn init --kube-root ~/go/src/k8s.io/kubernetes --extra-bin ~/extra\n  \
            sudo kubeadm-nspawn init --kube-version stable-1.28\n  \
            sudo kubeadm-nspawn init --config docs/cluster.yaml\n  \
            sudo kubeadm-nspawn init            # v1.28.7 from dl.k8s.io (or $KUBEADM_NSPAWN_RELEASE_MIRROR)"
    )]
    Init {
        /// Cluster name [default: default, or the config file's name].
        #[arg(long)]
        name: Option<String>,
        /// The cluster config file `up` was given (or an edited one): init takes its binaries,
        /// featureGates, runtimeConfig, kubeadmPatches and node labels from it (instead of what
        /// `up` recorded). Flags given win over it.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        kube: KubeArgs,
        #[command(flatten)]
        release: ReleaseArgs,
        /// A kubeadm patch file (kubeadm's --patches naming: TARGET[SUFFIX][+strategic|merge|json].yaml,
        /// TARGET one of etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
        /// kubeletconfiguration). Repeatable.
        #[arg(long, value_name = "FILE")]
        kubeadm_patch: Vec<PathBuf>,
        /// How long to wait for all nodes to be Ready (e.g. 90s, 5m; 0 to not wait).
        #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
        wait: Duration,
    },
    /// Print a cluster's kubeconfig (as `init` merged it into $KUBECONFIG or ~/.kube/config).
    #[command(
        after_help = "Examples:\n  sudo kubeadm-nspawn kubeconfig --name dev > dev.kubeconfig\n  \
        kubectl --kubeconfig dev.kubeconfig get nodes"
    )]
    Kubeconfig {
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// Remove a cluster (idempotent).
    #[command(
        after_help = "Examples:\n  sudo kubeadm-nspawn down\n  sudo kubeadm-nspawn down --name dev\n  sudo kubeadm-nspawn down --all"
    )]
    Down {
        #[arg(long, default_value = "default", conflicts_with = "all")]
        name: String,
        /// Remove every cluster.
        #[arg(long)]
        all: bool,
    },
    /// Shut a cluster's nodes down (pods first, then a clean poweroff) and remove their host
    /// objects (namespaces, veths, mounts, the bridge), keeping everything they own on disk: the
    /// overlay upper dirs, containerd's and the kubelet's dirs, etcd's data. `start` brings the
    /// cluster back, also after a host reboot.
    #[command(
        after_help = "Examples:\n  sudo kubeadm-nspawn stop              # for the night\n  sudo kubeadm-nspawn stop --all        # before a host reboot (not needed: start recovers either way)"
    )]
    Stop {
        #[arg(long, default_value = "default", conflicts_with = "all")]
        name: String,
        /// Stop every cluster.
        #[arg(long)]
        all: bool,
    },
    /// Start a stopped (or partly stopped) cluster again: the same nodes with the same names,
    /// addresses and disks; an initialized cluster is waited for until every node is Ready.
    #[command(
        after_help = "Examples:\n  sudo kubeadm-nspawn start\n  sudo kubeadm-nspawn start --all --wait 0     # do not wait for Ready"
    )]
    Start {
        #[arg(long, default_value = "default", conflicts_with = "all")]
        name: String,
        /// Start every cluster.
        #[arg(long)]
        all: bool,
        /// How long to wait for all nodes Ready (0: do not wait).
        #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
        wait: Duration,
    },
    /// Put rebuilt binaries into the running cluster: only what changed since `init` (or the last
    /// update) is replaced, each component the way it runs (static pod image + manifest, kubelet
    /// restart, DaemonSet/Deployment image, tools copied), health-checked, and put back if it does
    /// not become healthy.
    #[command(
        after_help = "Examples:\n  make WHAT=cmd/kubelet && sudo kubeadm-nspawn update\n  \
        sudo kubeadm-nspawn update --kube-root ~/k8s --only kube-apiserver,kube-scheduler"
    )]
    Update {
        #[arg(long, default_value = "default")]
        name: String,
        /// Where the new binaries are (default: what the cluster was made with).
        #[command(flatten)]
        kube: KubeArgs,
        /// Only these components (comma-separated): etcd, kube-apiserver, kube-controller-manager,
        /// kube-scheduler, kubelet, kube-proxy, coredns, kubeadm, kubectl, crictl.
        #[arg(long, value_name = "COMPONENT,...", value_delimiter = ',')]
        only: Vec<String>,
        /// Leave a component that does not become healthy in place (to debug it).
        #[arg(long)]
        no_rollback: bool,
        /// How long a replaced component may take to become healthy.
        #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_duration)]
        wait: Duration,
    },
    /// Export what a cluster's nodes and Kubernetes say (logs, states, configurations).
    Export {
        #[command(subcommand)]
        what: ExportCommand,
    },
    /// The cache of released Kubernetes versions (`--kube-version`): list, download ahead, free.
    #[command(
        after_help = "Examples:\n  sudo kubeadm-nspawn releases get stable-1.28     # before going offline\n  \
        sudo kubeadm-nspawn releases list\n  sudo kubeadm-nspawn releases gc"
    )]
    Releases {
        #[command(subcommand)]
        command: ReleasesCommand,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  source <(kubeadm-nspawn completion bash)\n  \
        kubeadm-nspawn completion bash | sudo tee /etc/bash_completion.d/kubeadm-nspawn\n  \
        kubeadm-nspawn completion zsh > \"${fpath[1]}/_kubeadm-nspawn\"\n  \
        kubeadm-nspawn completion fish > ~/.config/fish/completions/kubeadm-nspawn.fish"
    )]
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages: kubeadm-nspawn.1 and one per verb (kubeadm-nspawn-up.1, ...).
    #[command(
        after_help = "Examples:\n  kubeadm-nspawn man /tmp/man && man -l /tmp/man/kubeadm-nspawn-up.1\n  \
        sudo kubeadm-nspawn man /usr/local/share/man/man1"
    )]
    Man {
        /// Where to write them (created if missing).
        #[arg(value_name = "DIR", default_value = ".")]
        dir: PathBuf,
    },
    /// List clusters and their nodes.
    #[command(
        after_help = "Examples:\n  sudo kubeadm-nspawn list\n  sudo kubeadm-nspawn list --json | jq '.[].nodes[].ip'"
    )]
    List {
        /// One JSON line (an array of cluster states) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run a command in a node; its exit code is passed through.
    #[command(
        after_help = "Examples:\n  sudo kubeadm-nspawn exec default-n0 -- crictl ps -a\n  \
        sudo kubeadm-nspawn exec default-n1 -- journalctl -u kubelet --no-pager -n 50"
    )]
    Exec {
        node: String,
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// An interactive shell in a node.
    #[command(after_help = "Example:\n  sudo kubeadm-nspawn shell default-n0")]
    Shell { node: String },
    /// Load image archives (docker-archive or OCI tarballs, e.g. `docker save` output or
    /// `_output/release-images/amd64/*.tar`) into every node, like `kind load image-archive`, or
    /// images of the host's Docker by name (`--docker-image`, like `kind load docker-image`;
    /// DOCKER_HOST picks the daemon). Nodes that already hold an image with the same config digest
    /// skip it.
    #[command(
        after_help = "Examples:\n  sudo kubeadm-nspawn load _output/release-images/amd64/kube-apiserver.tar\n  \
        sudo kubeadm-nspawn load --docker-image my/app:dev --name dev"
    )]
    Load {
        /// docker-archive or OCI layout tarballs (plain or gzip).
        #[arg(value_name = "IMAGE-ARCHIVE", required_unless_present = "docker_image")]
        archives: Vec<PathBuf>,
        /// An image in the host's Docker, repository[:tag]. Repeatable.
        #[arg(long, value_name = "REF")]
        docker_image: Vec<String>,
        #[arg(long, default_value = "default")]
        name: String,
    },
}

/// Where the Kubernetes binaries come from (`up` and `init`).
#[derive(clap::Args)]
struct KubeArgs {
    /// Kubernetes binaries (kubeadm, kubelet, kubectl, kube-apiserver, kube-controller-manager,
    /// kube-scheduler, kube-proxy) in one directory.
    #[arg(long, value_name = "DIR", conflicts_with = "kube_root")]
    kube_bin: Option<PathBuf>,
    /// A Kubernetes source tree built with `make`: its _output/local/bin/linux/amd64 (or
    /// _output/bin) is used.
    #[arg(long, value_name = "DIR")]
    kube_root: Option<PathBuf>,
    /// crictl (required), etcd (required), coredns (optional: without it no cluster DNS) and
    /// pause (optional: the project's own is the default).
    #[arg(long, value_name = "DIR")]
    extra_bin: Option<PathBuf>,
}

/// A released Kubernetes instead of your own build.
#[derive(clap::Args)]
struct ReleaseArgs {
    /// A released Kubernetes: v1.28.7, 1.28.7, stable or stable-1.28. Its seven binaries, crictl of
    /// its minor and the etcd and CoreDNS its kubeadm names are downloaded once (checked against
    /// their published sha256) and cached; images are synthesized from them as from a build.
    #[arg(long, value_name = "VERSION", conflicts_with_all = ["kube_bin", "kube_root", "extra_bin"])]
    kube_version: Option<String>,
    #[command(flatten)]
    source: ReleaseSource,
}

/// Where releases come from and are kept.
#[derive(clap::Args)]
struct ReleaseSource {
    /// One base URL with the paths of dl.k8s.io and github.com under it, used instead of them
    /// (an air-gapped mirror).
    #[arg(long, value_name = "URL", env = releases::MIRROR_ENV)]
    release_mirror: Option<String>,
    /// Where downloaded releases are kept (one directory per version and architecture).
    #[arg(long, value_name = "DIR", env = releases::CACHE_ENV, default_value = releases::DEFAULT_CACHE_DIR)]
    release_cache: PathBuf,
}

impl ReleaseSource {
    fn request(&self, version: &str) -> kubeadm_nspawn::Result<releases::Request> {
        releases::Request::new(version, self.release_mirror.as_deref(), &self.release_cache)
    }

    /// The request for `version` (`--kube-version` or the config file's), if one was named.
    fn maybe(&self, version: Option<&str>) -> kubeadm_nspawn::Result<Option<releases::Request>> {
        version.map(|v| self.request(v)).transpose()
    }
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Everything needed to see why a cluster broke, into DIR (and DIR.tar.gz with --archive): per
    /// node the journal, kubelet/containerd status, crictl ps -a/pods, /var/log/pods and
    /// /var/log/containers, the static pod manifests, the kubelet config, the generated kubeadm
    /// configuration; for the cluster state.json, kubeadm init/join logs, the nodes' nspawn logs and
    /// CNI results, kubectl get nodes,pods -A -o wide and events, versions. Works on a running
    /// cluster, a stopped one (journals from the nodes' disks) and one whose init failed. No private
    /// keys, bootstrap tokens or credentials.
    #[command(after_help = "Examples:\n  sudo kubeadm-nspawn export logs\n  \
        sudo kubeadm-nspawn export logs /tmp/dev-logs --name dev --archive")]
    Logs {
        /// Where to write (must not exist or be empty). Default: ./NAME-logs-TIMESTAMP.
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
        #[arg(long, default_value = "default")]
        name: String,
        /// Also write DIR.tar.gz.
        #[arg(long)]
        archive: bool,
    },
}

#[derive(Subcommand)]
enum ReleasesCommand {
    /// The cached versions: size, etcd and CoreDNS versions, the clusters using them.
    #[command(
        after_help = "Examples:\n  sudo kubeadm-nspawn releases list\n  sudo kubeadm-nspawn releases list --json"
    )]
    List {
        /// One JSON line instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        source: ReleaseSource,
    },
    /// Download a version into the cache now (before going offline, or to time it).
    #[command(
        after_help = "Examples:\n  sudo kubeadm-nspawn releases get v1.28.7\n  \
        sudo kubeadm-nspawn releases get stable-1.28 --release-mirror http://mirror.example:8080"
    )]
    Get {
        /// v1.28.7, 1.28.7, stable or stable-1.28.
        version: String,
        #[command(flatten)]
        source: ReleaseSource,
    },
    /// Remove the cached versions no cluster uses, and what interrupted downloads left.
    #[command(after_help = "Example:\n  sudo kubeadm-nspawn releases gc")]
    Gc {
        #[command(flatten)]
        source: ReleaseSource,
    },
}

impl KubeArgs {
    /// The binaries the flags name, with `--kube-version`.
    fn binaries(self, version: Option<String>) -> config::Binaries {
        config::Binaries {
            kube_bin: self.kube_bin,
            kube_root: self.kube_root,
            extra_bin: self.extra_bin,
            version,
        }
    }
}

fn main_result(cli: Cli) -> anyhow::Result<i32> {
    let state_dir = cli.state_dir;
    kns_plumbing::terminal::set_verbose(cli.verbose);
    match cli.command {
        Command::Up {
            config,
            nodes,
            control_planes,
            name,
            image_method,
            image_url,
            image_sha256,
            subnet,
            pod_subnet,
            service_subnet,
            no_masquerade,
            retain,
            boot_timeout,
            kube,
            release,
        } => {
            let config = config.as_deref().map(config::load).transpose()?;
            let request = config::UpFlags {
                name,
                nodes,
                control_planes,
                subnet,
                pod_subnet,
                service_subnet,
                no_masquerade,
                image_method,
                image_url,
                image_sha256,
                binaries: kube.binaries(release.kube_version.clone()),
            }
            .over(config.as_ref());
            // Checked before anything is created: a bad directory fails here.
            let kube = if request.binaries.given() {
                Some(KubeBinaries::find(
                    request.binaries.kube_bin.as_deref(),
                    request.binaries.kube_root.as_deref(),
                    request.binaries.extra_bin.as_deref(),
                )?)
            } else {
                None
            };
            let mut image_args = vec![
                "--method".to_string(),
                request.image_method.as_str().to_string(),
            ];
            if let Some(url) = request.image_url {
                image_args.extend(["--url".into(), url]);
            }
            if let Some(sum) = request.image_sha256 {
                image_args.extend(["--sha256".into(), sum]);
            }
            let opts = UpOptions {
                name: ClusterName::new(&request.name)?,
                nodes: request.nodes.len(),
                control_planes: request.control_planes,
                subnet: request.subnet.as_deref().map(Subnet::parse).transpose()?,
                pod_subnet: Cidr::parse(&request.pod_subnet, "--pod-subnet")?,
                service_subnet: Cidr::parse(&request.service_subnet, "--service-subnet")?,
                masquerade: request.masquerade,
                image_args,
                boot_timeout: Duration::from_secs(boot_timeout),
                kube,
                release: release.source.maybe(request.binaries.version.as_deref())?,
                node_settings: request.nodes,
                components: request.components,
            };
            let started = std::time::Instant::now();
            let state = kubeadm_nspawn::up(opts, &state_dir, retain)?;
            eprintln!(
                "\nCluster {:?} is up ({:.1} s):",
                state.name,
                started.elapsed().as_secs_f64()
            );
            print_nodes(&state);
            eprintln!("\nNext: kubeadm-nspawn exec {}-n0 -- systemctl status   |   kubeadm-nspawn down --name {}", state.name, state.name);
        }
        Command::Update {
            name,
            kube,
            only,
            no_rollback,
            wait,
        } => {
            let started = std::time::Instant::now();
            let opts = UpdateOptions {
                kube_bin: kube.kube_bin,
                kube_root: kube.kube_root,
                extra_bin: kube.extra_bin,
                only,
                rollback: !no_rollback,
                wait,
            };
            let outcomes = kubeadm_nspawn::update(&ClusterName::new(&name)?, &state_dir, &opts)?;
            let seconds = started.elapsed().as_secs_f64();
            if outcomes.is_empty() {
                eprintln!("nothing changed: cluster {name:?} runs these binaries already ({seconds:.2} s)");
            } else {
                eprintln!(
                    "\n  {:<24} {:<29} {:>7}  ACTION",
                    "COMPONENT", "OLD → NEW", "SECONDS"
                );
                for o in &outcomes {
                    let change = format!("{} → {}", o.old.as_deref().unwrap_or("?"), o.new);
                    eprintln!(
                        "  {:<24} {change:<29} {:>7.1}  {}",
                        o.component, o.seconds, o.action
                    );
                }
            }
            println!(
                "{}",
                serde_json::json!({"name": name, "seconds": seconds, "updated": outcomes})
            );
        }
        Command::Stop { name, all } => {
            for name in cluster_names(&state_dir, name, all)? {
                let started = std::time::Instant::now();
                let steps = kubeadm_nspawn::stop(&ClusterName::new(&name)?, &state_dir)?;
                eprintln!(
                    "cluster {name:?} stopped ({:.1} s); `kubeadm-nspawn start --name {name}` brings it back",
                    started.elapsed().as_secs_f64()
                );
                println!(
                    "{}",
                    steps_json(&name, started.elapsed().as_secs_f64(), &steps)
                );
            }
        }
        Command::Start { name, all, wait } => {
            for name in cluster_names(&state_dir, name, all)? {
                let started = std::time::Instant::now();
                let steps = kubeadm_nspawn::start(&ClusterName::new(&name)?, &state_dir, wait)?;
                if !steps.is_empty() {
                    eprintln!(
                        "cluster {name:?} started ({:.1} s)",
                        started.elapsed().as_secs_f64()
                    );
                }
                println!(
                    "{}",
                    steps_json(&name, started.elapsed().as_secs_f64(), &steps)
                );
            }
        }
        Command::Down { name, all } => {
            for name in cluster_names(&state_dir, name, all)? {
                let removed = kubeadm_nspawn::down(&ClusterName::new(&name)?, &state_dir)?;
                eprintln!(
                    "{}",
                    if removed {
                        format!("cluster {name:?} removed")
                    } else {
                        format!("no cluster {name:?}: nothing to do")
                    }
                );
            }
        }
        Command::List { json } => {
            let clusters = kubeadm_nspawn::list(&state_dir)?;
            let unreadable = kubeadm_nspawn::list_unreadable(&state_dir);
            for (name, e) in &unreadable {
                eprintln!(
                    "cluster {name}: UNREADABLE: {e}\n  `kubeadm-nspawn down --name {name}` still removes it"
                );
            }
            if json {
                println!("{}", serde_json::to_string(&clusters)?);
            } else if clusters.is_empty() && unreadable.is_empty() {
                eprintln!("no clusters");
            } else {
                for c in &clusters {
                    let running = c
                        .nodes
                        .iter()
                        .filter(|n| kubeadm_nspawn::cluster::node::is_running(n))
                        .count();
                    let state = match running {
                        r if r == c.nodes.len() => "running".to_owned(),
                        0 => "stopped".to_owned(),
                        r => format!("partly stopped: {r} of {} nodes running", c.nodes.len()),
                    };
                    println!(
                        "cluster {} [{state}] (subnet {}, pods {}, services {}, bridge {})",
                        c.name, c.subnet, c.pod_subnet, c.service_subnet, c.bridge
                    );
                    print_nodes(c);
                }
            }
        }
        Command::Releases { command } => releases_command(&state_dir, command)?,
        Command::Export {
            what: ExportCommand::Logs { dir, name, archive },
        } => {
            let exported =
                kubeadm_nspawn::export_logs(&state_dir, &ClusterName::new(&name)?, dir, archive)?;
            for m in &exported.missing {
                eprintln!("   not collected: {m}");
            }
            eprintln!(
                "logs of cluster {name:?} in {} ({} files, {:.1} s){}",
                exported.dir.display(),
                exported.files,
                exported.seconds,
                exported
                    .archive
                    .as_ref()
                    .map(|a| format!(", and {}", a.display()))
                    .unwrap_or_default()
            );
            println!("{}", serde_json::to_string(&exported)?);
        }
        Command::Completion { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "kubeadm-nspawn",
                &mut std::io::stdout(),
            );
        }
        Command::Man { dir } => {
            use clap::CommandFactory;
            std::fs::create_dir_all(&dir)?;
            clap_mangen::generate_to(Cli::command(), &dir)?;
            eprintln!("man pages written to {}", dir.display());
        }
        Command::Exec { node, command } => {
            return Ok(kubeadm_nspawn::exec(&state_dir, &node, &command)?)
        }
        Command::Init {
            name,
            config,
            kube,
            release,
            kubeadm_patch,
            wait,
        } => {
            let config = config.as_deref().map(config::load).transpose()?;
            let request = config::InitFlags {
                name,
                binaries: kube.binaries(release.kube_version.clone()),
            }
            .over(config.as_ref());
            let name = ClusterName::new(&request.name)?;
            let opts = InitOptions {
                state_dir: state_dir.clone(),
                kube_bin: request.binaries.kube_bin,
                kube_root: request.binaries.kube_root,
                extra_bin: request.binaries.extra_bin,
                release: release.source.maybe(request.binaries.version.as_deref())?,
                default_release: release.source.request(releases::DEFAULT_VERSION)?,
                patches: kubeadm_patch,
                components: request.components,
                labels: request.labels,
                control_planes: request.control_planes,
                wait,
                kubeconfig: kubeadm_nspawn::kube::kubeconfig::default_target(),
            };
            let kubeconfig = opts.kubeconfig.path.clone();
            let started = std::time::Instant::now();
            let timings = kubeadm_nspawn::init(&name, opts)?;
            eprintln!(
                "\nCluster {:?} is initialized ({:.1} s):",
                name.to_string(),
                started.elapsed().as_secs_f64()
            );
            for (step, seconds) in &timings {
                eprintln!("  {step:<45} {seconds:>6.1} s");
            }
            eprintln!(
                "\nkubectl uses it now (context {} in {}): kubectl get nodes",
                kubeadm_nspawn::kube::kubeconfig::context_name(&name.to_string()),
                kubeconfig.display()
            );
            println!(
                "{}",
                steps_json(&name.to_string(), started.elapsed().as_secs_f64(), &timings)
            );
        }
        Command::Kubeconfig { name } => {
            print!(
                "{}",
                kubeadm_nspawn::kubeconfig(&state_dir, &ClusterName::new(&name)?)?
            );
        }
        Command::Load {
            archives,
            docker_image,
            name,
        } => {
            let summary = kubeadm_nspawn::load(
                &state_dir,
                &ClusterName::new(&name)?,
                &archives,
                &docker_image,
            )?;
            println!("{summary}");
        }
        Command::Shell { node } => {
            return Ok(kubeadm_nspawn::exec(
                &state_dir,
                &node,
                &["/bin/bash".into(), "-l".into()],
            )?)
        }
    }
    Ok(0)
}

fn releases_command(state_dir: &std::path::Path, command: ReleasesCommand) -> anyhow::Result<()> {
    match command {
        ReleasesCommand::List { json, source } => {
            let cached = kubeadm_nspawn::releases_list(state_dir, &source.release_cache)?;
            if json {
                println!("{}", serde_json::to_string(&cached)?);
            } else if cached.is_empty() {
                eprintln!(
                    "no releases in {} (`kubeadm-nspawn releases get VERSION`, or `--kube-version` on up/init)",
                    source.release_cache.display()
                );
            } else {
                println!(
                    "{:<24} {:>8}  {:<8} {:<8} CLUSTERS",
                    "VERSION", "SIZE", "ETCD", "COREDNS"
                );
                for c in &cached {
                    let r = &c.cached.record;
                    println!(
                        "{:<24} {:>5} MB  {:<8} {:<8} {}",
                        format!("{}-linux-{}", r.version, r.arch),
                        c.cached.bytes / 1_000_000,
                        r.etcd,
                        r.coredns.as_deref().unwrap_or("-"),
                        if c.clusters.is_empty() {
                            "-".to_owned()
                        } else {
                            c.clusters.join(",")
                        }
                    );
                }
            }
        }
        ReleasesCommand::Get { version, source } => {
            let started = std::time::Instant::now();
            let binaries = releases::fetch(&source.request(&version)?)?;
            println!(
                "{}",
                serde_json::json!({
                    "version": binaries.version,
                    "kubeBin": binaries.dir,
                    "extraBin": binaries.extra_dir,
                    "seconds": started.elapsed().as_secs_f64(),
                })
            );
        }
        ReleasesCommand::Gc { source } => {
            let (removed, bytes) = kubeadm_nspawn::releases_gc(state_dir, &source.release_cache)?;
            for c in &removed {
                eprintln!("removed {}", c.dir.display());
            }
            eprintln!(
                "{} version(s) removed, {} MB freed",
                removed.len(),
                bytes / 1_000_000
            );
        }
    }
    Ok(())
}

/// `90s`, `5m`, `1h`, `0` (seconds without a unit).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |i| text.split_at(i));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a duration like 90s, 5m or 1h"))?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("{text:?}: expected a duration like 90s, 5m or 1h")),
    };
    Ok(Duration::from_secs(seconds))
}

/// `--all`: every cluster's name; else the one given.
fn cluster_names(
    state_dir: &std::path::Path,
    name: String,
    all: bool,
) -> anyhow::Result<Vec<String>> {
    Ok(if all {
        kubeadm_nspawn::list(state_dir)?
            .into_iter()
            .map(|c| c.name)
            .collect()
    } else {
        vec![name]
    })
}

/// The JSON line of a verb made of steps: `{"name","seconds","steps":{title: seconds}}`.
fn steps_json(name: &str, seconds: f64, steps: &[(&'static str, f64)]) -> serde_json::Value {
    let steps: serde_json::Map<String, serde_json::Value> = steps
        .iter()
        .map(|(title, s)| ((*title).to_owned(), serde_json::json!(s)))
        .collect();
    serde_json::json!({"name": name, "seconds": seconds, "steps": steps})
}

fn print_nodes(state: &kubeadm_nspawn::model::state::ClusterState) {
    println!(
        "  {:<24} {:<14} {:<10} {:<16} {:>8}",
        "NODE", "ROLE", "STATE", "IP", "PID"
    );
    for n in &state.nodes {
        let running = kubeadm_nspawn::cluster::node::is_running(n);
        let pid = n.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
        println!(
            "  {:<24} {:<14} {:<10} {:<16} {:>8}",
            n.name,
            n.role.as_str(),
            if running { "running" } else { "stopped" },
            n.ip,
            pid
        );
    }
}

fn main() -> ExitCode {
    // `kubeadm-nspawn list | head` ends quietly, as Unix tools do, instead of panicking on the
    // closed pipe. (Children's pipes are read, never written to after they close.)
    // SAFETY: setting a signal's disposition to the default, before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let result = main_result(Cli::parse()).map(|code| ExitCode::from(code.clamp(0, 255) as u8));
    kns_plumbing::report::exit(
        result,
        kns_plumbing::report::hint_of::<kubeadm_nspawn::Error>,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_verb_has_an_example() {
        fn check(cmd: &clap::Command, path: &str) {
            for sub in cmd.get_subcommands() {
                let path = format!("{path} {}", sub.get_name());
                if sub.has_subcommands() {
                    check(sub, &path);
                    continue;
                }
                if sub.get_name() == "help" {
                    continue;
                }
                let help = sub
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                assert!(help.contains("Example"), "`{path} --help` has no example");
            }
        }
        check(&Cli::command(), "kubeadm-nspawn");
    }

    #[test]
    fn completions_and_man_pages_come_from_the_definitions() {
        let mut script = vec![];
        clap_complete::generate(
            clap_complete::Shell::Bash,
            &mut Cli::command(),
            "kubeadm-nspawn",
            &mut script,
        );
        let script = String::from_utf8(script).unwrap();
        for word in ["--kube-version", "releases", "stop", "--release-mirror"] {
            assert!(script.contains(word), "bash completion lacks {word}");
        }
        let dir = tempfile::tempdir().unwrap();
        clap_mangen::generate_to(Cli::command(), dir.path()).unwrap();
        let up = std::fs::read_to_string(dir.path().join("kubeadm-nspawn-up.1")).unwrap();
        assert!(up.contains("kube\\-version"), "{up}");
    }
}
