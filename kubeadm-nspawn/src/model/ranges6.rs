//! A cluster's IPv6 ranges (issue #31) and its IP family: the nodes' ULA /64 on the host bridge
//! (derived from the cluster's name, probed for collisions), the pods' and services' IPv6 ranges
//! inside the nodes, and what they must not collide with: each other, every IPv6 address and
//! route of the host, the other clusters' IPv6 node subnets.
//!
//! Only unique local addresses (`fd00::/8`, RFC 4193's locally assigned half of `fc00::/7`) are
//! taken: nothing a node sends from one is routable off the host, and no node ever gets an IPv6
//! default route. The IPv4 ranges (`super::ranges`) keep their rules; this module is beside them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::cidr::{self, CidrError};
use super::collisions::{self, Collision, RangeKind};
use super::family::{self, Family};

/// Which families the Kubernetes cluster speaks (`networking.ipFamily`, `up --ip-family`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum IpFamily {
    #[default]
    Ipv4,
    Ipv6,
    /// Both; IPv4 is the primary family (listed first, the API server advertises it), as kind's
    /// `dual` does.
    Dual,
}

impl IpFamily {
    pub fn has_ipv4(self) -> bool {
        self != IpFamily::Ipv6
    }

    pub fn has_ipv6(self) -> bool {
        self != IpFamily::Ipv4
    }

    pub fn name(self) -> &'static str {
        match self {
            IpFamily::Ipv4 => "ipv4",
            IpFamily::Ipv6 => "ipv6",
            IpFamily::Dual => "dual",
        }
    }

    /// `v4` and `v6` in this family's order (primary first), each only if the family has it.
    pub fn order<T>(self, v4: T, v6: Option<T>) -> Vec<T> {
        match (self, v6) {
            (IpFamily::Ipv4, _) | (_, None) => vec![v4],
            (IpFamily::Ipv6, Some(v6)) => vec![v6],
            (IpFamily::Dual, Some(v6)) => vec![v4, v6],
        }
    }
}

