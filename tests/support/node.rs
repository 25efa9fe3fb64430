//! [`TestNode`]: a node booted for a test from a base rootfs with the shared node recipe
//! (kns_node), without kubeadm-nspawn.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::run;

/// A node booted for a test: an overlay over a base rootfs (so the shared base stays pristine),
/// systemd-nspawn with the flags of the measured node recipe (DESIGN.md §7.1) and a private network.
/// Dropping it powers the node off (SIGKILL after a timeout) and unmounts the overlay.
pub struct TestNode {
    pub name: String,
    pub nspawn: std::process::Child,
    pub root: PathBuf,
    pub log: PathBuf,
}

impl TestNode {
    /// Boots `base` as node `name` (which should carry the test prefix), with scratch space in
    /// `workdir`.
    pub fn boot(base: &Path, name: &str, workdir: &Path) -> TestNode {
        let dir = workdir.join(name);
        let (upper, work, root) = (dir.join("upper"), dir.join("work"), dir.join("rootfs"));
        let containerd = dir.join("containerd");
        for d in [&upper, &work, &root, &containerd] {
            std::fs::create_dir_all(d).unwrap();
        }
        crate::mount_overlay(base, &upper, &work, &root);
        let log = dir.join("log");
        // The recipe's flags (kns_node::nspawn), with a private network and no kubelet directory.
        let spec = kns_node::nspawn::Spec {
            machine: name.to_owned(),
            root: root.clone(),
            network: kns_node::nspawn::Network::Private,
            containerd_dir: containerd,
            kubelet_dir: None,
            register: false,
            binds: vec![],
        };
        let nspawn = Command::new("systemd-nspawn")
            .envs(kns_node::nspawn::ENV.iter().copied())
            .args(spec.args())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.join("nspawn.err")).unwrap())
            .spawn()
            .expect("run systemd-nspawn");
        TestNode {
            name: name.to_owned(),
            nspawn,
            root,
            log,
        }
    }

    /// The running node (kns_node's handle), once its systemd exists.
    pub fn node(&self) -> Option<kns_node::Node> {
        kns_node::Node::from_nspawn(&self.name, Some(self.nspawn.id())).ok()
    }

    /// PID of the node's systemd (the child of systemd-nspawn), once it exists.
    pub fn leader(&self) -> Option<u32> {
        kns_node::process::leader(self.nspawn.id())
    }

    /// Runs a command inside the node (all its namespaces).
    pub fn exec(&self, args: &[&str]) -> Output {
        use kns_node::Exec;
        self.node()
            .expect("the node is running")
            .output(args, None)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Waits until the node has booted (kns_node::boot::wait: `running`, or `degraded` with only
    /// the expected failed units); returns the state and the units that failed. Panics with the
    /// error (and the log's tail) otherwise.
    pub fn wait_booted(&self, timeout: std::time::Duration) -> (String, Vec<String>) {
        let state = kns_node::boot::wait(self, timeout, std::time::Duration::from_millis(200))
            .unwrap_or_else(|e| panic!("{e}"));
        let node = self.node().expect("a booted node runs");
        (state, kns_node::boot::failed_units(&node).unwrap())
    }

    /// Clean poweroff (SIGRTMIN+4 to the node's systemd), SIGKILL after `timeout`.
    pub fn stop(&mut self, timeout: std::time::Duration) {
        if let Some(node) = self.node() {
            node.signal(libc::SIGRTMIN() + 4);
        }
        let start = std::time::Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(_)) = self.nspawn.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        if let Some(node) = self.node() {
            // SIGKILL of PID 1 of the node ends its whole PID namespace.
            node.signal(libc::SIGKILL);
        }
        let _ = self.nspawn.kill();
        let _ = self.nspawn.wait();
    }
}

impl kns_node::boot::Booting for TestNode {
    type Node = kns_node::Node;
    fn node(&self) -> Option<kns_node::Node> {
        TestNode::node(self)
    }
    fn alive(&self) -> bool {
        kns_node::liveness::is_running(self.nspawn.id(), &self.name)
    }
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
    fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.stop(std::time::Duration::from_secs(10));
        let _ = run("umount", &["-l", self.root.to_str().unwrap_or_default()]);
    }
}
