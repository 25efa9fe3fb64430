//! What kubeadm-nspawn does to the host: cgroups, overlay mounts, the node network's links,
//! signals, the sibling tools it runs as programs. The operations that teardown, node preparation,
//! limits and the update's rollback need go through the [`Host`] seam: [`ThisHost`] does them,
//! and the recording double [`recording::Recording`] lets unit tests see them (as typed
//! [`recording::Call`]s) without root, in the manner of youki's `Syscall`.

pub mod addresses;
pub mod cgroup;
pub mod error;
pub mod facts;
pub mod firewall;
pub mod forwarding;
pub mod image_pusher;
pub mod links;
pub mod load_balancer;
pub mod network;
pub mod network_managers;
pub mod overlay;
#[cfg(test)]
pub mod recording;
pub mod resolver;
pub mod tools;

use std::path::Path;
use std::time::Duration;

pub use error::{Error, Result};
pub use facts::ThisHost;

use cgroup::Cgroups;
use kns_plumbing::poll::{self, Check, Stopped};

use crate::model::layout::NodeDirs;

/// The host operations on nodes' objects.
pub trait Host: Send + Sync {
    /// The host's cgroups (detected once).
    fn cgroups(&self) -> &dyn Cgroups;
    /// Mounts the node's root: the base image `lower` under its own upper and work dirs.
    fn mount_root(&self, lower: &Path, dirs: &NodeDirs) -> Result<()>;
    /// Lazily unmounts `target`; nothing mounted there is no error.
    fn unmount(&self, target: &Path) -> Result<()>;
    fn link_exists(&self, name: &str) -> bool;
    fn delete_link(&self, name: &str) -> Result<()>;
    /// The node network's namespace: CNI DEL (the veth goes with it) and the namespace removed
    /// (`cnispawn del`); idempotent.
    fn delete_netns(&self, netns: &str) -> Result<()>;
    /// Sends `signal` to `pid` (a node's process, a verb's holder); gone is no error.
    fn signal(&self, pid: i32, signal: libc::c_int);
    /// Collects the exit status of `pid` if it is a child of this process that has exited.
    fn reap(&self, pid: u32);
    fn remove_dir_all(&self, path: &Path) -> Result<()>;
}

/// A real host: the cgroups detected on it.
pub struct Real {
    cgroups: Box<dyn Cgroups>,
}

impl Real {
    pub fn detect() -> Real {
        Real {
            cgroups: cgroup::detect(),
        }
    }
}

impl Host for Real {
    fn cgroups(&self) -> &dyn Cgroups {
        self.cgroups.as_ref()
    }

    fn mount_root(&self, lower: &Path, dirs: &NodeDirs) -> Result<()> {
        overlay::mount_root(lower, dirs)
    }

    fn unmount(&self, target: &Path) -> Result<()> {
        overlay::unmount(target)
    }

    fn link_exists(&self, name: &str) -> bool {
        links::exists(name)
    }

    fn delete_link(&self, name: &str) -> Result<()> {
        links::delete(name)
    }

    fn delete_netns(&self, netns: &str) -> Result<()> {
        tools::run_quiet("cnispawn", &["del", "--netns", netns]).map(drop)
    }

    fn signal(&self, pid: i32, signal: libc::c_int) {
        // SAFETY: kill(2) touches no memory; callers pass PIDs of this cluster's own processes.
        unsafe { libc::kill(pid, signal) };
    }

    fn reap(&self, pid: u32) {
        kns_node::liveness::reap(pid);
    }

    fn remove_dir_all(&self, path: &Path) -> Result<()> {
        match std::fs::remove_dir_all(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove", path, e)),
        }
    }
}

/// SIGKILLs every process left in the node's cgroups (any hierarchy, any depth) until they are
/// empty, for at most `timeout`. Everything there was started for this node; this catches what
/// a clean poweroff cannot reach, e.g. a node's PID 1 that outlived its nspawn when `up` was cut
/// short mid-start.
pub fn kill_all(host: &dyn Host, node: &str, timeout: Duration) -> Result<()> {
    // Killing is what a stop does: a signal that asked for the stop does not end this wait (the
    // cgroups cannot go before their processes).
    let killed = poll::until_even_if_interrupted(timeout, Duration::from_millis(20), || {
        let pids = host.cgroups().procs(node);
        if pids.is_empty() {
            return Check::<(), Error>::Done(());
        }
        for &pid in &pids {
            host.signal(pid, libc::SIGKILL);
            // A zombie child of this process (a node spawned by this `up`) stays in the cgroup
            // until reaped.
            host.reap(pid as u32);
        }
        Check::Waiting(
            pids.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        )
    });
    match killed {
        Ok(_) => Ok(()),
        Err(Stopped::Interrupted) => kill_now(host, node),
        Err(Stopped::TimedOut { waiting, .. }) => Err(Error::Cgroup {
            node: node.to_owned(),
            message: format!(
                "processes {} survived SIGKILL for {}",
                waiting.unwrap_or_default(),
                kns_plumbing::report::seconds(timeout)
            ),
        }),
        Err(Stopped::Aborted(e)) => Err(e),
    }
}

/// One round of [`kill_all`] without waiting (after an interruption).
fn kill_now(host: &dyn Host, node: &str) -> Result<()> {
    for pid in host.cgroups().procs(node) {
        host.signal(pid, libc::SIGKILL);
        host.reap(pid as u32);
    }
    Ok(())
}

/// SIGKILLs the node's pods: a node's systemd waits on them and would never finish its poweroff
/// (DESIGN.md §7.1).
pub fn kill_pods(host: &dyn Host, node: &str) {
    for pid in host.cgroups().pod_procs(node) {
        host.signal(pid, libc::SIGKILL);
    }
}
