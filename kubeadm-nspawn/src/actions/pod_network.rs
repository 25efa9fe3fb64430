//! Step: the pod network, with no manifest to download: once every node has registered, node i gets
//! the podCIDR 10.244.i.0/24 (set on its Node object), a CNI config (bridge `cni0` + host-local on
//! that podCIDR + portmap) and routes to the other nodes' podCIDRs via their node IPs. A node without a default
//! route (`--no-masquerade`) also gets an on-link route for the service subnet: a connection from
//! the node to a ClusterIP needs some route before kube-proxy's DNAT rewrites it; on-link, a
//! packet nothing rewrote goes nowhere (not off the host).

use std::collections::HashMap;
use std::fmt::Display;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use serde_json::json;

use kns_node::Exec;
use kns_plumbing::parallel;
use kns_plumbing::poll::{self, Check, Stopped};

use crate::cluster::ClusterNode;
use crate::error::{Error, Result};
use crate::host::error::Timeout;
use crate::kube::kubeadm::admin_kubectl;
use crate::model::ranges::{self, Cidr};
use crate::model::ranges6::{self, AnyCidr, Cidr6, IpFamily};

use super::InitContext;

pub const CONFLIST: &str = "/etc/cni/net.d/10-kns.conflist";

/// The CNI config of a node whose pods live in `pod_cidrs` (one range a family, the primary
/// family's first): host-local gives each pod an address of each, and a default route of each
/// family to the node (the node itself has none off the host).
pub fn conflist(pod_cidrs: &[AnyCidr]) -> String {
    let ranges: Vec<serde_json::Value> = pod_cidrs
        .iter()
        .map(|c| json!([{"subnet": c.to_string()}]))
        .collect();
    let routes: Vec<serde_json::Value> = pod_cidrs
        .iter()
        .map(|c| match c {
            AnyCidr::V4(_) => json!({"dst": "0.0.0.0/0"}),
            AnyCidr::V6(_) => json!({"dst": "::/0"}),
        })
        .collect();
    let config = json!({
        "cniVersion": "0.4.0",
        "name": "kns-pods",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "cni0",
                "isGateway": true,
                // No NAT: pods reach other nodes' pods by the routes, and nothing else.
                "ipMasq": false,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": ranges,
                    "routes": routes
                }
            },
            {"type": "portmap", "capabilities": {"portMappings": true}}
        ]
    });
    serde_json::to_string_pretty(&config).unwrap_or_default()
}

/// A node's addresses and its pods' ranges, per family the cluster has.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodePods {
    pub v4: Option<(Ipv4Addr, Cidr)>,
    pub v6: Option<(Ipv6Addr, Cidr6)>,
}

impl NodePods {
    /// Its pod ranges, the primary family's first.
    fn cidrs(&self, family: IpFamily) -> Vec<AnyCidr> {
        let v4 = self.v4.map(|(_, c)| AnyCidr::V4(c));
        let v6 = self.v6.map(|(_, c)| AnyCidr::V6(c));
        match family {
            IpFamily::Ipv6 => v6.into_iter().chain(v4).collect(),
            _ => v4.into_iter().chain(v6).collect(),
        }
    }
}

/// The service ranges a node without a default route needs an on-link route to (each family's).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ServiceRoutes {
    pub v4: Option<Cidr>,
    pub v6: Option<Cidr6>,
}

/// `ip [FAMILY] route replace DST HOW TARGET`: `-6` as `family` for an IPv6 `dst`; `how` is
/// `via` (a node) or `dev` (an interface).
fn route_replace(family: &[&str], dst: &str, how: &str, target: &str) -> Vec<String> {
    let route = ["route", "replace", dst, how, target];
    std::iter::once("ip")
        .chain(family.iter().copied())
        .chain(route)
        .map(str::to_owned)
        .collect()
}