impl std::fmt::Display for IpFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An IPv6 range a cluster cannot have, or a family its ranges do not fit.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A range of either family that does not parse.
    #[error(transparent)]
    Cidr(#[from] CidrError),

    /// Outside `fd00::/8`.
    #[error("{what} {range} is not a unique local range (fd00::/8): a cluster's IPv6 ranges never take routable addresses")]
    NotUla { what: String, range: Cidr6 },

    #[error("{what} {range}: {why}")]
    Prefix {
        what: String,
        range: Cidr6,
        why: &'static str,
    },

    #[error("--pod-subnet {pods} is too small for {nodes} nodes (each needs a /64)")]
    PodRangeTooSmall { pods: Cidr6, nodes: usize },

    /// Ranges of a family the cluster does not have, or not both of a dual-stack one.
    #[error("{what}: {why}")]
    Family { what: String, why: String },

    /// An IPv6 range that overlaps another of the cluster's, one of the host's, or another
    /// cluster's; `free` is one that does not (for the node subnet).
    #[error(transparent)]
    Collision(#[from] Collision<Ipv6Addr>),

    #[error("no free IPv6 /64 derived from the cluster's name after {0} tries")]
    NoFreeSubnet(u32),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl kns_plumbing::report::Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Collision(collision) => collision.free_hint().or_else(|| {
                Some(format!(
                    "give {} another unique local range (fd00::/8)",
                    collision.kind.flag()
                ))
            }),
            Error::NotUla { .. } => {
                Some("take one from fd00::/8 (or leave it out: one is derived)".into())
            }
            Error::NoFreeSubnet(_) => Some("pass --subnet with an IPv6 /64 of fd00::/8".into()),
            Error::Family { .. } => Some(
                "give one range for each family the cluster has, IPv4 first in dual-stack: \
                 --pod-subnet 10.244.0.0/16,fd00:10:244::/56"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// The IPv6 pod range unless told otherwise (kind's); node i gets its i-th /64.
pub const DEFAULT_POD_SUBNET6: Cidr6 =
    Cidr6::new_unchecked(Ipv6Addr::new(0xfd00, 0x10, 0x244, 0, 0, 0, 0, 0), 56);
/// The IPv6 service range unless told otherwise (kind's).
pub const DEFAULT_SERVICE_SUBNET6: Cidr6 =
    Cidr6::new_unchecked(Ipv6Addr::new(0xfd00, 0x10, 0x96, 0, 0, 0, 0, 0), 112);
/// Where unique local addresses are (the locally assigned half of fc00::/7).
pub const ULA: Cidr6 = Cidr6::new_unchecked(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0), 8);

/// An IPv6 range `a:b::/prefix` with no host bits set; written as that text.
pub type Cidr6 = cidr::Cidr<Ipv6Addr>;

impl Cidr6 {
    /// Fails unless the range is unique local (inside fd00::/8).
    pub fn check_ula(self, what: &str) -> Result<Cidr6> {
        if self.prefix() < 8 || !ULA.contains(self.base()) {
            return Err(Error::NotUla {
                what: what.to_owned(),
                range: self,
            });
        }
        Ok(self)
    }
}

impl Family for Ipv6Addr {
    type Error = Error;
    const FIRST_NODE: u128 = 0x10;
    const SUBNET_WORD: &'static str = "IPv6 subnet";

    /// A /64 of fd00::/8.
    fn check_node_subnet(cidr: Cidr6) -> Result<Cidr6> {
        let cidr = cidr.check_ula("--subnet")?;
        if cidr.prefix() != 64 {
            return Err(Error::Prefix {
                what: "--subnet".into(),
                range: cidr,
                why: "an IPv6 node subnet is a /64",
            });
        }
        Ok(cidr)
    }
}

/// A cluster's IPv6 node subnet on the host bridge: a unique local /64. The gateway (the host) is
/// `::1`, the load balancer `::9`, node i `::(0x10 + i)` (its IPv4 `.(10+i)` in spirit), so
/// stop/start keeps every address.
pub type NodeSubnet6 = family::NodeSubnet<Ipv6Addr>;

impl NodeSubnet6 {
    /// The `attempt`-th /64 derived from the cluster's name: `fd` then a 40-bit global ID from a
    /// hash of the name and attempt (RFC 4193's layout), subnet ID 0. Stable for a name; never
    /// `fd00::/64` (whose global ID is 0: the next attempt's is taken).
    pub fn derived(cluster: &str, attempt: u32) -> NodeSubnet6 {
        use sha2::{Digest, Sha256};
        let mut n = attempt;
        loop {
            let digest = Sha256::digest(format!("kubeadm-nspawn/{cluster}/{n}").as_bytes());
            let id: [u8; 5] = [digest[0], digest[1], digest[2], digest[3], digest[4]];
            if id != [0; 5] {
                let mut bytes = [0u8; 16];
                bytes[0] = 0xfd;
                bytes[1..6].copy_from_slice(&id);
                return NodeSubnet6::new_unchecked(Cidr6::new_unchecked(Ipv6Addr::from(bytes), 64));
            }
            n = n.wrapping_add(1);
        }
    }
}

/// A pod range, checked: unique local, a /64 a node, kubeadm's limit of 16 bits between the
/// range and a node's block (so at least a /48).
pub fn check_pods(pods: Cidr6, nodes: usize) -> Result<Cidr6> {
    let pods = pods.check_ula("--pod-subnet")?;
    if pods.prefix() < 48 {
        return Err(Error::Prefix {
            what: "--pod-subnet".into(),
            range: pods,
            why: "kubeadm takes at most 16 bits between the pod range and a node's /64: give a /48 to a /64",
        });
    }
    let bits = usize::BITS - nodes.saturating_sub(1).leading_zeros();
    if u32::from(pods.prefix()) + bits > 64 {
        return Err(Error::PodRangeTooSmall { pods, nodes });
    }
    Ok(pods)
}

/// A service range, checked: unique local, at most 20 bits of addresses (the API server's limit
/// for IPv6: /108) and at least 256 of them.
pub fn check_services(services: Cidr6) -> Result<Cidr6> {
    let services = services.check_ula("--service-subnet")?;
    if !(108..=120).contains(&services.prefix()) {
        return Err(Error::Prefix {
            what: "--service-subnet".into(),
            range: services,
            why: "an IPv6 service range is a /108 to a /120 (the API server allocates at most 20 bits)",
        });
    }
    Ok(services)
}

/// Node i's IPv6 pod block: the i-th /64 of the pod range.
pub fn node_pods(pods: &Cidr6, index: usize) -> Cidr6 {
    pods.block(64, index)
}

/// A cluster's three IPv6 ranges.
pub type Ranges6 = family::Ranges<Ipv6Addr>;

/// Something IPv6 of the host that a range must not overlap (its gateway: `fd00::1` of this
/// machine's uplink).
pub type HostClaim6 = collisions::HostClaim<Ipv6Addr>;

/// Another cluster's IPv6 node subnet and bridge, as a collision check sees them.
pub type OtherCluster6 = collisions::OtherCluster<Ipv6Addr>;

/// Fails with the first collision of `ranges` (see `super::ranges::check`); for the node subnet
/// the error proposes a free derived one.
pub fn check(
    cluster: &str,
    ranges: &Ranges6,
    host: &[HostClaim6],
    others: &[OtherCluster6],
    own_bridge: Option<&str>,
) -> Result<()> {
    ranges.check(host, others, own_bridge, |c| {
        (c.kind == RangeKind::Nodes)
            .then(|| pick_node_subnet(cluster, ranges.pods, ranges.services, host, others).ok())
            .flatten()
            .map(|s| s.cidr())
            .filter(|s| *s != c.range)
    })?;
    Ok(())
}

/// How many derived /64s an `up` without an IPv6 `--subnet` tries.
pub const DERIVE_ATTEMPTS: u32 = 64;

/// The first free /64 derived from the cluster's name (attempt 0 unless it collides).
pub fn pick_node_subnet(
    cluster: &str,
    pods: Cidr6,
    services: Cidr6,
    host: &[HostClaim6],
    others: &[OtherCluster6],
) -> Result<NodeSubnet6> {
    (0..DERIVE_ATTEMPTS)
        .map(|attempt| NodeSubnet6::derived(cluster, attempt))
        .find(|nodes| {
            let trial = Ranges6 {
                nodes: *nodes,
                pods,
                services,
            };
            trial.collision(host, others, None).is_none()
        })
        .ok_or(Error::NoFreeSubnet(DERIVE_ATTEMPTS))
}

/// A range of either family, as a flag or the config file lists them (`10.244.0.0/16,fd00::/56`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnyCidr {
    V4(super::ranges::Cidr),
    V6(Cidr6),
}

impl std::fmt::Display for AnyCidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnyCidr::V4(c) => c.fmt(f),
            AnyCidr::V6(c) => c.fmt(f),
        }
    }
}

