//! The address ranges of a cluster (node subnet on the host bridge, pod and service ranges inside
//! the nodes) and what they must not collide with: each other, every address and route of the host
//! (all interfaces, all routing tables, the default gateway), and the other clusters' node subnets.
//! A tool that adds bridges and routes to a workstation as root must never take the range the
//! machine itself lives on.
//!
//! Pod and service ranges live only inside a cluster's nodes (no host route leads to them), so two
//! clusters may use the same ones; node subnets are bridges on the host and must not overlap.

use std::net::Ipv4Addr;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::names::Subnet;

/// The pod range kubeadm-nspawn uses unless told otherwise (kubeadm's and flannel's usual one).
pub const DEFAULT_POD_SUBNET: &str = "10.244.0.0/16";
/// The service range unless told otherwise (kubeadm's default).
pub const DEFAULT_SERVICE_SUBNET: &str = "10.96.0.0/12";
/// The node subnet unless told otherwise, when it is free.
pub const DEFAULT_NODE_SUBNET: &str = "10.22.0.0/16";

/// An IPv4 range `a.b.c.d/prefix` with no host bits set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub base: Ipv4Addr,
    pub prefix: u8,
}

impl Cidr {
    /// Parses `text`; `flag` names it in errors (`--pod-subnet`).
    pub fn parse(text: &str, flag: &str) -> Result<Cidr> {
        let bad = |why: &str| Error::InvalidArgument(format!("invalid {flag} {text:?}: {why}"));
        let (ip, prefix) = text
            .split_once('/')
            .ok_or_else(|| bad("expected a.b.c.d/prefix"))?;
        let base: Ipv4Addr = ip.parse().map_err(|_| bad("not an IPv4 address"))?;
        let prefix: u8 = prefix.parse().map_err(|_| bad("bad prefix length"))?;
        if prefix > 32 {
            return Err(bad("bad prefix length"));
        }
        let cidr = Cidr { base, prefix };
        if u32::from(base) & !cidr.mask() != 0 {
            return Err(bad("host bits are set; give the network address"));
        }
        Ok(cidr)
    }

    /// A host route or address as the kernel reports it (`10.0.0.0/8`, `10.0.0.1`): host bits
    /// cleared, a bare address taken as /32.
    fn of_kernel(dst: &str, prefix: Option<u8>) -> Option<Cidr> {
        let (ip, prefix) = match dst.split_once('/') {
            Some((ip, p)) => (ip, p.parse().ok()?),
            None => (dst, prefix.unwrap_or(32)),
        };
        let ip: Ipv4Addr = ip.parse().ok()?;
        let mask = mask(prefix);
        Some(Cidr {
            base: Ipv4Addr::from(u32::from(ip) & mask),
            prefix,
        })
    }

    fn mask(&self) -> u32 {
        mask(self.prefix)
    }

    fn first(&self) -> u32 {
        u32::from(self.base)
    }

    fn last(&self) -> u32 {
        self.first() | !self.mask()
    }

    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        (u32::from(ip) & self.mask()) == self.first()
    }

    /// The `index`-th block of prefix `prefix` inside this range.
    pub fn block(&self, prefix: u8, index: usize) -> Cidr {
        let size = 1u64 << (32 - prefix);
        Cidr {
            base: Ipv4Addr::from((u64::from(self.first()) + size * index as u64) as u32),
            prefix,
        }
    }

    /// How many blocks of prefix `prefix` it holds.
    fn blocks(&self, prefix: u8) -> u64 {
        if prefix < self.prefix {
            0
        } else {
            1u64 << (prefix - self.prefix)
        }
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

impl From<Subnet> for Cidr {
    fn from(s: Subnet) -> Cidr {
        Cidr {
            base: s.base,
            prefix: s.prefix,
        }
    }
}

/// The podCIDR prefix of each node of a cluster of `nodes` nodes in `pods`: a /24 each while the
/// range has enough of them (node i: the i-th /24), else the largest equal split that fits.
pub fn node_pod_prefix(pods: &Cidr, nodes: usize) -> Result<u8> {
    if pods.blocks(24) >= nodes as u64 {
        return Ok(24);
    }
    let bits = usize::BITS - nodes.saturating_sub(1).leading_zeros();
    let prefix = pods.prefix as u32 + bits;
    if prefix > 28 {
        return Err(Error::InvalidArgument(format!(
            "--pod-subnet {pods} is too small for {nodes} nodes (each needs at least a /28)"
        )));
    }
    Ok(prefix as u8)
}

/// The three ranges of a cluster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranges {
    pub nodes: Cidr,
    pub pods: Cidr,
    pub services: Cidr,
}

