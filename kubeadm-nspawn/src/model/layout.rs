//! Where a cluster lives on the host (DESIGN.md §3): everything under
//! `<state dir>/clusters/<cluster>/`, each node under `nodes/<node>/`. Computed from the names,
//! never recorded.

use std::path::{Path, PathBuf};

use super::names::ClusterName;

/// A cluster's directory and the files in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterPaths {
    pub dir: PathBuf,
}

impl ClusterPaths {
    pub fn new(state_dir: &Path, name: &ClusterName) -> Self {
        ClusterPaths {
            dir: clusters_dir(state_dir).join(name.as_str()),
        }
    }

    pub fn state_file(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// The cluster lock's file (see `cluster::lock`).
    pub fn lock_file(&self) -> PathBuf {
        self.dir.join("lock")
    }

    /// The cluster's own kubeconfig (admin credentials, the API endpoint as seen from the host).
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    pub fn init_log(&self) -> PathBuf {
        self.dir.join("kubeadm-init.log")
    }

    /// The log of `kubeadm reset` in `node` (an `init` beginning again).
    pub fn reset_log(&self, node: &str) -> PathBuf {
        self.dir.join(format!("kubeadm-reset-{node}.log"))
    }

    pub fn join_log(&self, node: &str) -> PathBuf {
        self.dir.join(format!("kubeadm-join-{node}.log"))
    }

    /// The inline kubeadm patches of the config file, as files kubeadm reads.
    pub fn patches_dir(&self) -> PathBuf {
        self.dir.join("kubeadm-patches")
    }

    /// Where `update` keeps the images it built and the binaries it replaced.
    pub fn update_dir(&self) -> PathBuf {
        self.dir.join("update")
    }

    pub fn node(&self, node: &str) -> NodeDirs {
        NodeDirs {
            dir: self.dir.join("nodes").join(node),
        }
    }
}

/// `<state dir>/clusters`: one directory per cluster.
pub fn clusters_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("clusters")
}

/// A node's files: `<cluster>/nodes/<node>/{upper,work,rootfs,containerd,kubelet,log,cni.conflist}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeDirs {
    pub dir: PathBuf,
}

impl NodeDirs {
    /// The overlay's upper directory: everything the node wrote, kept across stop/start.
    pub fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }
    pub fn work(&self) -> PathBuf {
        self.dir.join("work")
    }
    /// The node's root (the overlay mount) while its root is mounted.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }
    /// Bound at /var/lib/containerd (containerd's overlay snapshotter cannot sit on an overlay).
    pub fn containerd(&self) -> PathBuf {
        self.dir.join("containerd")
    }
    /// Bound at /var/lib/kubelet.
    pub fn kubelet(&self) -> PathBuf {
        self.dir.join("kubelet")
    }
    /// cnispawn's JSON line, then systemd-nspawn's console.
    pub fn log(&self) -> PathBuf {
        self.dir.join("log")
    }
    /// The node network's CNI config cnispawn reads.
    pub fn conflist(&self) -> PathBuf {
        self.dir.join("cni.conflist")
    }
}
