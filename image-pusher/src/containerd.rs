//! The node's containerd as the place images go: which images it already holds (name → config
//! digest) and the import that reads a tar on stdin. Both are `ctr` run inside the node, in the
//! `k8s.io` namespace where kubelet's CRI looks for images. The node's `ctr` is asked its version
//! once ([`Ctr::detect`]): its import changed with containerd 2 ([`Ctr::import_args`]).

use std::collections::HashMap;
use std::process::{Child, Stdio};

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

/// The node's `ctr`, by version (major, minor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ctr {
    pub version: (u64, u64),
}

impl Ctr {
    /// Asks the node's `ctr --version` (the ctr of the node's containerd package).
    pub fn detect(node: &Node) -> Result<Ctr> {
        let text = node.run(&["ctr", "--version"])?;
        Ctr::parse(&text).ok_or_else(|| {
            node.error(format!(
                "cannot tell containerd's version from `ctr --version`: \"{}\"",
                text.trim()
            ))
        })
    }

    /// The version in `ctr --version`'s line: `ctr github.com/containerd/containerd/v2
    /// 2.1.9+unknown` (Debian's 2.1), `ctr github.com/containerd/containerd 1.6.20~ds1` (Debian's
    /// 1.6), `ctr github.com/containerd/containerd v1.7.24` (upstream's).
    pub fn parse(text: &str) -> Option<Ctr> {
        text.split_whitespace().skip(2).find_map(|word| {
            let word = word.strip_prefix('v').unwrap_or(word);
            let mut parts = word
                .split(|c: char| !c.is_ascii_digit())
                .map(|p| p.parse::<u64>().ok());
            Some(Ctr {
                version: (parts.next()??, parts.next()??),
            })
        })
    }

    /// `ctr images import` of a tar on stdin into the `k8s.io` namespace; with `digests` every
    /// image without a name is named by its digest, and without `unpack` nothing is unpacked.
    ///
    /// From 1.7 on ctr can import through containerd's transfer service, and from 2.0 on it does
    /// so unless told `--local`. Its transfer import turns `--skip-digest-for-named` around (2.1.9
    /// and 2.2: a named image also gets an `import-<date>@sha256:...` name, which keeps an
    /// image's old layers from the garbage collector once the name moves to a newer image), and
    /// it took 0.60–0.97 s for a 50 MB image where `--local` took 0.34–0.41 s (containerd 2.1.9
    /// here). So ctr's own import, the one containerd 1.6 has, is asked for wherever it is not
    /// the default.
    pub fn import_args(&self, digests: bool, unpack: bool) -> Vec<&'static str> {
        let mut args = vec!["ctr", "-n", NAMESPACE, "images", "import"];
        if self.version >= (1, 7) {
            args.push("--local");
        }
        if digests {
            // Also names each image by digest, so an archive entry without a tag stays
            // reachable; a named image keeps only its name (no extra
            // `import-<date>@sha256:...` entries).
            args.extend(["--digests", "--skip-digest-for-named"]);
        }
        if !unpack {
            args.push("--no-unpack");
        }
        args.push("-");
        args
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
pub fn start_import(node: &Node, ctr: Ctr) -> Result<Child> {
    node.command(&ctr.import_args(true, true))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| node.error(format!("run nsenter: {e}")))
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
        let bookworm = Ctr { version: (1, 6) };
        let command = node.command(&bookworm.import_args(true, true));
        let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy()).collect();
        assert_eq!(command.get_program(), "nsenter");
        assert_eq!(
            args.join(" "),
            "-t 42 -a -- setpriv --pdeathsig TERM -- ctr -n k8s.io images import --digests \
             --skip-digest-for-named -"
        );
    }

    #[test]
    fn ctr_imports_locally_wherever_it_could_use_the_transfer_service() {
        let ctr = |text| Ctr::parse(text).unwrap();
        let v16 = ctr("ctr github.com/containerd/containerd 1.6.20~ds1\n");
        let v17 = ctr("ctr github.com/containerd/containerd v1.7.24");
        let v21 = ctr("ctr github.com/containerd/containerd/v2 2.1.9+unknown\n");
        assert_eq!(
            [v16.version, v17.version, v21.version],
            [(1, 6), (1, 7), (2, 1)]
        );
        assert_eq!(
            v21.import_args(false, false).join(" "),
            "ctr -n k8s.io images import --local --no-unpack -"
        );
        assert_eq!(
            v17.import_args(true, true).join(" "),
            "ctr -n k8s.io images import --local --digests --skip-digest-for-named -"
        );
        assert_eq!(
            v16.import_args(false, true).join(" "),
            "ctr -n k8s.io images import -"
        );
        assert_eq!(Ctr::parse("ctr github.com/containerd/containerd"), None);
        assert_eq!(Ctr::parse("sh: 1: ctr: not found"), None);
    }
}
