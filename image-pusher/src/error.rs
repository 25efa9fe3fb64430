//! The error type of the image-pusher library.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidArgument(String),

    #[error("{archive}: not a usable image archive: {what}")]
    CorruptArchive { archive: String, what: String },

    #[error("{daemon}: {what}")]
    Docker { daemon: String, what: String },

    #[error("node \"{node}\": {what}")]
    Node { node: String, what: String },

    /// Finding a node, or a command in it that failed.
    #[error(transparent)]
    Reach(#[from] kns_node::Error),

    #[error(transparent)]
    Io(#[from] kns_plumbing::path_io::PathIo),
}

impl kns_plumbing::report::Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Reach(e) => e.hint(),
            _ => None,
        }
    }
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io(kns_plumbing::path_io::PathIo::new(op, path, source))
    }
}