/// Something on the host that holds addresses.
#[derive(Debug, Clone, PartialEq)]
pub enum HostClaim {
    /// An address on an interface (`eth0` 192.168.1.5/24: the whole /24 is its network).
    Address { interface: String, cidr: Cidr },
    /// A route, in a routing table, through a device.
    Route {
        dst: Cidr,
        table: String,
        dev: String,
    },
    /// The default gateway: the one address a node subnet must never hold.
    Gateway { ip: Ipv4Addr, dev: String },
}

impl HostClaim {
    /// The interface the claim belongs to.
    fn device(&self) -> &str {
        match self {
            HostClaim::Address { interface, .. } => interface,
            HostClaim::Route { dev, .. } | HostClaim::Gateway { dev, .. } => dev,
        }
    }

    fn collides_with(&self, range: &Cidr) -> bool {
        match self {
            HostClaim::Address { cidr, .. } => cidr.overlaps(range),
            HostClaim::Route { dst, .. } => dst.overlaps(range),
            HostClaim::Gateway { ip, .. } => range.contains(*ip),
        }
    }
}

impl std::fmt::Display for HostClaim {
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

/// Every IPv4 address and route of the host, from `ip -json` (all interfaces, all tables).
pub fn host_claims() -> Result<Vec<HostClaim>> {
    let addresses = ip_json(&["-4", "addr", "show"])?;
    let routes = ip_json(&["-4", "route", "show", "table", "all"])?;
    Ok(parse_claims(&addresses, &routes))
}

fn ip_json(args: &[&str]) -> Result<Value> {
    let out = std::process::Command::new("ip")
        .arg("-json")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::io("run", "ip", e))?;
    if !out.status.success() {
        return Err(Error::tool(
            "ip",
            String::from_utf8_lossy(&out.stderr).trim(),
        ));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::tool("ip", format!("printed no JSON: {e}")))
}

