//! The steps of `up` and `down`, each a function of the [`Context`]. [`up`] lists them in order, so
//! that one function reads as the whole flow (like kind's create actions).

mod base_image;
mod export_kubeconfig;
mod kube_binaries;
mod kube_images;
mod kubeadm_init;
mod kubeadm_join;
mod load_nodes;
pub mod pod_network;
mod prepare_nodes;
mod spawn_nodes;
mod teardown;
mod wait_booted;
mod wait_ready;

use std::time::Instant;

use crate::cluster::{ClusterName, ClusterPaths, Subnet};
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::images::ImageSet;
use crate::kube::KubeBinaries;
use crate::kubeadm::ClusterConfig;
use crate::state::ClusterState;

pub use teardown::teardown;

/// What `up` was asked for.
#[derive(Debug, Clone)]
pub struct UpOptions {
    pub name: ClusterName,
    pub nodes: usize,
    pub subnet: Subnet,
    pub masquerade: bool,
    /// Extra arguments for `rootfs-builder build` (method and its inputs).
    pub image_args: Vec<String>,
    pub boot_timeout: std::time::Duration,
    /// Kubernetes binaries chosen at `up` (`--kube-bin` ...), recorded for `init`.
    pub kube: Option<crate::kube::KubeBinaries>,
}

/// Everything the steps share.
pub struct Context {
    pub opts: UpOptions,
    pub paths: ClusterPaths,
    pub state: ClusterState,
}

impl Context {
    pub fn save(&self) -> Result<()> {
        self.state.save(&self.paths.state_file())
    }
}

/// A named step over a context `C`.
type NamedStep<C> = (&'static str, fn(&mut C) -> Result<()>);
type Step = NamedStep<Context>;

/// The steps of `up`, in order.
const UP: &[Step] = &[
    ("Getting the node base image", base_image::run),
    ("Preparing node root filesystems", prepare_nodes::run),
    ("Starting nodes", spawn_nodes::run),
    ("Waiting for nodes to boot", wait_booted::run),
];

/// Runs the steps of `up`, printing each with its duration; stops at the first failure.
pub fn up(ctx: &mut Context) -> Result<()> {
    run_steps(UP, ctx).map(drop)
}

/// Runs `steps` in order, each announced and timed; returns the timings.
fn run_steps<C>(steps: &[NamedStep<C>], ctx: &mut C) -> Result<Vec<(&'static str, f64)>> {
    let mut timings = vec![];
    for (title, step) in steps {
        crate::signals::check()?;
        let started = Instant::now();
        eprintln!(" • {title} ...");
        step(ctx)?;
        crate::signals::check()?;
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(" ✓ {title} ({seconds:.1} s)");
        timings.push((*title, seconds));
    }
    Ok(timings)
}

/// What `init` was asked for.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub state_dir: PathBuf,
    pub kube_bin: Option<PathBuf>,
    pub kube_root: Option<PathBuf>,
    pub extra_bin: Option<PathBuf>,
    /// kubeadm patch files (`--kubeadm-patch`).
    pub patches: Vec<PathBuf>,
    /// How long to wait for all nodes Ready (zero: do not wait).
    pub wait: Duration,
    /// The user's kubeconfig to merge the cluster's context into.
    pub kubeconfig: PathBuf,
}

/// Everything the steps of `init` share; later steps use what earlier ones found.
pub struct InitContext {
    pub opts: InitOptions,
    pub paths: ClusterPaths,
    pub state: ClusterState,
    pub kube: Option<KubeBinaries>,
    pub images: Option<ImageSet>,
    pub config: Option<ClusterConfig>,
    pub ca_cert_hash: Option<String>,
}

impl InitContext {
    pub fn save(&self) -> Result<()> {
        self.state.save(&self.paths.state_file())
    }

    fn kube(&self) -> Result<&KubeBinaries> {
        self.kube
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("Kubernetes binaries not found yet".into()))
    }

    fn images(&self) -> Result<&ImageSet> {
        self.images
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("images not prepared yet".into()))
    }
}

type InitStep = NamedStep<InitContext>;

/// The steps of `init`, in order.
const INIT: &[InitStep] = &[
    ("Finding Kubernetes binaries", kube_binaries::run),
    ("Preparing images", kube_images::run),
    (
        "Loading binaries and images into the first node",
        load_nodes::first,
    ),
    (
        "Starting the control plane (kubeadm init), loading workers",
        kubeadm_init::run,
    ),
    ("Joining workers (kubeadm join)", kubeadm_join::run),
    ("Setting up the pod network", pod_network::run),
    ("Writing kubeconfig", export_kubeconfig::run),
    ("Waiting for nodes to be Ready", wait_ready::run),
];

/// Runs the steps of `init`; returns each step's duration.
pub fn init(ctx: &mut InitContext) -> Result<Vec<(&'static str, f64)>> {
    run_steps(INIT, ctx)
}
