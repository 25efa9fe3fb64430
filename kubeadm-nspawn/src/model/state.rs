//! `state.json`: what a cluster is made of and how far it got, written atomically after every step
//! that creates something (so `down` after a crash knows what to remove) and before every
//! transition (so an interrupted verb is seen as interrupted). Only what cannot be derived is
//! recorded: names of namespaces, bridges and directories follow from the cluster's name.
//!
//! The format is versioned ([`FORMAT_VERSION`]); files of the first format (no `formatVersion`)
//! are read and migrated (see [`v1`]).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::binaries::{Fingerprint, KubeBinaries};
use super::component::Component;
use super::names::ClusterName;
use super::ranges::{OtherCluster, Ranges};
use super::ranges6::{IpFamily, OtherCluster6, Ranges6};
use super::settings::{ComponentSettings, NodeRole, NodeSettings};

/// The state file format this kubeadm-nspawn writes.
pub const FORMAT_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterState {
    pub format_version: u32,
    pub name: ClusterName,
    /// The IPv4 ranges. The IPv4 node subnet is every family's (the host reaches the nodes, their
    /// API servers and the load balancer on it); the pod and service ranges only the families
    /// with IPv4 use.
    pub ranges: Ranges,
    /// The families Kubernetes speaks (#31).
    #[serde(default, skip_serializing_if = "is_default")]
    pub ip_family: IpFamily,
    /// The IPv6 ranges, when the family has IPv6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ranges6>,
    /// Whether the nodes have a default route off the host, NATed.
    pub masquerade: bool,
    pub image: ImageRef,
    /// The Kubernetes nodes in index order, then the load balancer (if any).
    pub nodes: Vec<NodeState>,
    #[serde(default)]
    pub kubernetes: Kubernetes,
    /// What `init` tells the components (feature gates, runtime config, kubeadm patches), from
    /// the config file.
    #[serde(default, skip_serializing_if = "is_default")]
    pub components: ComponentSettings,
    /// The resolvers the nodes are told to use (`--dns`); empty: the host's, as a node can reach them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<std::net::IpAddr>,
    /// The rules added to the host's forward path for the cluster's bridge (where it drops).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forward_rules: Vec<ForwardRule>,
    /// A verb that changes the cluster's nodes and is (or was, if it was killed) under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition: Option<Transition>,
}

/// The base image, as rootfs-builder reported it (its key keeps `rootfs-builder gc` off it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ImageRef {
    pub key: String,
    pub path: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeState {
    pub name: String,
    /// Its place among the Kubernetes nodes (the load balancer: after them): its address, its
    /// namespace, its pod range follow from it.
    pub index: usize,
    pub role: NodeRole,
    pub ip: Ipv4Addr,
    /// PID of `systemd-nspawn` (cnispawn execs into it); None while not started.
    pub pid: Option<u32>,
    /// cnispawn failed for this node: it removed its own namespace, and whatever is at the name now
    /// (a namespace of someone else's) is not this cluster's to delete.
    #[serde(default, skip_serializing_if = "is_default")]
    pub network_failed: bool,
    /// Labels, extra mounts and limits from the config file.
    #[serde(default, skip_serializing_if = "is_default")]
    pub settings: NodeSettings,
}

impl NodeState {
    /// Whether the node is a Kubernetes node (it runs a kubelet), not the load balancer.
    pub fn is_kubernetes(&self) -> bool {
        self.role != NodeRole::LoadBalancer
    }

    /// Its network namespace, as cnispawn made it.
    pub fn netns(&self, cluster: &ClusterName) -> String {
        match self.role {
            NodeRole::LoadBalancer => cluster.load_balancer_netns(),
            _ => cluster.netns(self.index),
        }
    }
}

#[cfg(test)]
impl NodeState {
    /// A node of a test's state.
    pub fn for_test(name: &str, index: usize, role: NodeRole, ip: &str) -> NodeState {
        NodeState {
            name: name.into(),
            index,
            role,
            ip: ip.parse().expect("a test's address"),
            pid: None,
            network_failed: false,
            settings: Default::default(),
        }
    }
}

/// A rule kubeadm-nspawn added for a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "in", rename_all = "kebab-case")]
pub enum ForwardRule {
    /// In iptables' `KNS-FORWARD` chain (see `host::firewall`): the rule's arguments after the
    /// chain; `ipv6`: in ip6tables' chain of that name (a cluster with IPv6, #31).
    Iptables {
        rule: Vec<String>,
        #[serde(default, skip_serializing_if = "is_default")]
        ipv6: bool,
    },
    /// In an nftables chain that drops: the chain, the rule's text (its comment names the
    /// cluster, which is how it is found again).
    Nftables {
        family: String,
        table: String,
        chain: String,
        rule: String,
    },
}

