//! The cluster lock: every verb that changes a cluster holds it for its whole run (an exclusive
//! `flock` on `<cluster>/lock`), so two verbs never change one cluster at once. The holder writes
//! who it is into the file; a second verb waits with one line naming it (or, told not to wait,
//! refuses). Verbs that only read never take it. The lock goes with the holder's process: a
//! killed verb leaves nothing held, and its descendants (nodes, tools) do not inherit it (the file
//! is opened close-on-exec).

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use crate::host::error::Io;
use crate::model::names::ClusterName;

/// Who holds a cluster's lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The verb (`init`, `stop`).
    pub verb: String,
    pub pid: u32,
    /// Its process group, which a `down` asks to stop as Ctrl-C would.
    pub pgid: i32,
    /// Seconds since the epoch when it took the lock.
    pub since: u64,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (pid {})", self.verb, self.pid)
    }
}

impl Holder {
    fn me(verb: &str) -> Holder {
        Holder {
            verb: verb.to_owned(),
            pid: std::process::id(),
            // SAFETY: getpgrp has no failure and touches no memory.
            pgid: unsafe { libc::getpgrp() },
            since: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        }
    }
}

/// Whether a verb waits for a busy cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Wait, saying once for whom.
    Wait,
    /// Refuse with [`Error::Busy`].
    NoWait,
    /// `down`'s way: ask the holder to stop (SIGINT, as a Ctrl-C would: it undoes or records
    /// what it did and exits), and kill it if it is still there after [`TAKE_OVER_KILL`].
    TakeOver,
}

/// How long a holder asked to stop has before it is killed.
pub const TAKE_OVER_KILL: Duration = Duration::from_secs(8);

/// A held cluster lock; released when dropped.
pub struct ClusterLock {
    _flock: Flock<File>,
}

fn open(path: &Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| Io::new("open", path, e).into())
}

/// Who holds the lock at `path`, if anyone does now.
pub fn holder(path: &Path) -> Option<Holder> {
    let file = File::open(path).ok()?;
    match Flock::lock(file, FlockArg::LockSharedNonblock) {
        // Free: whatever the file says is from a verb that is gone.
        Ok(_) => None,
        Err((mut file, _)) => {
            let mut text = String::new();
            file.read_to_string(&mut text).ok()?;
            serde_json::from_str(&text).ok()
        }
    }
}

/// Takes the lock at `path` for `verb` of cluster `name`; with [`Wait::Wait`] a busy lock is
/// waited for (`waiting` is told the holder once), stopped by a termination signal.
pub fn acquire(
    path: &Path,
    name: &ClusterName,
    verb: &str,
    wait: Wait,
    waiting: impl FnOnce(&Holder),
) -> Result<ClusterLock> {
    let mut waiting = Some(waiting);
    let mut take_over = TakeOver::default();
    let mut file = open(path)?;
    let mut flock = loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(flock) => break flock,
            Err((f, nix::errno::Errno::EWOULDBLOCK)) => {
                file = f;
                let current = holder(path);
                match wait {
                    Wait::NoWait => {
                        return Err(Error::Busy {
                            cluster: name.clone(),
                            holder: current
                                .map_or_else(|| "another verb".to_owned(), |h| h.to_string()),
                        })
                    }
                    Wait::TakeOver => {
                        if let Some(h) = &current {
                            take_over.press(h, name);
                        }
                    }
                    Wait::Wait => {
                        if let (Some(tell), Some(h)) = (waiting.take(), &current) {
                            tell(h);
                        }
                    }
                }
                if kns_plumbing::signals::interrupted() {
                    return Err(Error::Interrupted);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err((_, e)) => return Err(Io::errno("lock", path, e).into()),
        }
    };
    let me = serde_json::to_vec(&Holder::me(verb)).unwrap_or_default();
    (|| {
        flock.set_len(0)?;
        flock.rewind()?;
        flock.write_all(&me)?;
        flock.flush()
    })()
    .map_err(|e| Io::new("write", path, e))?;
    Ok(ClusterLock { _flock: flock })
}

/// A take-over under way: the holder asked to stop once, killed once it has had its time.
#[derive(Default)]
struct TakeOver {
    asked: Option<(u32, std::time::Instant)>,
    killed: bool,
}

impl TakeOver {
    fn press(&mut self, holder: &Holder, name: &ClusterName) {
        let pid = nix::unistd::Pid::from_raw(holder.pid as i32);
        match self.asked {
            // A new holder (the first one ended and another verb took the lock meanwhile).
            Some((asked, _)) if asked != holder.pid => {
                self.asked = None;
                self.killed = false;
                self.press(holder, name);
            }
            None => {
                kns_plumbing::say!(
                    "asking {holder} on cluster \"{name}\" to stop (down goes first)"
                );
                // The holder's own pid, from the lock it holds: the verb records the signal,
                // stops what it runs and exits.
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
                self.asked = Some((holder.pid, std::time::Instant::now()));
            }
            Some((_, since)) if !self.killed && since.elapsed() >= TAKE_OVER_KILL => {
                kns_plumbing::say!(
                    "{holder} did not stop within {}: killing it",
                    kns_plumbing::report::seconds(TAKE_OVER_KILL)
                );
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                self.killed = true;
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_names_its_holder_and_refuses_or_waits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let name = ClusterName::new("c").unwrap();
        assert_eq!(holder(&path), None);
        let held = acquire(&path, &name, "init", Wait::NoWait, |_| {}).unwrap();
        let h = holder(&path).unwrap();
        assert_eq!((h.verb.as_str(), h.pid), ("init", std::process::id()));
        // A second open file description: as another process would take it.
        let err = acquire(&path, &name, "stop", Wait::NoWait, |_| {})
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            err,
            format!("cluster \"c\" is busy: init (pid {})", std::process::id())
        );
        let waiter = std::thread::spawn({
            let path = path.clone();
            let name = name.clone();
            move || {
                let told = std::sync::Mutex::new(None);
                let lock = acquire(&path, &name, "stop", Wait::Wait, |h| {
                    *told.lock().unwrap() = Some(h.verb.clone());
                });
                (lock.is_ok(), told.into_inner().unwrap())
            }
        });
        std::thread::sleep(Duration::from_millis(300));
        drop(held);
        assert_eq!(waiter.join().unwrap(), (true, Some("init".into())));
        assert_eq!(holder(&path), None, "released with its holder");
    }
}
