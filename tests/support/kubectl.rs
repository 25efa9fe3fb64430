//! The cluster's kubectl as the end-to-end tests use it: one kubeconfig, stdout as text or JSON,
//! a command in a pod retried while a new pod's network or a new Service settles.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cluster::assert_ok;

/// kubectl with the cluster's kubeconfig.
pub struct Kubectl {
    pub binary: PathBuf,
    pub kubeconfig: PathBuf,
}

impl Kubectl {
    /// The kubectl of `kube_bin` (KUBE_BIN) with `kubeconfig`.
    pub fn new(kube_bin: &Path, kubeconfig: PathBuf) -> Self {
        Kubectl {
            binary: kube_bin.join("kubectl"),
            kubeconfig,
        }
    }

    /// `kubectl ARGS`, with `input` on its standard input (else none).
    pub fn output(&self, args: &[&str], input: Option<&str>) -> Output {
        let mut child = Command::new(&self.binary)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = input {
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(input.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// Whether the API answers `/readyz` within `timeout` (`2s`).
    pub fn api_ready(&self, timeout: &str) -> bool {
        let timeout = format!("--request-timeout={timeout}");
        self.output(&["get", "--raw", "/readyz", &timeout], None)
            .status
            .success()
    }

    /// The stdout of `kubectl ARGS`, which must succeed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.output(args, None);
        assert_ok(&out, &format!("kubectl {}", args.join(" ")));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `kubectl ARGS -o json`, parsed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    /// `kubectl apply -f -` of `manifest`, which must succeed.
    pub fn apply(&self, manifest: &str) {
        assert_ok(
            &self.output(&["apply", "-f", "-"], Some(manifest)),
            "kubectl apply",
        );
    }

    /// The names of the Ready nodes.
    pub fn ready_nodes(&self) -> Vec<String> {
        let nodes = self.json(&["get", "nodes"]);
        nodes["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| {
                n["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
            .map(|n| n["metadata"]["name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// `kubectl exec POD -- busybox sh -c SCRIPT`, retried for 60 s until `done` (a new pod's
    /// network and a new Service's rules take a moment to settle); returns the last output.
    pub fn exec_until(&self, pod: &str, script: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = self.output(
                &[
                    "exec",
                    pod,
                    "--",
                    "/usr/local/bin/busybox",
                    "sh",
                    "-c",
                    script,
                ],
                None,
            );
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if done(&text) || Instant::now() > deadline {
                return text;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}
