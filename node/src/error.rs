//! What can go wrong reaching a node or running something in it.

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("node \"{node}\" is not running (no systemd-nspawn --machine={node})")]
    NotRunning { node: String },

    /// A node given by PID (`node` is what was given) whose process is not there.
    #[error("no process {pid}: give a running node's name, or the PID of its systemd-nspawn")]
    NoProcess { node: String, pid: u32 },

    #[error("node \"{node}\" has no running systemd yet (still starting?)")]
    NoInit { node: String },

    #[error("node \"{node}\": cannot run `{command}`: {source}")]
    Spawn {
        node: String,
        command: String,
        #[source]
        source: std::io::Error,
    },

    /// The node's systemd exited while a command ran in it: the command was killed.
    #[error("node \"{node}\" is gone (its systemd exited) while `{command}` ran")]
    Gone { node: String, command: String },

    /// A termination signal stopped a command in the node.
    #[error("node \"{node}\": `{command}` stopped: interrupted by a signal")]
    Interrupted { node: String, command: String },

    /// A command ran and failed; `output` holds its last lines.
    #[error("node \"{node}\": `{command}` failed ({status}){}", below(":", output))]
    Failed {
        node: String,
        command: String,
        status: std::process::ExitStatus,
        output: String,
    },

    #[error("node \"{node}\" booted degraded, failed units: {}", .units.join(", "))]
    Degraded { node: String, units: Vec<String> },

    #[error(
        "node \"{node}\" exited while booting{}",
        below("; the end of its log:", log_tail)
    )]
    ExitedWhileBooting { node: String, log_tail: String },

    #[error("node \"{node}\" did not boot within {}{}", kns_plumbing::report::seconds(*.timeout), below("; the end of its log:", log_tail))]
    BootTimeout {
        node: String,
        timeout: std::time::Duration,
        log_tail: String,
    },
}

/// `text` on the lines below `intro`, or nothing when it is empty.
fn below(intro: &str, text: &str) -> String {
    if text.trim().is_empty() {
        String::new()
    } else {
        format!("{intro}\n{text}")
    }
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
            Error::NotRunning { .. } | Error::NoProcess { .. } => Some(
                "`kubeadm-nspawn list` shows the nodes and whether they run; \
                 `kubeadm-nspawn start --name CLUSTER` starts a stopped cluster's nodes"
                    .into(),
            ),
            Error::NoInit { node }
            | Error::ExitedWhileBooting { node, .. }
            | Error::BootTimeout { node, .. } => Some(format!(
                "read its console log: nodes/{node}/log in its cluster's directory \
                 (/var/lib/kubeadm-nspawn/CLUSTER unless --state-dir says otherwise)"
            )),
            Error::Degraded { node, units } => Some(format!(
                "`kubeadm-nspawn exec {node} -- systemctl status {}` says why",
                units.first().map_or("UNIT", String::as_str)
            )),
            Error::Spawn { .. }
            | Error::Gone { .. }
            | Error::Interrupted { .. }
            | Error::Failed { .. } => None,
        }
    }
}
