//! What the host has, as the checks of a config file and the kubelets' reservations need it.

use std::path::Path;

use crate::model::config::HostView;

/// This host.
pub struct ThisHost;

impl HostView for ThisHost {
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    /// MemTotal of /proc/meminfo: what a node's kubelet sees as its capacity (nodes share it).
    fn memory_bytes(&self) -> u64 {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map(|kb| kb * 1024)
            .unwrap_or(u64::MAX)
    }

    /// The online CPUs, which is what a node's kubelet reports as its capacity.
    fn cpus(&self) -> u64 {
        // SAFETY: sysconf has no side effects.
        let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        n.max(1) as u64
    }
}

/// What the kube-proxy mode checks read of the host's kernel and files: a seam, so the checks
/// are unit-tested against a made-up host.
pub trait KernelView {
    /// Whether `path` exists.
    fn exists(&self, path: &Path) -> bool;
    /// The text of `path`, if it can be read.
    fn read(&self, path: &Path) -> Option<String>;
}

impl KernelView for ThisHost {
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn read(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }
}
