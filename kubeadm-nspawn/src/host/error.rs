//! What can go wrong doing something to the host.

use std::path::PathBuf;

/// An operation on a host path that failed: what was done, to which path, why (the one every
/// tool's errors carry).
pub use kns_plumbing::path_io::PathIo as Io;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] Io),

    /// A program failed (a sibling tool, `ip`); `message` is its report (see
    /// [`kns_plumbing::report`]), `hint` its hint line, passed on.
    #[error("{tool} failed{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Tool {
        tool: String,
        message: String,
        hint: Option<String>,
    },

    /// A node's cgroups that could not be made, limited or emptied.
    #[error("node \"{node}\": {message}")]
    Cgroup { node: String, message: String },

    /// The host's cgroups cannot hold a kubelet: `why`.
    #[error("{0}")]
    NoKubelet(String),

    /// A file in a node's root.
    #[error(transparent)]
    NodeRoot(#[from] kns_node::root::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A program's failure without a report of its own (it could not run, or printed no JSON).
    pub fn tool(tool: &str, message: impl Into<String>) -> Self {
        Error::Tool {
            tool: tool.into(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io(Io::new(op, path, source))
    }
}

impl kns_plumbing::report::Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Tool { hint, .. } => hint.clone(),
            Error::NoKubelet(_) => Some(
                "nodes still boot here (`up`, `stop`, `start`, `exec`); Kubernetes needs a host whose \
                 cgroups have the controllers (docs/hosts.md)"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// Something did not happen in time: what, how long it was given, what it was still waiting for
/// and the last error seen meanwhile, and where to look.
#[derive(Debug, thiserror::Error)]
#[error("{what}: not done after {}{}{}", kns_plumbing::report::seconds(*.after), .waiting.as_ref().map(|w| format!(" ({w})")).unwrap_or_default(), .last_error.as_ref().map(|e| format!("; last error: {e}")).unwrap_or_default())]
pub struct Timeout {
    pub what: String,
    pub after: std::time::Duration,
    pub waiting: Option<String>,
    pub last_error: Option<String>,
    /// What to look at: a command, a log.
    pub look: String,
}
