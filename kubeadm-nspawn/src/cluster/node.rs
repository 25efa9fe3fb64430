//! One node of a cluster: a systemd-nspawn container booting systemd on an overlay root, inside the
//! network namespace cnispawn made and wired. What a node is (its nspawn flags, liveness, commands
//! in it, its boot) is the shared [`kns_node`] crate; this module starts nodes the orchestrator's
//! way (through cnispawn, in their cgroups) and reaches a recorded [`NodeState`] through it.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kns_node::{boot, liveness, nspawn};
pub use kns_node::{Exec, Node};

use crate::error::{Error, Result};
use crate::model::state::NodeState;

/// A node's files: `<cluster>/nodes/<node>/{upper,work,rootfs,containerd,kubelet,log,cni.conflist}`.
pub struct NodeDirs {
    pub dir: PathBuf,
}

impl NodeDirs {
    pub fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }
    pub fn work(&self) -> PathBuf {
        self.dir.join("work")
    }
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }
    pub fn containerd(&self) -> PathBuf {
        self.dir.join("containerd")
    }
    pub fn kubelet(&self) -> PathBuf {
        self.dir.join("kubelet")
    }
    pub fn log(&self) -> PathBuf {
        self.dir.join("log")
    }
    pub fn conflist(&self) -> PathBuf {
        self.dir.join("cni.conflist")
    }
}

