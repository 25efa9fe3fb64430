//! A running node as image-pusher reaches it: the PID of the node's init (the systemd that
//! systemd-nspawn started), found from a PID or from the machine name given to systemd-nspawn.
//! Everything else goes through that PID: `/proc/<pid>/root` for files, `nsenter -t <pid> -a` for
//! commands.

use std::path::PathBuf;
use std::process::Command;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The machine name, or `pid <N>` when given by a PID that names no machine.
    pub name: String,
    /// PID of the node's init in the host's PID namespace.
    pub leader: u32,
}

impl Node {
    /// `spec` is a PID (of systemd-nspawn or of the node's init) or a machine name
    /// (`systemd-nspawn --machine=NAME`, which kubeadm-nspawn sets to the node name).
    pub fn resolve(spec: &str) -> Result<Node> {
        if !spec.is_empty() && spec.chars().all(|c| c.is_ascii_digit()) {
            let pid: u32 = spec
                .parse()
                .map_err(|_| Error::InvalidArgument(format!("--node {spec}: not a PID")))?;
            let Some(cmdline) = cmdline(pid) else {
                return Err(Error::Node {
                    node: spec.into(),
                    what: format!("process {pid} does not exist: is the node running?"),
                });
            };
            return match machine_name(&cmdline) {
                Some(name) => Self::from_nspawn(name, pid),
                None => Ok(Node {
                    name: format!("pid {pid}"),
                    leader: pid,
                }),
            };
        }
        let nspawn = std::fs::read_dir("/proc")
            .map_err(|e| Error::io("list", "/proc", e))?
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .find(|pid| cmdline(*pid).and_then(|c| machine_name(&c)).as_deref() == Some(spec));
        match nspawn {
            Some(pid) => Self::from_nspawn(spec.into(), pid),
            None => Err(Error::Node {
                node: spec.into(),
                what: "is not running (no systemd-nspawn --machine with that name); \
                       `kubeadm-nspawn list` shows the nodes"
                    .into(),
            }),
        }
    }

    fn from_nspawn(name: String, nspawn_pid: u32) -> Result<Node> {
        let children =
            std::fs::read_to_string(format!("/proc/{nspawn_pid}/task/{nspawn_pid}/children"))
                .unwrap_or_default();
        match children
            .split_whitespace()
            .next()
            .and_then(|c| c.parse().ok())
        {
            Some(leader) => Ok(Node { name, leader }),
            None => Err(Error::Node {
                node: name,
                what: "has no init process yet (still starting?)".into(),
            }),
        }
    }

    /// The node's root directory as seen from the host. Paths under it must be opened with
    /// `RESOLVE_IN_ROOT` (see install.rs): the node's absolute symlinks point at the host's root.
    pub fn root(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.leader))
    }

    /// `nsenter -t <leader> -a -- ARGS`: a command run in all of the node's namespaces.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg("-t")
            .arg(self.leader.to_string())
            .arg("-a")
            .arg("--")
            .args(args);
        command
    }

    pub fn error(&self, what: impl Into<String>) -> Error {
        Error::Node {
            node: self.name.clone(),
            what: what.into(),
        }
    }
}

fn cmdline(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// The `--machine` / `-M` of a systemd-nspawn command line.
fn machine_name(argv: &[String]) -> Option<String> {
    let program = argv.first()?;
    if program.rsplit('/').next() != Some("systemd-nspawn") {
        return None;
    }
    let mut args = argv[1..].iter();
    while let Some(arg) = args.next() {
        if let Some(name) = arg.strip_prefix("--machine=") {
            return Some(name.into());
        }
        if arg == "--machine" || arg == "-M" {
            return args.next().cloned();
        }
        if let Some(name) = arg.strip_prefix("-M").filter(|n| !n.is_empty()) {
            return Some(name.into());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn machine_names_come_from_nspawn_command_lines_only() {
        for (line, want) in [
            (
                "/usr/bin/systemd-nspawn -D /r --machine=c-n0 -b",
                Some("c-n0"),
            ),
            ("systemd-nspawn -b --machine c-n1", Some("c-n1")),
            ("systemd-nspawn -M c-n2 -b", Some("c-n2")),
            ("systemd-nspawn -Mc-n3", Some("c-n3")),
            ("systemd-nspawn -D /r -b", None),
            ("sleep --machine=c-n0", None),
        ] {
            assert_eq!(machine_name(&argv(line)).as_deref(), want, "{line}");
        }
    }

    #[test]
    fn missing_nodes_are_named_in_the_error() {
        let err = Node::resolve("knst-no-such-node").unwrap_err().to_string();
        assert!(
            err.starts_with("node knst-no-such-node: is not running"),
            "{err}"
        );
        let err = Node::resolve("999999999").unwrap_err().to_string();
        assert!(err.contains("does not exist"), "{err}");
    }
}
