//! Support for the workspace's privileged integration tests:
//!
//! - [`require_root`]: privileged tests print one `SKIPPED:` line and pass when not run as root;
//! - [`unique_prefix`]: every host object a test creates carries `knst<random>` in its name;
//! - [`LeakCheck`]: a snapshot of host state (mounts, links, netns, iptables, CNI state files,
//!   processes) taken before a test and compared after it;
//! - [`PrefixSweeper`]: a Drop guard that removes every host object whose name carries a prefix, so
//!   a failing or panicking test still leaves nothing behind;
//! - [`serial`]: leak-checked tests in one binary take turns, so one test's objects never show up in
//!   another's snapshot;
//! - [`bin`], [`run`]: the workspace's binaries, and running them with captured output.

pub mod cluster;
pub mod dockerd;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};

/// The directory of the workspace's binaries (`target/debug`), found from the test executable
/// (`target/debug/deps/<test>`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps")
        .to_path_buf()
}

/// A workspace binary, e.g. `bin("cnispawn")`.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        path.display()
    );
    path
}

/// True when running as root. Otherwise prints one `SKIPPED:` line naming the test.
pub fn require_root(test: &str) -> bool {
    if kns_plumbing::privileges::is_root() {
        return true;
    }
    skipped(&format!(
        "{test} needs root (it creates network namespaces, mounts and nodes)"
    ));
    false
}

/// Prints `SKIPPED: <why>` straight to stderr, past the test harness's output capture, so a
/// skipped tier shows in every `cargo test` run.
pub fn skipped(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}

/// `knst` + 6 random hex digits: short enough for interface names (15 characters) with a suffix.
pub fn unique_prefix() -> String {
    let mut bytes = [0u8; 3];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    format!("knst{:02x}{:02x}{:02x}", bytes[0], bytes[1], bytes[2])
}

static SERIAL: Mutex<()> = Mutex::new(());

/// Held for the length of a leak-checked test. A test that panicked while holding it does not
/// poison the others.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs a command with no stdin, captures its output.
pub fn run(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Output {
    let program = program.as_ref();
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {program:?}: {e}"))
}

/// Runs a command that must succeed; returns its stdout.
pub fn run_ok(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> String {
    let program = program.as_ref();
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program:?} {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the body of a privileged test: without root, one `SKIPPED:` line and a pass; otherwise
/// serialised with the other privileged tests, given a fresh prefix and its sweeper, and checked for
/// leaks after the sweeper has run (also when the body panics, the sweeper still runs).
pub fn privileged_test(name: &str, body: impl FnOnce(&PrefixSweeper)) {
    if !require_root(name) {
        return;
    }
    let _serial = serial();
    become_subreaper();
    let leak = LeakCheck::start();
    {
        let sweeper = PrefixSweeper::new(&unique_prefix());
        body(&sweeper);
    }
    reap_orphans();
    leak.assert_clean(name);
}

/// Makes this test process the reaper of orphans it causes: nodes outlive the `up` that started
/// them, and where PID 1 does not reap (as on these machines) they would stay zombies.
pub fn become_subreaper() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes an integer and touches no memory of ours.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

/// Reaps this process's zombie children (orphans reparented to it as subreaper).
pub fn reap_orphans() {
    let own = std::process::id().to_string();
    for pid in list_dir("/proc")
        .into_iter()
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may contain spaces, so split after the last ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        if fields.first() == Some(&"Z") && fields.get(1) == Some(&own.as_str()) {
            if let Ok(pid) = pid.parse::<i32>() {
                // SAFETY: waitpid on a zombie child of this process.
                unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
            }
        }
    }
}

/// The host state a test could leak, one sorted set of `kind name` lines.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSnapshot(BTreeSet<String>);

/// Mount points that are infrastructure, not leaks: `/run/netns` is bind-mounted onto itself once,
/// the first time any tool (iproute2 or cnispawn) creates a named namespace, and stays.
const INFRASTRUCTURE_MOUNTS: &[&str] = &["/run/netns"];

impl HostSnapshot {
    pub fn take() -> Self {
        let mut items = BTreeSet::new();
        for mount in mount_points() {
            if !INFRASTRUCTURE_MOUNTS.contains(&mount.as_str()) {
                items.insert(format!("mount {mount}"));
            }
        }
        for link in list_dir("/sys/class/net") {
            items.insert(format!("link {link}"));
        }
        for ns in list_dir("/run/netns") {
            items.insert(format!("netns {ns}"));
        }
        for (tool, family) in [("iptables-save", "ip4"), ("ip6tables-save", "ip6")] {
            for rule in iptables_rules(tool) {
                items.insert(format!("{family} {rule}"));
            }
        }
        for file in files_under(Path::new("/var/lib/cni")) {
            items.insert(format!("file {}", file.display()));
        }
        for dir in list_dir("/var/lib/cni/networks") {
            items.insert(format!("ipam-network {dir}"));
        }
        for process in project_processes() {
            items.insert(format!("process {process}"));
        }
        for cgroup in node_cgroups() {
            items.insert(format!("cgroup {}", cgroup.display()));
        }
        HostSnapshot(items)
    }

    /// What is in `self` but was not in `before`.
    pub fn added_since(&self, before: &HostSnapshot) -> Vec<String> {
        self.0.difference(&before.0).cloned().collect()
    }
}

/// A snapshot taken at the start of a test, checked at the end.
pub struct LeakCheck {
    before: HostSnapshot,
}

impl LeakCheck {
    pub fn start() -> Self {
        LeakCheck {
            before: HostSnapshot::take(),
        }
    }

    /// What appeared on the host since `start`.
    pub fn leaks(&self) -> Vec<String> {
        HostSnapshot::take().added_since(&self.before)
    }

    /// Panics with the list of leaked objects, if any.
    pub fn assert_clean(&self, what: &str) {
        let leaks = self.leaks();
        assert!(
            leaks.is_empty(),
            "{what} left host objects behind:\n  {}",
            leaks.join("\n  ")
        );
    }
}

fn mount_points() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split(' ').nth(4).map(str::to_owned))
        .collect()
}