/// The `ip route` commands for node `me`: every other node's podCIDRs via that node (per
/// family), and the on-link routes to the service subnets given.
pub fn routes(nodes: &[NodePods], me: usize, services: ServiceRoutes) -> Vec<Vec<String>> {
    let others = || {
        nodes
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i != me)
            .map(|(_, n)| n)
    };
    /// The route to a node's pods (`cidr`) via the node (`ip`).
    fn via(family: &[&str], (ip, cidr): (impl Display, impl Display)) -> Vec<String> {
        route_replace(family, &cidr.to_string(), "via", &ip.to_string())
    }
    let on_link = |family, services: String| route_replace(family, &services, "dev", "eth0");
    let mut commands: Vec<Vec<String>> = vec![];
    commands.extend(others().filter_map(|n| n.v4).map(|pods| via(&[], pods)));
    commands.extend(others().filter_map(|n| n.v6).map(|pods| via(&["-6"], pods)));
    commands.extend(services.v4.map(|s| on_link(&[], s.to_string())));
    commands.extend(services.v6.map(|s| on_link(&["-6"], s.to_string())));
    commands
}

/// Step, before `kubeadm init`: every node's routes and CNI config. They need nothing of the
/// cluster (node i's podCIDR follows from its index), and a node with its CNI config is Ready as
/// soon as its kubelet registers, so the joins are not followed by a pod network wait.
/// Without `pod_network` (disableDefaultCNI) only the service range's route is added (the
/// user's pod network reaches the API by its ClusterIP too) and no CNI config is written: one an
/// earlier init wrote is taken out.
pub fn run(ctx: &mut InitContext, pod_network: bool) -> Result<()> {
    // The Kubernetes nodes: the load balancer has no pods and needs no routes to them.
    let nodes = ctx.cluster.kubernetes_nodes();
    let pairs = node_pods(ctx)?;
    // Without the default pod network no node routes to another's pods: the user's network does.
    let routed: Vec<NodePods> = pairs.iter().copied().filter(|_| pod_network).collect();
    let state = &ctx.cluster.state;
    let family = state.ip_family;
    let services = ServiceRoutes {
        v4: family.has_ipv4().then_some(state.ranges.services),
        v6: state.ipv6.map(|r| r.services),
    };
    let indexed: Vec<(usize, &ClusterNode)> = nodes.iter().enumerate().collect();
    parallel::each(
        &indexed,
        |(_, n)| n.name(),
        |(i, n)| {
            let commands = add_routes(*n, &routed, *i, services)?;
            persist_routes(n, &commands)?;
            let file = Path::new(CONFLIST);
            if pod_network {
                let conf = conflist(&pairs[*i].cidrs(family));
                n.write_file(file, conf.as_bytes(), 0o644)?;
            } else {
                let root = n.root()?;
                if root.exists(file) {
                    root.remove(file)?;
                }
            }
            Ok::<(), Error>(())
        },
    )?;
    for (n, pods) in nodes.iter().zip(&pairs) {
        let cidrs: Vec<String> = pods.cidrs(family).iter().map(|c| c.to_string()).collect();
        kns_plumbing::say!("   {}: pods in {}", n.name(), cidrs.join(", "));
    }
    if !pod_network {
        kns_plumbing::say!(
            "   no pod network (disableDefaultCNI): the nodes stay NotReady until you apply yours"
        );
    }
    Ok(())
}

/// Step, after the joins: every Node object gets its podCIDR (what `kubectl get nodes` and tools
/// reading `spec.podCIDR` see), once every node has registered.
pub fn record_pod_cidrs(ctx: &InitContext) -> Result<()> {
    let nodes = ctx.cluster.kubernetes_nodes();
    let first = ctx.cluster.first_control_plane()?;
    let names: Vec<&str> = nodes.iter().map(|n| n.name()).collect();
    let listing = wait_registered(
        &first,
        &names,
        Duration::from_secs(120),
        Duration::from_millis(250),
    )?;
    let family = ctx.cluster.state.ip_family;
    let cidrs: Vec<Vec<AnyCidr>> = node_pods(ctx)?.iter().map(|p| p.cidrs(family)).collect();
    let known = registered(&listing);
    let missing: Vec<(&str, Vec<AnyCidr>)> = names
        .iter()
        .zip(&cidrs)
        .filter(|(name, _)| known.get(*name).is_some_and(|c| c.is_empty()))
        .map(|(name, cidrs)| (*name, cidrs.clone()))
        .collect();
    set_pod_cidrs(&first, &missing)
}

