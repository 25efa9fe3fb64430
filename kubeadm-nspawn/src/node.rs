//! One node: a systemd-nspawn container booting systemd on an overlay root, inside the network
//! namespace cnispawn made and wired. Every operation on a node goes through [`Node::command`].

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::state::NodeState;

/// Whether the host runs systemd-machined, so nodes can be registered (and seen by `machinectl`).
pub fn host_has_machined() -> bool {
    Path::new("/run/systemd/machines").is_dir() && Path::new("/run/systemd/system").is_dir()
}

/// The systemd-nspawn arguments of a node; each flag says which trap of DESIGN.md §7.1 it avoids.
pub fn nspawn_args(
    node: &str,
    root: &Path,
    netns: &str,
    containerd_dir: &Path,
    kubelet_dir: &Path,
    register: bool,
) -> Vec<String> {
    vec![
        "-D".into(),
        root.display().to_string(),
        // With machined the node shows in `machinectl list`; without it registering fails.
        format!("--register={}", if register { "yes" } else { "no" }),
        // Without it nspawn asks the (absent) system bus for a scope: "Failed to open system bus".
        "--keep-unit".into(),
        "--boot".into(),
        format!("--machine={node}"),
        format!("--hostname={node}"),
        // Join the namespace cnispawn created and wired, instead of making a new one.
        format!("--network-namespace-path=/run/netns/{netns}"),
        // The console goes to the node's log; nothing reads from it.
        "--console=read-only".into(),
        // kubelet, containerd and runc need them (mounts, cgroups, iptables, namespaces).
        "--capability=all".into(),
        // runc uses keyrings and bpf for device cgroups.
        "--system-call-filter=@keyring bpf".into(),
        "--private-users=no".into(),
        // kubelet's OOM watcher reads the kernel log.
        "--bind=/dev/kmsg".into(),
        // containerd's overlayfs snapshotter cannot put an upper dir on the overlay root, and the
        // kubelet's pod volumes belong on plain host directories too.
        format!("--bind={}:/var/lib/containerd", containerd_dir.display()),
        format!("--bind={}:/var/lib/kubelet", kubelet_dir.display()),
    ]
}

/// The environment of the nspawn launch: /proc/sys and /sys writable (sysctls for kube-proxy and
/// containerd). SYSTEMD_NSPAWN_USE_CGNS stays unset: with it off nspawn fails on the missing hugetlb
/// hierarchy.
pub const NSPAWN_ENV: &[(&str, &str)] = &[("SYSTEMD_NSPAWN_API_VFS_WRITABLE", "1")];

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
    let mut cmd = Command::new(crate::tools::path("cnispawn"));
    cmd.arg("--netns")
        .arg(&node.netns)
        .arg("--cni-conf")
        .arg(dirs.conflist())
        .arg("--")
        .arg("systemd-nspawn")
        .args(nspawn_args(
            &node.name,
            &dirs.rootfs(),
            &node.netns,
            &dirs.containerd(),
            &dirs.kubelet(),
            host_has_machined(),
        ))
        .envs(NSPAWN_ENV.iter().copied())
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

/// Whether `pid` is still the nspawn of `node` (not a reused PID).
pub fn is_running(pid: u32, node: &str) -> bool {
    // The cmdline reads empty for a zombie, and also for a moment inside execve (measured here: a
    // sixth of the reads during a loop of execs), which is where a starting node is while cnispawn
    // becomes systemd-nspawn: taking that for "exited" failed `up` now and then. So an empty read
    // is only believed for a zombie, or once it has lasted.
    for _ in 0..EXEC_GRACE_READS {
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            return false;
        };
        if !cmdline.is_empty() {
            return String::from_utf8_lossy(&cmdline).contains(&format!("--machine={node}"));
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
const EXEC_GRACE_READS: usize = 50;

/// Whether `pid` is a zombie (or gone): the state field of /proc/<pid>/stat, after the command
/// name in parentheses, which may itself hold spaces and parentheses.
fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state == "Z" || state == "X")
    })
}

