//! Per-node cgroups in every cgroup hierarchy of the host (DESIGN.md §7.1): the launcher joins
//! `/sys/fs/cgroup/<hierarchy>/kubeadm-nspawn/<node>` before it execs nspawn, so the node and its
//! pods are accounted and limited apart from the host and from each other, and `down` can find and
//! remove them.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const ROOT: &str = "/sys/fs/cgroup";
const PARENT: &str = "kubeadm-nspawn";

/// Every cgroup hierarchy mounted under /sys/fs/cgroup: the v1 controllers and the v2 one
/// (`unified` on a hybrid host). The v2 one matters most: systemd tracks its units there in hybrid
/// mode, and nodes sharing one v2 cgroup collide on their payload cgroups (units failing at random
/// with 219/CGROUP).
pub fn hierarchies() -> Vec<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    mountinfo
        .lines()
        .filter(|l| l.contains(" - cgroup ") || l.contains(" - cgroup2 "))
        .filter_map(|l| l.split(' ').nth(4).map(PathBuf::from))
        .filter(|p| p.starts_with(ROOT))
        .collect()
}

/// Whether /sys/fs/cgroup is not the unified (v2) hierarchy: a v1 or hybrid host, as the kubelet
/// tells them apart (nodes see the host's layout).
pub fn host_is_v1() -> bool {
    nix::sys::statfs::statfs(ROOT)
        .map(|fs| fs.filesystem_type() != nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}

/// Creates the node's cgroup in every hierarchy; returns their `cgroup.procs` files.
pub fn create(node: &str) -> Result<Vec<PathBuf>> {
    let mut procs = vec![];
    for hierarchy in hierarchies() {
        let parent = hierarchy.join(PARENT);
        let dir = parent.join(node);
        for d in [&parent, &dir] {
            if !d.exists() {
                std::fs::create_dir(d).map_err(|e| Error::io("create cgroup", d, e))?;
                // cpuset cgroups start empty and refuse tasks until given CPUs and memory nodes.
                if hierarchy.ends_with("cpuset") {
                    for file in ["cpuset.cpus", "cpuset.mems"] {
                        let from = d.parent().unwrap_or(Path::new(ROOT)).join(file);
                        let value = std::fs::read_to_string(&from)
                            .map_err(|e| Error::io("read", &from, e))?;
                        std::fs::write(d.join(file), value.trim())
                            .map_err(|e| Error::io("write", d.join(file), e))?;
                    }
                }
            }
        }
        procs.push(dir.join("cgroup.procs"));
    }
    Ok(procs)
}

/// CFS period for CPU limits (the kernel's default): a quota of `cpus` × this.
const CFS_PERIOD_US: u64 = 100_000;

/// Enforces `limits` on the node's cgroups (made by [`create`]): memory and CPU quota in the v1
/// `memory` and `cpu` hierarchies, or `memory.max` and `cpu.max` where v2 holds the controllers.
/// Everything in the node, its pods included, is inside them.
pub fn limit(node: &str, limits: &crate::model::config::Limits) -> Result<()> {
    if limits.is_none() {
        return Ok(());
    }
    let (mut memory_done, mut cpu_done) = (limits.memory_bytes.is_none(), limits.cpus.is_none());
    let quota = limits
        .cpus
        .map(|c| (c * CFS_PERIOD_US as f64).round() as u64);
    for hierarchy in hierarchies() {
        let dir = hierarchy.join(PARENT).join(node);
        if dir.join("cgroup.controllers").exists() {
            // v2: the controllers must be handed down to the node's cgroup first.
            for parent in [hierarchy.clone(), hierarchy.join(PARENT)] {
                let _ = std::fs::write(parent.join("cgroup.subtree_control"), "+memory +cpu");
            }
        }
        let write = |file: &str, value: String| -> Result<bool> {
            let path = dir.join(file);
            if !path.exists() {
                return Ok(false);
            }
            std::fs::write(&path, &value).map_err(|e| Error::io("write", &path, e))?;
            Ok(true)
        };
        if let Some(bytes) = limits.memory_bytes {
            memory_done |= write("memory.limit_in_bytes", bytes.to_string())?;
            memory_done |= write("memory.max", bytes.to_string())?;
        }
        if let Some(quota) = quota {
            if dir.join("cpu.cfs_quota_us").exists() {
                write("cpu.cfs_period_us", CFS_PERIOD_US.to_string())?;
                cpu_done |= write("cpu.cfs_quota_us", quota.to_string())?;
            }
            cpu_done |= write("cpu.max", format!("{quota} {CFS_PERIOD_US}"))?;
        }
    }
    if !memory_done || !cpu_done {
        return Err(Error::node(
            node,
            format!(
                "no cgroup {} controller on this host to enforce the node's limit",
                if memory_done { "cpu" } else { "memory" }
            ),
        ));
    }
    Ok(())
}

/// SIGKILLs every process left in the node's cgroups (in any hierarchy, any depth) and waits until
/// they are empty. Everything there was started for this node; this catches what a clean poweroff
/// cannot reach, e.g. a node's PID 1 that outlived its nspawn when `up` was cut short mid-start.
pub fn kill_all(node: &str, timeout: std::time::Duration) -> Result<()> {
    let start = std::time::Instant::now();
    loop {
        let pids: Vec<i32> = hierarchies()
            .iter()
            .flat_map(|h| procs_under(&h.join(PARENT).join(node)))
            .collect();
        if pids.is_empty() {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(Error::node(
                node,
                format!("processes {pids:?} survived SIGKILL for {timeout:?}"),
            ));
        }
        for pid in pids {
            // SAFETY: plain kill(2) of a process in this node's own cgroup.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            // A zombie child of this process (a node spawned by this `up`) stays in the cgroup
            // until reaped.
            kns_node::liveness::reap(pid as u32);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// SIGKILLs the node's pods: every process under a `kubepods` cgroup of the node (kubelet's
/// cgroupfs driver puts them there, where the node's systemd does not look; a poweroff would wait
/// on them for ever: DESIGN.md §7.1).
pub fn kill_pods(node: &str) {
    for hierarchy in hierarchies() {
        for dir in find_named(&hierarchy.join(PARENT).join(node), "kubepods") {
            for pid in procs_under(&dir) {
                // SAFETY: plain kill(2) of a pod process inside this node's own cgroup.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

fn find_named(dir: &Path, name: &str) -> Vec<std::path::PathBuf> {
    let mut found = vec![];
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.filter_map(|e| e.ok()) {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                if entry.file_name() == name {
                    found.push(entry.path());
                } else {
                    found.extend(find_named(&entry.path(), name));
                }
            }
        }
    }
    found
}

fn procs_under(dir: &Path) -> Vec<i32> {
    let mut pids: Vec<i32> = std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.filter_map(|e| e.ok()) {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pids.extend(procs_under(&entry.path()));
            }
        }
    }
    pids
}

/// Removes the node's cgroups (and the parent when it is empty). Children first: kubelet's pod
/// cgroups may still be there after a forced stop; they are empty once the node's processes are gone.
pub fn remove(node: &str) -> Result<()> {
    for hierarchy in hierarchies() {
        let dir = hierarchy.join(PARENT).join(node);
        remove_tree(&dir)?;
        let _ = std::fs::remove_dir(hierarchy.join(PARENT));
    }
    Ok(())
}

fn remove_tree(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.filter_map(|e| e.ok()) {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&entry.path())?;
        }
    }
    match std::fs::remove_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove cgroup", dir, e)),
    }
}
