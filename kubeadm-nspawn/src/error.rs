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

    #[error("{tool} failed: {message}")]
    Tool { tool: String, message: String },

    #[error("node {node}: {message}")]
    Node { node: String, message: String },

    #[error(
        "cluster {0:?} already exists: use it, or remove it with `kubeadm-nspawn down --name {0}`"
    )]
    ClusterExists(String),

    #[error("no cluster {0:?}: create it with `kubeadm-nspawn up --name {0}` (see `kubeadm-nspawn list`)")]
    NoCluster(String),

    #[error("interrupted by a signal")]
    Interrupted,

    #[error("{failure}; cleaning up also failed: {cleanup}")]
    Cleanup {
        failure: Box<Error>,
        cleanup: Box<Error>,
    },
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
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
