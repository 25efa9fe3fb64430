//! A kubeadm-nspawn cluster for a test: named after the test prefix, on its own /24, its state
//! under the test's work directory; and assertions on the tools' output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::{bin, privileged_test, run, skipped, HostSnapshot, PrefixSweeper};

/// A release mirror that is never there (the discard port, on this machine).
pub const NO_MIRROR: &str = "http://127.0.0.1:9";

/// A cluster named after the test prefix, on its own /24, kept under the test's work directory.
pub struct TestCluster {
    pub name: String,
    pub subnet: String,
    pub state_dir: PathBuf,
}

impl TestCluster {
    pub fn new(sweeper: &PrefixSweeper) -> Self {
        let octet = u8::from_str_radix(&sweeper.prefix[sweeper.prefix.len() - 2..], 16).unwrap();
        TestCluster {
            name: sweeper.prefix.clone(),
            subnet: format!("10.252.{octet}.0/24"),
            state_dir: sweeper.workdir.join("state"),
        }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin("kubeadm-nspawn"));
        cmd.arg("--state-dir")
            .arg(&self.state_dir)
            .args(args)
            .stdin(Stdio::null())
            // No test may download from the release sites: an `init` with no binaries (the default
            // release) reaches for a mirror on a local port nobody listens on, and caches under the
            // test's directory. Tests of releases set their own mirror.
            .env("KUBEADM_NSPAWN_RELEASE_MIRROR", NO_MIRROR)
            .env(
                "KUBEADM_NSPAWN_RELEASE_CACHE",
                self.state_dir.with_file_name("releases"),
            );
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// `up --nodes N` of this cluster on its subnet, without NAT, plus `extra`; not run yet.
    pub fn up_cmd(&self, nodes: usize, extra: &[&str]) -> Command {
        let nodes = nodes.to_string();
        let mut args = vec![
            "up",
            "--nodes",
            &nodes,
            "--name",
            &self.name,
            "--subnet",
            &self.subnet,
            "--no-masquerade",
        ];
        args.extend(extra);
        self.cmd(&args)
    }

    /// `init` of this cluster with the binaries of `kube` and `extra_bin`, plus `more`; not run
    /// yet.
    pub fn init_cmd(&self, kube: &Path, extra_bin: &Path, more: &[&str]) -> Command {
        let mut args = vec![
            "init",
            "--name",
            &self.name,
            "--kube-bin",
            kube.to_str().unwrap(),
            "--extra-bin",
            extra_bin.to_str().unwrap(),
        ];
        args.extend(more);
        self.cmd(&args)
    }

    /// [`Self::init_cmd`] with its context written into `kubeconfig`, run to its end.
    pub fn init(&self, kube: &Path, extra_bin: &Path, more: &[&str], kubeconfig: &Path) -> Output {
        self.init_cmd(kube, extra_bin, more)
            .env("KUBECONFIG", kubeconfig)
            .output()
            .unwrap()
    }

    /// `kubeadm-nspawn ARGS` with `KUBECONFIG` set to `kubeconfig` (where init merges its
    /// context and down removes it), run to its end.
    pub fn run_with_kubeconfig(&self, args: &[&str], kubeconfig: &Path) -> Output {
        self.cmd(args)
            .env("KUBECONFIG", kubeconfig)
            .output()
            .unwrap()
    }

    /// A second cluster in the same state directory, on the next /24.
    pub fn beside(&self) -> TestCluster {
        let octet: u8 = self.subnet.split('.').nth(2).unwrap().parse().unwrap();
        TestCluster {
            name: format!("{}b", self.name),
            subnet: format!("10.252.{}.0/24", octet.wrapping_add(1)),
            state_dir: self.state_dir.clone(),
        }
    }

    /// This cluster's entry of `list --json` (its family, ranges and node addresses).
    pub fn listed(&self) -> Value {
        let out = self.run(&["list", "--json"]);
        assert_ok(&out, "list");
        let all: Value = serde_json::from_slice(&out.stdout).unwrap();
        all.as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == self.name.as_str())
            .cloned()
            .unwrap()
    }

    /// Runs `up` args that must be refused with `expected`, and checks nothing was created: no
    /// host object, no cluster directory.
    pub fn assert_refused(&self, args: &[&str], expected: &str) {
        let before = HostSnapshot::take();
        let out = self.run(args);
        assert_fails_with(&out, expected);
        let created = HostSnapshot::take().added_since(&before);
        assert!(created.is_empty(), "{args:?} created {created:?}");
        assert!(
            !self.cluster_dir().exists(),
            "{args:?} created the cluster dir"
        );
    }

    pub fn up(&self, nodes: usize, extra: &[&str]) -> Output {
        self.up_cmd(nodes, extra).output().unwrap()
    }

    pub fn node(&self, i: usize) -> String {
        format!("{}-n{i}", self.name)
    }

    pub fn exec(&self, node: &str, command: &[&str]) -> Output {
        let mut args = vec!["exec", node, "--"];
        args.extend(command);
        self.run(&args)
    }

    pub fn cluster_dir(&self) -> PathBuf {
        self.state_dir.join("clusters").join(&self.name)
    }
}

pub fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn assert_fails_with(out: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected a failure: {stderr}");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in: {stderr}"));
    assert!(
        error.contains(expected),
        "expected {expected:?} in {error:?}"
    );
}

/// `out`'s `hint:` line (what to do about its error) contains `expected`.
pub fn assert_hint(out: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let hint = stderr
        .lines()
        .find(|l| l.starts_with("hint: "))
        .unwrap_or_else(|| panic!("no hint line in: {stderr}"));
    assert!(hint.contains(expected), "expected {expected:?} in {hint:?}");
}

