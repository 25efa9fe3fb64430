//! The recording double of [`Host`](super::Host): every call kept as a typed [`Call`], cgroups
//! holding the processes a test gives them until they are SIGKILLed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::cgroup::{Cgroups, Layout, Placement};
use super::error::{Error, Result};
use super::Host;
use crate::model::layout::NodeDirs;
use crate::model::settings::Limits;

/// What was done to the host.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    CgroupCreate { node: String, limits: Limits },
    CgroupRemove { node: String },
    MountRoot { lower: PathBuf, target: PathBuf },
    Unmount { target: PathBuf },
    DeleteLink { name: String },
    DeleteNetns { netns: String },
    Signal { pid: i32, signal: libc::c_int },
    RemoveDir { path: PathBuf },
}

#[derive(Default)]
pub struct Recording {
    calls: Mutex<Vec<Call>>,
    /// Per node: its processes (those of its pods under "pods").
    procs: Mutex<BTreeMap<String, Vec<i32>>>,
    pods: Mutex<BTreeMap<String, Vec<i32>>>,
    links: Mutex<Vec<String>>,
    /// Netns names whose deletion fails.
    failing_netns: Vec<String>,
}

impl Recording {
    pub fn new() -> Recording {
        Recording::default()
    }

    /// `node`'s cgroups hold `procs`, of which `pods` are its pods'.
    pub fn with_node(self, node: &str, procs: &[i32], pods: &[i32]) -> Recording {
        if let Ok(mut p) = self.procs.lock() {
            p.insert(node.into(), procs.to_vec());
        }
        if let Ok(mut p) = self.pods.lock() {
            p.insert(node.into(), pods.to_vec());
        }
        self
    }

    pub fn with_link(self, name: &str) -> Recording {
        if let Ok(mut l) = self.links.lock() {
            l.push(name.into());
        }
        self
    }

    /// Deleting `netns` fails.
    pub fn failing_netns(mut self, netns: &str) -> Recording {
        self.failing_netns.push(netns.into());
        self
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn record(&self, call: Call) {
        if let Ok(mut c) = self.calls.lock() {
            c.push(call);
        }
    }
}

impl Cgroups for Recording {
    fn layout(&self) -> Layout {
        Layout::Hybrid
    }

    fn create(&self, node: &str, limits: &Limits) -> Result<Placement> {
        self.record(Call::CgroupCreate {
            node: node.into(),
            limits: *limits,
        });
        Ok(Placement::default())
    }

    fn procs(&self, node: &str) -> Vec<i32> {
        of_node(&self.procs, node)
    }

    fn pod_procs(&self, node: &str) -> Vec<i32> {
        of_node(&self.pods, node)
    }

    fn remove(&self, node: &str) -> Result<()> {
        self.record(Call::CgroupRemove { node: node.into() });
        Ok(())
    }

    fn controller_dir(&self, _node: &str, _controller: &str) -> Option<PathBuf> {
        None
    }

    fn kubelet_problem(&self) -> Option<String> {
        None
    }
}

impl Host for Recording {
    fn cgroups(&self) -> &dyn Cgroups {
        self
    }

    /// Makes the directories a mount would be made on (nothing is mounted: the root is a plain
    /// directory a test can look into).
    fn mount_root(&self, lower: &Path, dirs: &NodeDirs) -> Result<()> {
        for dir in [dirs.upper(), dirs.work(), dirs.rootfs()] {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
        }
        self.record(Call::MountRoot {
            lower: lower.into(),
            target: dirs.rootfs(),
        });
        Ok(())
    }

    fn unmount(&self, target: &Path) -> Result<()> {
        self.record(Call::Unmount {
            target: target.into(),
        });
        Ok(())
    }

    fn link_exists(&self, name: &str) -> bool {
        self.links.lock().is_ok_and(|l| l.iter().any(|n| n == name))
    }

    fn delete_link(&self, name: &str) -> Result<()> {
        self.record(Call::DeleteLink { name: name.into() });
        if let Ok(mut l) = self.links.lock() {
            l.retain(|n| n != name);
        }
        Ok(())
    }

    fn delete_netns(&self, netns: &str) -> Result<()> {
        self.record(Call::DeleteNetns {
            netns: netns.into(),
        });
        if self.failing_netns.iter().any(|n| n == netns) {
            return Err(Error::tool("cnispawn", format!("cannot delete {netns}")));
        }
        Ok(())
    }

    fn signal(&self, pid: i32, signal: libc::c_int) {
        self.record(Call::Signal { pid, signal });
        if signal == libc::SIGKILL {
            for map in [&self.procs, &self.pods] {
                if let Ok(mut m) = map.lock() {
                    for procs in m.values_mut() {
                        procs.retain(|p| *p != pid);
                    }
                }
            }
        }
    }

    fn reap(&self, _pid: u32) {}

    fn remove_dir_all(&self, path: &Path) -> Result<()> {
        self.record(Call::RemoveDir { path: path.into() });
        Ok(())
    }
}

/// The PIDs recorded for `node` in `pids` (none when it has none).
fn of_node(pids: &Mutex<BTreeMap<String, Vec<i32>>>, node: &str) -> Vec<i32> {
    pids.lock()
        .ok()
        .and_then(|p| p.get(node).cloned())
        .unwrap_or_default()
}
