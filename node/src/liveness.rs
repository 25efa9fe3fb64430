//! Whether a node is still running: its recorded PID is still a systemd-nspawn for that machine
//! (not a PID the kernel reused for something else).

use std::time::Duration;

/// Whether `pid` is still the nspawn of `node` (or the cnispawn about to become it).
///
/// The cmdline reads empty for a zombie, and also for a moment inside execve (measured here: a
/// sixth of the reads during a loop of execs), which is where a starting node is while cnispawn
/// becomes systemd-nspawn: taking that for "exited" failed `up` now and then. So an empty read is
/// only believed for a zombie, or once it has lasted [`EXEC_GRACE_READS`] ms.
pub fn is_running(pid: u32, node: &str) -> bool {
    if pid == 0 {
        return false;
    }
    let machine = format!("--machine={node}");
    for _ in 0..EXEC_GRACE_READS {
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            return false;
        };
        if !cmdline.is_empty() {
            return cmdline
                .split(|b| *b == 0)
                .any(|arg| arg == machine.as_bytes());
        }
        if is_zombie(pid) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

/// How many times (1 ms apart) an empty cmdline of a live process is read again: an execve is
/// over within that; a kernel thread (a reused PID) stays empty.
pub const EXEC_GRACE_READS: usize = 50;

/// Whether `pid` is a zombie (or gone): the state field of /proc/<pid>/stat, after the command
/// name in parentheses, which may itself hold spaces and parentheses.
pub fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state == "Z" || state == "X")
    })
}

/// Reaps `pid` if it is a finished child of this process (a node this process spawned); does
/// nothing otherwise.
pub fn reap(pid: u32) {
    // SAFETY: waitpid with WNOHANG touches no memory of ours; a PID that is not our child fails.
    unsafe { libc::waitpid(pid as i32, std::ptr::null_mut(), libc::WNOHANG) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::Instant;

    #[test]
    fn liveness_follows_the_process_and_its_machine_name() {
        let me = std::process::id();
        assert!(!is_running(me, "knst-not-this-process"));
        assert!(!is_running(0, "x"));
        assert!(!is_zombie(me));
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Exited but not yet waited for: a zombie, seen as such without the exec grace.
        while !is_zombie(pid) {
            std::thread::sleep(Duration::from_millis(1));
        }
        let t = Instant::now();
        assert!(!is_running(pid, "x"));
        assert!(t.elapsed() < Duration::from_millis(20));
        child.wait().unwrap();
        assert!(!is_running(pid, "x"));
    }

    #[test]
    fn the_machine_flag_must_match_whole() {
        // A process carrying `--machine=ab` is not node "a": the flag is compared whole.
        let mut child = Command::new("sh")
            .args(["-c", "sleep 5; true", "--machine=ab"])
            .spawn()
            .unwrap();
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(2);
        while !crate::process::cmdline(pid)
            .unwrap_or_default()
            .iter()
            .any(|a| a == "--machine=ab")
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(is_running(pid, "ab"));
        assert!(!is_running(pid, "a"));
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