/// PID of the node's systemd: the child of nspawn.
pub fn leader(pid: u32) -> Option<u32> {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

/// A command inside the node: `nsenter -t <leader> -a -- ARGS`.
pub fn command(node: &NodeState, args: &[&str]) -> Result<Command> {
    let pid = node
        .pid
        .filter(|p| is_running(*p, &node.name))
        .ok_or_else(|| Error::node(&node.name, "is not running"))?;
    let leader =
        leader(pid).ok_or_else(|| Error::node(&node.name, "has no running systemd yet"))?;
    let mut cmd = Command::new("nsenter");
    cmd.arg("-t")
        .arg(leader.to_string())
        .arg("-a")
        .arg("--")
        .args(args);
    Ok(cmd)
}

/// Runs a command in the node and returns its stdout; a failure carries the command's last lines
/// of output.
pub fn run(node: &NodeState, args: &[&str]) -> Result<String> {
    run_with_input(node, args, None)
}

/// [`run`] with `input` on the command's stdin.
pub fn run_with_input(node: &NodeState, args: &[&str], input: Option<&[u8]>) -> Result<String> {
    use std::io::Write;
    let mut child = command(node, args)?
        .stdin(if input.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| Error::io("run", "nsenter", e))?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(input)
            .map_err(|e| Error::io("write to", args[0], e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io("run", "nsenter", e))?;
    if !out.status.success() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        return Err(Error::node(
            &node.name,
            format!(
                "`{}` failed ({}):\n{}",
                args.join(" "),
                out.status,
                lines[lines.len().saturating_sub(12)..].join("\n")
            ),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// [`run`] with its output (or its failure) kept in `log`; a failure points at that file.
pub fn run_logged(node: &NodeState, args: &[&str], log: &std::path::Path) -> Result<String> {
    let output = run(node, args);
    let _ = std::fs::write(
        log,
        match &output {
            Ok(out) => out.clone(),
            Err(e) => e.to_string(),
        },
    );
    output.map_err(|e| Error::node(&node.name, format!("{e}; output in {}", log.display())))
}

/// `kubectl` in the node with kubeadm's admin credentials (the first node, once `kubeadm init` ran).
pub fn admin_kubectl(node: &NodeState, args: &[&str]) -> Result<String> {
    let mut all = vec!["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf"];
    all.extend_from_slice(args);
    run(node, &all)
}

/// The last lines of the node's log, for error messages.
pub fn log_tail(node: &NodeState, lines: usize) -> String {
    let text = std::fs::read_to_string(node.dir.join("log")).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Waits until the node's systemd reports `running` (or `degraded`); returns that state.
pub fn wait_booted(node: &NodeState, timeout: Duration) -> Result<String> {
    let start = Instant::now();
    loop {
        let pid = node.pid.unwrap_or(0);
        if !is_running(pid, &node.name) {
            return Err(Error::node(
                &node.name,
                format!(
                    "exited while booting; the end of its log:\n{}",
                    log_tail(node, 15)
                ),
            ));
        }
        if let Ok(mut cmd) = command(node, &["systemctl", "is-system-running"]) {
            if let Ok(out) = cmd.stdin(Stdio::null()).stderr(Stdio::null()).output() {
                let state = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                if state == "running" {
                    return Ok(state);
                }
                if state == "degraded" {
                    let unexpected = unexpected_failed_units(node)?;
                    if unexpected.is_empty() {
                        return Ok(state);
                    }
                    return Err(Error::node(
                        &node.name,
                        format!(
                            "booted degraded, failed units: {} (see `kubeadm-nspawn exec {} -- systemctl status <unit>`)",
                            unexpected.join(", "),
                            node.name
                        ),
                    ));
                }
            }
        }
        if start.elapsed() > timeout {
            return Err(Error::node(
                &node.name,
                format!(
                    "did not boot within {timeout:?}; the end of its log:\n{}",
                    log_tail(node, 15)
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Units allowed to fail in a booted node without Kubernetes. Empty: the recipe boots to `running`.
pub const EXPECTED_FAILED_UNITS: &[&str] = &[];

fn unexpected_failed_units(node: &NodeState) -> Result<Vec<String>> {
    let out = command(
        node,
        &[
            "systemctl",
            "list-units",
            "--failed",
            "--plain",
            "--no-legend",
        ],
    )?
    .stdin(Stdio::null())
    .output()
    .map_err(|e| Error::io("run", "nsenter", e))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|unit| !EXPECTED_FAILED_UNITS.contains(unit))
        .map(str::to_owned)
        .collect())
}

/// Clean poweroff (SIGRTMIN+4 to the node's systemd), then SIGKILL after `timeout` (a node with pods
/// may never finish its poweroff: DESIGN.md §7.1). Returns once nspawn has exited.
pub fn stop(node: &NodeState, timeout: Duration) {
    let Some(pid) = node.pid.filter(|p| is_running(*p, &node.name)) else {
        return;
    };
    if let Some(leader) = leader(pid) {
        // SAFETY: plain signal to the node's PID 1, found through its nspawn.
        unsafe { libc::kill(leader as i32, libc::SIGRTMIN() + 4) };
    }
    let start = Instant::now();
    while is_running(pid, &node.name) {
        if start.elapsed() > timeout {
            // SAFETY: as above. Killing PID 1 of the node ends its whole PID namespace; then nspawn.
            if let Some(leader) = leader(pid) {
                unsafe { libc::kill(leader as i32, libc::SIGKILL) };
            }
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reaps `pid` if it is a finished child of this process (a node spawned by this `up`); does nothing
/// otherwise.
pub fn reap(pid: u32) {
    // SAFETY: waitpid with WNOHANG on a PID this process spawned; no memory is shared.
    unsafe { libc::waitpid(pid as i32, std::ptr::null_mut(), libc::WNOHANG) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_follows_the_process_and_its_machine_name() {
        let me = std::process::id();
        assert!(!is_running(me, "knst-not-this-process"));
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
    fn nspawn_args_follow_the_measured_recipe() {
        let a = nspawn_args(
            "c-n0",
            Path::new("/r"),
            "kns-c-0",
            Path::new("/d/ctd"),
            Path::new("/d/kl"),
            false,
        );
        for expected in [
            "--register=no",
            "--keep-unit",
            "--boot",
            "--machine=c-n0",
            "--network-namespace-path=/run/netns/kns-c-0",
            "--system-call-filter=@keyring bpf",
            "--bind=/d/ctd:/var/lib/containerd",
            "--bind=/d/kl:/var/lib/kubelet",
        ] {
            assert!(
                a.contains(&expected.to_string()),
                "{expected} missing from {a:?}"
            );
        }
        assert_eq!(&a[..2], ["-D", "/r"]);
        let registered = nspawn_args(
            "c",
            Path::new("/r"),
            "n",
            Path::new("/d"),
            Path::new("/k"),
            true,
        );
        assert!(registered.contains(&"--register=yes".to_string()));
    }
}
