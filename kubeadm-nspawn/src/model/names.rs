//! A cluster's names and places (DESIGN.md §3): node `<cluster>-n<i>`, netns `kns-<cluster>-<i>`,
//! bridge `kns-<cluster>` (hashed when longer than an interface name may be), node i at .(10+i) of
//! the cluster subnet with the gateway at .1, state under `/var/lib/kubeadm-nspawn/clusters/<cluster>`.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub const DEFAULT_STATE_DIR: &str = "/var/lib/kubeadm-nspawn";
pub const MAX_NODES: usize = 50;
const MAX_NAME_LEN: usize = 32;

/// The most control planes a cluster may have: etcd's own advice (more members only slow its
/// writes; 7 survive 3 lost).
pub const MAX_CONTROL_PLANES: usize = 7;

/// What is wrong with `control_planes` of `nodes` nodes, if anything: it must be odd (etcd's
/// quorum is a majority: an even count survives no more losses than the odd one below it), from
/// 1 to 7, no more than the nodes.
pub fn control_planes_problem(control_planes: usize, nodes: usize) -> Option<String> {
    if control_planes == 0 || control_planes > MAX_CONTROL_PLANES {
        return Some(format!(
            "{control_planes}: give an odd number from 1 to {MAX_CONTROL_PLANES}"
        ));
    }
    if control_planes.is_multiple_of(2) {
        return Some(format!(
            "{control_planes}: give an odd number (etcd needs a majority of its members: \
             {control_planes} survive no more losses than {})",
            control_planes - 1
        ));
    }
    if control_planes > nodes {
        return Some(format!(
            "{control_planes} is more than the {nodes} nodes: give --nodes {control_planes} or \
             more (control planes + workers)"
        ));
    }
    None
}

/// A validated cluster name: lower-case letters, digits and '-', starting with a letter or digit
/// (it becomes host names, interface and namespace names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterName(String);

impl ClusterName {
    pub fn new(name: &str) -> Result<Self> {
        let ok = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(ClusterName(name.to_owned()))
        } else {
            Err(Error::InvalidArgument(format!(
                "invalid cluster name {name:?}: use 1 to {MAX_NAME_LEN} lower-case letters, digits and '-', starting with a letter or digit"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn node_name(&self, index: usize) -> String {
        format!("{}-n{index}", self.0)
    }

    pub fn netns(&self, index: usize) -> String {
        format!("kns-{}-{index}", self.0)
    }

    /// The load balancer node of a cluster with several control planes.
    pub fn load_balancer_name(&self) -> String {
        format!("{}-lb", self.0)
    }

    pub fn load_balancer_netns(&self) -> String {
        format!("kns-{}-lb", self.0)
    }

    /// `kns-<cluster>`, or `kns-` + a hash when that is longer than the 15 characters of an
    /// interface name.
    pub fn bridge(&self) -> String {
        let plain = format!("kns-{}", self.0);
        if plain.len() <= 15 {
            return plain;
        }
        let digest = Sha256::digest(self.0.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("kns-{}", &hex[..11])
    }

    /// The CNI network name (host-local keeps its state under it).
    pub fn network(&self) -> String {
        format!("kns-{}", self.0)
    }
}

impl std::fmt::Display for ClusterName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IPv4 subnet for a cluster's nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub base: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    pub fn parse(text: &str) -> Result<Self> {
        let cidr = crate::model::ranges::Cidr::parse(text, "--subnet")?;
        if !(8..=28).contains(&cidr.prefix) {
            return Err(Error::InvalidArgument(format!(
                "invalid --subnet {text:?}: the prefix must be between /8 and /28 (nodes start at .10)"
            )));
        }
        Ok(Subnet {
            base: cidr.base,
            prefix: cidr.prefix,
        })
    }

    fn nth(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.base) + n)
    }

    pub fn gateway(&self) -> Ipv4Addr {
        self.nth(1)
    }

    pub fn node_ip(&self, index: usize) -> Ipv4Addr {
        self.nth(10 + index as u32)
    }

    /// The load balancer's address: .9, just below the nodes, whatever their number.
    pub fn load_balancer_ip(&self) -> Ipv4Addr {
        self.nth(9)
    }

    /// How many nodes fit (from .10 to the last address before broadcast).
    pub fn capacity(&self) -> usize {
        (1usize << (32 - self.prefix)).saturating_sub(11)
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// Where a cluster lives on the host.
#[derive(Debug, Clone)]
pub struct ClusterPaths {
    pub dir: PathBuf,
}

impl ClusterPaths {
    pub fn new(state_dir: &Path, name: &ClusterName) -> Self {
        ClusterPaths {
            dir: state_dir.join("clusters").join(name.as_str()),
        }
    }

    pub fn state_file(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    pub fn node_dir(&self, node: &str) -> PathBuf {
        self.dir.join("nodes").join(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_design() {
        let c = ClusterName::new("dev").unwrap();
        assert_eq!(c.node_name(2), "dev-n2");
        assert_eq!(c.netns(2), "kns-dev-2");
        assert_eq!(c.bridge(), "kns-dev");
        let long = ClusterName::new("a-rather-long-name").unwrap();
        assert_eq!(long.bridge().len(), 15);
        assert_ne!(
            long.bridge(),
            ClusterName::new("a-rather-long-namf").unwrap().bridge()
        );
        for bad in ["", "A", "a/b", "..", "-x", "a_b", &"a".repeat(33)] {
            assert!(ClusterName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn subnets_give_gateway_and_node_addresses() {
        let s = Subnet::parse("10.22.0.0/16").unwrap();
        assert_eq!(s.gateway(), Ipv4Addr::new(10, 22, 0, 1));
        assert_eq!(s.node_ip(0), Ipv4Addr::new(10, 22, 0, 10));
        assert_eq!(s.node_ip(3), Ipv4Addr::new(10, 22, 0, 13));
        assert_eq!(Subnet::parse("10.251.3.0/24").unwrap().capacity(), 245);
        assert_eq!(Subnet::parse("10.251.3.16/28").unwrap().capacity(), 5);
        for bad in [
            "10.22.0.1/16",
            "10.22.0.0",
            "x/16",
            "10.0.0.0/29",
            "10.0.0.0/4",
        ] {
            assert!(Subnet::parse(bad).is_err(), "{bad}");
        }
    }
}