fn list_dir(dir: impl AsRef<Path>) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = vec![];
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => files.extend(files_under(&path)),
            Ok(_) => files.push(path),
            Err(_) => {}
        }
    }
    files
}

/// `iptables-save` without comments and packet counters: the rules and chains themselves.
fn iptables_rules(tool: &str) -> Vec<String> {
    let Ok(out) = Command::new(tool).stdin(Stdio::null()).output() else {
        return vec![];
    };
    let mut table = String::new();
    let mut rules = vec![];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if line.starts_with('#') || line == "COMMIT" {
            continue;
        }
        if let Some(name) = line.strip_prefix('*') {
            table = name.to_owned();
            continue;
        }
        // ":CHAIN POLICY [packets:bytes]" → ":CHAIN POLICY"
        let line = match line.rfind(" [") {
            Some(i) if line.starts_with(':') => &line[..i],
            _ => line,
        };
        // With the nft backend a table and its built-in chains appear the first time anything uses
        // the table; a built-in chain matters only if its policy is no longer ACCEPT.
        if line.starts_with(':') && line.ends_with(" ACCEPT") {
            continue;
        }
        rules.push(format!("{table} {line}"));
    }
    rules
}

/// The per-node cgroups kubeadm-nspawn makes in each v1 hierarchy.
fn node_cgroups() -> Vec<PathBuf> {
    list_dir("/sys/fs/cgroup")
        .into_iter()
        .map(|h| Path::new("/sys/fs/cgroup").join(h).join("kubeadm-nspawn"))
        .flat_map(|parent| {
            list_dir(parent.to_str().unwrap_or_default())
                .into_iter()
                .map(move |n| parent.join(n))
        })
        .filter(|p| p.is_dir())
        .collect()
}

/// Processes that belong to this project: nodes (`systemd-nspawn`) and anything whose command line
/// carries a test prefix.
fn project_processes() -> Vec<String> {
    let own = std::process::id().to_string();
    list_dir("/proc")
        .into_iter()
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()) && *pid != own)
        .filter_map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let cmdline = cmdline.trim();
            (cmdline.contains("systemd-nspawn") || cmdline.contains("knst"))
                .then(|| format!("{pid} {cmdline}"))
        })
        .collect()
}

/// Removes, on drop, every host object whose name contains `prefix`: processes (killed by PID),
/// mounts (lazily unmounted, deepest first), network namespaces, links, CNI state, iptables chains
/// and rules, and the test's work directory. It runs even when the test panics.
pub struct PrefixSweeper {
    pub prefix: String,
    /// A scratch directory for the test, `$TMPDIR/<prefix>`, removed on drop.
    pub workdir: PathBuf,
}

impl PrefixSweeper {
    pub fn new(prefix: &str) -> Self {
        let workdir = std::env::temp_dir().join(prefix);
        std::fs::create_dir_all(&workdir).expect("create the test's work directory");
        PrefixSweeper {
            prefix: prefix.to_owned(),
            workdir,
        }
    }

