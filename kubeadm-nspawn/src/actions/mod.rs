//! The steps of the verbs, each a function of its verb's context, so that one function reads as
//! a verb's whole flow (like kind's create actions): [`up`] and [`init`] list theirs here; `stop`,
//! `start`, `down` and `update` are made of [`teardown`], [`spawn_nodes`], [`wait_booted`],
//! [`wait_ready`] and [`update`]; [`e2e`] lists the test step's. A step touches the host only
//! through the context's [`Host`](crate::host::Host).

mod base_image;
pub mod containerd_config;
pub mod e2e;
mod export_kubeconfig;
pub mod export_logs;
pub mod fingerprints;
pub mod host_network;
mod kube_binaries;
mod kube_images;
mod kubeadm_init;
mod kubeadm_join;
mod kubeadm_reset;
mod load_nodes;
mod phase;
pub mod pod_network;
mod prepare_nodes;
pub mod remount_nodes;
pub mod request;
pub mod spawn_nodes;
pub mod teardown;
pub mod update;
pub mod wait_booted;
pub mod wait_ready;

use std::path::PathBuf;
use std::time::Instant;

use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::host::Host;
use crate::model::settings::ComponentSettings;
use request::{InitRequest, UpRequest};

/// A step's name and what it took, for the verb's summary and JSON line.
pub type Timings = Vec<(&'static str, f64)>;

/// Steps run one after the other, each announced, timed and bounded by signal checks. A step
/// returns what the next ones need, so a flow reads as a list of typed calls (see [`init`]).
#[derive(Default)]
pub struct Steps {
    pub timings: Timings,
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
/// boundaries, and the verb then undoes or records what it did.
pub fn check_interrupted() -> Result<()> {
    if kns_plumbing::signals::interrupted() {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}

/// Everything the steps of `up` share.
pub struct UpContext<'a> {
    pub request: UpRequest,
    pub cluster: Cluster,
    pub host: &'a dyn Host,
}

/// The steps of `up`, in order.
pub fn up(ctx: &mut UpContext) -> Result<Timings> {
    let mut steps = Steps::default();
    steps.run("Getting the node base image", || base_image::run(ctx))?;
    steps.run("Preparing node root filesystems", || {
        prepare_nodes::run(ctx)
    })?;
    steps.run("Preparing the host's network", || {
        host_network::open(&mut ctx.cluster)
    })?;
    steps.run("Starting nodes", || spawn_nodes::run(ctx))?;
    steps.run("Waiting for nodes to boot", || wait_booted::run(ctx))?;
    Ok(steps.timings)
}

/// Everything the steps of `init` share. What one step finds for the next (binaries, images, the
/// kubeadm configuration) is passed along by [`init`] as typed values, not kept here half-filled.
pub struct InitContext<'a> {
    pub request: InitRequest,
    /// An earlier `init` stopped at this step (interrupted, killed or failed): the nodes kubeadm
    /// touched are reset before this one begins.
    pub earlier: Option<String>,
    pub cluster: Cluster,
    pub host: &'a dyn Host,
    /// Where the images synthesized from a set of binaries are cached (beside the clusters).
    pub image_cache: PathBuf,
}

/// What `init` does for the pod network and waits for, from the cluster's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitPlan {
    /// The default pod network (a bridge CNI config and pod routes in every node); without it
    /// only the service range's route (nodes without a default route) is added.
    pub pod_network: bool,
    pub wait_for: WaitFor,
}

/// What `init` waits for at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    /// Every node Ready.
    Ready,
    /// The API answering and every node registered: without a pod network the nodes are
    /// NotReady until the user applies one.
    Api,
}

impl InitPlan {
    pub fn of(components: &ComponentSettings) -> InitPlan {
        let pod_network = !components.disable_default_cni;
        InitPlan {
            pod_network,
            wait_for: if pod_network {
                WaitFor::Ready
            } else {
                WaitFor::Api
            },
        }
    }

    pub fn pod_network_step(&self) -> &'static str {
        if self.pod_network {
            "Setting up the pod network"
        } else {
            "Routing the service range (no pod network: disableDefaultCNI)"
        }
    }

    pub fn wait_step(&self) -> &'static str {
        match self.wait_for {
            WaitFor::Ready => "Waiting for nodes to be Ready (recording their pod CIDRs)",
            WaitFor::Api => {
                "Waiting for the API and the nodes' registration (recording their pod CIDRs)"
            }
        }
    }
}

