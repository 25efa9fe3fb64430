//! Running commands in a node. Everything that runs something inside a node goes through the
//! [`Exec`] trait: [`Node`] runs it for real (`nsenter` into all the node's namespaces), and
//! [`Script`] is the recording double that lets unit tests drive step logic (boot waits, readiness,
//! teardown order) without root or nodes, in the manner of youki's `Syscall` or kind's `exec.Cmder`.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::{liveness, process};

/// How many of a failed command's last output lines its error keeps.
pub const FAILURE_LINES: usize = 12;

/// Something that runs commands inside one node.
pub trait Exec {
    /// The node's name, for errors.
    fn name(&self) -> &str;

    /// Runs `argv` in the node with `input` (if any) on its stdin, capturing stdout and stderr.
    /// Fails only when the command could not be run at all; its exit status is in the output.
    fn output(&self, argv: &[&str], input: Option<&[u8]>) -> Result<Output>;

    /// Runs `argv`, which must succeed; returns its stdout. A failure carries the command's last
    /// lines of output.
    fn run(&self, argv: &[&str]) -> Result<String> {
        self.run_with_input(argv, None)
    }

    /// [`Exec::run`] with `input` on stdin.
    fn run_with_input(&self, argv: &[&str], input: Option<&[u8]>) -> Result<String> {
        let out = self.output(argv, input)?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        Err(Error::Failed {
            node: self.name().to_owned(),
            command: argv.join(" "),
            status: out.status,
            output: lines[lines.len().saturating_sub(FAILURE_LINES)..].join("\n"),
        })
    }
}

/// A running node: its name and the PID of its systemd (PID 1 inside it) in the host's PID
/// namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The machine name, or `pid <N>` when given by a PID that names no machine.
    pub name: String,
    pub leader: u32,
}

impl Node {
    /// The node whose systemd-nspawn is `nspawn_pid`, if that process is still nspawn of machine
    /// `name` (not a reused PID) and its systemd has started.
    pub fn from_nspawn(name: &str, nspawn_pid: Option<u32>) -> Result<Node> {
        let pid = nspawn_pid
            .filter(|p| liveness::is_running(*p, name))
            .ok_or_else(|| Error::NotRunning { node: name.into() })?;
        let leader = process::leader(pid).ok_or_else(|| Error::NoInit { node: name.into() })?;
        Ok(Node {
            name: name.into(),
            leader,
        })
    }

    /// `spec` is a PID (of systemd-nspawn or of the node's systemd itself) or a machine name
    /// (`systemd-nspawn --machine=NAME`, which kubeadm-nspawn sets to the node name).
    pub fn resolve(spec: &str) -> Result<Node> {
        if let Some(pid) = spec
            .parse::<u32>()
            .ok()
            .filter(|_| spec.bytes().all(|b| b.is_ascii_digit()))
        {
            let Some(cmdline) = process::cmdline(pid) else {
                return Err(Error::NoProcess {
                    node: spec.into(),
                    pid,
                });
            };
            return match process::machine_name(&cmdline) {
                Some(name) => Self::from_nspawn(&name, Some(pid)),
                None => Ok(Node {
                    name: format!("pid {pid}"),
                    leader: pid,
                }),
            };
        }
        let nspawn = process::find_nspawn(spec).ok().flatten();
        match nspawn {
            Some(pid) => Self::from_nspawn(spec, Some(pid)),
            None => Err(Error::NotRunning { node: spec.into() }),
        }
    }

