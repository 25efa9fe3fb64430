//! The seam between the lifecycle and the programs it runs (kubeadm-nspawn, make, the tester, the
//! pre- and post-test commands): a [`Runner`] runs one [`Invocation`] and says how it ended. The
//! real one ([`Real`]) supervises each program in a process group of its own
//! (`kns_plumbing::child`): a Ctrl-C reaches only this deployer, which passes it on to the
//! program's group and, once it has ended, runs Down. The lifecycle's tests use a recording one.

use std::cell::Cell;
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use kns_plumbing::child::{self, Stop};

/// Where a program's output (stdout and stderr, in the order written) is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// The tester's and the test commands' output: on stdout, as kubetest2 passes it through.
    Stdout,
    /// kubeadm-nspawn's and make's progress: on stderr.
    Stderr,
}

/// Who a program runs as, when not this process's user (make in someone's tree, as them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub home: Option<PathBuf>,
}

/// One program to run: its command line, what it gets added to this process's environment,
/// where and as whom it runs, and how long it may take to stop once interrupted.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Set for it on top of the inherited environment.
    pub env: Vec<(String, OsString)>,
    pub dir: Option<PathBuf>,
    pub user: Option<User>,
    pub shown: Shown,
    /// From the interrupt passed on to SIGKILL.
    pub grace: Duration,
}

impl Invocation {
    pub fn new(program: impl Into<PathBuf>, args: Vec<OsString>) -> Invocation {
        Invocation {
            program: program.into(),
            args,
            env: vec![],
            dir: None,
            user: None,
            shown: Shown::Stderr,
            grace: Duration::from_secs(60),
        }
    }

    /// The program's file name and its arguments, as a person would type them.
    pub fn said(&self) -> String {
        std::iter::once(self.name())
            .chain(self.args.iter().map(|a| quote(&a.to_string_lossy())))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The program's file name, for messages.
    pub fn name(&self) -> String {
        self.program
            .file_name()
            .unwrap_or_else(|| self.program.as_os_str())
            .to_string_lossy()
            .into_owned()
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        for (name, value) in &self.env {
            command.env(name, value);
        }
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        if let Some(user) = &self.user {
            command.uid(user.uid).gid(user.gid);
            if let Some(home) = &user.home {
                command.env("HOME", home);
            }
        }
        command
    }
}

fn quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./:,@+".contains(c))
    {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// How a program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub success: bool,
    /// `exited with status 3`, `was killed by SIGKILL`.
    pub status: String,
    /// The end of what it wrote (junit_runner.xml's system-out of a failed step).
    pub output: String,
}

/// A program run quietly: its stdout kept, its stderr for the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    pub success: bool,
    pub status: String,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

pub trait Runner {
    /// Runs `invocation` to its end, its output shown as it comes.
    fn run(&mut self, invocation: &Invocation) -> std::io::Result<Ran>;
    /// Runs `invocation` quietly (a question: the tester's usage, the cluster's kubeconfig).
    fn capture(&mut self, invocation: &Invocation) -> std::io::Result<Captured>;
    /// Whether a termination signal (Ctrl-C, SIGTERM, SIGHUP) has arrived.
    fn interrupted(&self) -> bool;
    /// The cleanup an interrupt asked for begins: the signals so far are not passed on to what
    /// runs from now on, only later ones.
    fn begin_cleanup(&mut self);
}

/// How much of a program's output is kept for its step's system-out.
const KEPT: usize = 64 * 1024;

/// Signals that arrive within this long of the first one of a press are that press.
const PRESS: Duration = Duration::from_secs(1);

/// Ctrl-C presses, not signal deliveries: under kubetest2's shim each Ctrl-C arrives twice (the
/// terminal sends it to the shim's group, which holds this deployer, and the shim forwards what it
/// gets), and a second press means "kill it now".
#[derive(Debug, Default)]
struct Presses {
    /// The deliveries seen so far.
    seen: Cell<usize>,
    presses: Cell<usize>,
    /// When the last press began.
    began: Cell<Option<Instant>>,
}

impl Presses {
    /// The presses, given `delivered` signals so far at `now`.
    fn observe(&self, delivered: usize, now: Instant) -> usize {
        if delivered > self.seen.get() {
            self.seen.set(delivered);
            let same = self
                .began
                .get()
                .is_some_and(|began| now.duration_since(began) < PRESS);
            if !same {
                self.presses.set(self.presses.get() + 1);
                self.began.set(Some(now));
            }
        }
        self.presses.get()
    }

