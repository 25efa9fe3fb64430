//! What a cluster's ranges of one IP family must not collide with, the same for IPv4
//! (`model::ranges`) and IPv6 (`model::ranges6`): each other, every address and route of the host
//! (all interfaces, all routing tables, the default gateway), and the other clusters' node subnets.

use serde_json::Value;

use super::cidr::{Address, Cidr};

/// Which of a cluster's three ranges (of either family).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeKind {
    Nodes,
    Pods,
    Services,
}

impl RangeKind {
    /// The flag (and config file field) that sets it.
    pub fn flag(self) -> &'static str {
        match self {
            RangeKind::Nodes => "--subnet",
            RangeKind::Pods => "--pod-subnet",
            RangeKind::Services => "--service-subnet",
        }
    }
}

/// Something of the host that a range of addresses `A` must not overlap.
#[derive(Debug, Clone, PartialEq)]
pub enum HostClaim<A> {
    /// An address of one of the host's interfaces, with its prefix.
    Address { interface: String, cidr: Cidr<A> },
    /// A route, in any routing table.
    Route {
        dst: Cidr<A>,
        table: String,
        dev: String,
    },
    /// The default route's gateway: a node subnet holding it would take the host's way out.
    Gateway { ip: A, dev: String },
}

impl<A: Address> HostClaim<A> {
    fn device(&self) -> &str {
        match self {
            HostClaim::Address { interface, .. } => interface,
            HostClaim::Route { dev, .. } | HostClaim::Gateway { dev, .. } => dev,
        }
    }

    pub(super) fn collides_with(&self, range: &Cidr<A>) -> bool {
        match self {
            HostClaim::Address { cidr, .. } => cidr.overlaps(range),
            HostClaim::Route { dst, .. } => dst.overlaps(range),
            HostClaim::Gateway { ip, .. } => range.contains(*ip),
        }
    }
}

impl<A: Address> std::fmt::Display for HostClaim<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostClaim::Address { interface, cidr } => {
                write!(f, "the host's interface {interface} ({cidr})")
            }
            HostClaim::Route { dst, table, dev } => {
                write!(f, "the host's route to {dst} via {dev} (table {table})")
            }
            HostClaim::Gateway { ip, dev } => write!(f, "the host's default gateway {ip} ({dev})"),
        }
    }
}

/// The host's claims of family `A` from `ip -json addr show` and `ip -json route show table all`
/// of that family (`-4`, `-6`); entries of the other family are passed over. IPv6 link-local
/// and multicast ranges are kept too: they never overlap fd00::/8, so they cost nothing.
pub fn parse_claims<A: Address>(addresses: &Value, routes: &Value) -> Vec<HostClaim<A>> {
    let mut claims = vec![];
    for link in addresses.as_array().into_iter().flatten() {
        let interface = link["ifname"].as_str().unwrap_or_default();
        for info in link["addr_info"].as_array().into_iter().flatten() {
            let prefix = info["prefixlen"].as_u64().map(|p| p as u8);
            if let Some(cidr) = info["local"]
                .as_str()
                .and_then(|ip| Cidr::of_kernel(ip, prefix))
            {
                claims.push(HostClaim::Address {
                    interface: interface.into(),
                    cidr,
                });
            }
        }
    }
    for route in routes.as_array().into_iter().flatten() {
        let dev = route["dev"].as_str().unwrap_or_default().to_owned();
        let table = route["table"].as_str().unwrap_or("main").to_owned();
        match route["dst"].as_str() {
            Some("default") => {
                if let Some(ip) = route["gateway"].as_str().and_then(|g| g.parse().ok()) {
                    claims.push(HostClaim::Gateway { ip, dev });
                }
            }
            Some(dst) => {
                if let Some(dst) = Cidr::of_kernel(dst, None) {
                    claims.push(HostClaim::Route { dst, table, dev });
                }
            }
            None => {}
        }
    }
    claims
}

/// Another cluster of this host, as a collision check sees it: its node subnet of family `A`
/// and its bridge.
#[derive(Debug, Clone)]
pub struct OtherCluster<A> {
    pub name: String,
    pub nodes: Cidr<A>,
    pub bridge: String,
}

/// A range that overlaps another of the cluster's, one of the host's, or another cluster's;
/// `free` is one that does not, when one was found.
#[derive(Debug, thiserror::Error)]
#[error("{} {range} collides with {with}", .kind.flag())]
pub struct Collision<A: Address> {
    pub kind: RangeKind,
    pub range: Cidr<A>,
    pub with: String,
    pub free: Option<Cidr<A>>,
}

impl<A: Address> Collision<A> {
    /// The hint that proposes the free range, if there is one.
    pub fn free_hint(&self) -> Option<String> {
        let free = self.free?;
        Some(format!("{} {free} is free", self.kind.flag()))
    }
}

/// The first collision of `named` (a cluster's three ranges, the node subnet first) with each
/// other, with the host (`own_bridge`, the cluster's own bridge when it exists, and the other
/// clusters' bridges left out: each is checked as a cluster), or with another cluster's node
/// subnet, which is named as `subnet_word` (`subnet`, `IPv6 subnet`). No free range is proposed.
pub(super) fn find_collision<A: Address>(
    named: [(RangeKind, Cidr<A>); 3],
    host: &[HostClaim<A>],
    others: &[OtherCluster<A>],
    own_bridge: Option<&str>,
    subnet_word: &str,
) -> Option<Collision<A>> {
    for (i, (kind, range)) in named.iter().enumerate() {
        if let Some((other_kind, other)) = named[i + 1..].iter().find(|(_, o)| range.overlaps(o)) {
            return Some(Collision {
                kind: *kind,
                range: *range,
                with: format!("{} {other}", other_kind.flag()),
                free: None,
            });
        }
    }
    let bridges: Vec<&str> = others.iter().map(|o| o.bridge.as_str()).collect();
    for (kind, range) in named {
        if let Some(claim) = host.iter().find(|c| {
            Some(c.device()) != own_bridge
                && !bridges.contains(&c.device())
                && c.collides_with(&range)
        }) {
            return Some(Collision {
                kind,
                range,
                with: claim.to_string(),
                free: None,
            });
        }
    }
    let (_, nodes) = named[0];
    others
        .iter()
        .find(|o| o.nodes.overlaps(&nodes))
        .map(|other| Collision {
            kind: RangeKind::Nodes,
            range: nodes,
            with: format!("cluster \"{}\" ({subnet_word} {})", other.name, other.nodes),
            free: None,
        })
}
