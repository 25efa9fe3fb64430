//! The command line, as kubetest2 gives it to a deployer (`kubetest2 nspawn ARGS` execs
//! `kubetest2-nspawn ARGS`): kubetest2's common flags (pkg/app/cmd.go, pkg/artifacts/paths.go),
//! this deployer's own flags (kind's names where kind has one: kubetest2-kind/deployer), and the
//! tester's arguments after the first bare `--`.

use std::path::PathBuf;

use clap::Parser;

pub const AFTER_HELP: &str = "Examples:\n  \
    kubetest2 nspawn --up --down --kube-bin ~/k8s/_output/bin --extra-bin ~/extra --test=exec -- kubectl get nodes\n  \
    sudo kubetest2-nspawn --build --up --down --kube-root ~/go/src/k8s.io/kubernetes --extra-bin ~/extra \\\n      \
    --test=ginkgo -- --use-built-binaries --focus-regex='Pods should get a host IP'\n  \
    sudo kubetest2-nspawn --up --cluster-name dev --nodes 3 --kube-version v1.28.7      # and keep it\n  \
    sudo kubetest2-nspawn --cluster-name dev --test=exec -- kubectl get nodes\n  \
    sudo kubetest2-nspawn --down --cluster-name dev --artifacts /tmp/dev                 # logs into /tmp/dev/logs\n\n\
    The lifecycle is kubetest2's: Build, Up, --pre-test-cmd, Test, --post-test-cmd, then Down (also \
    after a failed or interrupted Up or Test). ARTIFACTS gets metadata.json, junit_runner.xml and, at \
    Down, the cluster's logs (logs/). The tester (kubetest2-tester-NAME on PATH) runs with KUBECONFIG \
    (the cluster's own file), ARTIFACTS, KUBETEST2_RUN_DIR, KUBETEST2_RUN_ID, and the run directory \
    first on PATH. Needs root (kubeadm-nspawn does).";

#[derive(Parser, Debug, Clone, PartialEq)]
#[command(
    name = "kubetest2-nspawn",
    version,
    about = "A kubetest2 deployer: kubeadm-nspawn clusters (systemd-nspawn nodes, real kubeadm) for \
             kubetest2's build, up, test and down",
    after_help = AFTER_HELP
)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub deployer: Deployer,
    /// The tester's arguments (after the first bare `--`).
    #[arg(last = true, value_name = "TESTER-ARGS")]
    pub tester_args: Vec<String>,
}

/// kubetest2's own flags, as every deployer binary takes them.
#[derive(clap::Args, Debug, Clone, PartialEq, Default)]
#[command(next_help_heading = "kubetest2 flags")]
pub struct Common {
    // Bools as pflag reads them: `--up`, or `--up=true` / `--up=false`.
    /// Build Kubernetes (in --kube-root) first.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    pub build: bool,
    /// Provision the test cluster (kubeadm-nspawn up and init).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    pub up: bool,
    /// Tear down the test cluster (its logs exported into ARTIFACTS/logs first).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    pub down: bool,
    /// The tester to run (kubetest2-tester-NAME on PATH: ginkgo, exec, ...); none if unset.
    #[arg(long, value_name = "NAME")]
    pub test: Option<String>,
    /// Do not record the test step in junit_runner.xml (the tester writes its own junit).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    pub skip_test_junit_report: bool,
    /// A unique identifier for the run [default: $PROW_JOB_ID, else a random UUID].
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// Where artifacts go (metadata.json, junit_runner.xml, logs/) [default: $ARTIFACTS, else
    /// ./_artifacts].
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// Where run files go (the tester's binaries, the kubeconfig), one directory per run id
    /// [default: $KUBETEST2_RUN_DIR, else ./_rundir].
    #[arg(long, value_name = "DIR")]
    pub rundir: Option<PathBuf>,
    /// Put the run directory under ARTIFACTS.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    pub rundir_in_artifacts: bool,
    /// A command and its arguments, comma-separated, run after Up and before the tester, with
    /// the tester's environment (e.g. --pre-test-cmd=kubectl,apply,-f,foo.yaml).
    #[arg(long, value_name = "CMD,ARG,...", value_delimiter = ',', action = clap::ArgAction::Append)]
    pub pre_test_cmd: Vec<String>,
    /// A command and its arguments, comma-separated, run after the tester (whatever its
    /// outcome), with the tester's environment.
    #[arg(long, value_name = "CMD,ARG,...", value_delimiter = ',', action = clap::ArgAction::Append)]
    pub post_test_cmd: Vec<String>,
}

/// This deployer's flags: the cluster kubeadm-nspawn makes.
#[derive(clap::Args, Debug, Clone, PartialEq, Default)]
#[command(next_help_heading = "nspawn deployer flags")]
pub struct Deployer {
    /// The cluster's name (kubeadm-nspawn --name) [default: kt2- and the run id's first 8
    /// letters and digits].
    #[arg(long, value_name = "NAME")]
    pub cluster_name: Option<String>,
    /// Number of nodes (kubeadm-nspawn up --nodes) [default: kubeadm-nspawn's, or the config file's].
    #[arg(long, value_name = "N")]
    pub nodes: Option<usize>,
    /// How many of the nodes are control planes (1, or an odd number up to 7).
    #[arg(long, value_name = "K")]
    pub control_planes: Option<usize>,
    /// A kubeadm-nspawn cluster config file (docs/config.md), for up and init.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A Kubernetes source tree: what --build builds, and where the cluster's binaries come from.
    #[arg(long, value_name = "DIR", conflicts_with = "kube_bin")]
    pub kube_root: Option<PathBuf>,
    /// Kubernetes binaries in one directory (kubeadm, kubelet, kubectl, kube-apiserver,
    /// kube-controller-manager, kube-scheduler, kube-proxy).
    #[arg(long, value_name = "DIR")]
    pub kube_bin: Option<PathBuf>,
    /// crictl, etcd (and optionally coredns, pause), for --kube-root or --kube-bin.
    #[arg(long, value_name = "DIR")]
    pub extra_bin: Option<PathBuf>,
    /// A released Kubernetes instead of a build (v1.28.7, stable-1.28: downloaded once, cached).
    #[arg(long, value_name = "VERSION", conflicts_with_all = ["kube_root", "kube_bin", "extra_bin"])]
    pub kube_version: Option<String>,
    /// The nodes' subnet (kubeadm-nspawn up --subnet) [default: a free /16].
    #[arg(long, value_name = "CIDR")]
    pub subnet: Option<String>,
    /// No NAT and no route off the host for the nodes (nothing they send leaves the machine).
    #[arg(long)]
    pub no_masquerade: bool,
    /// The cluster's kubeconfig: the one file init writes and the tester gets as KUBECONFIG
    /// [default: RUNDIR/kubeconfig].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// kubeadm-nspawn's state directory (kubeadm-nspawn --state-dir) [default: kubeadm-nspawn's].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// The kubeadm-nspawn program [default: beside this program, else on PATH].
    #[arg(long, value_name = "PATH")]
    pub kubeadm_nspawn: Option<PathBuf>,
}
