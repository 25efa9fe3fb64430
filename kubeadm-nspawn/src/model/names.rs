//! A cluster's names (DESIGN.md §3): node `<cluster>-n<i>`, netns `kns-<cluster>-<i>`, bridge
//! `kns-<cluster>` (hashed when longer than an interface name may be); the load balancer of a
//! cluster with several control planes is `<cluster>-lb` in `kns-<cluster>-lb`. Everything else a
//! cluster is called on the host follows from its name, so state.json does not record it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A name or a shape a cluster cannot have.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "invalid cluster name \"{0}\": use 1 to {MAX_NAME_LEN} lower-case letters, digits and '-', \
         starting with a letter or digit"
    )]
    ClusterName(String),

    #[error("--nodes {0}: a cluster has 1 to {MAX_NODES} nodes")]
    NodeCount(usize),

    /// `why` starts with the count (`2: give an odd number ...`, `3 is more than ...`).
    #[error("--control-planes {why}")]
    ControlPlanes { count: usize, why: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub const DEFAULT_STATE_DIR: &str = "/var/lib/kubeadm-nspawn";
pub const DEFAULT_CLUSTER: &str = "default";
pub const MAX_NODES: usize = 50;
pub const MAX_NAME_LEN: usize = kns_plumbing::cluster_name::MAX_LEN;

/// The most control planes a cluster may have: etcd's own advice (more members only slow its
/// writes; 7 survive 3 lost).
pub const MAX_CONTROL_PLANES: usize = 7;

/// Fails unless `control_planes` of `nodes` nodes is a usable shape: odd (etcd's quorum is a
/// majority: an even count survives no more losses than the odd one below it), from 1 to 7, no
/// more than the nodes.
pub fn check_control_planes(control_planes: usize, nodes: usize) -> Result<()> {
    let why = if control_planes == 0 || control_planes > MAX_CONTROL_PLANES {
        format!("{control_planes}: give an odd number from 1 to {MAX_CONTROL_PLANES}")
    } else if control_planes.is_multiple_of(2) {
        format!(
            "{control_planes}: give an odd number (etcd needs a majority of its members: \
             {control_planes} survive no more losses than {})",
            control_planes - 1
        )
    } else if control_planes > nodes {
        format!(
            "{control_planes} is more than the {nodes} nodes: give --nodes {control_planes} or \
             more (control planes + workers)"
        )
    } else {
        return Ok(());
    };
    Err(Error::ControlPlanes {
        count: control_planes,
        why,
    })
}

/// Fails unless a cluster may have `nodes` nodes.
pub fn check_node_count(nodes: usize) -> Result<()> {
    if nodes == 0 || nodes > MAX_NODES {
        return Err(Error::NodeCount(nodes));
    }
    Ok(())
}

/// A validated cluster name: lower-case letters, digits and '-', starting with a letter or digit
/// (it becomes host names, interface and namespace names).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClusterName(String);

impl ClusterName {
    pub fn new(name: &str) -> Result<Self> {
        if kns_plumbing::cluster_name::is_valid(name) {
            Ok(ClusterName(name.to_owned()))
        } else {
            Err(Error::ClusterName(name.to_owned()))
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
        format!("kns-{}", &kns_plumbing::hex::encode(&digest)[..11])
    }

    /// The CNI network name of the node network.
    pub fn network(&self) -> String {
        format!("kns-{}", self.0)
    }

    /// The kubeconfig context `init` merges into the user's kubeconfig.
    pub fn context(&self) -> String {
        format!("kubeadm-nspawn-{}", self.0)
    }
}

impl std::fmt::Display for ClusterName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ClusterName {
    type Error = Error;
    fn try_from(name: String) -> Result<Self> {
        ClusterName::new(&name)
    }
}

impl From<ClusterName> for String {
    fn from(name: ClusterName) -> String {
        name.0
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
        assert_eq!(c.context(), "kubeadm-nspawn-dev");
        let long = ClusterName::new("a-rather-long-name").unwrap();
        assert_eq!(long.bridge().len(), 15);
        assert_ne!(
            long.bridge(),
            ClusterName::new("a-rather-long-namf").unwrap().bridge()
        );
        for bad in ["", "A", "a/b", "..", "-x", "a_b", &"a".repeat(33)] {
            assert!(ClusterName::new(bad).is_err(), "{bad}");
        }
        let err = ClusterName::new("Dev").unwrap_err().to_string();
        assert!(
            err.starts_with("invalid cluster name \"Dev\": use 1 to 32"),
            "{err}"
        );
        assert!(serde_json::from_str::<ClusterName>("\"a_b\"").is_err());
    }

    #[test]
    fn control_plane_counts_are_odd_and_fit() {
        assert!(check_control_planes(1, 1).is_ok());
        assert!(check_control_planes(3, 4).is_ok());
        for (k, nodes, says) in [
            (0, 3, "odd number from 1 to 7"),
            (2, 3, "survive no more losses than 1"),
            (9, 9, "odd number from 1 to 7"),
            (5, 3, "5 is more than the 3 nodes"),
        ] {
            let err = check_control_planes(k, nodes).unwrap_err().to_string();
            assert!(err.starts_with(&format!("--control-planes {k}")), "{err}");
            assert!(err.contains(says), "{err}");
        }
        assert!(check_node_count(0).is_err() && check_node_count(51).is_err());
    }
}
