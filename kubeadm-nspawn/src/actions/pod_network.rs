//! Step: the pod network, with no manifest to download: once every node has registered, node i gets
//! the podCIDR 10.244.i.0/24 (set on its Node object), a CNI config (bridge `cni0` + host-local on
//! that podCIDR + portmap) and routes to the other nodes' podCIDRs via their node IPs. A node without a default
//! route (`--no-masquerade`) also gets an on-link route for the service subnet: a connection from
//! the node to a ClusterIP needs some route before kube-proxy's DNAT rewrites it; on-link, a
//! packet nothing rewrote goes nowhere (not off the host).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::error::{Error, Result};
use crate::kubeadm::{pod_cidr, SERVICE_SUBNET};
use crate::node;

use super::InitContext;

pub const CONFLIST: &str = "/etc/cni/net.d/10-kns.conflist";

/// The CNI config of a node whose pods live in `pod_cidr`.
pub fn conflist(pod_cidr: &str) -> String {
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
                    "ranges": [[{"subnet": pod_cidr}]],
                    "routes": [{"dst": "0.0.0.0/0"}]
                }
            },
            {"type": "portmap", "capabilities": {"portMappings": true}}
        ]
    });
    serde_json::to_string_pretty(&config).unwrap_or_default()
}

/// The `ip route` commands for node `me`: every other node's podCIDR via that node.
pub fn routes(nodes: &[(String, String)], me: usize, service_route: bool) -> Vec<Vec<String>> {
    let mut commands: Vec<Vec<String>> = nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != me)
        .map(|(_, (ip, cidr))| {
            ["ip", "route", "replace", cidr, "via", ip]
                .map(String::from)
                .to_vec()
        })
        .collect();
    if service_route {
        commands.push(
            ["ip", "route", "replace", SERVICE_SUBNET, "dev", "eth0"]
                .map(String::from)
                .to_vec(),
        );
    }
    commands
}

pub fn run(ctx: &mut InitContext) -> Result<()> {
    let first = ctx.state.nodes[0].clone();
    let kubectl = |args: &[&str]| node::admin_kubectl(&first, args);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let listing = kubectl(&["get", "nodes", "-o", "name"]).unwrap_or_default();
        let registered = ctx.state.nodes.iter().all(|n| {
            listing
                .lines()
                .any(|l| l.trim() == format!("node/{}", n.name))
        });
        if registered {
            break;
        }
        if Instant::now() > deadline {
            return Err(Error::node(
                &first.name,
                format!("not every node registered within 120 s:\n{listing}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let cidrs: Vec<String> = ctx.state.nodes.iter().map(|n| pod_cidr(n.index)).collect();
    for (n, cidr) in ctx.state.nodes.iter().zip(&cidrs) {
        let current = kubectl(&["get", "node", &n.name, "-o", "jsonpath={.spec.podCIDR}"])?;
        // spec.podCIDR can be set once; a retried step finds it set already.
        if current.trim().is_empty() {
            let patch = json!({"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}}).to_string();
            kubectl(&["patch", "node", &n.name, "-p", &patch])?;
        }
    }
    let pairs: Vec<(String, String)> = ctx
        .state
        .nodes
        .iter()
        .zip(&cidrs)
        .map(|(n, c)| (n.ip.clone(), c.clone()))
        .collect();
    for (i, n) in ctx.state.nodes.iter().enumerate() {
        let has_default = !node::run(n, &["ip", "route", "show", "default"])?
            .trim()
            .is_empty();
        for command in routes(&pairs, i, !has_default) {
            let args: Vec<&str> = command.iter().map(String::as_str).collect();
            node::run(n, &args)?;
        }
        let path = n.dir.join("rootfs").join(CONFLIST.trim_start_matches('/'));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
        }
        std::fs::write(&path, conflist(&cidrs[i])).map_err(|e| Error::io("write", &path, e))?;
        eprintln!("   {}: pods in {}", n.name, cidrs[i]);
    }
    if let Some(k) = &mut ctx.state.kubernetes {
        k.pod_cidrs = cidrs;
    }
    ctx.save()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_node_routes_to_the_others_pods() {
        let nodes = vec![
            ("10.22.0.10".to_string(), "10.244.0.0/24".to_string()),
            ("10.22.0.11".to_string(), "10.244.1.0/24".to_string()),
            ("10.22.0.12".to_string(), "10.244.2.0/24".to_string()),
        ];
        let r = routes(&nodes, 1, true);
        let text: Vec<String> = r.iter().map(|c| c.join(" ")).collect();
        assert_eq!(
            text,
            vec![
                "ip route replace 10.244.0.0/24 via 10.22.0.10",
                "ip route replace 10.244.2.0/24 via 10.22.0.12",
                "ip route replace 10.96.0.0/12 dev eth0",
            ]
        );
        assert_eq!(routes(&nodes, 0, false).len(), 2);
    }

    #[test]
    fn the_conflist_puts_pods_on_the_nodes_cidr_without_nat() {
        let c: serde_json::Value = serde_json::from_str(&conflist("10.244.3.0/24")).unwrap();
        assert_eq!(c["plugins"][0]["type"], "bridge");
        assert_eq!(c["plugins"][0]["ipMasq"], false);
        assert_eq!(
            c["plugins"][0]["ipam"]["ranges"][0][0]["subnet"],
            "10.244.3.0/24"
        );
        assert_eq!(c["plugins"][1]["type"], "portmap");
    }
}
