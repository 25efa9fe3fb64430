//! Binaries into nodes' /usr/local/bin and images into their containerd, through image-pusher:
//! control-plane nodes get everything (control-plane images and etcd only go there), the workers
//! get kube-proxy, CoreDNS and pause. All but the first node are loaded on a thread of their own
//! while the first runs `kubeadm init`: they need nothing until they join. The load balancer gets
//! nothing.

use std::path::PathBuf;

use crate::error::Result;
use crate::host::image_pusher;
use crate::kube::binaries::{KubeBinaries, NODE_BINARIES};
use crate::kube::images::ImageSet;
use crate::model::state::NodeState;

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

/// Every image a control-plane node gets.
fn control_plane_archives(images: &ImageSet) -> Vec<PathBuf> {
    let mut archives = images.control_plane.clone();
    archives.extend(images.every_node.iter().cloned());
    archives
}

/// Step: everything into the first control-plane node.
pub fn first(ctx: &InitContext, kube: &KubeBinaries, images: &ImageSet) -> Result<()> {
    let first = &ctx.cluster.first_control_plane()?.state;
    image_pusher::push(
        &[first],
        &control_plane_archives(images),
        &[],
        &binaries(kube),
    )?;
    Ok(())
}

/// Step: the other nodes' load (further control planes, then the workers), started on its own
/// thread.
pub fn start_workers(ctx: &InitContext, kube: &KubeBinaries, images: &ImageSet) -> WorkerLoad {
    let state = &ctx.cluster.state;
    let control_planes: Vec<NodeState> = state.control_planes().skip(1).cloned().collect();
    let workers: Vec<NodeState> = state.workers().cloned().collect();
    let control_plane_archives = control_plane_archives(images);
    let worker_archives: Vec<PathBuf> = images.every_node.clone();
    let binaries = binaries(kube);
    WorkerLoad(Some(std::thread::spawn(move || {
        for (nodes, archives) in [
            (control_planes, control_plane_archives),
            (workers, worker_archives),
        ] {
            if !nodes.is_empty() {
                let nodes: Vec<&NodeState> = nodes.iter().collect();
                image_pusher::push(&nodes, &archives, &[], &binaries)?;
            }
        }
        Ok(())
    })))
}

/// The workers' load under way. Dropped without [`WorkerLoad::finish`] (a step between failed), it
/// still waits for the load, so no image-pusher outlives `init`.
pub struct WorkerLoad(Option<std::thread::JoinHandle<Result<()>>>);

impl WorkerLoad {
    /// Step: wait for the load; its failure, or its thread's panic, is this step's error.
    pub fn finish(mut self) -> Result<()> {
        self.wait()
    }

    fn wait(&mut self) -> Result<()> {
        match self.0.take() {
            None => Ok(()),
            Some(thread) => thread.join().unwrap_or_else(|panic| {
                Err(kns_plumbing::parallel::Panicked::of("loading the workers", &*panic).into())
            }),
        }
    }
}

impl Drop for WorkerLoad {
    fn drop(&mut self) {
        let _ = self.wait();
    }
}
