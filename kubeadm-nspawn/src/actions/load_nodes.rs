//! Binaries into nodes' /usr/local/bin and images into their containerd, through image-pusher:
//! the first node gets everything (control-plane images and etcd only go there), the workers get
//! kube-proxy, CoreDNS and pause. The workers are loaded while the first node runs `kubeadm init`
//! (see kubeadm_init.rs): they need nothing until they join.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::kube::{KubeBinaries, NODE_BINARIES};
use crate::push;
use crate::state::NodeState;

use super::InitContext;

/// `HOST:NODE` paths of the binaries every node gets.
fn binaries(kube: &KubeBinaries) -> Vec<String> {
    let mut binaries: Vec<String> = NODE_BINARIES
        .iter()
        .map(|b| format!("{}:/usr/local/bin/{b}", kube.path(b).display()))
        .collect();
    if let Some(crictl) = kube.extra("crictl") {
        binaries.push(format!("{}:/usr/local/bin/crictl", crictl.display()));
    }
    binaries
}

/// Step: everything into the first node.
pub fn first(ctx: &mut InitContext) -> Result<()> {
    let kube = ctx.kube()?;
    let images = ctx.images()?;
    let mut archives = images.control_plane.clone();
    archives.extend(images.every_node.iter().cloned());
    push::push(&ctx.state.nodes[..1], &archives, &[], &binaries(kube)).map(drop)
}

/// What the workers get, ready to run on another thread.
pub struct WorkerLoad {
    nodes: Vec<NodeState>,
    archives: Vec<PathBuf>,
    binaries: Vec<String>,
}

impl WorkerLoad {
    pub fn new(ctx: &InitContext) -> Result<Self> {
        Ok(WorkerLoad {
            nodes: ctx.state.nodes[1..].to_vec(),
            archives: ctx.images()?.every_node.clone(),
            binaries: binaries(ctx.kube()?),
        })
    }

    pub fn run(&self) -> Result<()> {
        if self.nodes.is_empty() {
            return Ok(());
        }
        push::push(&self.nodes, &self.archives, &[], &self.binaries)
            .map(drop)
            .map_err(|e| Error::InvalidArgument(format!("loading the workers: {e}")))
    }
}