impl std::fmt::Display for ForwardRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForwardRule::Iptables { rule, ipv6 } => {
                let program = if *ipv6 { "ip6tables" } else { "iptables" };
                write!(f, "{program} -A KNS-FORWARD {}", rule.join(" "))
            }
            ForwardRule::Nftables {
                family,
                table,
                chain,
                rule,
            } => write!(f, "nft {family} {table} {chain}: {rule}"),
        }
    }
}

/// How far the cluster is a Kubernetes cluster.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(tag = "phase", rename_all = "kebab-case")]
pub enum Kubernetes {
    /// Booted nodes; no binaries chosen yet.
    #[default]
    None,
    /// Binaries chosen by `up`; `init` not run yet.
    Chosen {
        binaries: KubeBinaries,
    },
    /// `init` started: it is running, or it failed or was interrupted at `step`.
    #[serde(rename_all = "camelCase")]
    Initializing {
        binaries: KubeBinaries,
        /// The step `init` was at when it last recorded one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        /// The user's kubeconfig the cluster's context went into, once it did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kubeconfig: Option<PathBuf>,
    },
    Initialized(Initialized),
}

/// An initialized cluster.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Initialized {
    pub binaries: KubeBinaries,
    /// The user's kubeconfig the cluster's context was merged into (`down` takes it out again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<PathBuf>,
    /// What each component's binary was when it went into the cluster, for `update`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fingerprints: BTreeMap<Component, Fingerprint>,
}

impl Kubernetes {
    /// The binaries chosen or running, if any.
    pub fn binaries(&self) -> Option<&KubeBinaries> {
        match self {
            Kubernetes::None => None,
            Kubernetes::Chosen { binaries } | Kubernetes::Initializing { binaries, .. } => {
                Some(binaries)
            }
            Kubernetes::Initialized(i) => Some(&i.binaries),
        }
    }

    /// The user's kubeconfig the cluster's context went into, if it did.
    pub fn kubeconfig(&self) -> Option<&PathBuf> {
        match self {
            Kubernetes::Initializing { kubeconfig, .. } => kubeconfig.as_ref(),
            Kubernetes::Initialized(i) => i.kubeconfig.as_ref(),
            _ => None,
        }
    }

    /// The phase's name, as `list` shows it.
    pub fn phase_name(&self) -> &'static str {
        match self {
            Kubernetes::None => "none",
            Kubernetes::Chosen { .. } => "chosen",
            Kubernetes::Initializing { .. } => "initializing",
            Kubernetes::Initialized(_) => "initialized",
        }
    }
}

/// A verb under way that changes the nodes, recorded before it begins: a `start` that finds
/// `Stopping` knows the nodes may still be shutting down.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "verb", rename_all = "kebab-case")]
pub enum Transition {
    /// `up` making the cluster (cleared once its nodes are booted): a cluster left so was cut
    /// short by a kill, and only `down` (or `stop`) is for it.
    Making,
    Stopping,
    Starting,
    Updating {
        component: Component,
    },
}

impl std::fmt::Display for Transition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transition::Making => f.write_str("being made (or its up was killed)"),
            Transition::Stopping => f.write_str("stopping"),
            Transition::Starting => f.write_str("starting"),
            Transition::Updating { component } => write!(f, "updating {component}"),
        }
    }
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    value == &T::default()
}

impl ClusterState {
    /// The Kubernetes nodes (the load balancer left out), control planes first, in node order.
    pub fn kubernetes_nodes(&self) -> impl Iterator<Item = &NodeState> {
        self.nodes.iter().filter(|n| n.is_kubernetes())
    }

    /// The control-plane nodes, the first (where `kubeadm init` ran) first.
    pub fn control_planes(&self) -> impl Iterator<Item = &NodeState> {
        self.with_role(NodeRole::ControlPlane)
    }

    /// The nodes that are only workers.
    pub fn workers(&self) -> impl Iterator<Item = &NodeState> {
        self.with_role(NodeRole::Worker)
    }

    fn with_role(&self, role: NodeRole) -> impl Iterator<Item = &NodeState> {
        self.nodes.iter().filter(move |n| n.role == role)
    }

    /// The node `kubeadm init` runs on: the first control plane. `up` records it first, so only
    /// a cluster whose `up` did not get to its nodes has none.
    pub fn first_control_plane(&self) -> Option<&NodeState> {
        self.control_planes().next()
    }

