//! Children that do not outlive the verb that started them: a verb killed outright (SIGKILL, a
//! `down` taking over after its grace) cannot stop what it runs, so each child is told by the
//! kernel instead (`PR_SET_PDEATHSIG`): SIGTERM when its parent goes, which the project's own
//! tools take as a Ctrl-C (they undo what they made and exit).
//!
//! The signal follows the *thread* that forked the child: children are started by the thread
//! that waits for them.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes `command`'s process receive SIGTERM when this process (the forking thread) ends.
pub fn die_with_parent(command: &mut Command) -> &mut Command {
    // SAFETY: between fork and exec only async-signal-safe calls: getpid/getppid and prctl.
    let parent = std::process::id() as libc::pid_t;
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent died between fork and prctl: nothing would send the signal.
            if libc::getppid() != parent {
                libc::raise(libc::SIGTERM);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_started_so_runs_as_usual() {
        let out = die_with_parent(Command::new("sh").args(["-c", "echo hi"]))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    }
}
