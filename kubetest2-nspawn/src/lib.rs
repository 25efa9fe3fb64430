//! kubetest2-nspawn: a kubetest2 deployer whose clusters are kubeadm-nspawn's (systemd-nspawn
//! nodes bootstrapped with the real kubeadm).
//!
//! kubetest2's shim (`kubetest2 nspawn ARGS`) finds `kubetest2-nspawn` on PATH and execs it with
//! every argument; like every kubetest2 deployer binary, this one then parses kubetest2's common
//! flags and its own, and runs the lifecycle itself (kubetest2's pkg/app). It composes
//! kubeadm-nspawn by fork/exec: Up is `kubeadm-nspawn up` and `init`, Down is `export logs`
//! into ARTIFACTS/logs and `down`.
//!
//! - [`cli`]: the command line (kubetest2's flags, the deployer's, the tester's arguments);
//! - [`request`]: it and the environment made one checked request (defaults, the tester found);
//! - [`commands`]: the command lines of the phases (kubeadm-nspawn's verbs, make, the tester);
//! - [`lifecycle`]: the phases in kubetest2's order, Down after a failure or an interrupt;
//! - [`runner`]: the seam that runs programs (supervised for real, recorded in tests);
//! - [`metadata`]: metadata.json and junit_runner.xml.

pub mod cli;
pub mod commands;
pub mod error;
pub mod lifecycle;
pub mod metadata;
pub mod request;
pub mod runner;

#[cfg(test)]
mod tests;

pub use error::{Error, Result};

use std::path::Path;

/// Runs the command line: the request checked (nothing is created for a refused one), then the
/// lifecycle with programs run for real.
pub fn run(args: &cli::Args) -> Result<()> {
    kns_plumbing::signals::install().map_err(|(signal, e)| {
        Error::io(
            "install the handler of",
            signal.as_str(),
            std::io::Error::from(e),
        )
    })?;
    let var = |name: &str| std::env::var_os(name);
    let cwd = std::env::current_dir().map_err(|e| Error::io("read", "the working directory", e))?;
    let own_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    let env = request::Environment {
        var: &var,
        cwd,
        own_dir,
        new_id: &request::random_uuid,
    };
    let request = request::request(args, &env)?;
    if (request.up || request.down) && !kns_plumbing::privileges::is_root() {
        return Err(Error::NotRoot);
    }
    let text = |name: &str| std::env::var(name).ok();
    let mut runner = runner::Real::default();
    let builder = request
        .cluster
        .flags
        .kube_root
        .as_deref()
        .filter(|_| request.build)
        .and_then(tree_owner);
    let mut ctx = lifecycle::Context {
        runner: &mut runner,
        var: &text,
        builder,
    };
    lifecycle::run(&request, &mut ctx)
}

/// Who builds in `tree` when this runs as root: its owner, when that is not root (their home as
/// HOME, for Go's caches).
fn tree_owner(tree: &Path) -> Option<runner::User> {
    use std::os::unix::fs::MetadataExt;
    if !kns_plumbing::privileges::is_root() {
        return None;
    }
    let meta = std::fs::metadata(tree).ok()?;
    if meta.uid() == 0 {
        return None;
    }
    let home = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(meta.uid()))
        .ok()
        .flatten()
        .map(|u| u.dir);
    Some(runner::User {
        uid: meta.uid(),
        gid: meta.gid(),
        home,
    })
}