    /// The load balancer in front of the API servers (clusters with several control planes).
    pub fn load_balancer(&self) -> Option<&NodeState> {
        self.with_role(NodeRole::LoadBalancer).next()
    }

    /// Where the API is served: the load balancer's address, or the only control plane's.
    pub fn api_endpoint(&self) -> Option<Ipv4Addr> {
        self.load_balancer()
            .or_else(|| self.first_control_plane())
            .map(|n| n.ip)
    }

    /// `node`'s IPv6 address on the bridge, when the cluster has IPv6.
    pub fn node_ip6(&self, node: &NodeState) -> Option<std::net::Ipv6Addr> {
        self.ipv6.map(|r| match node.role {
            NodeRole::LoadBalancer => r.nodes.load_balancer_ip(),
            _ => r.nodes.node_ip(node.index),
        })
    }

    /// The addresses Kubernetes knows `node` by (its kubelet's node-ip), the primary family's
    /// first.
    pub fn kube_ips(&self, node: &NodeState) -> Vec<std::net::IpAddr> {
        super::ranges6::ordered_ips(self.ip_family, node.ip, self.node_ip6(node))
    }

    /// The pod ranges Kubernetes is given, the primary family's first.
    pub fn pod_subnets(&self) -> Vec<String> {
        self.ip_family.order(
            self.ranges.pods.to_string(),
            self.ipv6.map(|r| r.pods.to_string()),
        )
    }

    /// The service ranges Kubernetes is given, the primary family's first.
    pub fn service_subnets(&self) -> Vec<String> {
        self.ip_family.order(
            self.ranges.services.to_string(),
            self.ipv6.map(|r| r.services.to_string()),
        )
    }

    /// The node subnets on the bridge: the IPv4 one, then the IPv6 one (if any).
    pub fn node_subnets(&self) -> Vec<String> {
        let mut subnets = vec![self.ranges.nodes.to_string()];
        subnets.extend(self.ipv6.map(|r| r.nodes.to_string()));
        subnets
    }

    /// The cluster's IPv6 node subnet as another cluster's collision check sees it.
    pub fn as_other6(&self) -> Option<OtherCluster6> {
        self.ipv6.map(|r| OtherCluster6 {
            name: self.name.to_string(),
            nodes: r.nodes.cidr(),
            bridge: self.name.bridge(),
        })
    }

    /// The cluster as another cluster's collision check sees it.
    pub fn as_other(&self) -> OtherCluster {
        OtherCluster {
            name: self.name.to_string(),
            nodes: self.ranges.nodes.cidr(),
            bridge: self.name.bridge(),
        }
    }

    /// The state in a file's text: this format, or the first one (migrated). Fails with why the
    /// text is not a state.
    pub fn from_json(text: &[u8]) -> Result<ClusterState, String> {
        let value: serde_json::Value = serde_json::from_slice(text).map_err(|e| e.to_string())?;
        let state = match value.get("formatVersion").map(|v| v.as_u64()) {
            None => v1::migrate(serde_json::from_value(value).map_err(|e| e.to_string())?)?,
            Some(Some(v)) if v == u64::from(FORMAT_VERSION) => {
                serde_json::from_value(value).map_err(|e| e.to_string())?
            }
            Some(v) => {
                return Err(format!(
                    "format version {} is not {FORMAT_VERSION}: written by another kubeadm-nspawn",
                    v.map_or("?".into(), |v| v.to_string())
                ))
            }
        };
        // Nodes are recorded control planes first; none at all is a cluster `up` just made.
        if !state.nodes.is_empty() && state.control_planes().next().is_none() {
            return Err("no control-plane node".into());
        }
        Ok(state)
    }

    /// The state as the file's text.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec_pretty(self)
    }
}

