//! One node of a cluster: its recorded state, its files on the host, and (while it runs) its live
//! handle, in one value. A node is a systemd-nspawn container booting systemd on an overlay root,
//! inside the network namespace cnispawn made and wired; what a node is to every tool (its nspawn
//! flags, liveness, commands in it, its boot) is the shared [`kns_node`] crate, and this type
//! starts, reaches and stops nodes the orchestrator's way.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use kns_node::root::NodeRoot;
use kns_node::{boot, liveness, nspawn, Exec, Node};

use super::error::{Error, Result};
use crate::host::cgroup::Placement;
use crate::host::Host;
use crate::model::component::Health;
use crate::model::layout::{ClusterPaths, NodeDirs};
use crate::model::names::ClusterName;
use crate::model::state::NodeState;

/// A node of a cluster, as recorded, with its host directories; its live handle is looked up
/// once, on first use.
#[derive(Debug)]
pub struct ClusterNode {
    pub state: NodeState,
    pub cluster: ClusterName,
    pub dirs: NodeDirs,
    live: OnceLock<Node>,
}

impl Clone for ClusterNode {
    fn clone(&self) -> Self {
        ClusterNode {
            state: self.state.clone(),
            cluster: self.cluster.clone(),
            dirs: self.dirs.clone(),
            live: OnceLock::new(),
        }
    }
}

impl ClusterNode {
    pub fn new(cluster: &ClusterName, paths: &ClusterPaths, state: &NodeState) -> ClusterNode {
        ClusterNode {
            dirs: paths.node(&state.name),
            state: state.clone(),
            cluster: cluster.clone(),
            live: OnceLock::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.state.name
    }

    pub fn netns(&self) -> String {
        self.state.netns(&self.cluster)
    }

    /// Whether the node's recorded nspawn is still running.
    pub fn is_running(&self) -> bool {
        self.state
            .pid
            .is_some_and(|pid| liveness::is_running(pid, &self.state.name))
    }

    /// The running node (its systemd's PID), to run commands in: fails when it is not running
    /// or its systemd has not started yet. Looked up once (for a booted node, which keeps its
    /// leader); the boot wait looks it up on every try instead.
    pub fn live(&self) -> Result<&Node> {
        if let Some(node) = self.live.get() {
            return Ok(node);
        }
        let node = Node::from_nspawn(&self.state.name, self.state.pid)?;
        Ok(self.live.get_or_init(|| node))
    }

    /// A command inside the node: `nsenter -t <leader> -a -- ARGS`, for callers that stream its
    /// input and output themselves.
    pub fn command(&self, args: &[&str]) -> Result<Command> {
        Ok(self.live()?.command(args))
    }

    /// A command in the node for a person at a terminal (`exec`, `shell`): the terminal's job.
    pub fn interactive_command(&self, args: &[&str]) -> Result<Command> {
        Ok(self.live()?.interactive_command(args))
    }

    /// The node's root, mounted on the host (running or not), every path resolved inside it.
    pub fn root(&self) -> Result<NodeRoot> {
        Ok(NodeRoot::open(self.dirs.rootfs())?)
    }

    /// Writes `contents` to `path` in the node (whole; its directory made).
    pub fn write_file(&self, path: &Path, contents: &[u8], mode: u32) -> Result<()> {
        Ok(self.root()?.write(path, contents, mode)?)
    }

    /// Copies the host's `source` to `path` in the node.
    pub fn copy_in(&self, source: &Path, path: &Path, mode: u32) -> Result<u64> {
        Ok(self.root()?.copy_in(source, path, mode)?)
    }

    /// The file `path` of the node.
    pub fn read_file(&self, path: &Path) -> Result<Vec<u8>> {
        Ok(self.root()?.read(path)?)
    }

    /// The last lines of the node's log (cnispawn's line, then nspawn's console), for errors.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.dirs.log()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The node's nspawn command: the shared recipe, on the node's overlay root and namespace.
    pub fn spec(&self) -> nspawn::Spec {
        nspawn::Spec {
            machine: self.state.name.clone(),
            root: self.dirs.rootfs(),
            network: nspawn::Network::Namespace(self.netns()),
            containerd_dir: self.dirs.containerd(),
            kubelet_dir: Some(self.dirs.kubelet()),
            register: nspawn::host_has_machined(),
            binds: self
                .state
                .settings
                .extra_mounts
                .iter()
                .map(|m| nspawn::Bind {
                    host: m.host_path.clone(),
                    node: m.node_path.clone(),
                    read_only: m.read_only,
                })
                .collect(),
        }
    }

    /// Starts `cnispawn --netns NS --cni-conf F -- systemd-nspawn ...` detached: its own session,
    /// output to the node's log, in the node's cgroups (`placement`: the files its launcher joins,
    /// the scope it runs in). Returns the PID (that of nspawn after the execs).
    pub fn spawn(&self, placement: &Placement) -> Result<u32> {
        let log_path = self.dirs.log();
        let log = std::fs::File::create(&log_path)
            .map_err(|e| crate::host::error::Io::new("create", &log_path, e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| crate::host::error::Io::new("open", &log_path, e))?;
        let procs: Vec<CString> = placement
            .join
            .iter()
            .filter_map(|p| CString::new(p.as_os_str().as_bytes()).ok())
            .collect();
        let cnispawn = crate::host::tools::path("cnispawn");
        // On a systemd host the launcher is `systemd-run --scope ...`, which keeps the PID and
        // execs cnispawn, which execs nspawn: the PID is nspawn's in the end either way.
        let mut cmd = match placement.launcher.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(&cnispawn);
                cmd
            }
            None => Command::new(&cnispawn),
        };
        cmd.arg("--netns")
            .arg(self.netns())
            .arg("--cni-conf")
            .arg(self.dirs.conflist())
            .arg("--")
            .arg("systemd-nspawn")
            .args(self.spec().args())
            .envs(nspawn::ENV.iter().copied())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        kns_node::nspawn::start_in_cgroups(&mut cmd, procs);
        let child = cmd.spawn().map_err(|e| {
            // The error of a cgroup joined before the exec comes back as a bare errno: the files
            // that are not there are named.
            let missing: Vec<String> = placement
                .join
                .iter()
                .filter(|p| !p.exists())
                .map(|p| p.display().to_string())
                .collect();
            let missing = if missing.is_empty() {
                String::new()
            } else {
                format!(" (its cgroup files {} are not there)", missing.join(", "))
            };
            let program = placement
                .launcher
                .first()
                .map_or(cnispawn.display().to_string(), String::clone);
            Error::NodeFailed {
                node: self.state.name.clone(),
                message: format!("cannot start {program}: {e}{missing}"),
            }
        })?;
        // The node outlives this process; it is reaped by init once the verb exits. Dropping the
        // handle does not kill it.
        Ok(child.id())
    }