/// A comma-separated list of at most one range of each family, as given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RangePair {
    pub v4: Option<super::ranges::Cidr>,
    pub v6: Option<Cidr6>,
}

impl RangePair {
    /// Parses `text` (`what` names it in errors): `a.b.c.d/n`, `fdxx::/n` or both, comma-separated.
    pub fn parse(text: &str, what: &str) -> Result<RangePair> {
        let mut pair = RangePair::default();
        for part in text.split(',').map(str::trim) {
            if part.contains(':') {
                if pair.v6.is_some() {
                    return Err(family(what, "two IPv6 ranges; give one of each family"));
                }
                pair.v6 = Some(Cidr6::parse(part, what)?);
            } else {
                if pair.v4.is_some() {
                    return Err(family(what, "two IPv4 ranges; give one of each family"));
                }
                pair.v4 = Some(super::ranges::Cidr::parse(part, what)?);
            }
        }
        Ok(pair)
    }

    /// Fails unless the ranges given fit `ip_family`: ipv4 takes none of IPv6, ipv6 none of IPv4,
    /// dual both or none. `nodes`: the node subnets, of which every family has an IPv4 one and
    /// each missing one is picked (the IPv6 one derived), so only ipv4's rule holds.
    pub fn check_family(&self, ip_family: IpFamily, what: &str, nodes: bool) -> Result<()> {
        match (ip_family, self.v4, self.v6) {
            (IpFamily::Ipv6 | IpFamily::Dual, _, _) if nodes => Ok(()),
            (IpFamily::Ipv4, _, Some(v6)) => Err(family(
                what,
                &format!("{v6} is IPv6 and the cluster is ipv4 (--ip-family ipv6 or dual)"),
            )),
            (IpFamily::Ipv6, Some(v4), _) if !nodes => Err(family(
                what,
                &format!("{v4} is IPv4 and the cluster is ipv6 (--ip-family ipv4 or dual)"),
            )),
            (IpFamily::Dual, Some(v4), None) => Err(family(
                what,
                &format!("{v4} alone: a dual-stack cluster takes one range of each family"),
            )),
            (IpFamily::Dual, None, Some(v6)) => Err(family(
                what,
                &format!("{v6} alone: a dual-stack cluster takes one range of each family"),
            )),
            _ => Ok(()),
        }
    }
}

