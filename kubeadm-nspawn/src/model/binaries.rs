//! The Kubernetes binaries a cluster runs, as recorded: one directory of the seven Kubernetes
//! binaries, an optional directory of extras (crictl, etcd, coredns, pause), the version kubeadm
//! reports; and what each binary was when it went into the cluster (its fingerprint, for
//! `update`). Finding and checking them is `kube::binaries`'.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::component::{BinaryDir, Component};

/// What `make` builds for a cluster, by binary name.
pub const KUBE_BINARIES: &[&str] = &[
    "kubeadm",
    "kubelet",
    "kubectl",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-proxy",
];

/// Installed into every node's /usr/local/bin (the rest run from images).
pub const NODE_BINARIES: &[&str] = &["kubeadm", "kubelet", "kubectl"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KubeBinaries {
    /// The directory holding the seven Kubernetes binaries.
    pub dir: PathBuf,
    /// crictl, etcd, coredns (and optionally pause), when given.
    pub extra_dir: Option<PathBuf>,
    /// `kubeadm version -o short`, e.g. `v1.28.7`.
    pub version: String,
}

impl KubeBinaries {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// An extra binary (crictl, etcd, coredns, pause), if the extras' directory has it.
    pub fn extra(&self, name: &str) -> Option<PathBuf> {
        self.extra_dir
            .as_ref()
            .map(|d| d.join(name))
            .filter(|p| p.is_file())
    }

    /// Where the component's binary is (None: the extras' directory lacks it).
    pub fn of(&self, component: Component) -> Option<PathBuf> {
        match component.binary_dir() {
            BinaryDir::Kubernetes => Some(self.path(component.name())),
            BinaryDir::Extra => self.extra(component.name()),
        }
    }
}

/// What a binary was: its sha256, with the size and modification time it had when hashed, so an
/// unchanged file is recognised without reading it again (as `make` does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fingerprint {
    pub sha256: String,
    pub size: u64,
    /// Modification time in nanoseconds since the epoch.
    pub mtime_ns: i64,
}

impl Fingerprint {
    /// The first 12 hex digits, as tables and image tags show it.
    pub fn short(&self) -> &str {
        &self.sha256[..12.min(self.sha256.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_find_their_binary_in_their_directory() {
        let binaries = KubeBinaries {
            dir: "/k".into(),
            extra_dir: None,
            version: "v1.28.7".into(),
        };
        assert_eq!(
            binaries.of(Component::KubeProxy),
            Some(PathBuf::from("/k/kube-proxy"))
        );
        assert_eq!(binaries.of(Component::Etcd), None);
        for b in KUBE_BINARIES {
            assert!(Component::named(b).is_some(), "{b}");
        }
    }
}
