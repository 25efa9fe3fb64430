//! An address range of either IP family, `base/prefix` with no host bits set: the arithmetic
//! that IPv4 ranges (`model::ranges`) and IPv6 ranges (`model::ranges6`) share. A range's
//! addresses are computed as a `u128` whatever the family, so the same code serves both; what
//! differs between the families is said by their [`Address`] implementations.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An IP address of one family, as its ranges see it.
pub trait Address:
    Copy + Eq + std::hash::Hash + std::fmt::Debug + std::fmt::Display + std::str::FromStr
{
    /// The address's length in bits (the longest prefix).
    const BITS: u8;
    /// A parse error's words for text that is not `address/prefix`.
    const EXPECTED: &'static str;
    /// A parse error's words for an address part that is not of this family.
    const NOT_AN_ADDRESS: &'static str;

    fn to_bits(self) -> u128;
    /// The address of `bits` (bits beyond [`Address::BITS`] are dropped).
    fn from_bits(bits: u128) -> Self;
}

impl Address for Ipv4Addr {
    const BITS: u8 = 32;
    const EXPECTED: &'static str = "expected a.b.c.d/prefix";
    const NOT_AN_ADDRESS: &'static str = "not an IPv4 address";

    fn to_bits(self) -> u128 {
        u128::from(u32::from(self))
    }

    fn from_bits(bits: u128) -> Self {
        Ipv4Addr::from(bits as u32)
    }
}

impl Address for Ipv6Addr {
    const BITS: u8 = 128;
    const EXPECTED: &'static str = "expected an IPv6 range such as fd00:10:244::/56";
    const NOT_AN_ADDRESS: &'static str = "not an IPv6 address";

    fn to_bits(self) -> u128 {
        u128::from(self)
    }

    fn from_bits(bits: u128) -> Self {
        Ipv6Addr::from(bits)
    }
}

/// Text that is not a range of the family asked for.
#[derive(Debug, thiserror::Error)]
#[error("invalid {what} \"{text}\": {why}")]
pub struct CidrError {
    what: String,
    text: String,
    why: &'static str,
}

/// A range `base/prefix` of addresses `A`, with no host bits set. In state.json and the cluster
/// config file it is written as that text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr<A> {
    base: A,
    prefix: u8,
}

impl<A> Cidr<A> {
    /// A range known to be valid (constants, blocks computed from a valid one).
    pub(super) const fn new_unchecked(base: A, prefix: u8) -> Cidr<A> {
        Cidr { base, prefix }
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }
}

impl<A: Address> Cidr<A> {
    /// Parses `text`; `what` names it in errors (`--pod-subnet`).
    pub fn parse(text: &str, what: &str) -> Result<Cidr<A>, CidrError> {
        let bad = |why: &'static str| CidrError {
            what: what.to_owned(),
            text: text.to_owned(),
            why,
        };
        let (ip, prefix) = text.split_once('/').ok_or_else(|| bad(A::EXPECTED))?;
        let base: A = ip.parse().map_err(|_| bad(A::NOT_AN_ADDRESS))?;
        let prefix: u8 = prefix.parse().map_err(|_| bad("bad prefix length"))?;
        if prefix > A::BITS {
            return Err(bad("bad prefix length"));
        }
        if base.to_bits() & !mask::<A>(prefix) != 0 {
            return Err(bad("host bits are set; give the network address"));
        }
        Ok(Cidr { base, prefix })
    }

    /// A host route or address as the kernel reports it (`10.0.0.0/8`, `10.0.0.1`, `fd00::1`):
    /// host bits cleared, a bare address taken as the longest prefix unless `prefix` is given.
    pub(super) fn of_kernel(dst: &str, prefix: Option<u8>) -> Option<Cidr<A>> {
        let (ip, prefix) = match dst.split_once('/') {
            Some((ip, p)) => (ip, p.parse().ok()?),
            None => (dst, prefix.unwrap_or(A::BITS)),
        };
        let ip: A = ip.parse().ok()?;
        Some(Cidr {
            base: A::from_bits(ip.to_bits() & mask::<A>(prefix)),
            prefix,
        })
    }

    pub fn base(&self) -> A {
        self.base
    }

    fn first(&self) -> u128 {
        self.base.to_bits()
    }

    fn last(&self) -> u128 {
        self.first() | (all_ones::<A>() ^ mask::<A>(self.prefix))
    }

    pub fn overlaps(&self, other: &Cidr<A>) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }

    pub fn contains(&self, ip: A) -> bool {
        (ip.to_bits() & mask::<A>(self.prefix)) == self.first()
    }

    /// The `n`-th address of the range (`n` = 1: the first after the network address).
    pub fn nth(&self, n: u128) -> A {
        A::from_bits(self.first() + n)
    }

    /// The `index`-th block of prefix `prefix` inside this range.
    pub fn block(&self, prefix: u8, index: usize) -> Cidr<A> {
        Cidr {
            base: A::from_bits(self.first() + ((index as u128) << (A::BITS - prefix))),
            prefix,
        }
    }
}

/// Every bit of an address of family `A`.
fn all_ones<A: Address>() -> u128 {
    u128::MAX >> (128 - u32::from(A::BITS))
}

/// The network part of an address of family `A` under `prefix`.
fn mask<A: Address>(prefix: u8) -> u128 {
    let all = all_ones::<A>();
    all ^ all.checked_shr(u32::from(prefix)).unwrap_or(0)
}

impl<A: std::fmt::Display> std::fmt::Display for Cidr<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

impl<A: Address> TryFrom<String> for Cidr<A> {
    type Error = CidrError;
    fn try_from(text: String) -> Result<Cidr<A>, CidrError> {
        Cidr::parse(&text, "range")
    }
}

impl<A: Address> From<Cidr<A>> for String {
    fn from(cidr: Cidr<A>) -> String {
        cidr.to_string()
    }
}

impl<A: Address> Serialize for Cidr<A> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de, A: Address> Deserialize<'de> for Cidr<A> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Cidr::try_from(text).map_err(serde::de::Error::custom)
    }
}
