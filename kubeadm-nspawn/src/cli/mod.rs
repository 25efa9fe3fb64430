//! The command line: each verb's clap arguments (one file a verb or a family), turned into its one
//! validated request and handed to its verb; what the verb returns is printed here (progress and
//! tables on stderr, one JSON line on stdout). `main.rs` only parses and reports.

pub mod binaries;
pub mod e2e;
pub mod init;
pub mod inspect;
pub mod lifecycle;
pub mod releases;
pub mod up;
pub mod update;

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::actions::request::Common;
use crate::cluster::{lock::Wait, Access, ClusterNode};
use crate::host::{self, Host};
use crate::model::config::{self, Config};
use crate::model::layout::ClusterPaths;
use crate::model::names::{ClusterName, DEFAULT_STATE_DIR};
use crate::model::state::ClusterState;

#[derive(Parser, Debug)]
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
        kubectl get nodes\n  sudo kubeadm-nspawn e2e --focus 'Services should serve a basic endpoint'\n  \
        sudo kubeadm-nspawn down"
)]
pub struct Cli {
    /// Where clusters are kept.
    #[arg(long, global = true, value_name = "DIR", default_value = DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
    /// Show what the tools kubeadm-nspawn runs say on stderr (image-pusher, cnispawn, kubeadm's
    /// output), each line prefixed with its source.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// When another verb is changing the cluster, fail at once (naming it) instead of waiting.
    #[arg(long, global = true)]
    pub no_wait: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a cluster of booted nodes.
    #[command(after_help = up::AFTER_HELP)]
    Up(up::UpArgs),
    /// Make the nodes a Kubernetes cluster: kubeadm init on the first node, join the others,
    /// pod network, kubeconfig context kubeadm-nspawn-NAME, wait for Ready.
    #[command(long_about = init::LONG_ABOUT, after_help = init::AFTER_HELP)]
    Init(init::InitArgs),
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
    Down(lifecycle::Which),
    /// Shut a cluster's nodes down, keeping everything they own on disk.
    #[command(
        long_about = lifecycle::STOP_ABOUT,
        after_help = "Examples:\n  sudo kubeadm-nspawn stop              # for the night\n  sudo kubeadm-nspawn stop --all        # before a host reboot (not needed: start recovers either way)"
    )]
    Stop(lifecycle::Which),
    /// Start a stopped (or partly stopped) cluster again: the same nodes with the same names,
    /// addresses and disks; an initialized cluster is waited for until every node is Ready.
    #[command(
        after_help = "Examples:\n  sudo kubeadm-nspawn start\n  sudo kubeadm-nspawn start --all --wait 0     # do not wait for Ready"
    )]
    Start(lifecycle::StartArgs),
    /// Put rebuilt binaries into the running cluster: only what changed since `init` (or the last
    /// update) is replaced, each component the way it runs (static pod image + manifest, kubelet
    /// restart, DaemonSet/Deployment image, tools copied), health-checked, and put back if it does
    /// not become healthy.
    #[command(after_help = update::AFTER_HELP)]
    Update(update::UpdateArgs),
    /// Run Kubernetes' end-to-end suite (e2e.test under ginkgo) against the cluster: the test
    /// step of a Kubernetes developer's loop.
    #[command(long_about = e2e::LONG_ABOUT, after_help = e2e::AFTER_HELP)]
    E2e(e2e::E2eArgs),
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
        command: releases::ReleasesCommand,
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
        /// One JSON line (an array of clusters) instead of a table.
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

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
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

/// What every verb's command line shares: the global flags and the host.
pub struct Global {
    pub state_dir: PathBuf,
    pub wait: Wait,
    host: std::sync::OnceLock<host::Real>,
}

impl Global {
    fn of(cli: &Cli) -> Global {
        Global {
            state_dir: cli.state_dir.clone(),
            wait: if cli.no_wait {
                Wait::NoWait
            } else {
                Wait::Wait
            },
            host: std::sync::OnceLock::new(),
        }
    }

    pub fn common(&self) -> Common {
        Common {
            state_dir: self.state_dir.clone(),
            wait: self.wait,
        }
    }

    /// This host (its cgroups detected on first use).
    pub fn host(&self) -> &dyn Host {
        self.host.get_or_init(host::Real::detect)
    }

    pub fn access(&self, verb: &'static str) -> Access {
        Access::Change {
            verb,
            wait: self.wait,
        }
    }
}

/// Runs the verb the command line names; returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    Ok(run_verb(cli)?)
}

