//! Where a node keeps its images: its containerd (the `k8s.io` namespace that kubelet's CRI reads)
//! or, in a node that runs Docker, its Docker. Both say which of a list of names they hold with
//! which config digest, and both take an image archive as one tar stream.

use std::collections::HashMap;
use std::io::Write;
use std::process::Child;

use crate::archive::Archive;
use crate::containerd;
use crate::docker::{self, Daemon};
use crate::error::Result;
use crate::node::{Node, NodeError};

/// Which store a push writes to; `Auto` picks Docker in a node whose Docker socket exists and
/// containerd otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Runtime {
    #[default]
    Auto,
    Containerd,
    Docker,
}

pub enum ImageStore {
    /// The node's containerd, through its `ctr`.
    Containerd(containerd::Ctr),
    Docker(Daemon),
}

impl ImageStore {
    /// The store `runtime` names in `node`, checked to be running.
    pub fn open(node: &Node, runtime: Runtime) -> Result<Self> {
        let use_docker = match runtime {
            Runtime::Auto => docker::runs_in(&node.root()),
            Runtime::Containerd => false,
            Runtime::Docker => true,
        };
        if use_docker {
            if !docker::runs_in(&node.root()) {
                return Err(node.error(format!(
                    "Docker is not running in it (no /{}); --runtime containerd pushes into its \
                     containerd",
                    docker::NODE_SOCKET
                )));
            }
            let socket = node.root().join(docker::NODE_SOCKET);
            let daemon = Daemon::connect(
                &socket.to_string_lossy(),
                format!("Docker in node \"{}\"", node.name),
            )?;
            Ok(ImageStore::Docker(daemon))
        } else {
            containerd::check_running(node)?;
            Ok(ImageStore::Containerd(containerd::Ctr::detect(node)?))
        }
    }

    /// Whether it can load `archive`: Docker before version 25 reads only docker-archives (with a
    /// manifest.json), so an OCI layout without one gets this hint next to Docker's own error.
    pub fn load_hint(&self, archive: &Archive) -> &'static str {
        match self {
            ImageStore::Docker(_) if !archive.has_docker_manifest() => {
                " (the archive is an OCI layout without manifest.json, which Docker loads only \
                 from version 25 on; give it a docker-archive, e.g. `image-pusher build --format \
                 docker-archive`)"
            }
            _ => "",
        }
    }

    /// What the JSON summary calls it.
    pub fn name(&self) -> &'static str {
        match self {
            ImageStore::Containerd(_) => "containerd",
            ImageStore::Docker(_) => "docker",
        }
    }

    /// For each of `names` the store holds, the config digest of the image it names.
    pub fn image_configs(&self, node: &Node, names: &[String]) -> Result<HashMap<String, String>> {
        match self {
            ImageStore::Containerd(_) => containerd::image_configs(node, names),
            ImageStore::Docker(daemon) => {
                let mut configs = HashMap::new();
                for name in names {
                    if let Some(id) = daemon.image_id(name)? {
                        configs.insert(name.clone(), id);
                    }
                }
                Ok(configs)
            }
        }
    }

    /// Starts an import that reads an archive from [`Load::take_writer`].
    pub fn start_load(&self, node: &Node) -> Result<Load> {
        match self {
            ImageStore::Containerd(ctr) => {
                let mut child = containerd::start_import(node, *ctr)?;
                let writer = child
                    .stdin
                    .take()
                    .map(|stdin| Box::new(stdin) as Box<dyn Write + Send>);
                Ok(Load {
                    writer,
                    pending: Pending::Import(child, node.clone()),
                })
            }
            ImageStore::Docker(daemon) => {
                let (writer, load) = daemon.start_load();
                Ok(Load {
                    writer: Some(Box::new(writer)),
                    pending: Pending::Docker(load),
                })
            }
        }
    }
}

/// An import under way in one node.
pub struct Load {
    writer: Option<Box<dyn Write + Send>>,
    pending: Pending,
}

enum Pending {
    /// `ctr images import -` in the node, waited for through its node (see
    /// [`kns_node::Node::wait`]).
    Import(Child, Node),
    /// `docker load` over the node's Docker socket.
    Docker(docker::Load),
}

impl Load {
    /// Where the archive goes; taken once. Dropping it ends the stream.
    pub fn take_writer(&mut self) -> Option<Box<dyn Write + Send>> {
        self.writer.take()
    }

    /// Stops an import whose stream could not be completed.
    pub fn abort(mut self) {
        self.writer = None;
        match self.pending {
            Pending::Import(child, node) => {
                // Our own child's process group: nsenter and ctr in the node.
                let group = nix::unistd::Pid::from_raw(child.id() as i32);
                let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
                let _ = node.wait(child, &["ctr", "images", "import"]);
            }
            // The upload ended short: the daemon refuses the truncated tar.
            Pending::Docker(load) => {
                let _ = load.wait();
            }
        }
    }

    /// Waits for the import to end; the error says why it failed.
    pub fn wait(mut self) -> std::result::Result<(), String> {
        self.writer = None;
        match self.pending {
            Pending::Import(child, node) => match node.wait(child, &["ctr", "images", "import"]) {
                Ok(out) if out.status.success() => Ok(()),
                Ok(out) => Err(format!(
                    "ctr images import failed: {}",
                    last_line(&out.stderr)
                )),
                Err(e) => Err(format!("ctr images import: {e}")),
            },
            Pending::Docker(load) => load.wait().map(|_| ()).map_err(|e| e.to_string()),
        }
    }
}

/// The last non-empty line of a command's stderr: what ctr says went wrong.
pub(crate) fn last_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(no message)")
        .trim()
        .to_owned()
}