    fn now(&self) -> usize {
        self.observe(kns_plumbing::signals::received(), Instant::now())
    }
}

/// Programs run for real, supervised ([`kns_plumbing::child::run_streaming_counted`]), a
/// recorded Ctrl-C press passed on to the program's group.
#[derive(Debug, Default)]
pub struct Real {
    presses: Presses,
    /// Presses already acted on (by [`Runner::begin_cleanup`]).
    handled: usize,
}

impl Runner for Real {
    fn run(&mut self, invocation: &Invocation) -> std::io::Result<Ran> {
        let mut kept: Vec<u8> = Vec::new();
        let stop = Stop {
            signal: libc::SIGINT,
            grace: invocation.grace,
        };
        let shown = invocation.shown;
        let presses = &self.presses;
        let handled = self.handled;
        let ended = child::run_streaming_counted(
            invocation.command(),
            stop,
            || presses.now().saturating_sub(handled),
            |chunk| {
                // What cannot be shown (a closed terminal) is still kept.
                let _ = match shown {
                    Shown::Stdout => std::io::stdout().write_all(chunk),
                    Shown::Stderr => std::io::stderr().write_all(chunk),
                };
                kept.extend_from_slice(chunk);
                if kept.len() > 2 * KEPT {
                    kept.drain(..kept.len() - KEPT);
                }
            },
        )?;
        let start = kept.len().saturating_sub(KEPT);
        Ok(Ran {
            success: ended.status.success(),
            status: status(ended.status),
            output: String::from_utf8_lossy(&kept[start..]).into_owned(),
        })
    }

    fn capture(&mut self, invocation: &Invocation) -> std::io::Result<Captured> {
        let mut command = invocation.command();
        command.stdin(Stdio::null());
        let out = child::die_with_parent(&mut command).output()?;
        Ok(Captured {
            success: out.status.success(),
            status: status(out.status),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn interrupted(&self) -> bool {
        self.presses.now() > 0
    }

    fn begin_cleanup(&mut self) {
        self.handled = self.presses.now();
    }
}

/// An exit status as the messages say it.
pub fn status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => match nix_name(signal) {
            Some(name) => format!("was killed by {name}"),
            None => format!("was killed by signal {signal}"),
        },
        (None, None) => "ended without a status".to_owned(),
    }
}

fn nix_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGKILL => "SIGKILL",
        libc::SIGHUP => "SIGHUP",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGPIPE => "SIGPIPE",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Invocation {
        Invocation::new("sh", vec!["-c".into(), script.into()])
    }

    #[test]
    fn a_program_runs_with_its_environment_and_its_end_is_kept() {
        let mut invocation = sh("echo \"$KT2_X\"; echo two >&2; exit 3");
        invocation.env.push(("KT2_X".into(), "one".into()));
        let ran = Real::default().run(&invocation).unwrap();
        assert_eq!(
            ran,
            Ran {
                success: false,
                status: "exited with status 3".into(),
                output: "one\ntwo\n".into(),
            }
        );
        let captured = Real::default()
            .capture(&sh("echo out; echo err >&2"))
            .unwrap();
        assert!(captured.success);
        assert_eq!(
            (captured.stdout, captured.stderr),
            (b"out\n".to_vec(), "err\n".into())
        );
    }

    #[test]
    fn signals_close_together_are_one_press() {
        let presses = Presses::default();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(presses.observe(0, at(0)), 0);
        // The terminal's and the shim's forwarded copy, seen in one poll or in two.
        assert_eq!(presses.observe(2, at(100)), 1);
        assert_eq!(presses.observe(3, at(400)), 1);
        assert_eq!(presses.observe(3, at(2000)), 1);
        // A press a moment later is a second one.
        assert_eq!(presses.observe(4, at(2500)), 2);
        assert_eq!(presses.observe(5, at(2600)), 2);
    }

    #[test]
    fn a_command_line_is_said_as_typed() {
        let invocation = Invocation::new(
            "/usr/bin/kubeadm-nspawn",
            vec!["up".into(), "--name".into(), "a b".into(), "it's".into()],
        );
        assert_eq!(
            invocation.said(),
            r"kubeadm-nspawn up --name 'a b' 'it'\''s'"
        );
    }
}
