//! Steps: the artifacts directory (it holds the last run: what an earlier run wrote there is
//! taken out first), and the tree's `make` of the suite.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::actions::export_logs;
use crate::error::{Error, Result};
use crate::host::error::Io;
use crate::kube::e2e::programs::{self, Builder};

/// ginkgo's whole output, in the artifacts directory.
pub const LOG: &str = "e2e.log";
/// Where the cluster's logs go.
const LOGS: &str = "logs";
/// The reports a run writes (and an earlier run left).
const REPORTS: &[&str] = &[
    "junit.xml",
    "junit-parallel.xml",
    "junit-serial.xml",
    "ginkgo-report.json",
    "ginkgo-report-parallel.json",
    "ginkgo-report-serial.json",
];
/// What marks a directory an export of logs (see [`export_logs`]).
const EXPORT_MARK: &str = "cluster/versions.txt";

/// The artifacts directory, ready.
pub struct Artifacts {
    pub dir: PathBuf,
    pub log_path: PathBuf,
    pub log: File,
    /// This run made the directory.
    created: bool,
}

impl Artifacts {
    pub fn logs_dir(&self) -> PathBuf {
        self.dir.join(LOGS)
    }

    /// What this run wrote becomes `owner`'s (the user behind `sudo`): the directory if it made
    /// it, the log, the reports, the exported logs. Nothing else of the directory is touched.
    pub fn give_to(&self, owner: (u32, u32), logs: Option<&Path>) {
        let chown = |p: &Path| {
            let _ = std::os::unix::fs::lchown(p, Some(owner.0), Some(owner.1));
        };
        if self.created {
            chown(&self.dir);
        }
        chown(&self.log_path);
        for report in REPORTS {
            let path = self.dir.join(report);
            if path.exists() {
                chown(&path);
            }
        }
        if let Some(logs) = logs {
            export_logs::chown_tree(logs, owner);
        }
    }
}

/// Makes `dir` (and its parents), takes out what an earlier run wrote (its log, reports and
/// exported logs), and opens the log.
pub fn prepare(dir: &Path) -> Result<Artifacts> {
    let created = !dir.exists();
    std::fs::create_dir_all(dir).map_err(|e| Io::new("create", dir, e))?;
    for file in REPORTS.iter().chain(&[LOG]) {
        let path = dir.join(file);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Io::new("remove", path, e).into()),
        }
    }
    let logs = dir.join(LOGS);
    if logs.join(EXPORT_MARK).is_file() {
        std::fs::remove_dir_all(&logs).map_err(|e| Io::new("remove", &logs, e))?;
    } else {
        export_logs::check_empty(&logs).map_err(|_| {
            Error::Request(format!(
                "{} holds files that are not an earlier run's logs: give another --artifacts",
                logs.display()
            ))
        })?;
    }
    let log_path = dir.join(LOG);
    let log = File::create(&log_path).map_err(|e| Io::new("create", &log_path, e))?;
    Ok(Artifacts {
        dir: dir.to_path_buf(),
        log_path,
        log,
        created,
    })
}

/// `make WHAT="test/e2e/e2e.test vendor/github.com/onsi/ginkgo/v2/ginkgo cmd/kubectl"` in
/// `tree`, its output passed on as it comes, run as `owner` (under `sudo`, the tree's person).
pub fn build(tree: &Path, owner: Option<(u32, u32)>) -> Result<()> {
    let builder = owner.map(|(uid, gid)| Builder {
        uid,
        gid,
        home: nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten()
            .map(|u| u.dir),
    });
    let command = programs::build_command(tree, builder.as_ref());
    kns_plumbing::say!(
        "   make WHAT=\"{}\" in {}",
        programs::MAKE_WHAT,
        tree.display()
    );
    let mut line = Vec::new();
    let ended = kns_plumbing::child::run_streaming(command, MAKE_STOP, |chunk| {
        for &byte in chunk {
            if byte == b'\n' {
                kns_plumbing::say!("   | {}", String::from_utf8_lossy(&line));
                line.clear();
            } else {
                line.push(byte);
            }
        }
    })
    .map_err(|e| crate::host::Error::tool("make", format!("cannot run it: {e}")))?;
    if !line.is_empty() {
        kns_plumbing::say!("   | {}", String::from_utf8_lossy(&line));
    }
    if ended.interrupted {
        return Err(Error::Interrupted);
    }
    if !ended.status.success() {
        return Err(crate::kube::Error::BuildFailed {
            tree: tree.to_path_buf(),
            status: ended.status.to_string(),
        }
        .into());
    }
    Ok(())
}

/// A Ctrl-C during the build: make (and the go it runs) stops as at a terminal.
const MAKE_STOP: kns_plumbing::child::Stop = kns_plumbing::child::Stop {
    signal: libc::SIGINT,
    grace: std::time::Duration::from_secs(10),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_earlier_runs_files_are_taken_out_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = dir.path().join("_artifacts");
        let first = prepare(&artifacts).unwrap();
        assert!(first.created);
        std::fs::write(artifacts.join("junit.xml"), "<old/>").unwrap();
        std::fs::write(artifacts.join("mine.txt"), "keep").unwrap();
        std::fs::create_dir_all(artifacts.join("logs/cluster")).unwrap();
        std::fs::write(artifacts.join("logs").join(EXPORT_MARK), "v").unwrap();
        drop(first);
        let again = prepare(&artifacts).unwrap();
        assert!(!again.created);
        assert!(!artifacts.join("junit.xml").exists());
        assert!(!artifacts.join("logs").exists());
        assert!(artifacts.join("mine.txt").exists());
        assert_eq!(std::fs::read(artifacts.join(LOG)).unwrap(), b"");
        // A logs directory that is not an export is nobody's to remove.
        std::fs::create_dir_all(artifacts.join("logs")).unwrap();
        std::fs::write(artifacts.join("logs/notes.txt"), "mine").unwrap();
        let err = prepare(&artifacts).err().unwrap().to_string();
        assert!(err.contains("not an earlier run's logs"), "{err}");
    }
}