    /// The node's root directory as seen from the host. Paths under it must be opened with
    /// `RESOLVE_IN_ROOT`: the node's absolute symlinks point at the host's root.
    pub fn root(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.leader))
    }

    /// `nsenter -t <leader> -a -- ARGS`: a command in all of the node's namespaces, for callers
    /// that stream its stdin/stdout themselves (and then wait with [`Node::wait`]). It is a
    /// process group of its own (nsenter and what it runs in the node), so that a stop of it is
    /// a stop of both.
    ///
    /// Neither outlives the caller: nsenter gets SIGTERM when the caller's thread ends, and the
    /// command in the node gets it when nsenter ends (`setpriv --pdeathsig`, util-linux, in
    /// every node), so a verb killed outright leaves nothing running in its nodes.
    pub fn command(&self, argv: &[&str]) -> Command {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new("nsenter");
        kns_plumbing::child::die_with_parent(&mut command)
            .arg("-t")
            .arg(self.leader.to_string())
            .arg("-a")
            .arg("--")
            .args(["setpriv", "--pdeathsig", "TERM", "--"])
            .args(argv)
            .process_group(0);
        command
    }

    /// `nsenter -t <leader> -a -- ARGS` for a person at a terminal (`exec`, `shell`): in the
    /// caller's process group, so the terminal's foreground job (a shell, Ctrl-C) is the command.
    pub fn interactive_command(&self, argv: &[&str]) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg("-t")
            .arg(self.leader.to_string())
            .arg("-a")
            .arg("--")
            .args(argv);
        command
    }

    /// Whether the node's systemd is still there (not gone, not a zombie).
    pub fn alive(&self) -> bool {
        !liveness::is_zombie(self.leader)
    }

    /// Waits for `child`, a [`Node::command`] of this node, collecting what it printed on piped
    /// stdout and stderr. Three things end a wait other than the command's exit:
    ///
    /// - nsenter stopped: util-linux nsenter stops itself when its child stops and continues
    ///   only when continued; a node shutting down SIGSTOPs every process of its PID namespace
    ///   (systemd-shutdown's broadcast), and once the node is gone nothing would continue nsenter
    ///   (seen: `init` hung 11 minutes, nsenter in state T). It is continued here at once;
    /// - the node gone (its systemd exited): the command is killed, [`Error::Gone`];
    /// - a termination signal recorded (Ctrl-C, `down` asking): the command is stopped (SIGTERM,
    ///   SIGKILL after 2 s), [`Error::Interrupted`].
    pub fn wait(&self, mut child: Child, argv: &[&str]) -> Result<Output> {
        let pid = child.id() as i32;
        let readers = [
            child.stdout.take().map(read_all),
            child.stderr.take().map(read_all),
        ];
        let status = self.supervise(pid, argv);
        // Gone or interrupted: the group is killed; its pipes close.
        let [stdout, stderr] =
            readers.map(|r| r.map(|t| t.join().unwrap_or_default()).unwrap_or_default());
        drop(child);
        status.map(|status| Output {
            status,
            stdout,
            stderr,
        })
    }

    fn supervise(&self, pid: i32, argv: &[&str]) -> Result<ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        let mut stopping: Option<std::time::Instant> = None;
        // Most commands end within milliseconds: the first looks come quickly, later ones every
        // 20 ms.
        let mut pause = std::time::Duration::from_millis(1);
        loop {
            let mut status = 0;
            // SAFETY: waitpid on our own child, writing into a local.
            let got = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG | libc::WUNTRACED) };
            if got == pid {
                if libc::WIFSTOPPED(status) {
                    // SAFETY: kill(2) of our own child's process group.
                    unsafe { libc::kill(-pid, libc::SIGCONT) };
                    continue;
                }
                return match stopping {
                    Some(_) if kns_plumbing::signals::interrupted() => Err(Error::Interrupted {
                        node: self.name.clone(),
                        command: argv.join(" "),
                    }),
                    Some(_) => Err(Error::Gone {
                        node: self.name.clone(),
                        command: argv.join(" "),
                    }),
                    None => Ok(ExitStatus::from_raw(status)),
                };
            }
            if got < 0 {
                return Err(Error::Spawn {
                    node: self.name.clone(),
                    command: argv.join(" "),
                    source: std::io::Error::last_os_error(),
                });
            }
            match stopping {
                None if kns_plumbing::signals::interrupted() => {
                    // SAFETY: kill(2) of our own child's process group.
                    unsafe { libc::kill(-pid, libc::SIGTERM) };
                    stopping = Some(std::time::Instant::now());
                }
                None if !self.alive() => {
                    // SAFETY: as above.
                    unsafe { libc::kill(-pid, libc::SIGKILL) };
                    stopping = Some(std::time::Instant::now());
                }
                Some(since) if since.elapsed() > std::time::Duration::from_secs(2) => {
                    // SAFETY: as above.
                    unsafe { libc::kill(-pid, libc::SIGKILL) };
                }
                _ => {}
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(std::time::Duration::from_millis(20));
        }
    }

    /// Sends `signal` to the node's systemd.
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill touches no memory; the PID is this node's systemd, found through its nspawn.
        unsafe { libc::kill(self.leader as i32, signal) };
    }
}

impl Exec for Node {
    fn name(&self) -> &str {
        &self.name
    }