    pub fn sweep(&self) {
        let p = self.prefix.as_str();
        for process in project_processes() {
            if let Some((pid, cmdline)) = process.split_once(' ') {
                if cmdline.contains(p) {
                    let _ = run("kill", &["-KILL", pid]);
                }
            }
        }
        let mut mounts: Vec<String> = mount_points()
            .into_iter()
            .filter(|m| m.contains(p))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for mount in mounts {
            let _ = run("umount", &["-l", &mount]);
        }
        for ns in list_dir("/run/netns").into_iter().filter(|n| n.contains(p)) {
            let _ = run("ip", &["netns", "del", &ns]);
            let _ = std::fs::remove_file(Path::new("/run/netns").join(&ns));
        }
        for link in list_dir("/sys/class/net")
            .into_iter()
            .filter(|l| l.contains(p))
        {
            let _ = run("ip", &["link", "del", &link]);
        }
        for dir in list_dir("/var/lib/cni/networks")
            .into_iter()
            .filter(|d| d.contains(p))
        {
            let _ = std::fs::remove_dir_all(Path::new("/var/lib/cni/networks").join(dir));
        }
        for file in files_under(Path::new("/var/lib/cni")) {
            if file.to_string_lossy().contains(p) {
                let _ = std::fs::remove_file(file);
            }
        }
        for (save, cmd) in [
            ("iptables-save", "iptables"),
            ("ip6tables-save", "ip6tables"),
        ] {
            sweep_iptables(save, cmd, p);
        }
        for cgroup in node_cgroups()
            .into_iter()
            .filter(|c| c.to_string_lossy().contains(p))
        {
            kill_cgroup_members(&cgroup);
            // Children (kubelet's pod cgroups) first; cgroup directories go with rmdir only.
            let _ = run(
                "find",
                &[
                    cgroup.to_str().unwrap_or_default(),
                    "-depth",
                    "-type",
                    "d",
                    "-exec",
                    "rmdir",
                    "{}",
                    ";",
                ],
            );
            if let Some(parent) = cgroup.parent() {
                let _ = std::fs::remove_dir(parent); // succeeds only once no node is left
            }
        }
        let _ = std::fs::remove_dir_all(&self.workdir);
    }
}

