//! The node network: one bridge per cluster, each node a static address on it, wired by cnispawn with
//! Debian's bridge plugin. Static addresses (not host-local ranges) keep a node's IP across stop/start.

use serde_json::{json, Value};

use std::net::Ipv4Addr;

use crate::model::ranges::NodeSubnet;

/// The conflist for the node at `ip`. Without masquerade the nodes get no default route at all: nothing
/// they send can leave the host (the cluster's own routes are added by `init`).
pub fn node_conflist(
    network: &str,
    bridge: &str,
    subnet: &NodeSubnet,
    ip: Ipv4Addr,
    masquerade: bool,
) -> Value {
    let mut ipam = json!({
        "type": "static",
        "addresses": [{
            "address": format!("{ip}/{}", subnet.cidr().prefix()),
            "gateway": subnet.gateway().to_string(),
        }],
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_address_and_no_route_off_host_without_masquerade() {
        let subnet =
            NodeSubnet::new(crate::model::ranges::Cidr::parse("10.22.0.0/16", "x").unwrap())
                .unwrap();
        let c = node_conflist(
            "kns-c",
            "kns-c",
            &subnet,
            Ipv4Addr::new(10, 22, 0, 12),
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
            true,
        );
        assert_eq!(m["plugins"][0]["ipam"]["routes"][0]["dst"], "0.0.0.0/0");
    }
}
