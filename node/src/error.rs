//! What can go wrong reaching a node or running something in it.

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("node {node}: is not running (no systemd-nspawn --machine={node}); `kubeadm-nspawn list` shows the nodes")]
    NotRunning { node: String },

    #[error("node {node}: process {pid} does not exist: is the node running?")]
    NoProcess { node: String, pid: u32 },

    #[error("node {node}: has no running systemd yet (still starting?)")]
    NoInit { node: String },

    #[error("node {node}: cannot run `{command}`: {source}")]
    Spawn {
        node: String,
        command: String,
        #[source]
        source: std::io::Error,
    },

    /// The node's systemd exited while a command ran in it: the command was killed.
    #[error("node {node}: is gone (its systemd exited) while `{command}` ran")]
    Gone { node: String, command: String },

    /// A termination signal stopped a command in the node.
    #[error("node {node}: `{command}` stopped: interrupted by a signal")]
    Interrupted { node: String, command: String },

    /// A command ran and failed; `output` holds its last lines.
    #[error("node {node}: `{command}` failed ({status}):\n{output}")]
    Failed {
        node: String,
        command: String,
        status: std::process::ExitStatus,
        output: String,
    },

    #[error("node {node}: booted degraded, failed units: {} (see `kubeadm-nspawn exec {node} -- systemctl status <unit>`)", .units.join(", "))]
    Degraded { node: String, units: Vec<String> },

    #[error("node {node}: exited while booting; the end of its log:\n{log_tail}")]
    ExitedWhileBooting { node: String, log_tail: String },

    #[error("node {node}: did not boot within {}; the end of its log:\n{log_tail}", kns_plumbing::report::seconds(*.timeout))]
    BootTimeout {
        node: String,
        timeout: std::time::Duration,
        log_tail: String,
    },
}

impl Error {
    /// The node the error is about.
    pub fn node(&self) -> &str {
        match self {
            Error::NotRunning { node }
            | Error::NoProcess { node, .. }
            | Error::NoInit { node }
            | Error::Spawn { node, .. }
            | Error::Gone { node, .. }
            | Error::Interrupted { node, .. }
            | Error::Failed { node, .. }
            | Error::Degraded { node, .. }
            | Error::ExitedWhileBooting { node, .. }
            | Error::BootTimeout { node, .. } => node,
        }
    }
}

impl kns_plumbing::report::Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::NoInit { node } | Error::ExitedWhileBooting { node, .. } => Some(format!(
                "its console log is nodes/{node}/log in the cluster's directory"
            )),
            _ => None,
        }
    }
}
