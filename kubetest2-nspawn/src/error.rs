//! The deployer's errors: each names what it concerns (the flag, the program, the file, the phase)
//! and says what to do, on one line.

use std::path::PathBuf;

use crate::lifecycle::Phase;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--test=NAME` names a tester that is not on PATH.
    #[error("--test={name}: {program} is not on PATH")]
    TesterNotFound { name: String, program: String },
    /// kubetest2 asks each tester its usage first (`TESTER --help ARGS`); one that cannot answer
    /// is refused before anything runs.
    #[error("--test={name}: `{program} --help` failed ({status}){said}")]
    TesterHelp {
        name: String,
        program: String,
        status: String,
        said: String,
    },
    #[error(
        "--up and --down need root (kubeadm-nspawn makes network namespaces, mounts and nodes)"
    )]
    NotRoot,
    #[error("--build needs --kube-root DIR: the Kubernetes tree to build")]
    BuildWithoutKubeRoot,
    #[error(
        "--cluster-name \"{0}\": use 1 to {max} lower-case letters, digits and '-', starting with a \
         letter or digit",
        max = kns_plumbing::cluster_name::MAX_LEN
    )]
    ClusterName(String),
    #[error("--{flag} {path}: {what}")]
    BadPath {
        flag: &'static str,
        path: PathBuf,
        what: &'static str,
    },
    #[error("--{flag}: {what}")]
    BadValue { flag: &'static str, what: String },
    /// kubeadm-nspawn (which makes the clusters) is neither beside this program nor on PATH.
    #[error("kubeadm-nspawn is neither beside {beside} nor on PATH")]
    KubeadmNspawnNotFound { beside: PathBuf },
    #[error(transparent)]
    Io(#[from] kns_plumbing::path_io::PathIo),
    #[error("{phase}: cannot run {program}: {source}")]
    Spawn {
        phase: Phase,
        program: String,
        source: std::io::Error,
    },
    /// A program of a phase ended without success; its own output (above) says why.
    #[error("{phase}: {program} {status}")]
    Failed {
        phase: Phase,
        program: String,
        status: String,
    },
    /// A termination signal (Ctrl-C) arrived during a phase: it was passed on, the phases after
    /// it were not run (but Down, when asked for).
    #[error("interrupted during {phase}")]
    Interrupted { phase: Phase },
}

impl Error {
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io(kns_plumbing::path_io::PathIo::new(what, path, source))
    }
}

impl kns_plumbing::report::Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::TesterNotFound { program, .. } => Some(format!(
                "install it (kubetest2's testers: go install sigs.k8s.io/kubetest2/kubetest2-tester-NAME@latest) \
                 or put the directory holding {program} on PATH"
            )),
            Error::TesterHelp { .. } => {
                Some("a kubetest2 tester prints its usage and exits 0 for --help".into())
            }
            Error::NotRoot => Some("run it with sudo (sudo -E keeps ARTIFACTS and PATH)".into()),
            Error::BuildWithoutKubeRoot => Some(
                "give --kube-root ~/go/src/k8s.io/kubernetes, or leave out --build and give \
                 --kube-bin DIR"
                    .into(),
            ),
            Error::KubeadmNspawnNotFound { .. } => Some(
                "build the workspace (cargo build --workspace), put kubeadm-nspawn on PATH, or \
                 give --kubeadm-nspawn PATH"
                    .into(),
            ),
            Error::Failed {
                phase: Phase::Up, ..
            } => Some("with --down the cluster was removed again; without it, `kubeadm-nspawn export logs --name NAME` shows why".into()),
            Error::Interrupted { .. } => {
                Some("a second Ctrl-C kills what runs at once, without waiting for it".into())
            }
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
