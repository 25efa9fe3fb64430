//! A kubeadm-nspawn cluster for a test: named after the test prefix, on its own /24, its state
//! under the test's work directory; and assertions on the tools' output.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::{bin, PrefixSweeper};

/// A cluster named after the test prefix, on its own /24, kept under the test's work directory.
pub struct TestCluster {
    pub name: String,
    pub subnet: String,
    pub state_dir: PathBuf,
}

impl TestCluster {
    pub fn new(sweeper: &PrefixSweeper) -> Self {
        let octet = u8::from_str_radix(&sweeper.prefix[sweeper.prefix.len() - 2..], 16).unwrap();
        TestCluster {
            name: sweeper.prefix.clone(),
            subnet: format!("10.252.{octet}.0/24"),
            state_dir: sweeper.workdir.join("state"),
        }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin("kubeadm-nspawn"));
        cmd.arg("--state-dir")
            .arg(&self.state_dir)
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    pub fn up(&self, nodes: usize, extra: &[&str]) -> Output {
        let nodes = nodes.to_string();
        let mut args = vec![
            "up",
            "--nodes",
            &nodes,
            "--name",
            &self.name,
            "--subnet",
            &self.subnet,
            "--no-masquerade",
        ];
        args.extend(extra);
        self.run(&args)
    }

    pub fn node(&self, i: usize) -> String {
        format!("{}-n{i}", self.name)
    }

    pub fn exec(&self, node: &str, command: &[&str]) -> Output {
        let mut args = vec!["exec", node, "--"];
        args.extend(command);
        self.run(&args)
    }

    pub fn cluster_dir(&self) -> PathBuf {
        self.state_dir.join("clusters").join(&self.name)
    }
}

pub fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn assert_fails_with(out: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected a failure: {stderr}");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in: {stderr}"));
    assert!(
        error.contains(expected),
        "expected {expected:?} in {error:?}"
    );
}

/// Builds the shared base first, so `up` timings below are warm-cache timings.
pub fn warm_base() {
    let out = Command::new(bin("rootfs-builder"))
        .arg("build")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert_ok(&out, "rootfs-builder build");
}