/// Node i's addresses and podCIDRs: its block of each of the cluster's pod ranges (IPv4: a /24
/// while they fit; IPv6: the i-th /64), for the families the cluster has.
fn node_pods(ctx: &InitContext) -> Result<Vec<NodePods>> {
    let state = &ctx.cluster.state;
    let pods = state.ranges.pods;
    let per_node = ranges::node_pod_prefix(&pods, state.kubernetes_nodes().count())?;
    Ok(state
        .kubernetes_nodes()
        .map(|n| NodePods {
            v4: state
                .ip_family
                .has_ipv4()
                .then(|| (n.ip, pods.block(per_node, n.index))),
            v6: state
                .ipv6
                .zip(state.node_ip6(n))
                .map(|(r, ip)| (ip, ranges6::node_pods(&r.pods, n.index))),
        })
        .collect())
}

/// What `kubectl get nodes` lists per node: its name and podCIDR (empty when unset), a line each.
const NODE_LISTING: &str =
    "jsonpath={range .items[*]}{.metadata.name} {.spec.podCIDR}{\"\\n\"}{end}";

/// The registered nodes of a [`NODE_LISTING`]: name → podCIDR ("" when unset).
fn registered(listing: &str) -> HashMap<&str, &str> {
    listing
        .lines()
        .filter_map(|l| {
            let mut fields = l.split_whitespace();
            fields
                .next()
                .map(|name| (name, fields.next().unwrap_or("")))
        })
        .collect()
}

/// Waits until every node in `names` has registered its Node object (asked in the first node);
/// returns the last [`NODE_LISTING`].
pub fn wait_registered(
    first: &impl Exec,
    names: &[&str],
    timeout: Duration,
    every: Duration,
) -> Result<String> {
    let waited = poll::until(timeout, every, || {
        match admin_kubectl(first, &["get", "nodes", "-o", NODE_LISTING]) {
            Err(e) => Check::Failed(e),
            Ok(listing) => {
                let known = registered(&listing);
                let missing: Vec<&str> = names
                    .iter()
                    .copied()
                    .filter(|name| !known.contains_key(name))
                    .collect();
                if missing.is_empty() {
                    Check::Done(listing.clone())
                } else {
                    Check::Waiting(format!("{} missing", missing.join(", ")))
                }
            }
        }
    });
    match waited {
        Ok((listing, _)) => Ok(listing),
        Err(Stopped::Interrupted) => Err(Error::Interrupted),
        Err(Stopped::Aborted(e)) => Err(e.into()),
        Err(Stopped::TimedOut {
            after,
            waiting,
            last_error,
        }) => {
            let missing = names.last().copied().unwrap_or("NODE");
            Err(Timeout {
                what: "nodes registered".into(),
                after,
                look: format!(
                    "the kubelet's log on a missing node: `kubeadm-nspawn exec {} -- journalctl -u kubelet`",
                    waiting
                        .as_deref()
                        .and_then(|w| w.split([',', ' ']).next())
                        .unwrap_or(missing)
                ),
                waiting,
                last_error: last_error.map(|e| e.to_string()),
            }
            .into())
        }
    }
}

/// Sets the podCIDRs of each (node, podCIDRs) in `unset`, all at once: `podCIDR` the primary
/// family's, `podCIDRs` one of each family, primary first (as the API server requires).
/// spec.podCIDR can be set only once: the caller passes only nodes whose podCIDR was unset, so a
/// retried step leaves set ones.
fn set_pod_cidrs(first: &(impl Exec + Sync), unset: &[(&str, Vec<AnyCidr>)]) -> Result<()> {
    parallel::each(
        unset,
        |(name, _)| name,
        |(name, cidrs)| {
            let all: Vec<String> = cidrs.iter().map(ToString::to_string).collect();
            let patch = json!({"spec": {"podCIDR": all.first(), "podCIDRs": all}}).to_string();
            admin_kubectl(first, &["patch", "node", name, "-p", &patch])
                .map(drop)
                .map_err(Error::from)
        },
    )
    .map(drop)
}

