//! The cluster's kubectl as the end-to-end tests use it: one kubeconfig, stdout as text or JSON,
//! a command in a pod retried while a new pod's network or a new Service settles.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kns_plumbing::child::spawn_with_input;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cluster::assert_ok;

/// How a kubectl is started for `kubectl ARGS`: the command, with the kubeconfig, not yet spawned.
type Launch<'a> = Box<dyn Fn(&[&str]) -> Command + Send + Sync + 'a>;

/// kubectl with the cluster's kubeconfig, started as `launch` says: the host's kubectl, or one in
/// a node of a stand-in host.
pub struct Kubectl<'a> {
    launch: Launch<'a>,
}

impl<'a> Kubectl<'a> {
    /// The kubectl of `kube_bin` (KUBE_BIN) with `kubeconfig`.
    pub fn new(kube_bin: &Path, kubeconfig: PathBuf) -> Self {
        let binary = kube_bin.join("kubectl");
        Kubectl::launched_by(move |args| {
            let mut command = Command::new(&binary);
            command.arg("--kubeconfig").arg(&kubeconfig).args(args);
            command
        })
    }

    /// The kubectl that `launch(ARGS)` starts (with its kubeconfig), such as one run in a node.
    pub fn launched_by(launch: impl Fn(&[&str]) -> Command + Send + Sync + 'a) -> Self {
        Kubectl {
            launch: Box::new(launch),
        }
    }

    /// `kubectl ARGS`, with `input` on its standard input (else none).
    pub fn output(&self, args: &[&str], input: Option<&str>) -> Output {
        spawn_with_input(&mut (self.launch)(args), input.map(str::as_bytes))
            .unwrap()
            .wait_with_output()
            .unwrap()
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

    /// `kubectl ARGS -o jsonpath=PATH`, which must succeed: the fields that PATH picks, as text.
    pub fn jsonpath(&self, args: &[&str], path: &str) -> String {
        let output = format!("jsonpath={path}");
        let mut all = args.to_vec();
        all.extend(["-o", &output]);
        self.ok(&all)
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
            .filter(|n| is_ready(n))
            .map(|n| n["metadata"]["name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// `kubectl exec POD -- busybox sh -c SCRIPT`, retried for 90 s until `done` (a new pod's
    /// network and a new Service's rules take a moment to settle); returns the last output.
    pub fn exec_until(&self, pod: &str, script: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(90);
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

/// Whether `object` (a node or a pod, as `kubectl -o json` gives it) has the condition Ready True.
pub fn is_ready(object: &Value) -> bool {
    object["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}