    /// Waits until the node's systemd reports `running` (or `degraded` with only expected
    /// failures); returns that state.
    pub fn wait_booted(&self, timeout: Duration) -> Result<String> {
        Ok(boot::wait(self, timeout, Duration::from_millis(100))?)
    }

    /// Clean poweroff, then SIGKILL after `timeout` (see [`poweroff`]).
    pub fn stop(&self, host: &dyn Host, timeout: Duration) {
        poweroff(host, &self.state.name, self.state.pid, timeout);
    }

    /// Whether the component at `health` answers 200 in this node (asked by the node's socat,
    /// not through the load balancer).
    /// Whether the component answers healthy on IPv4's loopback, or else IPv6's (where an IPv6
    /// cluster binds the controller-manager, the scheduler and the kubelet's health, #31).
    pub fn healthy(&self, health: Health) -> bool {
        http_ok(self, health.address, health.path)
            || http_ok(self, &ipv6_loopback(health.address), health.path)
    }

    /// [`Exec::run`] with its output (or its failure) kept in `log`; a failure points at that
    /// file.
    pub fn run_logged(&self, args: &[&str], log: &Path) -> Result<String> {
        let output = self.run(args);
        let text = match &output {
            Ok(out) => out.clone(),
            Err(e) => e.to_string(),
        };
        if kns_plumbing::terminal::verbose() {
            // `-v`: kubeadm's own output, once it is done (it runs inside the node).
            for line in text.lines() {
                kns_plumbing::say!(
                    "   | {} {}: {line}",
                    self.name(),
                    args.first().unwrap_or(&"")
                );
            }
        }
        let _ = std::fs::write(log, text);
        output.map_err(|e| match e {
            kns_node::Error::Failed {
                node,
                command,
                status,
                output,
            } => Error::NodeFailed {
                node,
                message: format!(
                    "`{command}` failed ({status}); its log is {}{}",
                    log.display(),
                    if output.is_empty() {
                        String::new()
                    } else {
                        format!(":\n{output}")
                    }
                ),
            },
            // Not the command's failure (interrupted, the node gone or not reached): said as
            // what it is, which names the node.
            e => e.into(),
        })
    }
}

