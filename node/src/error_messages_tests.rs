//! Every error of kns-node, printed as a tool prints it: the node named plainly (`node "dev-n0"`),
//! durations in seconds, no Rust Debug text (kns_plumbing::plain).

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use kns_plumbing::every_variant;
use kns_plumbing::plain::{assert_plain, NoHint};

use crate::error::Error;

fn node() -> String {
    "dev-n0".into()
}

fn command() -> String {
    "kubeadm init --config /kind/kubeadm.conf".into()
}

fn enoent() -> std::io::Error {
    std::io::Error::from_raw_os_error(libc::ENOENT)
}

fn log_tail() -> String {
    "[  OK  ] Reached target multi-user.target\n[FAILED] Failed to start containerd.service".into()
}

fn samples() -> Vec<(Error, &'static str)> {
    every_variant!(Error {
        Error::NotRunning { .. } => (
            Error::NotRunning { node: node() },
            "node \"dev-n0\" is not running (no systemd-nspawn --machine=dev-n0)",
        );
        Error::NoProcess { .. } => (
            Error::NoProcess { node: "4242".into(), pid: 4242 },
            "no process 4242: give a running node's name",
        );
        Error::NoInit { .. } => (
            Error::NoInit { node: node() },
            "node \"dev-n0\" has no running systemd yet",
        );
        Error::Spawn { .. } => (
            Error::Spawn { node: node(), command: command(), source: enoent() },
            "node \"dev-n0\": cannot run `kubeadm init --config /kind/kubeadm.conf`: No such file",
        );
        Error::Gone { .. } => (
            Error::Gone { node: node(), command: command() },
            "node \"dev-n0\" is gone (its systemd exited) while `kubeadm init",
        );
        Error::Interrupted { .. } => (
            Error::Interrupted { node: node(), command: command() },
            "node \"dev-n0\": `kubeadm init --config /kind/kubeadm.conf` stopped: interrupted",
        );
        Error::Failed { .. } => (
            Error::Failed {
                node: node(),
                command: command(),
                status: ExitStatus::from_raw(1 << 8),
                output: "[preflight] Some fatal errors occurred:\n\t[ERROR Port-6443]: Port 6443 is in use".into(),
            },
            "node \"dev-n0\": `kubeadm init --config /kind/kubeadm.conf` failed (exit status: 1)",
        ), (
            Error::Failed {
                node: node(),
                command: "systemctl restart kubelet".into(),
                status: ExitStatus::from_raw(libc::SIGKILL),
                output: String::new(),
            },
            "node \"dev-n0\": `systemctl restart kubelet` failed (signal: 9 (SIGKILL))\n",
        );
        Error::Degraded { .. } => (
            Error::Degraded {
                node: node(),
                units: vec!["containerd.service".into(), "systemd-resolved.service".into()],
            },
            "node \"dev-n0\" booted degraded, failed units: containerd.service, systemd-resolved.service\nhint: `kubeadm-nspawn exec dev-n0 -- systemctl status containerd.service`",
        );
        Error::ExitedWhileBooting { .. } => (
            Error::ExitedWhileBooting { node: node(), log_tail: log_tail() },
            "node \"dev-n0\" exited while booting; the end of its log:\n  | [  OK  ] Reached",
        );
        Error::BootTimeout { .. } => (
            Error::BootTimeout {
                node: node(),
                timeout: Duration::from_secs(90),
                log_tail: log_tail(),
            },
            "node \"dev-n0\" did not boot within 90 s; the end of its log:",
        ), (
            Error::BootTimeout {
                node: node(),
                timeout: Duration::from_millis(1500),
                log_tail: String::new(),
            },
            "node \"dev-n0\" did not boot within 1.50 s\n",
        );
    })
}

#[test]
fn every_error_names_its_node_plainly() {
    assert_plain(samples());
}

#[test]
fn node_root_errors_say_the_path_in_the_node_and_the_root() {
    let error = crate::root::Error {
        op: "write",
        root: PathBuf::from("/proc/4242/root"),
        path: PathBuf::from("/etc/kubernetes/kubelet.conf"),
        source: std::io::Error::from_raw_os_error(libc::EROFS),
    };
    assert_plain(vec![(
        NoHint(error),
        "write /etc/kubernetes/kubelet.conf in the node's root /proc/4242/root: Read-only file system",
    )]);
}
