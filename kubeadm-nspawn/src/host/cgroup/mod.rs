//! A node's cgroups: made before the node starts (its launcher joins them before it execs nspawn,
//! so cnispawn, nspawn and the node are born inside), limited, emptied and removed when it stops.
//! Every controller a kubelet needs is delegated to each node, so its pods can be accounted and
//! limited inside it. The host's cgroup layout is detected once ([`detect`]) and hidden behind
//! [`Cgroups`]: a v1 host (hybrid: v1 controllers plus the v2 `unified` tree systemd tracks units
//! in) in [`hybrid`], a v2 host in [`unified`], a host whose PID 1 is systemd (either layout) in
//! [`systemd`] (youki's libcgroups is the model).
//!
//! Each implementation works under a root directory and a list of hierarchies read from
//! mountinfo, so the unit tests run them against recorded layouts of both kinds in a temporary
//! directory.

pub mod hybrid;
pub mod systemd;
mod tree;
pub mod unified;

use std::path::{Path, PathBuf};

use kns_node::containerd::CgroupDriver;

use super::error::Result;
use crate::model::settings::Limits;

/// Where kubeadm-nspawn's cgroups live in each hierarchy: `<hierarchy>/kubeadm-nspawn/<node>`.
pub const PARENT: &str = "kubeadm-nspawn";
/// The cgroup file system's mount point.
pub const ROOT: &str = "/sys/fs/cgroup";

/// The CFS period for CPU limits (the kernel's default): a quota of `cpus` × this.
pub const CFS_PERIOD_US: u64 = 100_000;

/// The host's cgroup layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `/sys/fs/cgroup` is a tmpfs of v1 controller hierarchies (with or without the v2
    /// `unified` tree): Debian 10, Ubuntu 20.04, this project's CI.
    Hybrid,
    /// `/sys/fs/cgroup` is the v2 hierarchy.
    Unified,
}

impl Layout {
    /// Whether a node's kubelet sees cgroup v1 (it checks `/sys/fs/cgroup` as the host has it).
    pub fn is_v1(self) -> bool {
        self == Layout::Hybrid
    }

    /// Who owns a node's pod cgroups, for its kubelet (`cgroupDriver`) and its containerd's runc
    /// (`SystemdCgroup`) alike. Every node boots systemd; on a v2 host its systemd owns the
    /// subtree nspawn delegates to it, so it is asked for the pods' scopes as on any systemd
    /// machine (kubeadm's and the kubelet's default). On a v1 host the node's systemd owns no
    /// controller hierarchy (nspawn mounts them read-only, `kns-cgroup-rw` remounts them for
    /// kubelet and runc), so they write the cgroup files themselves (DESIGN.md §7.1, measured).
    pub fn cgroup_driver(self) -> CgroupDriver {
        match self {
            Layout::Hybrid => CgroupDriver::Cgroupfs,
            Layout::Unified => CgroupDriver::Systemd,
        }
    }
}

/// The names of a kubelet's pod cgroup in its node's: `kubepods` with the cgroupfs driver,
/// `kubepods.slice` with the systemd driver.
pub const POD_CGROUPS: &[&str] = &["kubepods", "kubepods.slice"];

/// A controller a kubelet needs in its node's cgroup.
pub const KUBELET_CONTROLLERS: &[&str] = &["cpu", "cpuset", "memory", "pids", "io"];

/// What a node's launcher does with its cgroups before it execs nspawn.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Placement {
    /// `cgroup.procs` files to write `0` (itself) into.
    pub join: Vec<PathBuf>,
    /// A command the launcher runs in, before cnispawn and its arguments (`systemd-run --scope
    /// ...` on a systemd host); empty: cnispawn itself.
    pub launcher: Vec<String>,
}

/// The host's cgroups as kubeadm-nspawn uses them for its nodes.
pub trait Cgroups: Send + Sync {
    fn layout(&self) -> Layout;

    /// Makes the node's cgroups with every controller the host has delegated, and enforces
    /// `limits` on them; returns where the node's launcher joins them.
    fn create(&self, node: &str, limits: &Limits) -> Result<Placement>;

    /// Every process in the node's cgroups, at any depth.
    fn procs(&self, node: &str) -> Vec<i32>;

    /// The processes of the node's pods: those under its [`POD_CGROUPS`] (with the cgroupfs
    /// driver the node's systemd does not look there).
    fn pod_procs(&self, node: &str) -> Vec<i32>;

    /// Removes the node's cgroups, children first (the kubelet's may still be there after a
    /// forced stop; they are empty once the node's processes are gone), and the parent once empty.
    fn remove(&self, node: &str) -> Result<()>;

    /// The node's cgroup directory that holds `controller`'s files (`memory`, `cpu`), if the host
    /// has that controller.
    fn controller_dir(&self, node: &str, controller: &str) -> Option<PathBuf>;