impl Exec for ClusterNode {
    fn name(&self) -> &str {
        &self.state.name
    }

    fn output(&self, argv: &[&str], input: Option<&[u8]>) -> kns_node::Result<Output> {
        match self.live() {
            Ok(node) => node.output(argv, input),
            Err(Error::Node(e)) => Err(e),
            Err(_) => Err(kns_node::Error::NotRunning {
                node: self.state.name.clone(),
            }),
        }
    }
}

impl boot::Booting for ClusterNode {
    type Node = Node;
    /// Looked up anew on every look: while nspawn starts, its child is not yet the node's
    /// systemd, and a handle kept from then would point at a process that is gone.
    fn node(&self) -> Option<Node> {
        Node::from_nspawn(&self.state.name, self.state.pid).ok()
    }
    fn alive(&self) -> bool {
        self.is_running()
    }
    fn log_tail(&self) -> String {
        ClusterNode::log_tail(self, 15)
    }
    fn name(&self) -> &str {
        &self.state.name
    }
}

/// Stops node `name` whose systemd-nspawn is `pid`: a clean poweroff (SIGRTMIN+4 to the node's
/// systemd), then SIGKILL after `timeout` (a node with pods may never finish its poweroff:
/// DESIGN.md §7.1). Returns once nspawn has exited; a node not running is left as it is.
pub fn poweroff(host: &dyn Host, name: &str, pid: Option<u32>, timeout: Duration) {
    let running = || pid.is_some_and(|p| liveness::is_running(p, name));
    let Some(pid) = pid.filter(|_| running()) else {
        return;
    };
    let leader = Node::from_nspawn(name, Some(pid))
        .ok()
        .map(|n| n.leader as i32);
    if let Some(leader) = leader {
        host.signal(leader, libc::SIGRTMIN() + 4);
    }
    let start = std::time::Instant::now();
    while running() {
        if start.elapsed() > timeout {
            // Killing PID 1 of the node ends its whole PID namespace; then nspawn.
            if let Some(leader) = leader {
                host.signal(leader, libc::SIGKILL);
            }
            host.signal(pid as i32, libc::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether `GET path` inside the node answers 200, sent by the node's socat to `address`
/// (`TCP:127.0.0.1:10248` for the kubelet, `OPENSSL:127.0.0.1:10257,verify=0` for a component's
/// self-signed secure port).
/// A socat address on 127.0.0.1 moved to `[::1]`.
fn ipv6_loopback(address: &str) -> String {
    address.replace("127.0.0.1", "[::1]")
}

pub fn http_ok(node: &impl Exec, address: &str, path: &str) -> bool {
    let script = format!("printf 'GET {path} HTTP/1.0\\r\\n\\r\\n' | socat -t 2 - {address}");
    node.run(&["sh", "-c", &script])
        .is_ok_and(|out| out.starts_with("HTTP/1.0 200") || out.starts_with("HTTP/1.1 200"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::NodeRole;

    #[test]
    fn health_is_asked_on_either_loopback() {
        assert_eq!(
            ipv6_loopback("OPENSSL:127.0.0.1:10257,verify=0"),
            "OPENSSL:[::1]:10257,verify=0"
        );
    }

    #[test]
    fn the_nspawn_spec_is_the_nodes_own() {
        let cluster = ClusterName::new("c").unwrap();
        let paths = ClusterPaths::new(Path::new("/s"), &cluster);
        let node = ClusterNode::new(
            &cluster,
            &paths,
            &NodeState::for_test("c-n0", 0, NodeRole::ControlPlane, "10.22.0.10"),
        );
        let args = node.spec().args();
        for expected in [
            "--machine=c-n0",
            "--network-namespace-path=/run/netns/kns-c-0",
            "--bind=/s/clusters/c/nodes/c-n0/containerd:/var/lib/containerd",
            "--bind=/s/clusters/c/nodes/c-n0/kubelet:/var/lib/kubelet",
        ] {
            assert!(args.contains(&expected.to_string()), "{expected}: {args:?}");
        }
        assert_eq!(&args[..2], ["-D", "/s/clusters/c/nodes/c-n0/rootfs"]);
        assert!(!node.is_running());
        assert!(node.live().is_err());
    }
}
