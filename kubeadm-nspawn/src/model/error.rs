//! What can be wrong with what a user asked for, found before anything on the host is touched.

use std::path::PathBuf;

use super::ranges::{Cidr, RangeKind};

/// Bad input: one line naming the value and what to give instead.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "invalid cluster name \"{0}\": use 1 to {max} lower-case letters, digits and '-', starting \
         with a letter or digit",
        max = super::names::MAX_NAME_LEN
    )]
    ClusterName(String),

    #[error("invalid {what} \"{text}\": {why}")]
    Cidr {
        what: String,
        text: String,
        why: &'static str,
    },

    #[error("invalid --subnet {0}: the prefix must be between /8 and /28 (nodes start at .10)")]
    SubnetPrefix(Cidr),

    #[error("--subnet {subnet} holds only {capacity} nodes")]
    SubnetTooSmall { subnet: Cidr, capacity: usize },

    #[error("--pod-subnet {pods} is too small for {nodes} nodes (each needs at least a /28)")]
    PodRangeTooSmall { pods: Cidr, nodes: usize },

    /// A range that overlaps another of the cluster's, one of the host's, or another cluster's;
    /// `free` is one of the same size that does not.
    #[error("{} {range} collides with {with}", .kind.flag())]
    Collision {
        kind: RangeKind,
        range: Cidr,
        with: String,
        free: Option<Cidr>,
    },

    #[error("no free /16 for the nodes in 10.0.0.0/8 or 172.16.0.0/12")]
    NoFreeSubnet,

    #[error("--nodes {0}: a cluster has 1 to {max} nodes", max = super::names::MAX_NODES)]
    NodeCount(usize),

    #[error("--control-planes {count}: {why}")]
    ControlPlanes { count: usize, why: String },

    /// A cluster config file that cannot be used; `message` names the field's path.
    #[error("{}: {message}", .file.display())]
    ConfigFile { file: PathBuf, message: String },

    /// A kubeadm patch file named as kubeadm does not read.
    #[error("--kubeadm-patch {name}: {}", if *.extension { "must end in .yaml or .json".to_owned() } else {
        format!(
            "kubeadm patch files are named TARGET[SUFFIX][+strategic|merge|json].yaml with TARGET one of {}",
            super::config::PATCH_TARGETS.join(", ")
        )
    })]
    PatchName {
        name: String,
        /// The extension is wrong (else the target or the patch type).
        extension: bool,
    },

    /// Any other value of a flag that cannot be used, said in full.
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl kns_plumbing::report::Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Collision {
                kind,
                free: Some(free),
                ..
            } => Some(format!("{} {free} is free", kind.flag())),
            Error::NoFreeSubnet => Some("pass --subnet with a range of your choice".into()),
            Error::ConfigFile { .. } => Some("docs/config.md documents every field".into()),
            _ => None,
        }
    }
}