/// The node's nspawn command: the shared recipe, on the node's overlay root and namespace.
pub fn spec(node: &NodeState) -> nspawn::Spec {
    let dirs = NodeDirs {
        dir: node.dir.clone(),
    };
    nspawn::Spec {
        machine: node.name.clone(),
        root: dirs.rootfs(),
        network: nspawn::Network::Namespace(node.netns.clone()),
        containerd_dir: dirs.containerd(),
        kubelet_dir: Some(dirs.kubelet()),
        register: nspawn::host_has_machined(),
        binds: node
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

/// Starts `cnispawn --netns NS --cni-conf F -- systemd-nspawn ...` detached: its own session, output
/// to the node's log, in the node's cgroups. Returns the PID (that of nspawn after cnispawn's exec).
pub fn spawn(node: &NodeState, cgroup_procs: &[PathBuf]) -> Result<u32> {
    let dirs = NodeDirs {
        dir: node.dir.clone(),
    };
    let log = std::fs::File::create(dirs.log()).map_err(|e| Error::io("create", dirs.log(), e))?;
    let log_err = log
        .try_clone()
        .map_err(|e| Error::io("open", dirs.log(), e))?;
    let procs: Vec<CString> = cgroup_procs
        .iter()
        .map(|p| CString::new(p.as_os_str().as_bytes()).unwrap_or_default())
        .collect();
    let mut cmd = Command::new(crate::host::tools::path("cnispawn"));
    cmd.arg("--netns")
        .arg(&node.netns)
        .arg("--cni-conf")
        .arg(dirs.conflist())
        .arg("--")
        .arg("systemd-nspawn")
        .args(spec(node).args())
        .envs(nspawn::ENV.iter().copied())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    // SAFETY: between fork and exec only async-signal-safe calls: setsid, open, write, close.
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            for path in &procs {
                let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // "0" = the writing process itself.
                let written = libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
                if written != 1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| Error::node(&node.name, format!("cannot start cnispawn: {e}")))?;
    // The node outlives this process; it is reaped by init once `up` exits. Dropping the handle does
    // not kill it.
    Ok(child.id())
}

/// Whether the node's recorded nspawn is still running.
pub fn is_running(node: &NodeState) -> bool {
    node.pid
        .is_some_and(|pid| liveness::is_running(pid, &node.name))
}

/// The running node, to run commands in: fails when it is not running or its systemd has not
/// started yet.
pub fn handle(node: &NodeState) -> Result<Node> {
    Ok(Node::from_nspawn(&node.name, node.pid)?)
}

/// A command inside the node: `nsenter -t <leader> -a -- ARGS`.
pub fn command(node: &NodeState, args: &[&str]) -> Result<Command> {
    Ok(handle(node)?.command(args))
}

/// Runs a command in the node and returns its stdout; a failure carries the command's last lines
/// of output.
pub fn run(node: &NodeState, args: &[&str]) -> Result<String> {
    Ok(handle(node)?.run(args)?)
}

/// Whether `GET /healthz` inside the node answers 200, sent by the node's socat to `address`
/// (`TCP:127.0.0.1:10248` for the kubelet, `OPENSSL:127.0.0.1:10257,verify=0` for a component's
/// self-signed secure port).
pub fn healthz(node: &impl Exec, address: &str) -> bool {
    http_ok(node, address, "/healthz")
}

/// Whether `GET path` inside the node answers 200 (see [`healthz`]).
pub fn http_ok(node: &impl Exec, address: &str, path: &str) -> bool {
    let script = format!("printf 'GET {path} HTTP/1.0\\r\\n\\r\\n' | socat -t 2 - {address}");
    node.run(&["sh", "-c", &script])
        .is_ok_and(|out| out.starts_with("HTTP/1.0 200") || out.starts_with("HTTP/1.1 200"))
}

/// Whether the node's own API server answers `/readyz` (its etcd included) on 127.0.0.1:6443,
/// not through the load balancer (certificate not verified: the question is readiness).
pub fn api_server_ready(node: &impl Exec) -> bool {
    http_ok(node, "OPENSSL:127.0.0.1:6443,verify=0", "/readyz")
}

/// [`run`] with its output (or its failure) kept in `log`; a failure points at that file.
pub fn run_logged(node: &impl Exec, args: &[&str], log: &std::path::Path) -> Result<String> {
    let output = node.run(args).map_err(Error::from);
    let text = match &output {
        Ok(out) => out.clone(),
        Err(e) => e.to_string(),
    };
    if kns_plumbing::terminal::verbose() {
        // `-v`: kubeadm's own output, once it is done (it runs inside the node).
        for line in text.lines() {
            kns_plumbing::say!(
                "   | {} {}: {line}",
                node.name(),
                args.first().unwrap_or(&"")
            );
        }
    }
    let _ = std::fs::write(log, text);
    output.map_err(|e| Error::node(node.name(), format!("{e}; output in {}", log.display())))
}

/// `kubectl` in the node with kubeadm's admin credentials (the first node, once `kubeadm init` ran).
pub fn admin_kubectl(node: &impl Exec, args: &[&str]) -> Result<String> {
    let mut all = vec!["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf"];
    all.extend_from_slice(args);
    Ok(node.run(&all)?)
}

/// The last lines of the node's log, for error messages.
pub fn log_tail(node: &NodeState, lines: usize) -> String {
    let text = std::fs::read_to_string(node.dir.join("log")).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A node of this cluster while it boots, as [`boot::wait`] watches it.
struct Booting<'a>(&'a NodeState);

impl boot::Booting for Booting<'_> {
    type Node = Node;
    fn node(&self) -> Option<Node> {
        handle(self.0).ok()
    }
    fn alive(&self) -> bool {
        is_running(self.0)
    }
    fn log_tail(&self) -> String {
        log_tail(self.0, 15)
    }
    fn name(&self) -> &str {
        &self.0.name
    }
}

/// Waits until the node's systemd reports `running` (or `degraded` with only expected failures);
/// returns that state.
pub fn wait_booted(node: &NodeState, timeout: Duration) -> Result<String> {
    Ok(boot::wait(
        &Booting(node),
        timeout,
        Duration::from_millis(100),
    )?)
}

/// Clean poweroff (SIGRTMIN+4 to the node's systemd), then SIGKILL after `timeout` (a node with pods
/// may never finish its poweroff: DESIGN.md §7.1). Returns once nspawn has exited.
pub fn stop(node: &NodeState, timeout: Duration) {
    let Some(pid) = node.pid.filter(|_| is_running(node)) else {
        return;
    };
    if let Ok(running) = handle(node) {
        running.signal(libc::SIGRTMIN() + 4);
    }
    let start = Instant::now();
    while is_running(node) {
        if start.elapsed() > timeout {
            // Killing PID 1 of the node ends its whole PID namespace; then nspawn.
            if let Ok(running) = handle(node) {
                running.signal(libc::SIGKILL);
            }
            // SAFETY: kill touches no memory; `pid` is this node's nspawn, checked just above.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nspawn_spec_is_the_nodes_own() {
        let node = NodeState {
            name: "c-n0".into(),
            netns: "kns-c-0".into(),
            index: 0,
            ip: "10.22.0.10".into(),
            dir: "/s/c/nodes/c-n0".into(),
            pid: None,
            network_failed: false,
            settings: Default::default(),
            role: crate::model::state::NodeRole::ControlPlane,
        };
        let args = spec(&node).args();
        for expected in [
            "--machine=c-n0",
            "--network-namespace-path=/run/netns/kns-c-0",
            "--bind=/s/c/nodes/c-n0/containerd:/var/lib/containerd",
            "--bind=/s/c/nodes/c-n0/kubelet:/var/lib/kubelet",
        ] {
            assert!(args.contains(&expected.to_string()), "{expected}: {args:?}");
        }
        assert_eq!(&args[..2], ["-D", "/s/c/nodes/c-n0/rootfs"]);
        assert!(!is_running(&node));
    }
}