fn run_verb(cli: Cli) -> crate::Result<i32> {
    kns_plumbing::terminal::set_verbose(cli.verbose);
    let global = Global::of(&cli);
    match &cli.command {
        Command::Up(args) => args.run(&global),
        Command::Init(args) => args.run(&global),
        Command::Update(args) => args.run(&global),
        Command::E2e(args) => args.run(&global),
        Command::Stop(which) => lifecycle::stop(which, &global),
        Command::Start(args) => lifecycle::start(args, &global),
        Command::Down(which) => lifecycle::down(which, &global),
        Command::List { json } => inspect::list(*json, &global),
        Command::Kubeconfig { name } => inspect::kubeconfig(name, &global),
        Command::Exec { node, command } => inspect::exec(node, command, &global),
        Command::Shell { node } => inspect::exec(node, &["/bin/bash".into(), "-l".into()], &global),
        Command::Load {
            archives,
            docker_image,
            name,
        } => inspect::load(archives, docker_image, name, &global),
        Command::Export {
            what: ExportCommand::Logs { dir, name, archive },
        } => inspect::export_logs(dir.clone(), name, *archive, &global),
        Command::Releases { command } => releases::run(command, &global),
        Command::Completion { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "kubeadm-nspawn",
                &mut std::io::stdout(),
            );
            Ok(0)
        }
        Command::Man { dir } => {
            use clap::CommandFactory;
            clap_mangen::generate_to(Cli::command(), dir)
                .or_else(|_| {
                    std::fs::create_dir_all(dir)?;
                    clap_mangen::generate_to(Cli::command(), dir)
                })
                .map_err(|e| host::error::Io::new("write man pages in", dir, e))?;
            eprintln!("man pages written to {}", dir.display());
            Ok(0)
        }
    }
}

/// The config file `--config` names, read and checked against this host.
fn config_file(path: Option<&Path>) -> crate::Result<Option<Config>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let invalid = |message: String| config::Error::File {
        file: path.to_owned(),
        message,
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| invalid(format!("cannot read it: {e}")))?;
    let base = path
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(Some(
        config::parse(&text, &base, &host::ThisHost).map_err(invalid)?,
    ))
}

/// `90s`, `5m`, `1h`, `0` (seconds without a unit).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |i| text.split_at(i));
    let bad = || format!("\"{text}\": expected a duration like 90s, 5m or 1h");
    let n: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs(seconds))
}

/// The JSON line of a verb made of steps: `{"name","seconds","steps":{title: seconds}}`.
fn steps_json(
    name: &ClusterName,
    seconds: f64,
    steps: &[(&'static str, f64)],
) -> serde_json::Value {
    let steps: serde_json::Map<String, serde_json::Value> = steps
        .iter()
        .map(|(title, s)| ((*title).to_owned(), serde_json::json!(s)))
        .collect();
    serde_json::json!({"name": name.as_str(), "seconds": seconds, "steps": steps})
}

/// A cluster's nodes as a table, on stdout.
fn print_nodes(state: &ClusterState, paths: &ClusterPaths) {
    println!(
        "  {:<24} {:<14} {:<10} {:<16} {:>8}",
        "NODE", "ROLE", "STATE", "IP", "PID"
    );
    for n in &state.nodes {
        let running = ClusterNode::new(&state.name, paths, n).is_running();
        let pid = n.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
        println!(
            "  {:<24} {:<14} {:<10} {:<16} {:>8}",
            n.name,
            n.role.as_str(),
            if running { "running" } else { "stopped" },
            inspect::node_ips(n.ip, state.node_ip6(n)),
            pid
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// The command of `kubeadm-nspawn VERB ARGS...`, which must parse.
    pub(super) fn command(verb: &str, args: &[&str]) -> Command {
        let argv = ["kubeadm-nspawn", verb]
            .into_iter()
            .chain(args.iter().copied());
        Cli::try_parse_from(argv).unwrap().command
    }

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
        for word in [
            "--kube-version",
            "releases",
            "stop",
            "--release-mirror",
            "--no-wait",
        ] {
            assert!(script.contains(word), "bash completion lacks {word}");
        }
        let dir = tempfile::tempdir().unwrap();
        clap_mangen::generate_to(Cli::command(), dir.path()).unwrap();
        let up = std::fs::read_to_string(dir.path().join("kubeadm-nspawn-up.1")).unwrap();
        assert!(up.contains("kube\\-version"), "{up}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(
            parse_duration("5 minutes").unwrap_err(),
            "\"5 minutes\": expected a duration like 90s, 5m or 1h"
        );
    }

    #[test]
    fn components_are_named_as_the_enum_names_them() {
        let cli = Cli::try_parse_from([
            "kubeadm-nspawn",
            "update",
            "--only",
            "kubelet,kube-apiserver",
        ])
        .unwrap();
        let Command::Update(u) = cli.command else {
            panic!()
        };
        use crate::model::component::Component;
        assert_eq!(u.only, [Component::Kubelet, Component::KubeApiserver]);
        let err =
            Cli::try_parse_from(["kubeadm-nspawn", "update", "--only", "kubelets"]).unwrap_err();
        assert!(
            err.to_string().contains("invalid value 'kubelets'"),
            "{err}"
        );
    }
}
