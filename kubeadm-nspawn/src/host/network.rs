//! The node network: one bridge per cluster, each node a static address on it, wired by cnispawn with
//! Debian's bridge plugin. Static addresses (not host-local ranges) keep a node's IP across stop/start.

use serde_json::{json, Value};

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::model::ranges::NodeSubnet;
use crate::model::ranges6::NodeSubnet6;

/// The conflist for the node at `ip` (and `ip6` in the IPv6 subnet, when the cluster has one).
/// Without masquerade the nodes get no default route at all: nothing they send can leave the host
/// (the cluster's own routes are added by `init`). An IPv6 address never comes with a default
/// route, masquerade or not: the nodes' IPv6 is unique local, for the cluster only.
pub fn node_conflist(
    network: &str,
    bridge: &str,
    subnet: &NodeSubnet,
    ip: Ipv4Addr,
    ip6: Option<(&NodeSubnet6, Ipv6Addr)>,
    masquerade: bool,
) -> Value {
    let mut addresses = vec![json!({
        "address": format!("{ip}/{}", subnet.cidr().prefix()),
        "gateway": subnet.gateway().to_string(),
    })];
    if let Some((subnet6, ip6)) = ip6 {
        addresses.push(json!({
            "address": format!("{ip6}/{}", subnet6.cidr().prefix()),
            "gateway": subnet6.gateway().to_string(),
        }));
    }
    let mut ipam = json!({
        "type": "static",
        "addresses": addresses,
    });
    if masquerade {
        ipam["routes"] = json!([{"dst": "0.0.0.0/0"}]);
    }
    json!({
        "cniVersion": "1.0.0",
        "name": network,
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": true,
                "ipMasq": masquerade,
                "hairpinMode": true,
                "ipam": ipam,
            },
            {"type": "loopback"},
        ],
    })
}

/// Where a node's own sysctls go (systemd-sysctl applies them at boot, after the base's).
pub const SYSCTL_FILE: &str = "/etc/sysctl.d/91-kubeadm-nspawn-node.conf";

/// A node's sysctls: no IPv6 router advertisement or autoconfiguration is ever taken (nothing on
/// the bridge sends one, and nothing may give a node a default route); with IPv6, forwarding (the
/// node routes its pods' IPv6 as it does their IPv4). `-`: a key the node cannot set is skipped.
pub fn node_sysctls(ipv6: bool) -> String {
    let mut text = String::from(
        "# Written by kubeadm-nspawn up.\n\
         -net.ipv6.conf.all.accept_ra = 0\n-net.ipv6.conf.default.accept_ra = 0\n\
         -net.ipv6.conf.eth0.accept_ra = 0\n-net.ipv6.conf.all.autoconf = 0\n\
         -net.ipv6.conf.default.autoconf = 0\n-net.ipv6.conf.eth0.autoconf = 0\n",
    );
    if ipv6 {
        // kubeadm's preflight of an IPv6 control plane checks default.forwarding.
        text.push_str("net.ipv6.conf.all.forwarding = 1\nnet.ipv6.conf.default.forwarding = 1\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet() -> NodeSubnet {
        NodeSubnet::new(crate::model::ranges::Cidr::parse("10.22.0.0/16", "x").unwrap()).unwrap()
    }

    #[test]
    fn static_address_and_no_route_off_host_without_masquerade() {
        let subnet = subnet();
        let c = node_conflist(
            "kns-c",
            "kns-c",
            &subnet,
            Ipv4Addr::new(10, 22, 0, 12),
            None,
            false,
        );
        let bridge = &c["plugins"][0];
        assert_eq!(bridge["ipam"]["addresses"][0]["address"], "10.22.0.12/16");
        assert_eq!(bridge["ipam"]["addresses"][0]["gateway"], "10.22.0.1");
        assert_eq!(bridge["ipMasq"], false);
        assert!(bridge["ipam"].get("routes").is_none());
        let m = node_conflist(
            "kns-c",
            "kns-c",
            &subnet,
            Ipv4Addr::new(10, 22, 0, 10),
            None,
            true,
        );
        assert_eq!(m["plugins"][0]["ipam"]["routes"][0]["dst"], "0.0.0.0/0");
    }

    #[test]
    fn an_ipv6_address_beside_the_ipv4_one_never_with_a_default_route() {
        let subnet = subnet();
        let subnet6 = NodeSubnet6::derived("c", 0);
        for masquerade in [false, true] {
            let c = node_conflist(
                "kns-c",
                "kns-c",
                &subnet,
                Ipv4Addr::new(10, 22, 0, 11),
                Some((&subnet6, subnet6.node_ip(1))),
                masquerade,
            );
            let ipam = &c["plugins"][0]["ipam"];
            let v6 = &ipam["addresses"][1];
            assert_eq!(v6["address"], format!("{}/64", subnet6.node_ip(1)));
            assert_eq!(v6["gateway"], subnet6.gateway().to_string());
            let routes: Vec<&str> = ipam["routes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["dst"].as_str())
                .collect();
            assert!(!routes.contains(&"::/0"), "{routes:?}");
        }
    }
}
