//! [`LeakCheck`]: a snapshot of the host state a test could leak (mounts, links, netns, iptables,
//! CNI state files, node cgroups, processes), taken before a test and compared after it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use std::process::{Command, Stdio};

/// The host state a test could leak, one sorted set of `kind name` lines.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSnapshot(pub(crate) BTreeSet<String>);

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

    /// Panics with the list of leaked objects, if any. An object still there is looked for again
    /// for a few seconds first: the kernel finishes removing a network namespace's devices
    /// asynchronously (seen once: a node's host-side veth listed just after `down` returned, on a
    /// loaded machine, gone a moment later).
    pub fn assert_clean(&self, what: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut leaks = self.leaks();
        while !leaks.is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(200));
            leaks = self.leaks();
        }
        assert!(
            leaks.is_empty(),
            "{what} left host objects behind:\n  {}",
            leaks.join("\n  ")
        );
    }
}

pub(crate) fn mount_points() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split(' ').nth(4).map(str::to_owned))
        .collect()
}

pub(crate) fn list_dir(dir: impl AsRef<Path>) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
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
pub(crate) fn iptables_rules(tool: &str) -> Vec<String> {
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
/// Every node cgroup on this host, wherever the product puts them (v1 hierarchies, the v2
/// tree, systemd scopes).
pub(crate) fn node_cgroups() -> Vec<PathBuf> {
    kubeadm_nspawn::host::cgroup::node_cgroup_dirs()
}

/// Processes that belong to this project: nodes (`systemd-nspawn`) and anything whose command line
/// carries a test prefix.
pub(crate) fn project_processes() -> Vec<String> {
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