/// SIGKILLs what runs in a test node's cgroup (any depth) until it is empty. All of it was started by
/// the test, whatever its command line says: a node's systemd that outlived its nspawn reads just
/// "/usr/lib/systemd/systemd" and carries no prefix.
fn kill_cgroup_members(cgroup: &Path) {
    for _ in 0..100 {
        let mut pids = vec![];
        let mut stack = vec![cgroup.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
            pids.extend(
                procs
                    .split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
            stack.extend(
                list_dir(dir.to_str().unwrap_or_default())
                    .into_iter()
                    .map(|n| dir.join(n))
                    .filter(|p| p.is_dir()),
            );
        }
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            // SAFETY: kill(2) of a process in this test's own node cgroup.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        reap_orphans();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Deletes the rules that mention `prefix`, then the chains named with it.
fn sweep_iptables(save: &str, cmd: &str, prefix: &str) {
    let Ok(out) = Command::new(save).stdin(Stdio::null()).output() else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut table = "filter".to_owned();
    let mut chains = vec![];
    for line in text.lines() {
        if let Some(name) = line.strip_prefix('*') {
            table = name.to_owned();
        } else if let Some(rule) = line.strip_prefix("-A ") {
            if rule.contains(prefix) {
                let mut args = vec!["-t", table.as_str(), "-D"];
                args.extend(rule.split_whitespace());
                let _ = run(cmd, &args);
            }
        } else if let Some(chain) = line.strip_prefix(':') {
            let name = chain.split(' ').next().unwrap_or_default();
            if name.contains(prefix) {
                chains.push((table.clone(), name.to_owned()));
            }
        }
    }
    for (table, chain) in chains {
        let _ = run(cmd, &["-t", &table, "-F", &chain]);
        let _ = run(cmd, &["-t", &table, "-X", &chain]);
    }
}

impl Drop for PrefixSweeper {
    fn drop(&mut self) {
        self.sweep();
    }
}

/// A node booted for a test: an overlay over a base rootfs (so the shared base stays pristine),
/// systemd-nspawn with the flags of the measured node recipe (DESIGN.md §7.1) and a private network.
/// Dropping it powers the node off (SIGKILL after a timeout) and unmounts the overlay.
pub struct TestNode {
    pub name: String,
    pub nspawn: std::process::Child,
    pub root: PathBuf,
    pub log: PathBuf,
}

impl TestNode {
    /// Boots `base` as node `name` (which should carry the test prefix), with scratch space in
    /// `workdir`.
    pub fn boot(base: &Path, name: &str, workdir: &Path) -> TestNode {
        let dir = workdir.join(name);
        let (upper, work, root) = (dir.join("upper"), dir.join("work"), dir.join("rootfs"));
        let containerd = dir.join("containerd");
        for d in [&upper, &work, &root, &containerd] {
            std::fs::create_dir_all(d).unwrap();
        }
        let options = format!(
            "lowerdir={},upperdir={},workdir={}",
            base.display(),
            upper.display(),
            work.display()
        );
        run_ok(
            "mount",
            &[
                "-t",
                "overlay",
                "overlay",
                "-o",
                &options,
                root.to_str().unwrap(),
            ],
        );
        let log = dir.join("log");
        // The recipe's flags (kns_node::nspawn), with a private network and no kubelet directory.
        let spec = kns_node::nspawn::Spec {
            machine: name.to_owned(),
            root: root.clone(),
            network: kns_node::nspawn::Network::Private,
            containerd_dir: containerd,
            kubelet_dir: None,
            register: false,
        };
        let nspawn = Command::new("systemd-nspawn")
            .envs(kns_node::nspawn::ENV.iter().copied())
            .args(spec.args())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.join("nspawn.err")).unwrap())
            .spawn()
            .expect("run systemd-nspawn");
        TestNode {
            name: name.to_owned(),
            nspawn,
            root,
            log,
        }
    }

    /// The running node (kns_node's handle), once its systemd exists.
    pub fn node(&self) -> Option<kns_node::Node> {
        kns_node::Node::from_nspawn(&self.name, Some(self.nspawn.id())).ok()
    }

    /// PID of the node's systemd (the child of systemd-nspawn), once it exists.
    pub fn leader(&self) -> Option<u32> {
        kns_node::process::leader(self.nspawn.id())
    }

    /// Runs a command inside the node (all its namespaces).
    pub fn exec(&self, args: &[&str]) -> Output {
        use kns_node::Exec;
        self.node()
            .expect("the node is running")
            .output(args, None)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Waits until the node has booted (kns_node::boot::wait: `running`, or `degraded` with only
    /// the expected failed units); returns the state and the units that failed. Panics with the
    /// error (and the log's tail) otherwise.
    pub fn wait_booted(&self, timeout: std::time::Duration) -> (String, Vec<String>) {
        let state = kns_node::boot::wait(self, timeout, std::time::Duration::from_millis(200))
            .unwrap_or_else(|e| panic!("{e}"));
        let node = self.node().expect("a booted node runs");
        (state, kns_node::boot::failed_units(&node).unwrap())
    }

    /// Clean poweroff (SIGRTMIN+4 to the node's systemd), SIGKILL after `timeout`.
    pub fn stop(&mut self, timeout: std::time::Duration) {
        if let Some(node) = self.node() {
            node.signal(libc::SIGRTMIN() + 4);
        }
        let start = std::time::Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(_)) = self.nspawn.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        if let Some(node) = self.node() {
            // SIGKILL of PID 1 of the node ends its whole PID namespace.
            node.signal(libc::SIGKILL);
        }
        let _ = self.nspawn.kill();
        let _ = self.nspawn.wait();
    }
}

impl kns_node::boot::Booting for TestNode {
    type Node = kns_node::Node;
    fn node(&self) -> Option<kns_node::Node> {
        TestNode::node(self)
    }
    fn alive(&self) -> bool {
        kns_node::liveness::is_running(self.nspawn.id(), &self.name)
    }
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
    fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.stop(std::time::Duration::from_secs(10));
        let _ = run("umount", &["-l", self.root.to_str().unwrap_or_default()]);
    }
}

/// Debian's busybox-static binary, fetched the way the issue asks (`apt-get download` of the
/// package into `dir`, `dpkg-deb -x`), so tests use a real static binary from the archive.
pub fn debian_busybox_static(dir: &Path) -> PathBuf {
    let extracted = dir.join("busybox-static");
    let busybox = extracted.join("bin/busybox");
    if busybox.exists() {
        return busybox;
    }
    std::fs::create_dir_all(dir).unwrap();
    let download = Command::new("apt-get")
        .args(["download", "-q", "busybox-static"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        download.status.success(),
        "apt-get download busybox-static (needs Debian's archive; run `apt-get update`): {}",
        String::from_utf8_lossy(&download.stderr)
    );
    let deb = list_dir(dir)
        .into_iter()
        .find(|f| f.starts_with("busybox-static_") && f.ends_with(".deb"))
        .expect("the downloaded .deb");
    run_ok(
        "dpkg-deb",
        &[
            "-x",
            dir.join(deb).to_str().unwrap(),
            extracted.to_str().unwrap(),
        ],
    );
    assert!(busybox.exists(), "no bin/busybox in busybox-static");
    busybox
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_short_and_distinct() {
        let a = unique_prefix();
        let b = unique_prefix();
        assert_eq!(a.len(), 10);
        assert!(a.starts_with("knst"));
        assert_ne!(a, b);
    }

    #[test]
    fn snapshot_difference_lists_only_new_items() {
        let before = HostSnapshot(["link lo".to_string()].into());
        let after = HostSnapshot(["link lo".to_string(), "netns knst1".to_string()].into());
        assert_eq!(after.added_since(&before), ["netns knst1"]);
        assert!(before.added_since(&after).is_empty());
    }
}
