//! The steps of `up` and of `init`: [`up`] and [`init`] each list theirs in order, so that one
//! function reads as the whole flow (like kind's create actions). `down` is [`teardown`], which
//! tolerates whatever state a cluster is in.

mod base_image;
mod export_kubeconfig;
pub mod fingerprints;
mod kube_binaries;
mod kube_images;
mod kubeadm_init;
mod kubeadm_join;
mod load_nodes;
mod phase;
pub mod pod_network;
mod prepare_nodes;
pub mod remount_nodes;
pub mod spawn_nodes;
mod teardown;
pub mod update;
pub mod wait_booted;
pub mod wait_ready;

use std::time::Instant;

use crate::model::names::{ClusterName, ClusterPaths, Subnet};
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::model::state::ClusterState;

pub use teardown::{remove_bridge, remove_node_objects, stop_nodes, teardown};

/// What `up` was asked for.
#[derive(Debug, Clone)]
pub struct UpOptions {
    pub name: ClusterName,
    pub nodes: usize,
    /// How many of the nodes (the first ones) are control planes; with more than one, a load
    /// balancer node is made in front of them.
    pub control_planes: usize,
    /// `--subnet`; None: pick a free one.
    pub subnet: Option<Subnet>,
    pub pod_subnet: crate::model::ranges::Cidr,
    pub service_subnet: crate::model::ranges::Cidr,
    pub masquerade: bool,
    /// Extra arguments for `rootfs-builder build` (method and its inputs).
    pub image_args: Vec<String>,
    pub boot_timeout: std::time::Duration,
    /// Kubernetes binaries chosen at `up` (`--kube-bin` ...), recorded for `init`.
    pub kube: Option<crate::kube::binaries::KubeBinaries>,
    /// `--kube-version`: fetched (or found in the cache) once the arguments are checked, before
    /// anything is created; then recorded as `kube`.
    pub release: Option<crate::kube::releases::Request>,
    /// Each node's labels, extra mounts and limits (the config file's `nodes`), in node order.
    pub node_settings: Vec<crate::model::config::NodeSettings>,
    /// What `init` is to tell the components (the config file's featureGates, runtimeConfig and
    /// kubeadmPatches), recorded in the state.
    pub components: crate::model::config::ComponentSettings,
}

/// Everything the steps share.
pub struct Context {
    pub opts: UpOptions,
    /// The node subnet: `--subnet`, or the free one `up` picked.
    pub subnet: Subnet,
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
    let mut timed = Steps::default();
    for (title, step) in steps {
        timed.run(title, || step(ctx))?;
    }
    Ok(timed.timings)
}

