//! What can go wrong with the Kubernetes a cluster is to run: its binaries, a released version,
//! the documents kubeadm reads, the kubeconfig.

use std::path::PathBuf;

use crate::host::error::{Io, Timeout};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] Io),

    #[error(transparent)]
    Host(#[from] crate::host::Error),

    /// A command in a node, or reaching it.
    #[error(transparent)]
    Node(#[from] kns_node::Error),

    #[error(transparent)]
    Timeout(#[from] Timeout),

    #[error(transparent)]
    Unwritable(#[from] super::documents::Unwritable),

    #[error("give --kube-bin or --kube-root, not both")]
    TwoSources,

    #[error(
        "no Kubernetes binaries: give --kube-bin DIR (kubeadm, kubelet, kubectl, kube-apiserver, \
         kube-controller-manager, kube-scheduler, kube-proxy) or --kube-root DIR (a built \
         Kubernetes source tree)"
    )]
    NoSource,

    #[error("--kube-bin {}: missing {}", .dir.display(), .missing.join(", "))]
    MissingBinaries {
        dir: PathBuf,
        missing: Vec<&'static str>,
    },

    #[error("--kube-root {}: not a Kubernetes source tree (no cmd/kubeadm)", .0.display())]
    NotATree(PathBuf),

    /// A tree whose `_output` lacks binaries (`output` None: nothing built at all).
    #[error("--kube-root {}: {}", .root.display(), match .output {
        Some(output) => format!("{output} lacks {}", .missing.join(", ")),
        None => "nothing built yet".to_owned(),
    })]
    NotBuilt {
        root: PathBuf,
        output: Option<&'static str>,
        missing: Vec<&'static str>,
    },

    /// The suite's programs not found where the request says (`place`).
    #[error("{} not found in {place} (looked in {})", .missing.join(" and "), .looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NoE2ePrograms {
        missing: Vec<&'static str>,
        place: String,
        looked: Vec<PathBuf>,
        hint: String,
    },

    #[error("--kube-root {}: not a Kubernetes source tree (no test/e2e)", .0.display())]
    NotAnE2eTree(PathBuf),

    /// `--build` without a tree to build in.
    #[error("--build needs a source tree: the binaries of cluster \"{cluster}\" ({}) are not a tree's build", .dir.display())]
    NoTreeToBuild { cluster: String, dir: PathBuf },

    /// The tree's `make` failed; its output went by above.
    #[error("make in {} failed ({status}): its output is above", .tree.display())]
    BuildFailed { tree: PathBuf, status: String },

    #[error("--extra-bin {}: not a directory", .0.display())]
    NotADirectory(PathBuf),

    #[error("no {name} in --extra-bin DIR: {why}")]
    MissingExtra {
        name: &'static str,
        why: &'static str,
    },

    #[error("`{} {args}` printed no version{}: is it a Kubernetes binary for this machine?", .binary.display(), parenthesized(stderr))]
    NoVersion {
        binary: PathBuf,
        args: String,
        stderr: String,
    },

    #[error("{}: `kubeadm version -o short` says \"{said}\", not a version: is it kubeadm?", .binary.display())]
    NotKubeadm { binary: PathBuf, said: String },

    #[error("the Kubernetes binaries in {} are not one build: kubeadm is {kubeadm}, {}", .dir.display(), .mismatched.join(", "))]
    NotOneBuild {
        dir: PathBuf,
        kubeadm: String,
        mismatched: Vec<String>,
    },

    /// `--kube-version`, `--release-mirror` or this machine's architecture, refused.
    #[error("{0}")]
    Release(String),

    /// A release file that could not be fetched, or that does not match its published checksum.
    #[error("{what}: {msg} ({url})")]
    Download {
        what: String,
        url: String,
        msg: String,
        hint: String,
    },

    #[error("{}: not a readable release record ({reason})", .path.display())]
    CorruptRecord { path: PathBuf, reason: String },

    /// The hash of the cluster CA's public key that joining nodes check, not computed.
    #[error("node \"{node}\": no hash of the cluster CA's public key (the command printed \"{output}\")")]
    NoCaHash { node: String, output: String },

    #[error("admin.conf has no {0}: kubeadm init did not finish")]
    AdminConf(&'static str),

    #[error("cannot list the shared libraries of the node base's iptables{}", parenthesized(.0))]
    RuntimeLibraries(String),

    #[error("interrupted by a signal")]
    Interrupted,

    #[error("internal error: {0}")]
    Panicked(#[from] kns_plumbing::parallel::Panicked),

    /// A worker thread that died, or a state a step could not be in: a bug.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// ` (what a program said)`, or nothing when it said nothing.
fn parenthesized(said: &str) -> String {
    if said.is_empty() {
        String::new()
    } else {
        format!(" ({said})")
    }
}

impl Error {
    /// A program's failure (kubectl, kubeadm on the host) with its message.
    pub fn tool(tool: &str, message: impl Into<String>) -> Self {
        Error::Host(crate::host::Error::tool(tool, message))
    }

    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io(Io::new(op, path, source))
    }
}

impl kns_plumbing::report::Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Host(e) => e.hint(),
            Error::Node(e) => e.hint(),
            Error::Timeout(t) => Some(t.look.clone()),
            Error::NotBuilt {
                missing, output, ..
            } => {
                let what: Vec<String> = if output.is_some() {
                    missing.iter().map(|b| format!("cmd/{b}")).collect()
                } else {
                    crate::model::binaries::KUBE_BINARIES
                        .iter()
                        .map(|b| format!("cmd/{b}"))
                        .collect()
                };
                Some(format!(
                    "run `make WHAT=\"{}\"` in the tree",
                    what.join(" ")
                ))
            }
            Error::Download { hint, .. } => Some(hint.clone()),
            Error::NoE2ePrograms { hint, .. } => Some(hint.clone()),
            Error::NoTreeToBuild { .. } => {
                Some("give --kube-root TREE, the tree to build the suite in".into())
            }
            Error::BuildFailed { .. } => Some(
                "make runs as you (the user behind sudo) with sudo's PATH: if it found no go, \
                 run `sudo env PATH=\"$PATH\" kubeadm-nspawn e2e --build ...` or build the suite \
                 yourself"
                    .into(),
            ),
            _ => None,
        }
    }
}
