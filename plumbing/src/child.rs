//! Children that do not outlive the verb that started them: a verb killed outright (SIGKILL, a
//! `down` taking over after its grace) cannot stop what it runs, so each child is told by the
//! kernel instead (`PR_SET_PDEATHSIG`): SIGTERM when its parent goes, which the project's own
//! tools take as a Ctrl-C (they undo what they made and exit).
//!
//! The signal follows the *thread* that forked the child: children are started by the thread
//! that waits for them.
//!
//! A long-running program whose own interrupt handling matters (ginkgo writes its reports when
//! interrupted) is run with [`run_streaming`]: in a process group of its own, so a Ctrl-C at the
//! terminal reaches only the verb, which records it ([`crate::signals`]) and passes it on to the
//! program's whole group, bounded.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Makes `command`'s process receive SIGTERM when this process (the forking thread) ends, and
/// start with the termination signals at their defaults: a verb started with SIGINT ignored (a
/// background job of a non-interactive shell, as CI runs it) records it with its own handler,
/// but a child would inherit the ignoring, and the Ctrl-C the verb passes on would not reach it
/// (seen: ginkgo, and `sh`, which cannot trap a signal ignored at its start).
pub fn die_with_parent(command: &mut Command) -> &mut Command {
    // SAFETY: between fork and exec only async-signal-safe calls: getpid/getppid, prctl and
    // sigaction.
    let parent = std::process::id() as libc::pid_t;
    unsafe {
        command.pre_exec(move || {
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
                let mut default: libc::sigaction = std::mem::zeroed();
                default.sa_sigaction = libc::SIG_DFL;
                if libc::sigaction(signal, &default, std::ptr::null_mut()) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
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

/// Starts `command` with stdout and stderr piped and `input` on its stdin (stdin from /dev/null
/// without one), for a command that reads a document there (`kubectl apply -f -`). The input is
/// written and stdin closed before this returns: written whole first, so it suits documents, not
/// streams. A command that exits without reading it is judged by its status, not by the failed
/// write.
pub fn spawn_with_input(command: &mut Command, input: Option<&[u8]>) -> std::io::Result<Child> {
    let mut child = command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        let _ = stdin.write_all(input);
    }
    Ok(child)
}

/// How a supervised program is stopped once a termination signal is recorded: `signal` to its
/// process group, then SIGKILL to the group once `grace` has passed or a second signal is
/// recorded.
#[derive(Debug, Clone, Copy)]
pub struct Stop {
    pub signal: libc::c_int,
    pub grace: Duration,
}

/// How a supervised program ended.
#[derive(Debug)]
pub struct Ended {
    pub status: ExitStatus,
    /// A termination signal was recorded while it ran, and passed on.
    pub interrupted: bool,
    /// It outlived its grace after that and its group was SIGKILLed.
    pub killed: bool,
}

/// How long what is left of a program's group (its children) may keep its output open once the
/// program itself has exited; then the group is killed and its output no longer read.
const DRAIN: Duration = Duration::from_secs(5);

/// Runs `command` supervised: in a process group of its own, dying with this thread's process
/// ([`die_with_parent`]), stdin from /dev/null, stdout and stderr into one pipe whose bytes are
/// handed to `each` as they come (in the order written). Once a termination signal is recorded
/// ([`crate::signals::received`]) its group gets `stop`. Returns when it has exited and its
/// output has ended.
pub fn run_streaming(
    command: Command,
    stop: Stop,
    each: impl FnMut(&[u8]),
) -> std::io::Result<Ended> {
    supervise(command, stop, crate::signals::received, each)
}

/// [`run_streaming`] with the count of signals to act on given by the caller instead of
/// [`crate::signals::received`]: one that runs a cleanup after a Ctrl-C counts only the signals
/// since (the one that started the cleanup must not stop it), and one run under a program that
/// forwards signals (kubetest2's shim passes on the Ctrl-C its group already got, so each arrives
/// twice) counts presses, not deliveries. The count is asked about ten times a second.
pub fn run_streaming_counted(
    command: Command,
    stop: Stop,
    signals: impl Fn() -> usize,
    each: impl FnMut(&[u8]),
) -> std::io::Result<Ended> {
    supervise(command, stop, signals, each)
}

/// [`run_streaming`] with the count of recorded signals given (a test cannot record a signal for
/// itself alone).
fn supervise(
    mut command: Command,
    stop: Stop,
    signals: impl Fn() -> usize,
    mut each: impl FnMut(&[u8]),
) -> std::io::Result<Ended> {
    let (mut reader, writer) = std::io::pipe()?;
    command
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .process_group(0);
    die_with_parent(&mut command);
    let mut child = command.spawn()?;
    // The command holds the pipe's writing end: gone with it, the output ends with the program's.
    drop(command);
    let group = nix::unistd::Pid::from_raw(child.id() as i32);
    let signal_group = |signal: libc::c_int| {
        if let Ok(signal) = nix::sys::signal::Signal::try_from(signal) {
            let _ = nix::sys::signal::killpg(group, signal);
        }
    };
    let (chunks, output) = mpsc::channel::<Vec<u8>>();
    // Not joined: a process outside the group may hold the pipe for ever.
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; 16 * 1024];
        while let Ok(n) = reader.read(&mut buffer) {
            if n == 0 || chunks.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut open = true;
    let mut exited: Option<(ExitStatus, Instant)> = None;
    let mut interrupted: Option<Instant> = None;
    let mut killed = false;
    loop {
        if open {
            match output.recv_timeout(Duration::from_millis(100)) {
                Ok(chunk) => each(&chunk),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => open = false,
            }
        } else {
            std::thread::sleep(Duration::from_millis(50));
        }
        if exited.is_none() {
            exited = child.try_wait()?.map(|status| (status, Instant::now()));
        }
        match exited {
            Some(_) if !open => break,
            Some((_, at)) if at.elapsed() > DRAIN => {
                signal_group(libc::SIGKILL);
                // What already came is still said.
                while let Ok(chunk) = output.try_recv() {
                    each(&chunk);
                }
                break;
            }
            Some(_) => continue,
            None => {}
        }
        let received = signals();
        match interrupted {
            None if received > 0 => {
                signal_group(stop.signal);
                interrupted = Some(Instant::now());
            }
            Some(at) if !killed && (received > 1 || at.elapsed() > stop.grace) => {
                signal_group(libc::SIGKILL);
                killed = true;
            }
            _ => {}
        }
    }
    let (status, _) = exited.ok_or_else(|| std::io::Error::other("no exit status"))?;
    Ok(Ended {
        status,
        interrupted: interrupted.is_some(),
        killed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_reaches_stdin_and_without_one_stdin_is_empty() {
        let cat = |input: Option<&[u8]>| {
            let out = spawn_with_input(&mut Command::new("cat"), input)
                .unwrap()
                .wait_with_output()
                .unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        };
        assert_eq!(cat(Some(b"kind: Pod\n")), (true, "kind: Pod\n".to_owned()));
        assert_eq!(cat(None), (true, String::new()));
        // A command that does not read its input: its status decides, not the write.
        let out = spawn_with_input(&mut Command::new("true"), Some(&[0; 1 << 20]))
            .unwrap()
            .wait_with_output()
            .unwrap();
        assert!(out.status.success());
    }

    #[test]
    fn a_child_started_so_runs_as_usual() {
        let out = die_with_parent(Command::new("sh").args(["-c", "echo hi"]))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    }

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    const STOP: Stop = Stop {
        signal: libc::SIGINT,
        grace: Duration::from_millis(300),
    };

    #[test]
    fn a_supervised_program_streams_stdout_and_stderr_in_order() {
        let mut seen = Vec::new();
        let ended = supervise(
            sh("echo one; echo two >&2; echo three; exit 3"),
            STOP,
            || 0,
            |chunk| seen.extend_from_slice(chunk),
        )
        .unwrap();
        assert_eq!(String::from_utf8_lossy(&seen), "one\ntwo\nthree\n");
        assert_eq!(ended.status.code(), Some(3));
        assert!(!ended.interrupted && !ended.killed);
    }

    #[test]
    fn a_recorded_signal_is_passed_on_and_the_program_ends_its_own_way() {
        let seen = std::cell::RefCell::new(String::new());
        let ended = supervise(
            sh("trap 'echo reports written; exit 7' INT; echo ready; while :; do sleep 0.05; done"),
            STOP,
            || usize::from(seen.borrow().contains("ready")),
            |chunk| seen.borrow_mut().push_str(&String::from_utf8_lossy(chunk)),
        )
        .unwrap();
        assert!(
            seen.borrow().ends_with("reports written\n"),
            "{}",
            seen.borrow()
        );
        assert_eq!(ended.status.code(), Some(7));
        assert!(ended.interrupted && !ended.killed);
    }

    #[test]
    fn a_program_that_ignores_the_signal_is_killed_after_its_grace() {
        let seen = std::cell::RefCell::new(String::new());
        let started = Instant::now();
        let ended = supervise(
            sh("trap '' INT; echo ready; sleep 30"),
            STOP,
            || usize::from(seen.borrow().contains("ready")),
            |chunk| seen.borrow_mut().push_str(&String::from_utf8_lossy(chunk)),
        )
        .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(ended.status.signal(), Some(libc::SIGKILL));
        assert!(ended.interrupted && ended.killed);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_second_signal_kills_at_once() {
        let seen = std::cell::RefCell::new(String::new());
        let started = Instant::now();
        let patient = Stop {
            signal: libc::SIGINT,
            grace: Duration::from_secs(60),
        };
        let ended = supervise(
            sh("trap '' INT; echo ready; sleep 30"),
            patient,
            || 2 * usize::from(seen.borrow().contains("ready")),
            |chunk| seen.borrow_mut().push_str(&String::from_utf8_lossy(chunk)),
        )
        .unwrap();
        assert!(ended.interrupted && ended.killed);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