/// Steps run one after the other, each announced, timed and bounded by signal checks. A step
/// returns what the next ones need, so a flow reads as a list of typed calls (see [`init`]).
#[derive(Default)]
pub struct Steps {
    pub timings: Vec<(&'static str, f64)>,
}

impl Steps {
    pub fn run<T>(&mut self, title: &'static str, step: impl FnOnce() -> Result<T>) -> Result<T> {
        check_interrupted()?;
        let started = Instant::now();
        let status = kns_plumbing::terminal::Status::start(title);
        let out = step().and_then(|out| check_interrupted().map(|()| out));
        drop(status);
        let seconds = started.elapsed().as_secs_f64();
        match &out {
            Ok(_) => {
                kns_plumbing::say!(" ✓ {title} ({seconds:.1} s)");
                self.timings.push((title, seconds));
            }
            Err(_) => kns_plumbing::say!(" ✗ {title} ({seconds:.1} s)"),
        }
        out
    }
}

/// Fails with [`Error::Interrupted`] once a termination signal was recorded: steps stop at their
/// boundaries, and `up` then removes what it created.
pub fn check_interrupted() -> Result<()> {
    if kns_plumbing::signals::interrupted() {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}

/// What `init` was asked for.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub state_dir: PathBuf,
    pub kube_bin: Option<PathBuf>,
    pub kube_root: Option<PathBuf>,
    pub extra_bin: Option<PathBuf>,
    /// `--kube-version`: a released version.
    pub release: Option<crate::kube::releases::Request>,
    /// The release used when no binaries are given anywhere.
    pub default_release: crate::kube::releases::Request,
    /// kubeadm patch files (`--kubeadm-patch`).
    pub patches: Vec<PathBuf>,
    /// From `init --config`: what the components are told, replacing what `up` recorded.
    pub components: Option<crate::model::config::ComponentSettings>,
    /// From `init --config`: each node's labels, replacing what `up` recorded.
    pub labels: Option<Vec<std::collections::BTreeMap<String, String>>>,
    /// From `init --config`: how many control planes the file describes; must be what `up` made.
    pub control_planes: Option<usize>,
    /// How long to wait for all nodes Ready (zero: do not wait).
    pub wait: Duration,
    /// The user's kubeconfig to merge the cluster's context into.
    pub kubeconfig: crate::kube::kubeconfig::Target,
}

/// Everything the steps of `init` share. What one step finds for the next (binaries, images, the
/// kubeadm configuration) is passed along by [`init`] as typed values, not kept here half-filled.
pub struct InitContext {
    pub opts: InitOptions,
    pub paths: ClusterPaths,
    pub state: ClusterState,
}

impl InitContext {
    pub fn save(&self) -> Result<()> {
        self.state.save(&self.paths.state_file())
    }
}

/// The steps of `init`, in order; returns each step's duration. The workers are loaded while the
/// first node runs `kubeadm init` (they need nothing until they join): one step starts that load,
/// a later one waits for it.
pub fn init(ctx: &mut InitContext) -> Result<Vec<(&'static str, f64)>> {
    let mut steps = Steps::default();
    let kube = steps.run("Finding Kubernetes binaries", || kube_binaries::find(ctx))?;
    let hashing = steps.run("Fingerprinting the binaries (in the background)", || {
        Ok(fingerprints::start(&kube))
    })?;
    steps.run("Marking the cluster initializing", || {
        phase::initializing(ctx, &kube)
    })?;
    let images = steps.run("Preparing images", || kube_images::prepare(ctx, &kube))?;
    steps.run("Setting up the pod network", || pod_network::run(ctx))?;
    steps.run("Loading binaries and images into the first node", || {
        load_nodes::first(ctx, &kube, &images)
    })?;
    let workers = steps.run("Loading the other nodes (in the background)", || {
        Ok(load_nodes::start_workers(ctx, &kube, &images))
    })?;
    let joining = steps.run("Starting the control plane (kubeadm init)", || {
        kubeadm_init::run(ctx, &kube, &images)
    })?;
    steps.run("Waiting for the other nodes' load", || workers.finish())?;
    steps.run("Joining the other nodes (kubeadm join)", || {
        kubeadm_join::run(ctx, &joining)
    })?;
    steps.run("Writing kubeconfig", || export_kubeconfig::run(ctx, &kube))?;
    // The podCIDRs go onto the Node objects while the nodes become Ready: neither waits for the
    // other.
    steps.run(
        "Waiting for nodes to be Ready (recording their pod CIDRs)",
        || {
            let ctx = &*ctx;
            std::thread::scope(|scope| {
                let cidrs = scope.spawn(|| pod_network::record_pod_cidrs(ctx));
                let ready = wait_ready::run(ctx, &kube);
                let recorded = cidrs.join().unwrap_or_else(|panic| {
                    Err(Error::Internal(format!(
                        "recording the pod CIDRs panicked: {}",
                        kns_plumbing::parallel::panic_message(&*panic)
                    )))
                });
                ready.and(recorded)
            })
        },
    )?;
    steps.run("Recording the binaries' fingerprints", || {
        hashing.record(ctx)
    })?;
    steps.run("Marking the cluster initialized", || {
        phase::initialized(ctx)
    })?;
    Ok(steps.timings)
}
