//! The error of a verb: every layer's error lifted with `#[from]`, the few that only a verb's
//! steps can meet, and the hint of each (the one line saying what to do).

use crate::host::error::Timeout;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What the user asked for cannot be done (a name, a range, a config file).
    #[error(transparent)]
    Invalid(#[from] crate::model::Error),

    #[error(transparent)]
    Cluster(#[from] crate::cluster::Error),

    #[error(transparent)]
    Kube(#[from] crate::kube::Error),

    #[error(transparent)]
    Host(#[from] crate::host::Error),

    /// A kube-proxy mode that cannot run with these binaries, this kernel or this base image.
    #[error(transparent)]
    ProxyMode(#[from] crate::kube::proxy_mode::Error),

    /// Reaching a node, its boot, or a command in it.
    #[error(transparent)]
    Node(#[from] kns_node::Error),

    /// A node's containerd: its version, its restart.
    #[error(transparent)]
    Containerd(#[from] kns_node::containerd::Error),

    #[error(transparent)]
    Timeout(#[from] Timeout),

    #[error(
        "kubeadm-nspawn needs root (it mounts, creates namespaces and boots nodes): run it as root"
    )]
    NotRoot,

    /// A replaced component that did not become healthy; `log` is the end of its log.
    #[error("update of {component} failed: {why}; {}\n{log}", if *.rolled_back { "the previous one is back" } else { "left as it is (--no-rollback)" })]
    UpdateFailed {
        component: String,
        why: String,
        log: String,
        rolled_back: bool,
    },

    /// An update stopped by a signal while it replaced `component`.
    #[error("update of {component} interrupted: {}", if *.put_back { "the previous one is put back" } else { "putting the previous one back failed on some node" })]
    UpdateInterrupted { component: String, put_back: bool },

    /// A precondition of a verb's request that is not a single value's (`init --config` that
    /// describes another cluster, patches of one name).
    #[error("{0}")]
    Request(String),

    #[error("interrupted by a signal")]
    Interrupted,

    /// Specs of the e2e suite failed (`junit`: the reports, `log`: ginkgo's whole output).
    #[error("{failed} of {ran} e2e specs failed (junit: {junit}{})", .logs.as_ref().map(|l| format!("; the cluster's logs: {}", l.display())).unwrap_or_default())]
    SpecsFailed {
        failed: usize,
        ran: usize,
        junit: String,
        logs: Option<std::path::PathBuf>,
        log: std::path::PathBuf,
    },

    /// The e2e suite failed with no spec failing: a suite node, its timeout, ginkgo itself.
    #[error("the e2e suite failed with no failed spec: {why} (ginkgo's output: {})", .log.display())]
    SuiteFailed {
        why: String,
        log: std::path::PathBuf,
    },

    /// The e2e suite stopped by a signal; ginkgo wrote its reports.
    #[error("e2e interrupted by a signal after {passed} passed and {failed} failed specs (ginkgo's reports are in {})", .artifacts.display())]
    E2eInterrupted {
        passed: usize,
        failed: usize,
        artifacts: std::path::PathBuf,
    },

    /// A step ran before the one that prepares what it needs: a bug.
    #[error("internal error: {0}")]
    Internal(String),

    /// A thread doing one node's (or one item's) work panicked: that work failed.
    #[error("internal error: {0}")]
    Panicked(#[from] kns_plumbing::parallel::Panicked),

    /// A failure, and the failure of undoing what came before it: both are said.
    #[error(transparent)]
    Cleanup(#[from] kns_plumbing::undo::Cleanup<Error>),
}

impl kns_plumbing::report::Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Invalid(e) => e.hint(),
            Error::Cluster(e) => e.hint(),
            Error::Kube(e) => e.hint(),
            Error::Host(e) => e.hint(),
            Error::ProxyMode(e) => e.hint(),
            Error::Node(e) => e.hint(),
            Error::Containerd(e) => e.hint(),
            Error::Timeout(t) => Some(t.look.clone()),
            Error::UpdateFailed {
                rolled_back: true, ..
            } => Some("`update --no-rollback` leaves the new one in place to debug it".into()),
            Error::Cleanup(both) => both.failure.hint(),
            Error::UpdateInterrupted { .. } => {
                Some("`kubeadm-nspawn update` again does it again".into())
            }
            Error::SpecsFailed { log, .. } => Some(format!(
                "each failure is in {}; run one again with --focus and its name",
                log.display()
            )),
            Error::SuiteFailed { .. } => Some("the end of ginkgo's output says why".into()),
            _ => None,
        }
    }
}

impl Error {
    /// Whether a termination signal caused it, somewhere down.
    pub fn is_interrupted(&self) -> bool {
        matches!(
            self,
            Error::Interrupted
                | Error::Cluster(crate::cluster::Error::Interrupted)
                | Error::Kube(crate::kube::Error::Interrupted)
                | Error::Node(kns_node::Error::Interrupted { .. })
                | Error::Cluster(crate::cluster::Error::Node(
                    kns_node::Error::Interrupted { .. }
                ))
                | Error::UpdateInterrupted { .. }
                | Error::E2eInterrupted { .. }
                | Error::Containerd(kns_node::containerd::Error::Node(
                    kns_node::Error::Interrupted { .. }
                ))
        )
    }
}

macro_rules! invalid_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Invalid(e.into())
            }
        }
    )*};
}

invalid_from!(
    crate::model::names::Error,
    crate::model::ranges::Error,
    crate::model::ranges6::Error,
    crate::model::config::Error
);

impl From<kns_node::root::Error> for Error {
    fn from(e: kns_node::root::Error) -> Self {
        Error::Cluster(e.into())
    }
}

impl From<crate::host::error::Io> for Error {
    fn from(e: crate::host::error::Io) -> Self {
        Error::Host(e.into())
    }
}

impl From<crate::kube::documents::Unwritable> for Error {
    fn from(e: crate::kube::documents::Unwritable) -> Self {
        Error::Kube(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_containerd_wait_stopped_by_a_signal_is_an_interruption() {
        let stopped: Error = kns_node::containerd::Error::from(kns_node::Error::Interrupted {
            node: "c-n0".into(),
            command: "ctr version".into(),
        })
        .into();
        assert!(stopped.is_interrupted());
        let failed: Error = kns_node::containerd::Error::NoVersion {
            node: "c-n0".into(),
            output: "x".into(),
        }
        .into();
        assert!(!failed.is_interrupted());
    }
}
