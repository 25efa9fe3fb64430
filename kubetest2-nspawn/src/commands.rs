//! The command lines the phases run, as pure functions of the request: kubeadm-nspawn's verbs
//! (composed by fork/exec, never linked), the build's `make`, the tester and the test commands.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::request::{Cluster, Request};
use crate::runner::{Invocation, Shown, User};

/// What Build makes in --kube-root: the binaries kubeadm-nspawn's clusters run (`--kube-root`
/// finds them in the tree's output) and the ones kubetest2's ginkgo tester runs from the run
/// directory (e2e.test, ginkgo, kubectl; kubetest2's pkg/build CommonTestBinaries).
pub const MAKE_WHAT: &str = "cmd/kubeadm cmd/kubelet cmd/kubectl cmd/kube-apiserver \
    cmd/kube-controller-manager cmd/kube-scheduler cmd/kube-proxy test/e2e/e2e.test \
    vendor/github.com/onsi/ginkgo/v2/ginkgo";

/// The binaries Build copies into the run directory, as kubetest2's deployers do.
pub const TEST_BINARIES: [&str; 3] = ["kubectl", "e2e.test", "ginkgo"];

/// How long an interrupted kubeadm-nspawn verb may take to undo what it made (up and init
/// undo themselves on a Ctrl-C).
const VERB_GRACE: Duration = Duration::from_secs(120);
/// ginkgo's grace for its cleanup is 30 s a node; its reports come after.
const TESTER_GRACE: Duration = Duration::from_secs(60);
const MAKE_GRACE: Duration = Duration::from_secs(10);

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// `kubeadm-nspawn [--state-dir DIR] ARGS`, with the cluster's kubeconfig as KUBECONFIG (init
/// writes its context there, down takes it out: the user's own kubeconfig is not touched).
fn kubeadm_nspawn(cluster: &Cluster, args: Vec<OsString>) -> Invocation {
    let program = cluster
        .kubeadm_nspawn
        .clone()
        .unwrap_or_else(|| PathBuf::from("kubeadm-nspawn"));
    let mut all = vec![];
    if let Some(dir) = &cluster.flags.state_dir {
        all.push("--state-dir".into());
        all.push(dir.into());
    }
    all.extend(args);
    let mut invocation = Invocation::new(program, all);
    invocation
        .env
        .push(("KUBECONFIG".into(), cluster.kubeconfig.clone().into()));
    invocation.grace = VERB_GRACE;
    invocation
}

/// The flags naming the cluster's binaries, for up (which records them) and init.
fn binaries(cluster: &Cluster) -> Vec<OsString> {
    let f = &cluster.flags;
    let mut args: Vec<OsString> = vec![];
    let mut path = |flag: &str, value: &Option<PathBuf>| {
        if let Some(value) = value {
            args.push(flag.into());
            args.push(value.into());
        }
    };
    path("--config", &f.config);
    path("--kube-root", &f.kube_root);
    path("--kube-bin", &f.kube_bin);
    path("--extra-bin", &f.extra_bin);
    if let Some(version) = &f.kube_version {
        args.extend(os(&["--kube-version", version]));
    }
    args
}

/// Up's first half: `kubeadm-nspawn up --name NAME` with the cluster's shape and binaries.
pub fn up(cluster: &Cluster) -> Invocation {
    let f = &cluster.flags;
    let mut args = os(&["up", "--name", &cluster.name]);
    if let Some(nodes) = f.nodes {
        args.extend(os(&["--nodes", &nodes.to_string()]));
    }
    if let Some(k) = f.control_planes {
        args.extend(os(&["--control-planes", &k.to_string()]));
    }
    if let Some(subnet) = &f.subnet {
        args.extend(os(&["--subnet", subnet]));
    }
    if f.no_masquerade {
        args.push("--no-masquerade".into());
    }
    args.extend(binaries(cluster));
    kubeadm_nspawn(cluster, args)
}

/// Up's second half: `kubeadm-nspawn init --name NAME`, which waits for every node Ready.
pub fn init(cluster: &Cluster) -> Invocation {
    let mut args = os(&["init", "--name", &cluster.name]);
    args.extend(binaries(cluster));
    kubeadm_nspawn(cluster, args)
}

/// `kubeadm-nspawn kubeconfig --name NAME`: the cluster's kubeconfig on stdout.
pub fn kubeconfig(cluster: &Cluster) -> Invocation {
    kubeadm_nspawn(cluster, os(&["kubeconfig", "--name", &cluster.name]))
}

/// DumpClusterLogs: `kubeadm-nspawn export logs ARTIFACTS/logs --name NAME`, where kind's
/// deployer puts `kind export logs`.
pub fn export_logs(cluster: &Cluster, artifacts: &Path) -> Invocation {
    let mut args = os(&["export", "logs"]);
    args.push(logs_dir(artifacts).into());
    args.extend(os(&["--name", &cluster.name]));
    kubeadm_nspawn(cluster, args)
}

