//! The parts of a cluster that come from a binary, and how each one runs: what `update` compares
//! and replaces, in the order it replaces them (etcd and the control plane first, the kubelets,
//! then what runs as workloads, then the tools).

use std::path::PathBuf;

use crate::kube::binaries::KubeBinaries;

/// How a component runs in the cluster, so how a new binary reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// A static pod on the control-plane node (`/etc/kubernetes/manifests/<name>.yaml`), from an
    /// image synthesized from the binary.
    StaticPod,
    /// The kubelet: a binary in every node, run by the node's systemd.
    Kubelet,
    /// A workload in kube-system (from an image synthesized from the binary, on every node).
    Workload {
        kind: &'static str,
        object: &'static str,
        container: &'static str,
    },
    /// A tool in every node's /usr/local/bin, run on demand.
    Tool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component {
    pub name: &'static str,
    pub runs: Runs,
}

/// Every component, in update order.
pub const COMPONENTS: &[Component] = &[
    Component {
        name: "etcd",
        runs: Runs::StaticPod,
    },
    Component {
        name: "kube-apiserver",
        runs: Runs::StaticPod,
    },
    Component {
        name: "kube-controller-manager",
        runs: Runs::StaticPod,
    },
    Component {
        name: "kube-scheduler",
        runs: Runs::StaticPod,
    },
    Component {
        name: "kubelet",
        runs: Runs::Kubelet,
    },
    Component {
        name: "kube-proxy",
        runs: Runs::Workload {
            kind: "daemonset",
            object: "kube-proxy",
            container: "kube-proxy",
        },
    },
    Component {
        name: "coredns",
        runs: Runs::Workload {
            kind: "deployment",
            object: "coredns",
            container: "coredns",
        },
    },
    Component {
        name: "kubeadm",
        runs: Runs::Tool,
    },
    Component {
        name: "kubectl",
        runs: Runs::Tool,
    },
    Component {
        name: "crictl",
        runs: Runs::Tool,
    },
];

/// The component named `name`.
pub fn named(name: &str) -> Option<&'static Component> {
    COMPONENTS.iter().find(|c| c.name == name)
}

/// Where `binaries` has the component's binary: the Kubernetes directory, or `--extra-bin` for
/// etcd, coredns and crictl (None when that directory lacks it).
pub fn binary(binaries: &KubeBinaries, component: &str) -> Option<PathBuf> {
    if crate::kube::binaries::KUBE_BINARIES.contains(&component) {
        Some(binaries.path(component))
    } else {
        binaries.extra(component)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_binary_a_cluster_runs_is_a_component_once() {
        let mut names: Vec<&str> = COMPONENTS.iter().map(|c| c.name).collect();
        for b in crate::kube::binaries::KUBE_BINARIES {
            assert!(names.contains(b), "{b}");
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COMPONENTS.len());
        assert_eq!(named("kubelet").unwrap().runs, Runs::Kubelet);
        assert!(named("pause").is_none());
        let binaries = KubeBinaries {
            dir: "/k".into(),
            extra_dir: None,
            version: "v1.28.7".into(),
        };
        assert_eq!(
            binary(&binaries, "kube-proxy").unwrap(),
            PathBuf::from("/k/kube-proxy")
        );
        assert_eq!(binary(&binaries, "etcd"), None);
    }
}
