//! The address ranges of a cluster (node subnet on the host bridge, pod and service ranges inside
//! the nodes) and what they must not collide with: each other, every address and route of the host
//! (all interfaces, all routing tables, the default gateway), and the other clusters' node subnets.
//! A tool that adds bridges and routes to a workstation as root must never take the range the
//! machine itself lives on.
//!
//! Pod and service ranges live only inside a cluster's nodes (no host route leads to them), so two
//! clusters may use the same ones; node subnets are bridges on the host and must not overlap.

use std::net::Ipv4Addr;

use super::cidr::{self, CidrError};
pub use super::collisions::RangeKind;
use super::collisions::{self, Collision};
use super::family::{self, Family};

/// A range a cluster cannot have.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Cidr(#[from] CidrError),

    #[error("invalid --subnet {0}: the prefix must be between /8 and /28 (nodes start at .10)")]
    SubnetPrefix(Cidr),

    #[error("--subnet {subnet} holds only {capacity} nodes")]
    SubnetTooSmall { subnet: Cidr, capacity: usize },

    #[error("--pod-subnet {pods} is too small for {nodes} nodes (each needs at least a /28)")]
    PodRangeTooSmall { pods: Cidr, nodes: usize },

    /// A range that overlaps another of the cluster's, one of the host's, or another cluster's;
    /// `free` is one of the same size that does not.
    #[error(transparent)]
    Collision(#[from] Collision<Ipv4Addr>),

    #[error("no free /16 for the nodes in 10.0.0.0/8 or 172.16.0.0/12")]
    NoFreeSubnet,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl kns_plumbing::report::Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Collision(collision) => collision.free_hint(),
            Error::NoFreeSubnet => Some("pass --subnet with a range of your choice".into()),
            _ => None,
        }
    }
}

/// The pod range kubeadm-nspawn uses unless told otherwise (kubeadm's and flannel's usual one).
pub const DEFAULT_POD_SUBNET: Cidr = Cidr::new_unchecked(Ipv4Addr::new(10, 244, 0, 0), 16);
/// The service range unless told otherwise (kubeadm's default).
pub const DEFAULT_SERVICE_SUBNET: Cidr = Cidr::new_unchecked(Ipv4Addr::new(10, 96, 0, 0), 12);
/// The node subnet unless told otherwise, when it is free.
pub const DEFAULT_NODE_SUBNET: Cidr = Cidr::new_unchecked(Ipv4Addr::new(10, 22, 0, 0), 16);

/// An IPv4 range `a.b.c.d/prefix` with no host bits set. In state.json and the cluster config
/// file it is written as that text.
pub type Cidr = cidr::Cidr<Ipv4Addr>;

impl Cidr {
    /// How many blocks of prefix `prefix` it holds.
    fn blocks(&self, prefix: u8) -> u64 {
        if prefix < self.prefix() {
            0
        } else {
            1u64 << (prefix - self.prefix())
        }
    }
}

impl Family for Ipv4Addr {
    type Error = Error;
    const FIRST_NODE: u128 = 10;
    const SUBNET_WORD: &'static str = "subnet";

    /// A prefix from /8 (the host's own) to /28 (five nodes).
    fn check_node_subnet(cidr: Cidr) -> Result<Cidr> {
        if !(8..=28).contains(&cidr.prefix()) {
            return Err(Error::SubnetPrefix(cidr));
        }
        Ok(cidr)
    }
}

/// A cluster's node subnet on the host bridge: the gateway (the host) at .1, the load balancer at
/// .9, node i at .(10+i), so stop/start keeps every address.
pub type NodeSubnet = family::NodeSubnet<Ipv4Addr>;

impl NodeSubnet {
    /// How many nodes fit (from .10 to the last address before broadcast).
    pub fn capacity(&self) -> usize {
        (1usize << (32 - self.cidr().prefix())).saturating_sub(11)
    }

