//! The one error type of the cnispawn library. Every variant says what failed and, where the user can
//! act on it, what to do.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidArgument(String),

    #[error(
        "cnispawn needs {missing} (it creates network namespaces and runs CNI plugins): run it as root"
    )]
    NotPrivileged { missing: String },

    #[error(
        "network namespace \"{name}\" already exists at {}: remove it with `cnispawn del --netns {name}` or choose another name",
        .path.display()
    )]
    NetnsExists { name: String, path: PathBuf },

    #[error(transparent)]
    Io(#[from] kns_plumbing::path_io::PathIo),

    #[error("{op}: {source}")]
    Sys {
        op: String,
        #[source]
        source: nix::Error,
    },

    #[error("CNI config {}: {msg}", .path.display())]
    Config { path: PathBuf, msg: String },

    #[error(
        "no CNI network config (*.conf, *.conflist, *.json) in {}: write one there or pass --cni-conf FILE",
        .0.display()
    )]
    NoConfig(PathBuf),

    #[error(
        "CNI plugin \"{plugin}\" not found in {search}: install Debian's containernetworking-plugins or pass --cni-path DIR"
    )]
    PluginNotFound { plugin: String, search: String },

    #[error("CNI plugin \"{plugin}\" {command} failed: {message}")]
    Plugin {
        plugin: String,
        command: &'static str,
        message: String,
    },

    #[error("CNI plugin \"{plugin}\" {command} returned an invalid result: {msg}")]
    BadResult {
        plugin: String,
        command: &'static str,
        msg: String,
    },

    #[error("cannot run `{command}` in network namespace \"{netns}\": {source}")]
    Exec {
        command: String,
        netns: String,
        #[source]
        source: nix::Error,
    },

    #[error("interrupted by a signal; everything cnispawn created was removed")]
    Interrupted,

    /// A failure whose undo also failed: both are reported, the failure first.
    #[error(transparent)]
    Cleanup(#[from] kns_plumbing::undo::Cleanup<Error>),
}

impl kns_plumbing::report::Hint for Error {
    fn hint(&self) -> Option<String> {
        None
    }
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io(kns_plumbing::path_io::PathIo::new(op, path, source))
    }

    pub(crate) fn sys(op: impl Into<String>, source: nix::Error) -> Self {
        Error::Sys {
            op: op.into(),
            source,
        }
    }
}