    /// Why no kubelet can run in a node on this host (a controller it needs is missing), if so.
    fn kubelet_problem(&self) -> Option<String>;

    /// What is left to do once the node's launcher runs in its cgroups (its scope exists).
    fn started(&self, _node: &str) -> Result<()> {
        Ok(())
    }
}

/// The controllers a v1 hierarchy can carry (its mount options list them, beside others).
const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "pids",
    "net_cls",
    "net_prio",
    "perf_event",
    "hugetlb",
    "rdma",
    "misc",
];

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub path: PathBuf,
    /// v1: the controllers bound to it (none for a named hierarchy such as `name=systemd`).
    /// v2: empty (its controllers are in `cgroup.controllers`).
    pub controllers: Vec<String>,
    pub v2: bool,
}

/// The hierarchies mounted under `root` as `mountinfo` lists them.
pub fn hierarchies(mountinfo: &str, root: &Path) -> Vec<Hierarchy> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let path = PathBuf::from(before.split(' ').nth(4)?);
            let mut fields = after.split(' ');
            let fstype = fields.next()?;
            let options = fields.nth(1).unwrap_or_default();
            let v2 = match fstype {
                "cgroup2" => true,
                "cgroup" => false,
                _ => return None,
            };
            let controllers = options
                .split(',')
                .filter(|o| !v2 && V1_CONTROLLERS.contains(o))
                .map(String::from)
                .collect();
            path.starts_with(root).then_some(Hierarchy {
                path,
                controllers,
                v2,
            })
        })
        .collect()
}

/// This host's cgroups: the layout of `/sys/fs/cgroup` (by its file system's magic, as the
/// kubelet tells them apart) and its hierarchies.
/// A host whose PID 1 is systemd gets [`systemd::Systemd`] (nodes in scopes of their own).
pub fn detect() -> Box<dyn Cgroups> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let found = hierarchies(&mountinfo, Path::new(ROOT));
    let unified = nix::sys::statfs::statfs(ROOT)
        .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
    let layout = if unified {
        Layout::Unified
    } else {
        Layout::Hybrid
    };
    match (systemd::host_runs_systemd(), layout) {
        (true, _) => Box::new(systemd::Systemd::new(layout, found, PathBuf::from(ROOT))),
        (false, Layout::Unified) => Box::new(unified::Unified::new(PathBuf::from(ROOT))),
        (false, Layout::Hybrid) => Box::new(hybrid::Hybrid::new(found)),
    }
}

/// Every node cgroup of this host, in any hierarchy: the children of `kubeadm-nspawn/` and the
/// nodes' scopes (`machine.slice/kubeadm-nspawn-*.scope`). What a leak check compares.
pub fn node_cgroup_dirs() -> Vec<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    node_dirs_in(&hierarchies(&mountinfo, Path::new(ROOT)))
}

fn node_dirs_in(hierarchies: &[Hierarchy]) -> Vec<PathBuf> {
    let mut dirs = vec![];
    for h in hierarchies {
        dirs.extend(tree::subdirs(&h.path.join(PARENT)));
        dirs.extend(
            tree::subdirs(&h.path.join(systemd::SLICE))
                .into_iter()
                .filter(|d| {
                    d.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("kubeadm-nspawn-"))
                }),
        );
    }
    dirs.sort();
    dirs.dedup();
    dirs
}

/// The CFS quota of `cpus` CPUs per [`CFS_PERIOD_US`].
fn cfs_quota(cpus: f64) -> u64 {
    (cpus * CFS_PERIOD_US as f64).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `cgroups` says when asked for a memory limit it has no controller for.
    pub(super) fn memory_limit_refusal(cgroups: &dyn Cgroups) -> String {
        let limits = Limits {
            memory_bytes: Some(1 << 30),
            cpus: None,
        };
        cgroups.create("c-n0", &limits).unwrap_err().to_string()
    }

    #[test]
    fn hierarchies_come_from_mountinfo_with_their_controllers() {
        let mountinfo = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
            32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
            40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n\
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n\
            50 20 0:40 / /other/cgroup rw - cgroup cgroup rw,pids\n";
        let found = hierarchies(mountinfo, Path::new(ROOT));
        assert_eq!(found.len(), 4);
        assert_eq!(found[0].controllers, ["cpu"]);
        assert!(found[2].controllers.is_empty(), "a named hierarchy");
        assert!(found[3].v2 && found[3].controllers.is_empty());
    }

    #[test]
    fn the_cgroup_driver_follows_the_host_layout() {
        assert_eq!(Layout::Hybrid.cgroup_driver(), CgroupDriver::Cgroupfs);
        assert_eq!(Layout::Unified.cgroup_driver(), CgroupDriver::Systemd);
    }
}