/// A value of a node's cgroup, `path` under kubeadm-nspawn/ (`c-n0`, `c-n0/kubepods`): the v1
/// controller's file `v1` = (controller, file) on a v1 or hybrid host, else `v2_file` in the v2
/// hierarchy (`unified` on a hybrid host).
pub fn node_cgroup_value(path: &str, v1: (&str, &str), v2_file: &str) -> Option<String> {
    let (controller, v1_file) = v1;
    let (node, below) = path.split_once('/').unwrap_or((path, ""));
    let cgroups = kubeadm_nspawn::host::cgroup::detect();
    let file = if cgroups.layout().is_v1() {
        v1_file
    } else {
        v2_file
    };
    let dir = cgroups.controller_dir(node, controller)?.join(below);
    std::fs::read_to_string(dir.join(file))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Builds the shared base first, so `up` timings below are warm-cache timings.
pub fn warm_base() {
    let out = Command::new(bin("rootfs-builder"))
        .arg("build")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert_ok(&out, "rootfs-builder build");
}

/// What a host reboot does to a cluster of `nodes` nodes, done by hand: every process in the
/// nodes' cgroups SIGKILLed (nspawn, the node's systemd, pods), their overlay mounts, network
/// namespaces (and so their veths) and the bridge removed. state.json and the nodes' disks stay,
/// as /var/lib does across a reboot. Only this cluster's objects, found by its names.
pub fn simulate_reboot(c: &TestCluster, nodes: usize) {
    for i in 0..nodes {
        let node = c.node(i);
        kill_node(&node);
        let rootfs = c.cluster_dir().join("nodes").join(&node).join("rootfs");
        let _ = run("umount", &["-l", rootfs.to_str().unwrap()]);
        let _ = run("ip", &["netns", "del", &format!("kns-{}-{i}", c.name)]);
    }
    let _ = run("ip", &["link", "del", &format!("kns-{}", c.name)]);
}

/// A node crashing: every process in its cgroups (nspawn, the node's systemd, its pods) SIGKILLed
/// from the host until none is left. Its namespace, mounts and disk stay, as after a crash.
pub fn kill_node(node: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let pids = node_cgroup_pids(node);
        if pids.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{node}: {pids:?} survive SIGKILL"
        );
        for pid in pids {
            // SAFETY: kill(2) of a process in this test cluster's own node cgroup.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        crate::reap_orphans();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Every PID in the node's cgroups (`/sys/fs/cgroup/<hierarchy>/kubeadm-nspawn/<node>`, any depth).
fn node_cgroup_pids(node: &str) -> Vec<i32> {
    kubeadm_nspawn::host::cgroup::detect().procs(node)
}

/// A copy of the Kubernetes binaries of `kube_bin` in `dir`, which a test can then "rebuild"
/// (see [`rebuild`]) for `update`; returns `dir`.
pub fn copy_kube_binaries(kube_bin: &Path, dir: PathBuf) -> PathBuf {
    std::fs::create_dir_all(&dir).unwrap();
    for b in crate::mirror::KUBE_BINARIES {
        std::fs::copy(kube_bin.join(b), dir.join(b)).unwrap();
    }
    dir
}

/// Appends bytes to a binary: an ELF runs unchanged with trailing bytes, so this is a "rebuilt"
/// binary whose content (and hash) changed while the program did not.
pub fn rebuild(binary: &Path) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(binary)
        .unwrap();
    file.write_all(b"\0kubeadm-nspawn test rebuild\n").unwrap();
}

/// The components an `update` reports it replaced (its JSON on stdout).
pub fn updated_components(update: &Output) -> Vec<String> {
    let report: Value = serde_json::from_slice(&update.stdout).unwrap();
    report["updated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["component"].as_str().unwrap().to_owned())
        .collect()
}

/// Runs the body of a test of real Kubernetes: without KUBE_BIN and KUBE_EXTRA_BIN one `SKIPPED:`
/// line (see [`kube_dirs`]); otherwise a [`privileged_test`] with the shared base built first
/// ([`warm_base`]), given the two directories.
pub fn kubernetes_test(test: &str, body: impl FnOnce(&PrefixSweeper, &Path, &Path)) {
    let Some((kube_bin, extra_bin)) = kube_dirs(test) else {
        return;
    };
    privileged_test(test, |sweeper| {
        warm_base();
        body(sweeper, &kube_bin, &extra_bin)
    });
}

/// KUBE_BIN and KUBE_EXTRA_BIN, the real Kubernetes binaries; None (with one SKIPPED line) where
/// they are not set, a failure under CI where the project's shared binaries exist.
pub fn kube_dirs(test: &str) -> Option<(PathBuf, PathBuf)> {
    let dir = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|d| d.is_dir())
    };
    match (dir("KUBE_BIN"), dir("KUBE_EXTRA_BIN")) {
        (Some(kube), Some(extra)) => Some((kube, extra)),
        _ => {
            // CI must not silently stop testing the core: where the project's shared Kubernetes
            // binaries exist, `.ci/run` exports them, so their absence under CI is a broken run.
            let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/kubernetes/unpack");
            if std::env::var("CI").is_ok_and(|v| v == "true") && shared.exists() {
                panic!(
                    "{test}: CI=true and {} exists, but KUBE_BIN/KUBE_EXTRA_BIN are not set to \
                     directories: .ci/run must eval its output before the tests",
                    shared.display()
                );
            }
            skipped(&format!(
                "{test}: set KUBE_BIN (kubeadm, kubelet, kubectl, kube-apiserver, \
                 kube-controller-manager, kube-scheduler, kube-proxy) and KUBE_EXTRA_BIN \
                 (crictl, etcd, coredns) to directories"
            ));
            None
        }
    }
}
