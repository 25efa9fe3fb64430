//! The error type of the rootfs-builder library.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidArgument(String),

    #[error("rootfs-builder needs root (it creates device nodes, sets file owners and mounts): run it as root")]
    NotRoot,

    #[error(transparent)]
    Io(#[from] kns_plumbing::path_io::PathIo),

    #[error("{program} failed ({status}); the last lines it printed:\n{tail}")]
    Command {
        program: String,
        status: String,
        tail: String,
    },

    /// `hint` says how to install it.
    #[error("{program} is not installed")]
    MissingProgram { program: String, hint: String },

    #[error("download {url}: {msg}")]
    Download { url: String, msg: String },

    #[error(
        "sha256 mismatch for {url}: expected {expected}, got {actual}; nothing was added to the cache"
    )]
    Checksum {
        url: String,
        expected: String,
        actual: String,
    },

    #[error("unsafe archive entry \"{entry}\": {why}; nothing was added to the cache")]
    UnsafeEntry { entry: String, why: String },

    #[error("archive: {0}; nothing was added to the cache")]
    Archive(String),

    #[error("interrupted by a signal; the partial build was removed")]
    Interrupted,

    /// A failure whose undo also failed: both are reported, the failure first.
    #[error(transparent)]
    Cleanup(#[from] kns_plumbing::undo::Cleanup<Error>),
}

impl kns_plumbing::report::Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::MissingProgram { hint, .. } => Some(hint.clone()),
            Error::Cleanup(both) => both.failure.hint(),
            Error::InvalidArgument(_)
            | Error::NotRoot
            | Error::Io(_)
            | Error::Command { .. }
            | Error::Download { .. }
            | Error::Checksum { .. }
            | Error::UnsafeEntry { .. }
            | Error::Archive(_)
            | Error::Interrupted => None,
        }
    }
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io(kns_plumbing::path_io::PathIo::new(op, path, source))
    }
}
