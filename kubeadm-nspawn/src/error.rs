//! The error type of the orchestrator library.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidArgument(String),

    #[error(
        "kubeadm-nspawn needs root (it mounts, creates namespaces and boots nodes): run it as root"
    )]
    NotRoot,

    #[error("{op} {}: {source}", .path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A sibling tool failed; `message` is its report (see [`kns_plumbing::report`]), `hint` its
    /// hint line, passed on.
    #[error("{tool} failed: {message}")]
    Tool {
        tool: String,
        message: String,
        hint: Option<String>,
    },

    #[error("node {node}: {message}")]
    Node { node: String, message: String },

    /// Finding a node, its boot, or a command in it that failed.
    #[error(transparent)]
    Reach(#[from] kns_node::Error),

    /// Something did not happen in time: what, how long it was given, where to look.
    #[error("{what}: not done after {after:?}")]
    Timeout {
        what: String,
        after: std::time::Duration,
        look: String,
    },

    /// A cluster's state file that cannot be read as one.
    #[error("{}: not a readable cluster state ({reason})", .path.display())]
    CorruptState { path: PathBuf, reason: String },

    /// A step ran before the one that prepares what it needs, or a worker thread died: a bug.
    #[error("internal error: {0}")]
    Internal(String),

    #[error(
        "cluster {0:?} already exists: use it, or remove it with `kubeadm-nspawn down --name {0}`"
    )]
    ClusterExists(String),

    #[error("no cluster {0:?}: create it with `kubeadm-nspawn up --name {0}` (see `kubeadm-nspawn list`)")]
    NoCluster(String),

    /// A cluster (or one of its nodes) that is not running where running is needed, or an `up`
    /// over a cluster that exists but is stopped.
    #[error("cluster {cluster:?} is stopped ({running} of {total} nodes running): `kubeadm-nspawn start --name {cluster}` brings it back")]
    Stopped {
        cluster: String,
        running: usize,
        total: usize,
    },

    /// A replaced component that did not become healthy; `log` is the end of its log.
    #[error("update of {component} failed: {why}; {}\n{log}", if *.rolled_back { "the previous one is back" } else { "left as it is (--no-rollback)" })]
    UpdateFailed {
        component: String,
        why: String,
        log: String,
        rolled_back: bool,
    },

    /// A release file that could not be fetched, or that does not match its published checksum.
    #[error("{what}: {msg} ({url})")]
    Download {
        what: String,
        url: String,
        msg: String,
        hint: String,
    },

    #[error("interrupted by a signal")]
    Interrupted,

    /// A thread doing one node's (or one item's) work panicked: that work failed.
    #[error("internal error: {0}")]
    Panicked(#[from] kns_plumbing::parallel::Panicked),

    #[error("{failure}; cleaning up also failed: {cleanup}")]
    Cleanup {
        failure: Box<Error>,
        cleanup: Box<Error>,
    },
}

impl kns_plumbing::report::Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Timeout { look, .. } => Some(look.clone()),
            Error::CorruptState { path, .. } => {
                let cluster = path
                    .parent()
                    .and_then(|d| d.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Some(format!(
                    "`kubeadm-nspawn down --name {cluster}` still removes the cluster"
                ))
            }
            Error::Tool { hint, .. } => hint.clone(),
            Error::Download { hint, .. } => Some(hint.clone()),
            Error::UpdateFailed {
                rolled_back: true, ..
            } => Some("`update --no-rollback` leaves the new one in place to debug it".into()),
            Error::Stopped { cluster, .. } => Some(format!(
                "`kubeadm-nspawn down --name {cluster}` removes it instead"
            )),
            Error::Reach(e) => e.hint(),
            Error::Cleanup { failure, .. } => failure.hint(),
            _ => None,
        }
    }
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// A sibling tool's failure without a report of its own (it could not run, or printed no JSON).
    pub(crate) fn tool(tool: &str, message: impl Into<String>) -> Self {
        Error::Tool {
            tool: tool.into(),
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn node(node: &str, message: impl Into<String>) -> Self {
        Error::Node {
            node: node.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn with_cleanup(self, cleanup: Result<()>) -> Self {
        match cleanup {
            Ok(()) => self,
            Err(cleanup) => Error::Cleanup {
                failure: Box::new(self),
                cleanup: Box::new(cleanup),
            },
        }
    }
}
