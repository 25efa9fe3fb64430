//! The node's containerd as the place images go: which images it already holds (name → config
//! digest) and the import that reads a tar on stdin. Both are `ctr` run inside the node, in the
//! `k8s.io` namespace where kubelet's CRI looks for images.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::error::Result;
use crate::node::{Exec, Node, NodeError};

pub const NAMESPACE: &str = "k8s.io";
const SOCKET: &str = "run/containerd/containerd.sock";

/// Fails unless the node's containerd listens.
pub fn check_running(node: &Node) -> Result<()> {
    if node.root().join(SOCKET).exists() {
        Ok(())
    } else {
        Err(node.error(format!(
            "containerd is not running in it (no /{SOCKET}); is the node booted?"
        )))
    }
}

/// For each of `names` the node has, the config digest of the image it names.
pub fn image_configs(node: &Node, names: &[String]) -> Result<HashMap<String, String>> {
    let listing = ctr(node, &["images", "ls"])?;
    let mut configs = HashMap::new();
    // REF TYPE DIGEST SIZE PLATFORMS LABELS; names carry no spaces.
    for line in listing.lines().skip(1) {
        let mut columns = line.split_whitespace();
        let (Some(name), Some(_), Some(digest)) = (columns.next(), columns.next(), columns.next())
        else {
            continue;
        };
        if names.iter().any(|n| n == name) {
            configs.insert(name.to_owned(), config_digest(node, digest)?);
        }
    }
    Ok(configs)
}

/// The config digest behind a manifest (or, for an index, behind this machine's manifest).
fn config_digest(node: &Node, digest: &str) -> Result<String> {
    let mut document = content(node, digest)?;
    if let Some(manifests) = document["manifests"].as_array() {
        let arch = crate::image::go_arch();
        let chosen = manifests
            .iter()
            .find(|m| m["platform"]["os"] == "linux" && m["platform"]["architecture"] == arch)
            .and_then(|m| m["digest"].as_str())
            .map(str::to_owned);
        document = match chosen {
            Some(d) => content(node, &d)?,
            None => Value::Null,
        };
    }
    Ok(document["config"]["digest"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

fn content(node: &Node, digest: &str) -> Result<Value> {
    let text = ctr(node, &["content", "get", digest])?;
    serde_json::from_str(&text)
        .map_err(|e| node.error(format!("ctr content get {digest}: not JSON: {e}")))
}

fn ctr(node: &Node, args: &[&str]) -> Result<String> {
    let mut full = vec!["ctr", "-n", NAMESPACE];
    full.extend_from_slice(args);
    Ok(node.run(&full)?)
}

/// `ctr images import --digests -` in the node, reading the tar from its stdin.
pub fn start_import(node: &Node) -> Result<Child> {
    import_command(node)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| node.error(format!("run nsenter: {e}")))
}

fn import_command(node: &Node) -> Command {
    node.command(&[
        "ctr",
        "-n",
        NAMESPACE,
        "images",
        "import",
        // Also names each image by digest, so an archive entry without a tag stays reachable; a
        // named image keeps only its name (no extra `import-<date>@sha256:...` entries).
        "--digests",
        "--skip-digest-for-named",
        "-",
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_import_runs_ctr_in_the_node_in_the_kubelet_namespace() {
        let node = Node {
            name: "c-n0".into(),
            leader: 42,
        };
        let command = import_command(&node);
        let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy()).collect();
        assert_eq!(command.get_program(), "nsenter");
        assert_eq!(
            args.join(" "),
            "-t 42 -a -- ctr -n k8s.io images import --digests --skip-digest-for-named -"
        );
    }
}