/// The routes of node `me` to the other nodes' pods (and to the service subnet when it has no
/// default route), added in the node; returns the commands.
fn add_routes(
    node: &impl Exec,
    pairs: &[NodePods],
    me: usize,
    services: ServiceRoutes,
) -> Result<Vec<Vec<String>>> {
    let mut services = services;
    if services.v4.is_some() {
        let has_default = !node
            .run(&["ip", "route", "show", "default"])?
            .trim()
            .is_empty();
        if has_default {
            services.v4 = None;
        }
    }
    // IPv6 never has a default route in a node: its service range is always on-link.
    let commands = routes(pairs, me, services);
    for command in &commands {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        node.run(&args)?;
    }
    Ok(commands)
}

/// Where the routes script and its unit go in a node.
const ROUTES_SCRIPT: &str = "/etc/kubeadm-nspawn/pod-routes.sh";
const ROUTES_UNIT: &str = "kubeadm-nspawn-pod-routes.service";

/// Makes the routes part of the node's boot: a oneshot unit runs them before the kubelet starts,
/// so a node that is started again (`kubeadm-nspawn start`, after a host reboot) has its pod
/// network back without `init`. Written through the node's root, on its overlay.
fn persist_routes(node: &ClusterNode, commands: &[Vec<String>]) -> Result<()> {
    let root = node.root()?;
    root.write(
        Path::new(ROUTES_SCRIPT),
        routes_script(commands).as_bytes(),
        0o644,
    )?;
    let unit = format!(
        "[Unit]\nDescription=Routes to the other nodes' pods (kubeadm-nspawn)\n\
         Before=kubelet.service\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\n\
         ExecStart=/bin/sh {ROUTES_SCRIPT}\n\n[Install]\nWantedBy=multi-user.target\n"
    );
    let systemd = Path::new("/etc/systemd/system");
    root.write(&systemd.join(ROUTES_UNIT), unit.as_bytes(), 0o644)?;
    root.symlink(
        &Path::new("..").join(ROUTES_UNIT),
        &systemd.join("multi-user.target.wants").join(ROUTES_UNIT),
    )?;
    Ok(())
}

