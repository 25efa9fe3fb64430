//! What can be wrong with a cluster for what a verb wants of it: each precondition a variant with
//! the command that fixes it.

use std::path::PathBuf;

use crate::host::error::Io;
use crate::model::names::ClusterName;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no cluster \"{0}\"")]
    NoCluster(ClusterName),

    #[error("cluster \"{0}\" already exists")]
    Exists(ClusterName),

    /// A cluster (or some of its nodes) not running where running is needed, or an `up` over a
    /// cluster that exists but is stopped.
    #[error("cluster \"{cluster}\" is stopped ({running} of {total} nodes running)")]
    Stopped {
        cluster: ClusterName,
        running: usize,
        total: usize,
    },

    #[error("cluster \"{0}\" is not initialized")]
    NotInitialized(ClusterName),

    #[error("cluster \"{0}\" is already initialized")]
    AlreadyInitialized(ClusterName),

    #[error("no node \"{0}\"")]
    NoNode(String),

    /// A cluster whose `up` was cut short before it recorded its nodes.
    #[error("cluster \"{0}\" has no nodes")]
    NoNodes(ClusterName),

    /// A cluster's state file that cannot be read as one.
    #[error("{}: not a readable cluster state ({reason})", .path.display())]
    CorruptState {
        cluster: ClusterName,
        path: PathBuf,
        reason: String,
    },

    /// Another verb holds the cluster and `--no-wait` was given.
    #[error("cluster \"{cluster}\" is busy: {holder}")]
    Busy {
        cluster: ClusterName,
        holder: String,
    },

    #[error(transparent)]
    Io(#[from] Io),

    #[error(transparent)]
    Host(#[from] crate::host::Error),

    /// Reaching a node, or a command in it.
    #[error(transparent)]
    Node(#[from] kns_node::Error),

    /// A file in a node's root.
    #[error(transparent)]
    NodeRoot(#[from] kns_node::root::Error),

    /// A node that did not start or stop as it should; `message` says how.
    #[error("node \"{node}\": {message}")]
    NodeFailed { node: String, message: String },

    #[error("writing the state of cluster \"{cluster}\": {message}")]
    Unwritable {
        cluster: ClusterName,
        message: String,
    },

    #[error("interrupted by a signal")]
    Interrupted,

    /// A cluster whose `up` was killed before it finished (its state still says so).
    #[error("an earlier `up` of cluster \"{0}\" did not finish")]
    Unmade(ClusterName),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl kns_plumbing::report::Hint for Error {
    fn hint(&self) -> Option<String> {
        Some(match self {
            Error::NoCluster(name) => format!(
                "create it with `kubeadm-nspawn up --name {name}` (see `kubeadm-nspawn list`)"
            ),
            Error::Exists(name) => {
                format!("use it, or remove it with `kubeadm-nspawn down --name {name}`")
            }
            Error::Stopped { cluster, .. } => format!(
                "`kubeadm-nspawn start --name {cluster}` brings it back (or `down --name {cluster}` \
                 removes it)"
            ),
            Error::NotInitialized(name) => format!("`kubeadm-nspawn init --name {name}` first"),
            Error::AlreadyInitialized(name) => format!(
                "`kubectl --context {}` uses it; `kubeadm-nspawn down --name {name}` and `up` for \
                 a new one",
                name.context()
            ),
            Error::NoNode(_) => "`kubeadm-nspawn list` shows the nodes".into(),
            Error::NoNodes(name) => format!(
                "its `up` did not get that far: `kubeadm-nspawn down --name {name}` removes it"
            ),
            Error::CorruptState { cluster, .. } => {
                format!("`kubeadm-nspawn down --name {cluster}` still removes the cluster")
            }
            Error::Busy { cluster, .. } => format!(
                "wait for it (without --no-wait), or stop it: `kubeadm-nspawn down --name \
                 {cluster}` asks it to stop first"
            ),
            Error::Unmade(name) => format!(
                "`kubeadm-nspawn down --name {name}` removes what it made; then `up` it again"
            ),
            Error::Host(e) => return e.hint(),
            Error::Node(e) => return e.hint(),
            _ => return None,
        })
    }
}
