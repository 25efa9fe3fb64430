//! Support for the workspace's privileged integration tests:
//!
//! - [`require_root`]: privileged tests print one `SKIPPED:` line and pass when not run as root;
//! - [`unique_prefix`]: every host object a test creates carries `knst<random>` in its name;
//! - [`LeakCheck`]: a snapshot of host state (mounts, links, netns, iptables, CNI state files,
//!   processes) taken before a test and compared after it;
//! - [`PrefixSweeper`]: a Drop guard that removes every host object whose name carries a prefix, so
//!   a failing or panicking test still leaves nothing behind;
//! - [`serial`]: leak-checked tests in one binary take turns, so one test's objects never show up in
//!   another's snapshot;
//! - [`bin`], [`run`]: the workspace's binaries, and running them with captured output;
//! - [`host::StandInHost`]: an ordinary systemd host (PID 1 systemd, machined) made from a container,
//!   for the host-matrix tier.

pub mod cluster;
pub mod dockerd;
pub mod host;
pub mod kubectl;
mod leak;
pub mod mirror;
mod node;
mod sweeper;
pub mod workload;

use leak::list_dir;
pub use leak::{HostSnapshot, LeakCheck};
pub use node::TestNode;
pub use sweeper::PrefixSweeper;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};

/// The directory of the workspace's binaries (`target/debug`), found from the test executable
/// (`target/debug/deps/<test>`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps")
        .to_path_buf()
}

/// A workspace binary, e.g. `bin("cnispawn")`.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        path.display()
    );
    path
}

/// True when running as root. Otherwise prints one `SKIPPED:` line naming the test.
pub fn require_root(test: &str) -> bool {
    if kns_plumbing::privileges::is_root() {
        return true;
    }
    skipped(&format!(
        "{test} needs root (it creates network namespaces, mounts and nodes)"
    ));
    false
}

/// Prints `SKIPPED: <why>` straight to stderr, past the test harness's output capture, so a
/// skipped tier shows in every `cargo test` run.
pub fn skipped(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}

/// `knst` + 6 random hex digits: short enough for interface names (15 characters) with a suffix.
pub fn unique_prefix() -> String {
    let mut bytes = [0u8; 3];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    format!("knst{:02x}{:02x}{:02x}", bytes[0], bytes[1], bytes[2])
}

static SERIAL: Mutex<()> = Mutex::new(());

/// Held for the length of a leak-checked test. A test that panicked while holding it does not
/// poison the others.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs a command with no stdin, captures its output.
pub fn run(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Output {
    let program = program.as_ref();
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {program:?}: {e}"))
}

/// Runs a command that must succeed; returns its stdout.
pub fn run_ok(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> String {
    let program = program.as_ref();
    stdout_of_success(&run(program, args), &format!("{program:?} {args:?}"))
}

/// The stdout of `out`, which must have succeeded; else a panic naming `what` with its status and
/// everything it said (run_ok's, and the stand-in hosts' commands').
pub fn stdout_of_success(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Mounts an overlay of `lower` (read-only) and `upper` (the writes, `work` its work directory) on
/// `root`, as a node's or a stand-in host's root file system.
pub(crate) fn mount_overlay(lower: &Path, upper: &Path, work: &Path, root: &Path) {
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    );
    run_ok(
        "mount",
        &[
            "-t",
            "overlay",
            "overlay",
            "-o",
            &options,
            root.to_str().unwrap(),
        ],
    );
}

/// Now as the API server writes times (`YYYY-MM-DDTHH:MM:SSZ`, which compare as strings).
pub fn utc_now() -> String {
    run_ok("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .trim()
        .to_owned()
}

/// Runs the body of a privileged test: without root, one `SKIPPED:` line and a pass; otherwise
/// serialised with the other privileged tests, given a fresh prefix and its sweeper, and checked for
/// leaks after the sweeper has run (also when the body panics, the sweeper still runs).
pub fn privileged_test(name: &str, body: impl FnOnce(&PrefixSweeper)) {
    if !require_root(name) {
        return;
    }
    let _serial = serial();
    become_subreaper();
    let leak = LeakCheck::start();
    {
        let sweeper = PrefixSweeper::new(&unique_prefix());
        body(&sweeper);
    }
    reap_orphans();
    leak.assert_clean(name);
}

/// Makes this test process the reaper of orphans it causes: nodes outlive the `up` that started
/// them, and where PID 1 does not reap (as on these machines) they would stay zombies.
pub fn become_subreaper() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes an integer and touches no memory of ours.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

/// Reaps this process's zombie children (orphans reparented to it as subreaper).
pub fn reap_orphans() {
    let own = std::process::id().to_string();
    for pid in list_dir("/proc")
        .into_iter()
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may contain spaces, so split after the last ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        if fields.first() == Some(&"Z") && fields.get(1) == Some(&own.as_str()) {
            if let Ok(pid) = pid.parse::<i32>() {
                // SAFETY: waitpid on a zombie child of this process.
                unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
            }
        }
    }
}

/// Debian's busybox-static binary, fetched the way the issue asks (`apt-get download` of the
/// package into `dir`, `dpkg-deb -x`), so tests use a real static binary from the archive.
pub fn debian_busybox_static(dir: &Path) -> PathBuf {
    let extracted = dir.join("busybox-static");
    let busybox = extracted.join("bin/busybox");
    if busybox.exists() {
        return busybox;
    }
    std::fs::create_dir_all(dir).unwrap();
    let download = Command::new("apt-get")
        .args(["download", "-q", "busybox-static"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        download.status.success(),
        "apt-get download busybox-static (needs Debian's archive; run `apt-get update`): {}",
        String::from_utf8_lossy(&download.stderr)
    );
    let deb = list_dir(dir)
        .into_iter()
        .find(|f| f.starts_with("busybox-static_") && f.ends_with(".deb"))
        .expect("the downloaded .deb");
    run_ok(
        "dpkg-deb",
        &[
            "-x",
            dir.join(deb).to_str().unwrap(),
            extracted.to_str().unwrap(),
        ],
    );
    assert!(busybox.exists(), "no bin/busybox in busybox-static");
    busybox
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_short_and_distinct() {
        let a = unique_prefix();
        let b = unique_prefix();
        assert_eq!(a.len(), 10);
        assert!(a.starts_with("knst"));
        assert_ne!(a, b);
    }

    #[test]
    fn snapshot_difference_lists_only_new_items() {
        let before = HostSnapshot(["link lo".to_string()].into());
        let after = HostSnapshot(["link lo".to_string(), "netns knst1".to_string()].into());
        assert_eq!(after.added_since(&before), ["netns knst1"]);
        assert!(before.added_since(&after).is_empty());
    }
}