/// The first state format (before it had `formatVersion`): strings for ranges and addresses,
/// derived names recorded, the phase beside optional data.
pub mod v1 {
    use super::*;
    use crate::model::names::ClusterName;
    use crate::model::ranges::{Cidr, NodeSubnet, DEFAULT_POD_SUBNET, DEFAULT_SERVICE_SUBNET};

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ClusterState {
        pub name: String,
        pub subnet: String,
        #[serde(default)]
        pub pod_subnet: Option<String>,
        #[serde(default)]
        pub service_subnet: Option<String>,
        pub masquerade: bool,
        pub image: ImageRef,
        pub nodes: Vec<NodeState>,
        #[serde(default)]
        pub kubernetes: Option<KubernetesState>,
        #[serde(default)]
        pub components: ComponentSettings,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct NodeState {
        pub name: String,
        pub index: usize,
        pub ip: String,
        pub pid: Option<u32>,
        #[serde(default)]
        pub network_failed: bool,
        #[serde(default)]
        pub settings: NodeSettings,
        /// Files from before roles had none: the first node is the control plane.
        #[serde(default)]
        pub role: Option<NodeRole>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub enum Phase {
        Chosen,
        Initializing,
        Initialized,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct KubernetesState {
        pub binaries: KubeBinaries,
        pub phase: Phase,
        #[serde(default)]
        pub kubeconfig: Option<PathBuf>,
        #[serde(default)]
        pub fingerprints: BTreeMap<String, Fingerprint>,
    }

    /// A first-format state in this format.
    pub fn migrate(old: ClusterState) -> Result<super::ClusterState, String> {
        let cidr = |text: Option<&str>, default: Cidr, what: &str| -> Result<Cidr, String> {
            text.map_or(Ok(default), |t| {
                Cidr::parse(t, what).map_err(|e| e.to_string())
            })
        };
        let nodes = Cidr::parse(&old.subnet, "subnet").map_err(|e| e.to_string())?;
        let ranges = Ranges {
            nodes: NodeSubnet::new(nodes).map_err(|e| e.to_string())?,
            pods: cidr(old.pod_subnet.as_deref(), DEFAULT_POD_SUBNET, "pod subnet")?,
            services: cidr(
                old.service_subnet.as_deref(),
                DEFAULT_SERVICE_SUBNET,
                "service subnet",
            )?,
        };
        let any_role = old.nodes.iter().any(|n| n.role.is_some());
        let nodes = old
            .nodes
            .into_iter()
            .enumerate()
            .map(|(i, n)| {
                let role = n.role.unwrap_or(match (any_role, i) {
                    (false, 0) => NodeRole::ControlPlane,
                    _ => NodeRole::Worker,
                });
                Ok(super::NodeState {
                    ip: n.ip.parse().map_err(|_| {
                        format!("node \"{}\": \"{}\" is not an address", n.name, n.ip)
                    })?,
                    name: n.name,
                    index: n.index,
                    role,
                    pid: n.pid,
                    network_failed: n.network_failed,
                    settings: n.settings,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let kubernetes = match old.kubernetes {
            None => Kubernetes::None,
            Some(k) => match k.phase {
                Phase::Chosen => Kubernetes::Chosen {
                    binaries: k.binaries,
                },
                Phase::Initializing => Kubernetes::Initializing {
                    binaries: k.binaries,
                    step: None,
                    kubeconfig: k.kubeconfig,
                },
                Phase::Initialized => Kubernetes::Initialized(Initialized {
                    binaries: k.binaries,
                    kubeconfig: k.kubeconfig,
                    fingerprints: k
                        .fingerprints
                        .into_iter()
                        .filter_map(|(name, f)| Component::named(&name).map(|c| (c, f)))
                        .collect(),
                }),
            },
        };
        Ok(super::ClusterState {
            format_version: FORMAT_VERSION,
            name: ClusterName::new(&old.name).map_err(|e| e.to_string())?,
            ranges,
            masquerade: old.masquerade,
            image: old.image,
            nodes,
            kubernetes,
            components: old.components,
            dns: vec![],
            ip_family: Default::default(),
            ipv6: None,
            forward_rules: vec![],
            transition: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state.json written by kubeadm-nspawn before the format was versioned: an initialized
    /// cluster of 3 control planes, a worker and a load balancer, saved from a real run of the
    /// end-to-end tier (PIDs and paths as they were).
    const V1_INITIALIZED: &str = include_str!("testdata/state-v1-initialized.json");

    #[test]
    fn a_dual_stack_state_keeps_its_family_and_ranges_and_older_states_are_ipv4() {
        use crate::model::ranges6::{NodeSubnet6, DEFAULT_POD_SUBNET6, DEFAULT_SERVICE_SUBNET6};
        let mut state = v1::migrate(serde_json::from_str(V1_INITIALIZED).unwrap()).unwrap();
        assert_eq!(state.ip_family, IpFamily::Ipv4);
        let text = String::from_utf8(state.to_json().unwrap()).unwrap();
        assert!(
            !text.contains("ipFamily") && !text.contains("ipv6"),
            "{text}"
        );
        let n0 = state.nodes[0].clone();
        assert_eq!(state.kube_ips(&n0), vec![std::net::IpAddr::V4(n0.ip)]);
        state.ip_family = IpFamily::Dual;
        state.ipv6 = Some(Ranges6 {
            nodes: NodeSubnet6::derived("dev", 0),
            pods: DEFAULT_POD_SUBNET6,
            services: DEFAULT_SERVICE_SUBNET6,
        });
        let back = ClusterState::from_json(&state.to_json().unwrap()).unwrap();
        assert_eq!(back, state);
        let ips: Vec<String> = back.kube_ips(&n0).iter().map(|i| i.to_string()).collect();
        let v6 = NodeSubnet6::derived("dev", 0).node_ip(n0.index);
        assert_eq!(ips, [n0.ip.to_string(), v6.to_string()]);
        assert_eq!(back.pod_subnets(), ["10.244.0.0/16", "fd00:10:244::/56"]);
        let lb = back.load_balancer().unwrap();
        assert_eq!(
            back.node_ip6(lb),
            Some(NodeSubnet6::derived("dev", 0).load_balancer_ip())
        );
        state.ip_family = IpFamily::Ipv6;
        assert_eq!(state.service_subnets(), ["fd00:10:96::/112"]);
        assert_eq!(state.kube_ips(&n0), vec![std::net::IpAddr::V6(v6)]);
    }

    #[test]
    fn a_first_format_state_is_migrated() {
        let state = ClusterState::from_json(V1_INITIALIZED.as_bytes()).unwrap();
        assert_eq!(state.format_version, FORMAT_VERSION);
        assert_eq!(state.name.as_str(), "knst8bf68a");
        assert_eq!(state.ranges.nodes.to_string(), "10.252.138.0/24");
        assert_eq!(state.ranges.pods.to_string(), "10.244.0.0/16");
        assert_eq!(state.nodes.len(), 5);
        assert_eq!(state.control_planes().count(), 3);
        assert_eq!(state.nodes[3].role, NodeRole::Worker);
        assert_eq!(
            state.load_balancer().unwrap().ip,
            Ipv4Addr::new(10, 252, 138, 9)
        );
        assert_eq!(state.api_endpoint(), Some(Ipv4Addr::new(10, 252, 138, 9)));
        assert_eq!(state.nodes[1].netns(&state.name), "kns-knst8bf68a-1");
        assert_eq!(state.nodes[4].netns(&state.name), "kns-knst8bf68a-lb");
        assert_eq!(state.nodes[0].pid, Some(28460));
        let Kubernetes::Initialized(k) = &state.kubernetes else {
            panic!("{:?}", state.kubernetes)
        };
        assert_eq!(k.binaries.version, "v1.28.7");
        assert!(k.fingerprints.contains_key(&Component::KubeApiserver));
        assert!(k.kubeconfig.is_some());
        // Written again in this format, and read back the same.
        let again = ClusterState::from_json(&state.to_json().unwrap()).unwrap();
        assert_eq!(again, state);
    }

    #[test]
    fn a_state_from_before_roles_has_its_first_node_as_the_control_plane() {
        let node = |i: usize| {
            format!(
                r#"{{"name":"c-n{i}","index":{i},"netns":"kns-c-{i}","ip":"10.22.0.1{i}","dir":"/d{i}","pid":null}}"#
            )
        };
        let text = format!(
            r#"{{"name":"c","subnet":"10.22.0.0/16","bridge":"kns-c","network":"kns-c","masquerade":false,"image":{{"key":"k","path":"/x"}},"nodes":[{},{}]}}"#,
            node(0),
            node(1)
        );
        let state = ClusterState::from_json(text.as_bytes()).unwrap();
        assert_eq!(state.nodes[0].role, NodeRole::ControlPlane);
        assert_eq!(state.nodes[1].role, NodeRole::Worker);
        assert_eq!(state.first_control_plane().unwrap().name, "c-n0");
        assert_eq!(state.api_endpoint(), Some(Ipv4Addr::new(10, 22, 0, 10)));
        assert!(state.load_balancer().is_none());
        assert_eq!(state.kubernetes, Kubernetes::None);
    }

    #[test]
    fn what_is_not_a_state_is_refused_with_why() {
        for (text, why) in [
            ("{", "EOF"),
            (r#"{"formatVersion":9}"#, "format version 9"),
            (
                r#"{"name":"c","subnet":"10.22.0.1/16","masquerade":false,"image":{"key":"k","path":"/x"},"nodes":[]}"#,
                "host bits",
            ),
        ] {
            let err = ClusterState::from_json(text.as_bytes()).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
