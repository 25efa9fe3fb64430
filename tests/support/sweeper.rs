//! [`PrefixSweeper`]: a Drop guard that removes every host object whose name carries a test's
//! prefix, so a failing or panicking test still leaves nothing behind.

use std::path::{Path, PathBuf};

use std::process::{Command, Stdio};

use crate::leak::{files_under, list_dir, mount_points, node_cgroups, project_processes};
use crate::{reap_orphans, run};

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
            // A killed process leaves its cgroup a moment before it is a zombie to reap.
            for _ in 0..10 {
                reap_orphans();
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
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