/// The steps of `init`, in order; returns each step's duration. The workers are loaded while the
/// first node runs `kubeadm init` (they need nothing until they join): one step starts that load,
/// a later one waits for it.
pub fn init(ctx: &mut InitContext) -> Result<Timings> {
    let mut steps = Steps::default();
    let kube = steps.run("Finding Kubernetes binaries", || kube_binaries::find(ctx))?;
    steps.run("Checking the kube-proxy mode", || {
        kube_binaries::check_proxy_mode(ctx, &kube)
    })?;
    let plan = InitPlan::of(&ctx.cluster.state.components);
    let hashing = steps.run("Fingerprinting the binaries (in the background)", || {
        Ok(fingerprints::start(&kube))
    })?;
    steps.run("Marking the cluster initializing", || {
        phase::initializing(ctx, &kube)
    })?;
    if ctx.earlier.is_some() {
        steps.run(
            "Resetting the nodes of the earlier init (kubeadm reset)",
            || {
                let paths = &ctx.cluster.paths;
                kubeadm_reset::reset(&ctx.cluster.kubernetes_nodes(), |n| paths.reset_log(n))
            },
        )?;
    }
    // Each step from here is recorded before it begins: an interrupted init is seen as such.
    const PREPARING: &str = "Preparing images";
    phase::begin_step(ctx, PREPARING)?;
    let images = steps.run(PREPARING, || kube_images::prepare(ctx, &kube))?;
    // Before anything is loaded into a node's containerd: it may be restarted.
    const CONTAINERD: &str = "Configuring containerd in the nodes";
    phase::begin_step(ctx, CONTAINERD)?;
    let driver = steps.run(CONTAINERD, || containerd_config::run(ctx, &images))?;
    let pod_network = plan.pod_network_step();
    phase::begin_step(ctx, pod_network)?;
    steps.run(pod_network, || pod_network::run(ctx, plan.pod_network))?;
    const LOADING: &str = "Loading binaries and images into the first node";
    phase::begin_step(ctx, LOADING)?;
    steps.run(LOADING, || load_nodes::first(ctx, &kube, &images))?;
    let workers = steps.run("Loading the other nodes (in the background)", || {
        Ok(load_nodes::start_workers(ctx, &kube, &images))
    })?;
    const KUBEADM_INIT: &str = "Starting the control plane (kubeadm init)";
    phase::begin_step(ctx, KUBEADM_INIT)?;
    let joining = steps.run(KUBEADM_INIT, || {
        kubeadm_init::run(ctx, &kube, &images, driver)
    })?;
    steps.run("Waiting for the other nodes' load", || workers.finish())?;
    const JOINING: &str = "Joining the other nodes (kubeadm join)";
    phase::begin_step(ctx, JOINING)?;
    steps.run(JOINING, || kubeadm_join::run(ctx, &joining))?;
    const KUBECONFIG: &str = "Writing kubeconfig";
    phase::begin_step(ctx, KUBECONFIG)?;
    steps.run(KUBECONFIG, || export_kubeconfig::run(ctx, &kube))?;
    let waiting = plan.wait_step();
    // Recorded by its short name, as `list` shows where an init stopped.
    phase::begin_step(ctx, waiting.split(" (").next().unwrap_or(waiting))?;
    // The podCIDRs go onto the Node objects while the nodes become Ready: neither waits for the
    // other.
    steps.run(waiting, || {
        let ctx = &*ctx;
        std::thread::scope(|scope| {
            let cidrs = scope.spawn(|| pod_network::record_pod_cidrs(ctx));
            let ready = match plan.wait_for {
                WaitFor::Ready => wait_ready::run(ctx, &kube),
                WaitFor::Api => wait_ready::api(ctx, &kube),
            };
            let recorded = cidrs.join().unwrap_or_else(|panic| {
                Err(kns_plumbing::parallel::Panicked::of("recording the pod CIDRs", &*panic).into())
            });
            ready.and(recorded)
        })
    })?;
    let fingerprints = steps.run("Recording the binaries' fingerprints", || hashing.finish())?;
    steps.run("Marking the cluster initialized", || {
        phase::initialized(ctx, fingerprints)
    })?;
    Ok(steps.timings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::KubeProxyMode;

    #[test]
    fn without_the_default_cni_init_sets_up_no_pod_network_and_waits_for_the_api_only() {
        let plain = InitPlan::of(&ComponentSettings::default());
        assert_eq!(
            plain,
            InitPlan {
                pod_network: true,
                wait_for: WaitFor::Ready
            }
        );
        assert_eq!(plain.pod_network_step(), "Setting up the pod network");
        for mode in [
            KubeProxyMode::Iptables,
            KubeProxyMode::Ipvs,
            KubeProxyMode::Nftables,
            KubeProxyMode::None,
        ] {
            let own = InitPlan::of(&ComponentSettings {
                kube_proxy_mode: mode,
                disable_default_cni: true,
                ..Default::default()
            });
            assert_eq!(
                own,
                InitPlan {
                    pod_network: false,
                    wait_for: WaitFor::Api
                },
                "{mode}"
            );
            assert!(own.wait_step().starts_with("Waiting for the API"));
            // The mode alone changes neither: kube-proxy's addon is the documents' business.
            let with_mode = InitPlan::of(&ComponentSettings {
                kube_proxy_mode: mode,
                ..Default::default()
            });
            assert_eq!(with_mode, plain, "{mode}");
        }
    }
}
