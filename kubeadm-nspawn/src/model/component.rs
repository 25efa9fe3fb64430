//! The parts of a cluster that come from a binary, and everything the rest of kubeadm-nspawn asks
//! of one: its name, where its binary is, how it runs (so how a new binary reaches it), its image,
//! how its health is asked. `update` replaces them in [`Component::ALL`]'s order: etcd and the
//! control plane first, the kubelets, then what runs as workloads, then the tools.

use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
#[value(rename_all = "kebab-case")]
pub enum Component {
    Etcd,
    KubeApiserver,
    KubeControllerManager,
    KubeScheduler,
    Kubelet,
    KubeProxy,
    Coredns,
    Kubeadm,
    Kubectl,
    Crictl,
}

/// Which directory of the binaries holds a component's binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryDir {
    /// The Kubernetes build (`--kube-bin`, the tree's `_output`, a release).
    Kubernetes,
    /// `--extra-bin`: crictl, etcd, coredns.
    Extra,
}

/// The kind of a kube-system workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    DaemonSet,
    Deployment,
}

impl WorkloadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::DaemonSet => "daemonset",
            WorkloadKind::Deployment => "deployment",
        }
    }
}

/// How a component runs in the cluster, so how a new binary reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// A static pod on the control-plane nodes (`/etc/kubernetes/manifests/<name>.yaml`), from an
    /// image synthesized from the binary.
    StaticPod,
    /// The kubelet: a binary in every node, run by the node's systemd.
    Kubelet,
    /// A workload in kube-system, from an image synthesized from the binary, on every node.
    Workload {
        kind: WorkloadKind,
        object: &'static str,
        container: &'static str,
    },
    /// A tool in every node's /usr/local/bin, run on demand.
    Tool,
}

/// How a component's image is made from its binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLayout {
    /// On the runtime layer (libc, iptables, conntrack from the node base): kube-proxy execs
    /// iptables, Debian's etcd is dynamically linked.
    pub on_runtime_layer: bool,
    /// The binary's path in the image when not `/usr/local/bin/<name>`, as the entrypoint.
    pub entrypoint: Option<&'static str>,
    /// Only the control planes run it.
    pub control_plane_only: bool,
}

/// Where a component answers whether it is healthy, asked inside its node with socat (not through
/// the load balancer, which would answer from another control plane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    /// socat's address: `OPENSSL:127.0.0.1:10257,verify=0` (a self-signed secure port).
    pub address: &'static str,
    pub path: &'static str,
}

impl Component {
    /// Every component, in update order.
    pub const ALL: [Component; 10] = [
        Component::Etcd,
        Component::KubeApiserver,
        Component::KubeControllerManager,
        Component::KubeScheduler,
        Component::Kubelet,
        Component::KubeProxy,
        Component::Coredns,
        Component::Kubeadm,
        Component::Kubectl,
        Component::Crictl,
    ];

    /// Its name: the binary's, the image's, the static pod's and `--only`'s.
    pub fn name(self) -> &'static str {
        match self {
            Component::Etcd => "etcd",
            Component::KubeApiserver => "kube-apiserver",
            Component::KubeControllerManager => "kube-controller-manager",
            Component::KubeScheduler => "kube-scheduler",
            Component::Kubelet => "kubelet",
            Component::KubeProxy => "kube-proxy",
            Component::Coredns => "coredns",
            Component::Kubeadm => "kubeadm",
            Component::Kubectl => "kubectl",
            Component::Crictl => "crictl",
        }
    }

    pub fn binary_dir(self) -> BinaryDir {
        match self {
            Component::Etcd | Component::Coredns | Component::Crictl => BinaryDir::Extra,
            _ => BinaryDir::Kubernetes,
        }
    }

    pub fn runs(self) -> Runs {
        match self {
            Component::Etcd
            | Component::KubeApiserver
            | Component::KubeControllerManager
            | Component::KubeScheduler => Runs::StaticPod,
            Component::Kubelet => Runs::Kubelet,
            Component::KubeProxy => Runs::Workload {
                kind: WorkloadKind::DaemonSet,
                object: "kube-proxy",
                container: "kube-proxy",
            },
            Component::Coredns => Runs::Workload {
                kind: WorkloadKind::Deployment,
                object: "coredns",
                container: "coredns",
            },
            Component::Kubeadm | Component::Kubectl | Component::Crictl => Runs::Tool,
        }
    }

    /// How its image is made; None for a component that runs from no image.
    pub fn image(self) -> Option<ImageLayout> {
        let plain = ImageLayout {
            on_runtime_layer: false,
            entrypoint: None,
            control_plane_only: true,
        };
        match self {
            Component::KubeApiserver
            | Component::KubeControllerManager
            | Component::KubeScheduler => Some(plain),
            Component::Etcd => Some(ImageLayout {
                on_runtime_layer: true,
                ..plain
            }),
            Component::KubeProxy => Some(ImageLayout {
                on_runtime_layer: true,
                control_plane_only: false,
                ..plain
            }),
            Component::Coredns => Some(ImageLayout {
                entrypoint: Some("/coredns"),
                control_plane_only: false,
                ..plain
            }),
            _ => None,
        }
    }

    /// Where a static pod's component answers its health in its node: the API server's `/readyz`
    /// (which includes its stacked etcd, so it stands for etcd too), the controller-manager's and
    /// scheduler's `/healthz` on their self-signed secure ports.
    pub fn health(self) -> Option<Health> {
        match self {
            Component::KubeApiserver | Component::Etcd => Some(Health {
                address: "OPENSSL:127.0.0.1:6443,verify=0",
                path: "/readyz",
            }),
            Component::KubeControllerManager => Some(Health {
                address: "OPENSSL:127.0.0.1:10257,verify=0",
                path: "/healthz",
            }),
            Component::KubeScheduler => Some(Health {
                address: "OPENSSL:127.0.0.1:10259,verify=0",
                path: "/healthz",
            }),
            Component::Kubelet => Some(Health {
                address: "TCP:127.0.0.1:10248",
                path: "/healthz",
            }),
            _ => None,
        }
    }

    /// The component named `name`.
    pub fn named(name: &str) -> Option<Component> {
        Component::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl std::fmt::Display for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn every_component_is_named_once_as_serde_and_clap_name_it() {
        let mut names: Vec<&str> = Component::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Component::ALL.len());
        for c in Component::ALL {
            assert_eq!(Component::named(c.name()), Some(c));
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", c.name())
            );
            let value = c.to_possible_value().unwrap();
            assert_eq!(value.get_name(), c.name());
        }
        assert_eq!(Component::named("pause"), None);
        assert_eq!(Component::Kubelet.runs(), Runs::Kubelet);
        assert!(Component::KubeProxy.image().unwrap().on_runtime_layer);
        assert_eq!(Component::Kubectl.image(), None);
    }
}