    /// Fails unless `nodes` nodes fit.
    pub fn check_holds(&self, nodes: usize) -> Result<()> {
        if nodes > self.capacity() {
            return Err(Error::SubnetTooSmall {
                subnet: self.cidr(),
                capacity: self.capacity(),
            });
        }
        Ok(())
    }
}

/// The podCIDR prefix of each node of a cluster of `nodes` nodes in `pods`: a /24 each while the
/// range has enough of them (node i: the i-th /24), else the largest equal split that fits.
pub fn node_pod_prefix(pods: &Cidr, nodes: usize) -> Result<u8> {
    if pods.blocks(24) >= nodes as u64 {
        return Ok(24);
    }
    let bits = usize::BITS - nodes.saturating_sub(1).leading_zeros();
    let prefix = pods.prefix() as u32 + bits;
    if prefix > 28 {
        return Err(Error::PodRangeTooSmall { pods: *pods, nodes });
    }
    Ok(prefix as u8)
}

/// Where the search for a free range of `kind` starts.
fn search_from(kind: RangeKind) -> Ipv4Addr {
    match kind {
        RangeKind::Nodes => Ipv4Addr::new(10, 22, 0, 0),
        RangeKind::Pods => Ipv4Addr::new(10, 244, 0, 0),
        RangeKind::Services => Ipv4Addr::new(10, 96, 0, 0),
    }
}

/// A cluster's three ranges.
pub type Ranges = family::Ranges<Ipv4Addr>;

/// Something of the host that an IPv4 range must not overlap.
pub type HostClaim = collisions::HostClaim<Ipv4Addr>;

/// Another cluster of this host, as a collision check sees it: its node subnet and bridge.
pub type OtherCluster = collisions::OtherCluster<Ipv4Addr>;

/// Fails with the first collision of `ranges`: with each other, with the host (`own_bridge`, the
/// cluster's own bridge when it exists, left out), or with another cluster's node subnet.
pub fn check(
    ranges: &Ranges,
    host: &[HostClaim],
    others: &[OtherCluster],
    own_bridge: Option<&str>,
) -> Result<()> {
    ranges.check(host, others, own_bridge, |c| {
        free_for(c.kind, ranges, host, others)
    })?;
    Ok(())
}

/// A free range of `kind`'s size, with the cluster's other ranges kept as they are.
fn free_for(
    kind: RangeKind,
    ranges: &Ranges,
    host: &[HostClaim],
    others: &[OtherCluster],
) -> Option<Cidr> {
    let current = ranges.get(kind);
    candidates(current.prefix(), search_from(kind))
        .filter(|c| *c != current)
        .find(|candidate| {
            ranges
                .with(kind, *candidate)
                .collision(host, others, None)
                .is_none()
        })
}

/// Ranges of prefix `prefix` to try: from `from` up to the end of 10.0.0.0/8, then 172.16.0.0/12
/// (private ranges only: a node subnet is never taken from someone else's public addresses).
fn candidates(prefix: u8, from: Ipv4Addr) -> impl Iterator<Item = Cidr> {
    let prefix = prefix.max(8);
    let step = 1u64 << (32 - prefix);
    let span = |a: Ipv4Addr, b: Ipv4Addr| (u64::from(u32::from(a)), u64::from(u32::from(b)));
    let spans = [
        span(from, Ipv4Addr::new(10, 255, 255, 255)),
        span(
            Ipv4Addr::new(172, 16, 0, 0),
            Ipv4Addr::new(172, 31, 255, 255),
        ),
    ];
    spans.into_iter().flat_map(move |(first, last)| {
        let first = first.div_ceil(step) * step;
        (0..)
            .map(move |i| first + i * step)
            .take_while(move |b| b + step - 1 <= last)
            .map(move |b| Cidr::new_unchecked(Ipv4Addr::from(b as u32), prefix))
    })
}