/// The claims in `ip -json addr` and `ip -json route show table all` output.
pub fn parse_claims(addresses: &Value, routes: &Value) -> Vec<HostClaim> {
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
            // A default route covers everything; what must stay out of a node subnet is its gateway.
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

/// Another cluster as far as collisions go: its name, node subnet and bridge.
#[derive(Debug, Clone)]
pub struct OtherCluster {
    pub name: String,
    pub nodes: Cidr,
    pub bridge: String,
}

/// Checks a cluster's ranges against each other, the host and the other clusters. `own_bridge` is
/// the cluster's own bridge when it exists already (`init` checks again): its address and route are
/// the cluster's own. The other clusters' bridges are reported as those clusters, not as interfaces.
/// A collision is an error naming both sides and proposing a free range for the flag.
pub fn check(
    ranges: &Ranges,
    host: &[HostClaim],
    others: &[OtherCluster],
    own_bridge: Option<&str>,
) -> Result<()> {
    let Some(Collision { flag, range, with }) = find_collision(ranges, host, others, own_bridge)
    else {
        return Ok(());
    };
    let proposal = free_for(flag, ranges, host, others)
        .map(|free| format!("; {flag} {free} is free"))
        .unwrap_or_default();
    Err(Error::InvalidArgument(format!(
        "{flag} {range} collides with {with}{proposal}"
    )))
}

struct Collision {
    flag: &'static str,
    range: Cidr,
    with: String,
}

fn find_collision(
    ranges: &Ranges,
    host: &[HostClaim],
    others: &[OtherCluster],
    own_bridge: Option<&str>,
) -> Option<Collision> {
    let named = [
        ("--subnet", ranges.nodes),
        ("--pod-subnet", ranges.pods),
        ("--service-subnet", ranges.services),
    ];
    for (i, (flag, range)) in named.iter().enumerate() {
        if let Some((other_flag, other)) = named[i + 1..].iter().find(|(_, o)| range.overlaps(o)) {
            return Some(Collision {
                flag,
                range: *range,
                with: format!("{other_flag} {other}"),
            });
        }
    }
    let bridges: Vec<&str> = others.iter().map(|o| o.bridge.as_str()).collect();
    for (flag, range) in named {
        if let Some(claim) = host.iter().find(|c| {
            Some(c.device()) != own_bridge
                && !bridges.contains(&c.device())
                && c.collides_with(&range)
        }) {
            return Some(Collision {
                flag,
                range,
                with: claim.to_string(),
            });
        }
    }
    others
        .iter()
        .find(|o| o.nodes.overlaps(&ranges.nodes))
        .map(|other| Collision {
            flag: "--subnet",
            range: ranges.nodes,
            with: format!("cluster {:?} (subnet {})", other.name, other.nodes),
        })
}

/// A free range of `range`'s size for `flag`, with the cluster's other ranges kept as they are.
fn free_for(
    flag: &str,
    ranges: &Ranges,
    host: &[HostClaim],
    others: &[OtherCluster],
) -> Option<Cidr> {
    let (current, candidates) = match flag {
        "--subnet" => (
            ranges.nodes,
            candidates(ranges.nodes.prefix, Ipv4Addr::new(10, 22, 0, 0)),
        ),
        "--pod-subnet" => (
            ranges.pods,
            candidates(ranges.pods.prefix, Ipv4Addr::new(10, 244, 0, 0)),
        ),
        _ => (
            ranges.services,
            candidates(ranges.services.prefix, Ipv4Addr::new(10, 96, 0, 0)),
        ),
    };
    candidates.filter(|c| *c != current).find(|candidate| {
        let mut trial = *ranges;
        match flag {
            "--subnet" => trial.nodes = *candidate,
            "--pod-subnet" => trial.pods = *candidate,
            _ => trial.services = *candidate,
        }
        find_collision(&trial, host, others, None).is_none()
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
            .map(move |b| Cidr {
                base: Ipv4Addr::from(b as u32),
                prefix,
            })
    })
}

/// A free node subnet of prefix 16: the default when free, else the next free /16 (see
/// [`candidates`]), for an `up` without `--subnet`.
pub fn pick_node_subnet(
    pods: Cidr,
    services: Cidr,
    host: &[HostClaim],
    others: &[OtherCluster],
) -> Result<Cidr> {
    let default = Cidr::parse(DEFAULT_NODE_SUBNET, "--subnet")?;
    std::iter::once(default)
        .chain(candidates(16, Ipv4Addr::new(10, 22, 0, 0)))
        .find(|nodes| {
            let trial = Ranges {
                nodes: *nodes,
                pods,
                services,
            };
            find_collision(&trial, host, others, None).is_none()
        })
        .ok_or_else(|| {
            Error::InvalidArgument(
                "no free /16 for the nodes in 10.0.0.0/8 or 172.16.0.0/12: pass --subnet".into(),
            )
        })
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
            nodes: cidr(nodes),
            pods: cidr(DEFAULT_POD_SUBNET),
            services: cidr(DEFAULT_SERVICE_SUBNET),
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
        parse_claims(&addresses, &routes)
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
        let err = |r: Ranges| check(&r, &host(), &other(), None).unwrap_err().to_string();
        // The host's LAN, its gateway, a route in another table.
        let e = err(defaults("192.168.0.0/16"));
        assert!(
            e.contains("collides with the host's interface eth0 (192.168.1.0/24)"),
            "{e}"
        );
        assert!(e.contains("is free"), "{e}");
        let e = err(defaults("192.168.1.0/28"));
        assert!(e.contains("eth0"), "{e}");
        let e = err(defaults("10.50.0.0/24"));
        assert!(
            e.contains("route to 10.50.0.0/16 via wg0 (table 51820)"),
            "{e}"
        );
        // Another cluster: overlap, not only equality, named as the cluster.
        let e = err(defaults("10.22.5.0/24"));
        assert!(e.contains("cluster \"other\" (subnet 10.22.0.0/16)"), "{e}");
        assert!(
            e.contains("--subnet 10.23.0.0/24 is free") || e.contains("is free"),
            "{e}"
        );
        // The cluster's own pod and service ranges.
        let e = err(defaults("10.244.0.0/24"));
        assert!(
            e.contains("--subnet 10.244.0.0/24 collides with --pod-subnet 10.244.0.0/16"),
            "{e}"
        );
        let mut r = defaults("10.30.0.0/16");
        r.pods = cidr("10.96.0.0/16");
        let e = err(r);
        assert!(
            e.contains("--pod-subnet 10.96.0.0/16 collides with --service-subnet 10.96.0.0/12"),
            "{e}"
        );
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
        let pods = cidr(DEFAULT_POD_SUBNET);
        let services = cidr(DEFAULT_SERVICE_SUBNET);
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