fn family(what: &str, why: &str) -> Error {
    Error::Family {
        what: what.to_owned(),
        why: why.to_owned(),
    }
}

/// The addresses of a node in `ip_family`'s order: its IPv4 one, its IPv6 one (when the cluster
/// has IPv6 ranges).
pub fn ordered_ips(ip_family: IpFamily, v4: Ipv4Addr, v6: Option<Ipv6Addr>) -> Vec<IpAddr> {
    ip_family.order(IpAddr::V4(v4), v6.map(IpAddr::V6))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kns_plumbing::report::Hint;
    use serde_json::json;

    fn c6(s: &str) -> Cidr6 {
        Cidr6::parse(s, "--x").unwrap()
    }

    /// This machine's IPv6 as `ip -json -6` shows it: the uplink fd00::2/64 with a default route
    /// via fd00::1, link-local and multicast routes, and another cluster's bridge.
    fn host() -> Vec<HostClaim6> {
        let addresses = json!([
            {"ifname": "lo", "addr_info": [{"local": "::1", "prefixlen": 128}]},
            {"ifname": "eth0", "addr_info": [
                {"local": "fd00::2", "prefixlen": 64},
                {"local": "fe80::fc:ff:fe00:1", "prefixlen": 64}
            ]},
            {"ifname": "kns-other", "addr_info": [{"local": "fd12:3456:789a::1", "prefixlen": 64}]},
            {"ifname": "wg0", "addr_info": [{"local": "fdaa:bbbb:cccc::1", "prefixlen": 48}]}
        ]);
        let routes = json!([
            {"dst": "fd00::/64", "dev": "eth0"},
            {"dst": "fe80::/64", "dev": "eth0"},
            {"dst": "default", "gateway": "fd00::1", "dev": "eth0"},
            {"dst": "fd99::/16", "dev": "tun0", "table": "51820"},
            {"type": "multicast", "dst": "ff00::/8", "dev": "eth0", "table": "local"}
        ]);
        collisions::parse_claims(&addresses, &routes)
    }

    fn other() -> Vec<OtherCluster6> {
        vec![OtherCluster6 {
            name: "other".into(),
            nodes: c6("fd12:3456:789a::/64"),
            bridge: "kns-other".into(),
        }]
    }

    fn ranges(nodes: &str) -> Ranges6 {
        Ranges6 {
            nodes: NodeSubnet6::new(c6(nodes)).unwrap(),
            pods: DEFAULT_POD_SUBNET6,
            services: DEFAULT_SERVICE_SUBNET6,
        }
    }

    #[test]
    fn parses_and_overlaps() {
        assert!(c6("fd00::/64").overlaps(&c6("fd00::/8")));
        assert!(!c6("fd00::/64").overlaps(&c6("fd00:10:244::/56")));
        assert!(Cidr6::parse("fd00::1/64", "--subnet")
            .unwrap_err()
            .to_string()
            .contains("host bits"));
        assert!(Cidr6::parse("10.0.0.0/8", "--subnet").is_err());
        assert_eq!(
            c6("fd00:10:244::/56").block(64, 3).to_string(),
            "fd00:10:244:3::/64"
        );
        assert_eq!(
            serde_json::to_string(&c6("fd00:10:96::/112")).unwrap(),
            "\"fd00:10:96::/112\""
        );
    }

    #[test]
    fn the_derived_subnet_is_a_stable_ula_64_never_the_uplinks() {
        let a = NodeSubnet6::derived("dev", 0);
        assert_eq!(a, NodeSubnet6::derived("dev", 0), "stable for a name");
        assert_ne!(a, NodeSubnet6::derived("dev2", 0));
        assert_ne!(a, NodeSubnet6::derived("dev", 1));
        for name in ["default", "dev", "a", "knst0123abcd", "x-y-z"] {
            for attempt in 0..32 {
                let s = NodeSubnet6::derived(name, attempt).cidr();
                assert_eq!(s.prefix(), 64);
                assert!(ULA.overlaps(&s) && ULA.contains(s.nth(0)), "{s}");
                assert!(!s.overlaps(&c6("fd00::/64")), "{name}/{attempt}: {s}");
                assert!(NodeSubnet6::new(s).is_ok(), "{s}");
            }
        }
        let s = NodeSubnet6::new(c6("fd12:3456:789a::/64")).unwrap();
        assert_eq!(s.gateway().to_string(), "fd12:3456:789a::1");
        assert_eq!(s.load_balancer_ip().to_string(), "fd12:3456:789a::9");
        assert_eq!(s.node_ip(0).to_string(), "fd12:3456:789a::10");
        assert_eq!(s.node_ip(2).to_string(), "fd12:3456:789a::12");
    }

    #[test]
    fn only_unique_local_ranges_of_the_right_sizes_are_taken() {
        let e = NodeSubnet6::new(c6("2001:db8::/64")).unwrap_err();
        assert!(e.to_string().contains("not a unique local range"), "{e}");
        assert!(e.hint().unwrap().contains("fd00::/8"));
        assert!(
            NodeSubnet6::new(c6("fc00::/64")).is_err(),
            "fc00::/8 is not ours"
        );
        assert!(NodeSubnet6::new(c6("fd00:1::/48")).is_err(), "a /64 only");
        assert!(check_pods(c6("fd00:10:244::/56"), 50).is_ok());
        assert!(check_pods(c6("fd00:10::/40"), 3).is_err(), "over 16 bits");
        assert!(check_pods(c6("fd00:10:244::/63"), 3).is_err());
        assert!(check_pods(c6("fd00:10:244::/62"), 3).is_ok());
        assert!(check_pods(c6("2001:db8::/56"), 3).is_err());
        assert!(check_services(c6("fd00:10:96::/112")).is_ok());
        assert!(check_services(c6("fd00:10:96::/64")).is_err(), "too large");
    }

    #[test]
    fn host_claims_come_from_addresses_routes_and_the_gateway() {
        let claims = host();
        assert!(claims.contains(&HostClaim6::Gateway {
            ip: "fd00::1".parse().unwrap(),
            dev: "eth0".into()
        }));
        assert!(claims.contains(&HostClaim6::Address {
            interface: "eth0".into(),
            cidr: c6("fd00::/64")
        }));
        assert!(claims.contains(&HostClaim6::Route {
            dst: c6("fd99::/16"),
            table: "51820".into(),
            dev: "tun0".into()
        }));
    }

    #[test]
    fn collisions_are_named_and_a_derived_free_subnet_proposed() {
        let err = |r: Ranges6| {
            let e = check("dev", &r, &host(), &other(), None).unwrap_err();
            format!("{e}; {}", e.hint().unwrap_or_default())
        };
        let e = err(ranges("fd00::/64"));
        assert!(
            e.starts_with("--subnet fd00::/64 collides with the host's interface eth0 (fd00::/64)"),
            "{e}"
        );
        let free = NodeSubnet6::derived("dev", 0);
        assert!(e.ends_with(&format!("--subnet {free} is free")), "{e}");
        let mut services_in_pods = ranges("fd01::/64");
        services_in_pods.services = c6("fd00:10:244:1::/112");
        let cases = [
            (ranges("fdaa:bbbb:cccc:1::/64"), "wg0 (fdaa:bbbb:cccc::/48)"),
            (
                ranges("fd99:1::/64"),
                "route to fd99::/16 via tun0 (table 51820)",
            ),
            (
                ranges("fd12:3456:789a::/64"),
                "cluster \"other\" (IPv6 subnet fd12:3456:789a::/64)",
            ),
            (
                services_in_pods,
                "--pod-subnet fd00:10:244::/56 collides with --service-subnet fd00:10:244:1::/112",
            ),
        ];
        for (ranges, says) in cases {
            let e = err(ranges);
            assert!(e.contains(says), "{e}");
        }
        // kind's defaults stay clear of this machine's fd00::/64.
        assert!(check("dev", &ranges("fd01::/64"), &host(), &other(), None).is_ok());
        // The cluster's own bridge is no collision (start, init).
        assert!(check(
            "other",
            &ranges("fd12:3456:789a::/64"),
            &host(),
            &[],
            Some("kns-other")
        )
        .is_ok());
    }

    #[test]
    fn a_derived_subnet_that_collides_is_passed_over() {
        let first = NodeSubnet6::derived("dev", 0);
        let taken = vec![HostClaim6::Route {
            dst: first.cidr(),
            table: "main".into(),
            dev: "eth1".into(),
        }];
        let picked = pick_node_subnet(
            "dev",
            DEFAULT_POD_SUBNET6,
            DEFAULT_SERVICE_SUBNET6,
            &taken,
            &[],
        )
        .unwrap();
        assert_eq!(picked, NodeSubnet6::derived("dev", 1));
        let everything = vec![HostClaim6::Route {
            dst: ULA,
            table: "main".into(),
            dev: "eth1".into(),
        }];
        let e = pick_node_subnet(
            "dev",
            DEFAULT_POD_SUBNET6,
            DEFAULT_SERVICE_SUBNET6,
            &everything,
            &[],
        )
        .unwrap_err();
        assert!(matches!(e, Error::NoFreeSubnet(DERIVE_ATTEMPTS)), "{e}");
        // Never any of the host's ranges, whatever the name.
        for name in ["a", "b", "c", "default", "dev"] {
            let s = pick_node_subnet(
                name,
                DEFAULT_POD_SUBNET6,
                DEFAULT_SERVICE_SUBNET6,
                &host(),
                &other(),
            )
            .unwrap();
            assert!(host().iter().all(|c| !c.collides_with(&s.cidr())), "{s}");
        }
    }

    #[test]
    fn range_lists_fit_the_family() {
        let pair = |s: &str| RangePair::parse(s, "--pod-subnet").unwrap();
        let dual = pair("10.244.0.0/16,fd00:10:244::/56");
        assert!(dual.v4.is_some() && dual.v6.is_some());
        assert!(dual
            .check_family(IpFamily::Dual, "--pod-subnet", false)
            .is_ok());
        let e = pair("10.244.0.0/16")
            .check_family(IpFamily::Dual, "--pod-subnet", false)
            .unwrap_err();
        assert!(e.to_string().contains("one range of each family"), "{e}");
        assert!(pair("fd00:10:244::/56")
            .check_family(IpFamily::Ipv4, "--pod-subnet", false)
            .is_err());
        assert!(pair("10.244.0.0/16")
            .check_family(IpFamily::Ipv6, "--pod-subnet", false)
            .is_err());
        assert!(
            pair("10.30.0.0/16,fd01::/64")
                .check_family(IpFamily::Ipv6, "--subnet", true)
                .is_ok(),
            "the nodes' IPv4 subnet is every family's"
        );
        for family in [IpFamily::Ipv6, IpFamily::Dual] {
            for one in ["10.30.0.0/16", "fd01::/64"] {
                assert!(
                    pair(one).check_family(family, "--subnet", true).is_ok(),
                    "{family} {one}: the other node subnet is picked"
                );
            }
        }
        assert!(pair("fd01::/64")
            .check_family(IpFamily::Ipv4, "--subnet", true)
            .is_err());
        assert!(RangePair::parse("fd00::/56,fd01::/56", "--pod-subnet").is_err());
        assert!(RangePair::parse("10.0.0.0/8,x", "--pod-subnet").is_err());
    }

    #[test]
    fn families_order_addresses_primary_first() {
        let v4 = Ipv4Addr::new(10, 22, 0, 10);
        let v6: Ipv6Addr = "fd12::10".parse().unwrap();
        let text = |f| {
            ordered_ips(f, v4, Some(v6))
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(text(IpFamily::Ipv4), "10.22.0.10");
        assert_eq!(text(IpFamily::Ipv6), "fd12::10");
        assert_eq!(text(IpFamily::Dual), "10.22.0.10,fd12::10");
        assert_eq!(serde_json::to_string(&IpFamily::Dual).unwrap(), "\"dual\"");
    }
}