/// The shell script of `commands`: stops at the first failure.
fn routes_script(commands: &[Vec<String>]) -> String {
    let mut script = String::from("#!/bin/sh\n# Written by kubeadm-nspawn init.\nset -e\n");
    for command in commands {
        script.push_str(&command.join(" "));
        script.push('\n');
    }
    script
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::layout::ClusterPaths;
    use crate::model::names::ClusterName;
    use crate::model::settings::NodeRole;
    use crate::model::state::NodeState;
    use kns_node::exec::Script;

    fn cidr(s: &str) -> Cidr {
        Cidr::parse(s, "x").unwrap()
    }

    fn pods(n: usize) -> Vec<NodePods> {
        (0..n)
            .map(|i| NodePods {
                v4: Some((
                    Ipv4Addr::new(10, 22, 0, 10 + i as u8),
                    cidr(&format!("10.244.{i}.0/24")),
                )),
                v6: None,
            })
            .collect()
    }

    fn c6(s: &str) -> Cidr6 {
        Cidr6::parse(s, "x").unwrap()
    }

    /// `n` dual-stack nodes (IPv6 only, without `v4`).
    fn pods6(n: usize, v4: bool) -> Vec<NodePods> {
        pods(n)
            .into_iter()
            .enumerate()
            .map(|(i, p)| NodePods {
                v4: p.v4.filter(|_| v4),
                v6: Some((
                    format!("fd12::{:x}", 0x10 + i).parse().unwrap(),
                    c6(&format!("fd00:10:244:{i:x}::/64")),
                )),
            })
            .collect()
    }

    fn v4_services(s: &str) -> ServiceRoutes {
        ServiceRoutes {
            v4: Some(cidr(s)),
            v6: None,
        }
    }

    #[test]
    fn routes_become_a_boot_unit_of_the_node() {
        let state_dir = tempfile::tempdir().unwrap();
        let cluster = ClusterName::new("c").unwrap();
        let paths = ClusterPaths::new(state_dir.path(), &cluster);
        let node = ClusterNode::new(
            &cluster,
            &paths,
            &NodeState::for_test("c-n0", 0, NodeRole::ControlPlane, "10.22.0.10"),
        );
        let root = node.dirs.rootfs();
        std::fs::create_dir_all(&root).unwrap();
        let commands = routes(&pods(2), 0, ServiceRoutes::default());
        persist_routes(&node, &commands).unwrap();
        // Twice: `init` retried, or run again, rewrites them.
        persist_routes(&node, &commands).unwrap();
        let script =
            std::fs::read_to_string(root.join("etc/kubeadm-nspawn/pod-routes.sh")).unwrap();
        assert!(script.contains("set -e\nip route replace 10.244.1.0/24 via 10.22.0.11\n"));
        let unit =
            std::fs::read_to_string(root.join("etc/systemd/system").join(ROUTES_UNIT)).unwrap();
        assert!(
            unit.contains("Before=kubelet.service")
                && unit.contains("ExecStart=/bin/sh /etc/kubeadm-nspawn/pod-routes.sh")
        );
        let link = root
            .join("etc/systemd/system/multi-user.target.wants")
            .join(ROUTES_UNIT);
        assert_eq!(
            std::fs::read_link(link).unwrap().to_str().unwrap(),
            format!("../{ROUTES_UNIT}")
        );
    }

    #[test]
    fn registration_waits_for_every_node_and_names_the_missing() {
        let first = Script::new("c-n0")
            .answer_times("kubectl", 1, 0, "c-n0 \n")
            .answer("kubectl", 0, "c-n0 10.244.0.0/24\nc-n1 \n");
        let listing = wait_registered(
            &first,
            &["c-n0", "c-n1"],
            Duration::from_secs(5),
            Duration::ZERO,
        )
        .unwrap();
        assert_eq!(first.calls().len(), 2);
        let known = registered(&listing);
        assert_eq!(known["c-n0"], "10.244.0.0/24");
        assert_eq!(known["c-n1"], "", "registered, podCIDR unset");
        let stuck = Script::new("c-n0").answer("kubectl", 0, "c-n0 \nc-n10 \n");
        let err =
            wait_registered(&stuck, &["c-n0", "c-n1"], Duration::ZERO, Duration::ZERO).unwrap_err();
        assert!(err.to_string().contains("c-n1 missing"), "{err}");
        // A kubectl that fails is said, not hidden behind "missing".
        let broken = Script::new("c-n0").answer("kubectl", 1, "");
        let err = wait_registered(&broken, &["c-n0"], Duration::ZERO, Duration::ZERO).unwrap_err();
        assert!(err.to_string().contains("last error"), "{err}");
    }

    #[test]
    fn pod_cidrs_are_patched_per_node() {
        let first = Script::new("c-n0").answer(
            "kubectl --kubeconfig /etc/kubernetes/admin.conf patch",
            0,
            "",
        );
        set_pod_cidrs(
            &first,
            &[
                ("c-n1", vec![AnyCidr::V4(cidr("10.244.1.0/24"))]),
                (
                    "c-n2",
                    vec![
                        AnyCidr::V4(cidr("10.244.2.0/24")),
                        AnyCidr::V6(c6("fd00:10:244:2::/64")),
                    ],
                ),
            ],
        )
        .unwrap();
        let calls = first.calls();
        assert_eq!(calls.len(), 2);
        assert!(
            calls
                .iter()
                .any(|c| c.contains("patch node c-n1 -p {\"spec\":{\"podCIDR\":\"10.244.1.0/24\"")),
            "{calls:?}"
        );
        assert!(
            calls.iter().any(|c| c.contains(
                "\"podCIDR\":\"10.244.2.0/24\",\"podCIDRs\":[\"10.244.2.0/24\",\"fd00:10:244:2::/64\"]"
            )),
            "{calls:?}"
        );
    }

    #[test]
    fn routes_are_added_in_the_node_with_the_service_route_only_without_a_default() {
        let pairs = pods(2);
        let services = v4_services("10.96.0.0/12");
        let isolated = Script::new("c-n0")
            .answer("ip route show default", 0, "")
            .answer("ip route replace", 0, "");
        let ran = add_routes(&isolated, &pairs, 0, services).unwrap();
        assert!(routes_script(&ran).ends_with(
            "ip route replace 10.244.1.0/24 via 10.22.0.11\nip route replace 10.96.0.0/12 dev eth0\n"
        ));
        let calls = isolated.calls();
        assert_eq!(calls[0], "ip route show default");
        let routed = Script::new("c-n0")
            .answer("ip route show default", 0, "default via 10.22.0.1 dev eth0")
            .answer("ip route replace", 0, "");
        add_routes(&routed, &pairs, 0, services).unwrap();
        assert_eq!(
            routed.calls().len(),
            calls.len() - 1,
            "no service route: {:?}",
            routed.calls()
        );
        let failing = Script::new("c-n0").answer("ip route show default", 0, "");
        assert!(add_routes(&failing, &pairs, 0, services).is_err());
    }

    #[test]
    fn each_node_routes_to_the_others_pods() {
        let nodes = pods(3);
        let r = routes(&nodes, 1, v4_services("10.96.0.0/12"));
        let text: Vec<String> = r.iter().map(|c| c.join(" ")).collect();
        assert_eq!(
            text,
            vec![
                "ip route replace 10.244.0.0/24 via 10.22.0.10",
                "ip route replace 10.244.2.0/24 via 10.22.0.12",
                "ip route replace 10.96.0.0/12 dev eth0",
            ]
        );
        assert_eq!(routes(&nodes, 0, ServiceRoutes::default()).len(), 2);
    }

    #[test]
    fn ipv6_routes_go_via_the_nodes_ipv6_and_the_service_range_is_always_on_link() {
        let services = ServiceRoutes {
            v4: Some(cidr("10.96.0.0/12")),
            v6: Some(c6("fd00:10:96::/112")),
        };
        let text = |r: Vec<Vec<String>>| r.iter().map(|c| c.join(" ")).collect::<Vec<_>>();
        assert_eq!(
            text(routes(&pods6(2, true), 0, services)),
            vec![
                "ip route replace 10.244.1.0/24 via 10.22.0.11",
                "ip -6 route replace fd00:10:244:1::/64 via fd12::11",
                "ip route replace 10.96.0.0/12 dev eth0",
                "ip -6 route replace fd00:10:96::/112 dev eth0",
            ]
        );
        // A node with an IPv4 default route (masquerade) still gets the IPv6 service route; an
        // IPv6 cluster asks nothing of IPv4.
        let routed = Script::new("c-n0")
            .answer("ip route show default", 0, "default via 10.22.0.1 dev eth0")
            .answer("ip -6 route replace", 0, "")
            .answer("ip route replace", 0, "");
        let ran = add_routes(&routed, &pods6(2, true), 1, services).unwrap();
        assert_eq!(
            text(ran),
            vec![
                "ip route replace 10.244.0.0/24 via 10.22.0.10",
                "ip -6 route replace fd00:10:244::/64 via fd12::10",
                "ip -6 route replace fd00:10:96::/112 dev eth0",
            ]
        );
        let only6 = Script::new("c-n0").answer("ip -6 route replace", 0, "");
        let v6 = ServiceRoutes {
            v4: None,
            v6: services.v6,
        };
        let ran = add_routes(&only6, &pods6(3, false), 0, v6).unwrap();
        assert_eq!(ran.len(), 3);
        assert!(only6.calls().iter().all(|c| c.starts_with("ip -6 route")));
    }

    #[test]
    fn the_conflist_puts_pods_on_the_nodes_cidr_without_nat() {
        let c: serde_json::Value =
            serde_json::from_str(&conflist(&[AnyCidr::V4(cidr("10.244.3.0/24"))])).unwrap();
        assert_eq!(c["plugins"][0]["type"], "bridge");
        assert_eq!(c["plugins"][0]["ipMasq"], false);
        assert_eq!(
            c["plugins"][0]["ipam"]["ranges"][0][0]["subnet"],
            "10.244.3.0/24"
        );
        assert_eq!(c["plugins"][1]["type"], "portmap");
        let dual = pods6(4, true)[3].cidrs(IpFamily::Dual);
        let c: serde_json::Value = serde_json::from_str(&conflist(&dual)).unwrap();
        let ipam = &c["plugins"][0]["ipam"];
        assert_eq!(ipam["ranges"][0][0]["subnet"], "10.244.3.0/24");
        assert_eq!(ipam["ranges"][1][0]["subnet"], "fd00:10:244:3::/64");
        assert_eq!(ipam["routes"][1]["dst"], "::/0");
        let only6 = pods6(4, false)[3].cidrs(IpFamily::Ipv6);
        assert_eq!(only6, vec![AnyCidr::V6(c6("fd00:10:244:3::/64"))]);
    }
}