pub fn logs_dir(artifacts: &Path) -> PathBuf {
    artifacts.join("logs")
}

/// Down: `kubeadm-nspawn down --name NAME`.
pub fn down(cluster: &Cluster) -> Invocation {
    kubeadm_nspawn(cluster, os(&["down", "--name", &cluster.name]))
}

/// Build: `make WHAT="..."` in the tree, as `user` (the tree's owner when run as root: a root
/// make would leave root-owned output in their tree), with the official Go's
/// /usr/local/go/bin on PATH when it is there (sudo resets PATH).
pub fn make(tree: &Path, user: Option<User>, path: &OsString) -> Invocation {
    let mut invocation = Invocation::new("make", vec![format!("WHAT={MAKE_WHAT}").into()]);
    invocation.dir = Some(tree.to_path_buf());
    invocation.user = user;
    invocation.grace = MAKE_GRACE;
    let go = Path::new("/usr/local/go/bin");
    let mut dirs: Vec<PathBuf> = std::env::split_paths(path).collect();
    if go.is_dir() && !dirs.iter().any(|d| d == go) {
        dirs.push(go.to_path_buf());
        if let Ok(joined) = std::env::join_paths(dirs) {
            invocation.env.push(("PATH".into(), joined));
        }
    }
    invocation
}

/// Where a tree's `make` puts the binaries, in the order looked (kubeadm-nspawn's
/// `--kube-root` looks in the same places).
pub fn tree_outputs(tree: &Path) -> [PathBuf; 2] {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        other => other,
    };
    [
        tree.join("_output/bin"),
        tree.join(format!("_output/local/bin/linux/{arch}")),
    ]
}

/// The tester: `kubetest2-tester-NAME ARGS` with the tester's environment.
pub fn tester(request: &Request, kubeconfig: Option<&Path>) -> Option<Invocation> {
    let tester = request.test.as_ref()?;
    let mut invocation = Invocation::new(
        tester.program.clone(),
        tester.args.iter().map(OsString::from).collect(),
    );
    invocation.env = request.tester_env(kubeconfig);
    invocation.shown = Shown::Stdout;
    invocation.grace = TESTER_GRACE;
    Some(invocation)
}

/// What kubetest2 asks a tester before the run: its usage (`TESTER --help ARGS`).
pub fn tester_help(request: &Request) -> Option<Invocation> {
    let tester = request.test.as_ref()?;
    let mut args: Vec<OsString> = vec!["--help".into()];
    args.extend(tester.args.iter().map(OsString::from));
    Some(Invocation::new(tester.program.clone(), args))
}

/// A --pre-test-cmd or --post-test-cmd, its `$VAR`s expanded from this environment (a `\$`
/// is a literal `$`), as kubetest2 does; with the tester's environment.
pub fn test_command(
    parts: &[String],
    request: &Request,
    kubeconfig: Option<&Path>,
    var: &dyn Fn(&str) -> Option<String>,
) -> Option<Invocation> {
    let expanded: Vec<String> = parts.iter().map(|p| expand(p, var)).collect();
    let (program, args) = expanded.split_first()?;
    let mut invocation = Invocation::new(program, args.iter().map(OsString::from).collect());
    invocation.env = request.tester_env(kubeconfig);
    invocation.shown = Shown::Stdout;
    invocation.grace = TESTER_GRACE;
    Some(invocation)
}

/// Go's os.ExpandEnv (`$VAR`, `${VAR}`; unset is empty), or, in an argument holding `\$`,
/// only `\$` made `$`.
pub fn expand(arg: &str, var: &dyn Fn(&str) -> Option<String>) -> String {
    if arg.contains(r"\$") {
        return arg.replace(r"\$", "$");
    }
    let mut out = String::new();
    let mut rest = arg;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, len) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                // Go drops a `${` without its `}`, and keeps what follows.
                None => ("", 1),
            }
        } else if after.starts_with(|c: char| c.is_ascii_digit() || "*#$@!?-".contains(c)) {
            // A shell's special parameter: one character.
            (&after[..1], 1)
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if len == 0 {
            // A lone `$` (or `$` before a character no name has) stays.
            out.push('$');
        } else {
            out.push_str(&var(name).unwrap_or_default());
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_is_go_s() {
        let var = |name: &str| match name {
            "ARTIFACTS" => Some("/a".to_owned()),
            "X_1" => Some("x".to_owned()),
            _ => None,
        };
        assert_eq!(expand("$ARTIFACTS/out", &var), "/a/out");
        assert_eq!(expand("${X_1}y$X_1", &var), "xyx");
        assert_eq!(expand("$UNSET.", &var), ".");
        assert_eq!(expand("cost $ 5", &var), "cost $ 5");
        assert_eq!(expand(r"\$ARTIFACTS and $X_1", &var), "$ARTIFACTS and $X_1");
        assert_eq!(expand("${X_1", &var), "X_1");
        assert_eq!(expand("$1x", &var), "x");
    }
}
