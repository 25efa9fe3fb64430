//! A cluster's ranges of one IP family (its node subnet on the host bridge, its pod and service
//! ranges), laid out the same for IPv4 (`model::ranges`) and IPv6 (`model::ranges6`): the host
//! at the node subnet's first address, the load balancer at its 9th, the nodes after it, so
//! stop/start keeps every address. What differs between the families is said by their
//! [`Family`] implementations.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::cidr::{Address, Cidr};
use super::collisions::{find_collision, Collision, HostClaim, OtherCluster, RangeKind};

/// An IP family's rules for a cluster's ranges.
pub trait Family: Address {
    /// A range of this family a cluster cannot have.
    type Error: std::fmt::Display;
    /// Node i's address is the node subnet's (`FIRST_NODE` + i)-th.
    const FIRST_NODE: u128;
    /// How a collision names another cluster's node subnet of this family.
    const SUBNET_WORD: &'static str;

    /// `cidr`, unless it cannot be a node subnet.
    fn check_node_subnet(cidr: Cidr<Self>) -> Result<Cidr<Self>, Self::Error>;
}

/// A cluster's node subnet on the host bridge, of family `A`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSubnet<A>(Cidr<A>);

impl<A: Family> NodeSubnet<A> {
    /// `cidr` as a node subnet, if the family's rules allow it.
    pub fn new(cidr: Cidr<A>) -> Result<NodeSubnet<A>, A::Error> {
        A::check_node_subnet(cidr).map(NodeSubnet)
    }

    /// A node subnet known to be valid, or one that is only compared (a candidate).
    pub(super) fn new_unchecked(cidr: Cidr<A>) -> NodeSubnet<A> {
        NodeSubnet(cidr)
    }

    pub fn cidr(&self) -> Cidr<A> {
        self.0
    }

    pub fn gateway(&self) -> A {
        self.0.nth(1)
    }

    pub fn node_ip(&self, index: usize) -> A {
        self.0.nth(A::FIRST_NODE + index as u128)
    }

    /// The load balancer's address: the 9th, just below the nodes, whatever their number.
    pub fn load_balancer_ip(&self) -> A {
        self.0.nth(9)
    }
}

impl<A: Family> TryFrom<Cidr<A>> for NodeSubnet<A> {
    type Error = A::Error;
    fn try_from(cidr: Cidr<A>) -> Result<NodeSubnet<A>, A::Error> {
        NodeSubnet::new(cidr)
    }
}

impl<A> From<NodeSubnet<A>> for Cidr<A> {
    fn from(s: NodeSubnet<A>) -> Cidr<A> {
        s.0
    }
}

impl<A: std::fmt::Display> std::fmt::Display for NodeSubnet<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// In state.json and the cluster config file: its range's text.
impl<A: Family> Serialize for NodeSubnet<A> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, A: Family> Deserialize<'de> for NodeSubnet<A> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let cidr = Cidr::deserialize(deserializer)?;
        NodeSubnet::new(cidr).map_err(serde::de::Error::custom)
    }
}

/// A cluster's three ranges of family `A`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(bound = "A: Family")]
pub struct Ranges<A> {
    pub nodes: NodeSubnet<A>,
    pub pods: Cidr<A>,
    pub services: Cidr<A>,
}

impl<A: Family> Ranges<A> {
    pub(super) fn get(&self, kind: RangeKind) -> Cidr<A> {
        match kind {
            RangeKind::Nodes => self.nodes.cidr(),
            RangeKind::Pods => self.pods,
            RangeKind::Services => self.services,
        }
    }

    /// These ranges with `kind` replaced by `cidr` (a node subnet taken as it is: only compared).
    pub(super) fn with(&self, kind: RangeKind, cidr: Cidr<A>) -> Ranges<A> {
        let mut trial = *self;
        match kind {
            RangeKind::Nodes => trial.nodes = NodeSubnet(cidr),
            RangeKind::Pods => trial.pods = cidr,
            RangeKind::Services => trial.services = cidr,
        }
        trial
    }

    /// The first collision of these ranges: with each other, with the host (`own_bridge`, the
    /// cluster's own bridge when it exists, left out), or with another cluster's node subnet.
    pub(super) fn collision(
        &self,
        host: &[HostClaim<A>],
        others: &[OtherCluster<A>],
        own_bridge: Option<&str>,
    ) -> Option<Collision<A>> {
        let named =
            [RangeKind::Nodes, RangeKind::Pods, RangeKind::Services].map(|k| (k, self.get(k)));
        find_collision(named, host, others, own_bridge, A::SUBNET_WORD)
    }

    /// Fails with the first collision of these ranges (see [`Ranges::collision`]), proposing the
    /// range that `free` finds for it.
    pub(super) fn check(
        &self,
        host: &[HostClaim<A>],
        others: &[OtherCluster<A>],
        own_bridge: Option<&str>,
        free: impl FnOnce(&Collision<A>) -> Option<Cidr<A>>,
    ) -> Result<(), Collision<A>> {
        match self.collision(host, others, own_bridge) {
            None => Ok(()),
            Some(collision) => Err(Collision {
                free: free(&collision),
                ..collision
            }),
        }
    }
}