    fn output(&self, argv: &[&str], input: Option<&[u8]>) -> Result<Output> {
        let spawn_error = |source| Error::Spawn {
            node: self.name.clone(),
            command: argv.join(" "),
            source,
        };
        let child = kns_plumbing::child::spawn_with_input(&mut self.command(argv), input)
            .map_err(spawn_error)?;
        self.wait(child, argv)
    }
}

/// A pipe read to its end on a thread of its own.
fn read_all(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = vec![];
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// The recording double of [`Exec`]: answers each command from a script of (argv prefix, exit
/// code, stdout) rules, first match wins, and records every command it was asked to run. A
/// command no rule matches exits 127, like a missing program.
pub struct Script {
    name: String,
    rules: Mutex<Vec<Rule>>,
    calls: Mutex<Vec<String>>,
}

struct Rule {
    prefix: String,
    code: i32,
    stdout: String,
    /// Answer this many times, then fall through to later rules (None: always).
    times: Option<usize>,
}

impl Script {
    pub fn new(name: &str) -> Script {
        Script {
            name: name.into(),
            rules: Mutex::new(vec![]),
            calls: Mutex::new(vec![]),
        }
    }

    /// Commands starting with `prefix` (argv joined by spaces) exit `code` printing `stdout`.
    pub fn answer(self, prefix: &str, code: i32, stdout: &str) -> Script {
        self.push(prefix, code, stdout, None)
    }

    /// As [`Script::answer`], for the next `times` matching commands only.
    pub fn answer_times(self, prefix: &str, times: usize, code: i32, stdout: &str) -> Script {
        self.push(prefix, code, stdout, Some(times))
    }

    fn push(self, prefix: &str, code: i32, stdout: &str, times: Option<usize>) -> Script {
        self.rules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Rule {
                prefix: prefix.into(),
                code,
                stdout: stdout.into(),
                times,
            });
        self
    }

    /// Every command run so far, argv joined by spaces, in order.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Exec for Script {
    fn name(&self) -> &str {
        &self.name
    }

    fn output(&self, argv: &[&str], _input: Option<&[u8]>) -> Result<Output> {
        use std::os::unix::process::ExitStatusExt;
        let line = argv.join(" ");
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line.clone());
        let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        let (code, stdout) = match rules
            .iter_mut()
            .find(|r| line.starts_with(&r.prefix) && r.times != Some(0))
        {
            Some(rule) => {
                if let Some(times) = &mut rule.times {
                    *times -= 1;
                }
                (rule.code, rule.stdout.clone())
            }
            None => (127, String::new()),
        };
        Ok(Output {
            // A wait status: the exit code sits in the second byte.
            status: ExitStatus::from_raw(code << 8),
            stdout: stdout.into_bytes(),
            stderr: vec![],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_command_keeps_its_last_lines() {
        let many: String = (0..20).map(|i| format!("line {i}\n")).collect();
        let node = Script::new("n0").answer("false", 3, &many);
        let err = node.run(&["false", "x"]).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("node \"n0\": `false x` failed"), "{text}");
        assert!(
            text.contains("line 19") && !text.contains("line 7\n"),
            "{text}"
        );
        assert_eq!(node.run(&["echo"]).unwrap_err().node(), "n0");
        assert_eq!(node.calls(), ["false x", "echo"]);
    }

    #[test]
    fn limited_answers_fall_through() {
        let node = Script::new("n")
            .answer_times("systemctl is-system-running", 2, 1, "starting")
            .answer("systemctl is-system-running", 0, "running");
        let states: Vec<String> = (0..3)
            .map(|_| {
                let out = node
                    .output(&["systemctl", "is-system-running"], None)
                    .unwrap();
                String::from_utf8_lossy(&out.stdout).into_owned()
            })
            .collect();
        assert_eq!(states, ["starting", "starting", "running"]);
    }

    #[test]
    fn missing_nodes_are_named_in_the_error() {
        let err = Node::resolve("knst-no-such-node").unwrap_err().to_string();
        assert!(
            err.starts_with("node \"knst-no-such-node\" is not running"),
            "{err}"
        );
        let err = Node::resolve("999999999").unwrap_err().to_string();
        assert!(err.starts_with("no process 999999999"), "{err}");
        assert!(matches!(
            Node::from_nspawn("x", None),
            Err(Error::NotRunning { .. })
        ));
    }
}