/// A free node subnet of prefix 16: the default when free, else the next free /16 (see
/// [`candidates`]), for an `up` without `--subnet`.
pub fn pick_node_subnet(
    pods: Cidr,
    services: Cidr,
    host: &[HostClaim],
    others: &[OtherCluster],
) -> Result<NodeSubnet> {
    std::iter::once(DEFAULT_NODE_SUBNET)
        .chain(candidates(16, search_from(RangeKind::Nodes)))
        .map(NodeSubnet::new_unchecked)
        .find(|nodes| {
            let trial = Ranges {
                nodes: *nodes,
                pods,
                services,
            };
            trial.collision(host, others, None).is_none()
        })
        .ok_or(Error::NoFreeSubnet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cidr(s: &str) -> Cidr {
        Cidr::parse(s, "--x").unwrap()
    }

    fn defaults(nodes: &str) -> Ranges {
        Ranges {
            nodes: NodeSubnet::new(cidr(nodes)).unwrap(),
            pods: DEFAULT_POD_SUBNET,
            services: DEFAULT_SERVICE_SUBNET,
        }
    }

    fn host() -> Vec<HostClaim> {
        let addresses = json!([
            {"ifname": "lo", "addr_info": [{"local": "127.0.0.1", "prefixlen": 8}]},
            {"ifname": "eth0", "addr_info": [{"local": "192.168.1.5", "prefixlen": 24}]},
            {"ifname": "kns-other", "addr_info": [{"local": "10.22.0.1", "prefixlen": 16}]}
        ]);
        let routes = json!([
            {"dst": "default", "gateway": "192.168.1.1", "dev": "eth0"},
            {"dst": "192.168.1.0/24", "dev": "eth0"},
            {"dst": "10.50.0.0/16", "dev": "wg0", "table": "51820"},
            {"type": "local", "dst": "127.0.0.1", "dev": "lo", "table": "local"}
        ]);
        collisions::parse_claims(&addresses, &routes)
    }

    fn other() -> Vec<OtherCluster> {
        vec![OtherCluster {
            name: "other".into(),
            nodes: cidr("10.22.0.0/16"),
            bridge: "kns-other".into(),
        }]
    }

    #[test]
    fn parses_and_overlaps() {
        assert!(cidr("10.22.0.0/16").overlaps(&cidr("10.22.5.0/24")));
        assert!(!cidr("10.22.0.0/16").overlaps(&cidr("10.23.0.0/16")));
        assert!(cidr("0.0.0.0/0").overlaps(&cidr("1.2.3.4/32")));
        assert!(Cidr::parse("10.22.0.1/16", "--subnet")
            .unwrap_err()
            .to_string()
            .contains("host bits"));
        assert_eq!(
            cidr("10.244.0.0/16").block(24, 3).to_string(),
            "10.244.3.0/24"
        );
    }

    #[test]
    fn node_subnets_give_gateway_load_balancer_and_node_addresses() {
        let s = NodeSubnet::new(cidr("10.22.0.0/16")).unwrap();
        assert_eq!(s.gateway(), Ipv4Addr::new(10, 22, 0, 1));
        assert_eq!(s.load_balancer_ip(), Ipv4Addr::new(10, 22, 0, 9));
        assert_eq!(s.node_ip(0), Ipv4Addr::new(10, 22, 0, 10));
        assert_eq!(s.node_ip(3), Ipv4Addr::new(10, 22, 0, 13));
        assert_eq!(
            NodeSubnet::new(cidr("10.251.3.0/24")).unwrap().capacity(),
            245
        );
        assert_eq!(
            NodeSubnet::new(cidr("10.251.3.16/28")).unwrap().capacity(),
            5
        );
        for bad in ["10.0.0.0/29", "0.0.0.0/4"] {
            assert!(NodeSubnet::new(cidr(bad)).is_err(), "{bad}");
        }
        for bad in ["10.22.0.1/16", "10.22.0.0", "x/16"] {
            assert!(Cidr::parse(bad, "--subnet").is_err(), "{bad}");
        }
        // In state.json and config files: the text.
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, "\"10.22.0.0/16\"");
        assert_eq!(serde_json::from_str::<NodeSubnet>(&json).unwrap(), s);
        assert!(serde_json::from_str::<NodeSubnet>("\"10.0.0.0/29\"").is_err());
    }

    #[test]
    fn node_pod_blocks_are_24s_while_they_fit() {
        assert_eq!(node_pod_prefix(&cidr("10.244.0.0/16"), 50).unwrap(), 24);
        assert_eq!(node_pod_prefix(&cidr("10.244.0.0/22"), 4).unwrap(), 24);
        assert_eq!(node_pod_prefix(&cidr("10.244.0.0/24"), 3).unwrap(), 26);
        assert!(node_pod_prefix(&cidr("10.244.0.0/26"), 8).is_err());
    }

    #[test]
    fn host_claims_come_from_addresses_routes_and_the_gateway() {
        let claims = host();
        assert!(claims.contains(&HostClaim::Gateway {
            ip: "192.168.1.1".parse().unwrap(),
            dev: "eth0".into()
        }));
        assert!(claims.contains(&HostClaim::Route {
            dst: cidr("10.50.0.0/16"),
            table: "51820".into(),
            dev: "wg0".into()
        }));
        assert!(claims.contains(&HostClaim::Address {
            interface: "eth0".into(),
            cidr: cidr("192.168.1.0/24")
        }));
    }

    #[test]
    fn collisions_are_named_with_a_free_proposal() {
        let err = |r: Ranges| {
            use kns_plumbing::report::Hint;
            let e = check(&r, &host(), &other(), None).unwrap_err();
            format!("{e}; {}", e.hint().unwrap_or_default())
        };
        let mut pods_on_services = defaults("10.30.0.0/16");
        pods_on_services.pods = cidr("10.96.0.0/16");
        let cases = [
            // The host's LAN, its gateway, a route in another table.
            (
                defaults("192.168.0.0/16"),
                vec![
                    "collides with the host's interface eth0 (192.168.1.0/24)",
                    "is free",
                ],
            ),
            (defaults("192.168.1.0/28"), vec!["eth0"]),
            (
                defaults("10.50.0.0/24"),
                vec!["route to 10.50.0.0/16 via wg0 (table 51820)"],
            ),
            // Another cluster: overlap, not only equality, named as the cluster.
            (
                defaults("10.22.5.0/24"),
                vec!["cluster \"other\" (subnet 10.22.0.0/16)", "is free"],
            ),
            // The cluster's own pod and service ranges.
            (
                defaults("10.244.0.0/24"),
                vec!["--subnet 10.244.0.0/24 collides with --pod-subnet 10.244.0.0/16"],
            ),
            (
                pods_on_services,
                vec!["--pod-subnet 10.96.0.0/16 collides with --service-subnet 10.96.0.0/12"],
            ),
        ];
        for (ranges, says) in cases {
            let e = err(ranges);
            for part in says {
                assert!(e.contains(part), "{e}: {part}");
            }
        }
        assert!(check(&defaults("10.30.0.0/16"), &host(), &other(), None).is_ok());
    }

    #[test]
    fn the_own_bridge_is_not_a_collision_at_init() {
        let r = defaults("10.22.0.0/16");
        // As seen by cluster "other" itself, whose bridge holds that range.
        assert!(check(&r, &host(), &[], Some("kns-other")).is_ok());
        assert!(check(&r, &host(), &[], None).is_err());
    }

    #[test]
    fn without_subnet_the_default_or_the_next_free_range_is_picked() {
        let (pods, services) = (DEFAULT_POD_SUBNET, DEFAULT_SERVICE_SUBNET);
        assert_eq!(
            pick_node_subnet(pods, services, &[], &[])
                .unwrap()
                .to_string(),
            "10.22.0.0/16"
        );
        assert_eq!(
            pick_node_subnet(pods, services, &host(), &other())
                .unwrap()
                .to_string(),
            "10.23.0.0/16"
        );
    }
}
