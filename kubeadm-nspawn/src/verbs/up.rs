//! `up`: a cluster of booted nodes, or nothing at all.

use std::path::Path;

use crate::actions::{self, Context, UpOptions};
use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Result};
use crate::model::names::{ClusterPaths, Subnet, MAX_NODES};
use crate::model::ranges::{self, Cidr, OtherCluster, Ranges};
use crate::model::state::{ClusterState, ImageRef, InitPhase, KubernetesState};
use crate::{install_signal_handlers, require_root, STOP_TIMEOUT};

use super::list::{list, list_unreadable};

/// Creates a cluster of booted nodes. On failure or a signal everything created is removed again,
/// unless `retain`.
pub fn up(mut opts: UpOptions, state_dir: &Path, retain: bool) -> Result<ClusterState> {
    if opts.nodes == 0 || opts.nodes > MAX_NODES {
        return Err(Error::InvalidArgument(format!(
            "--nodes {}: a cluster has 1 to {MAX_NODES} nodes",
            opts.nodes
        )));
    }
    check_control_planes(opts.control_planes, opts.nodes)?;
    if let Some(subnet) = opts.subnet.filter(|s| opts.nodes > s.capacity()) {
        return Err(Error::InvalidArgument(format!(
            "--subnet {subnet} holds only {} nodes",
            subnet.capacity()
        )));
    }
    ranges::node_pod_prefix(&opts.pod_subnet, opts.nodes)?;
    require_root()?;
    let paths = ClusterPaths::new(state_dir, &opts.name);
    if paths.dir.exists() {
        return Err(match ClusterState::load(&paths.state_file()) {
            Ok(state) if !state.nodes.iter().any(crate::cluster::node::is_running) => {
                Error::Stopped {
                    cluster: state.name,
                    running: 0,
                    total: state.nodes.len(),
                }
            }
            _ => Error::ClusterExists(opts.name.to_string()),
        });
    }
    if let Some(release) = &opts.release {
        // Before the cluster exists: a failed download leaves nothing behind.
        opts.kube = Some(crate::kube::releases::fetch(release)?);
    }
    let parent = paths.dir.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    // The check and the claim (the cluster's directory with its state.json) under one lock across
    // clusters: two `up`s at the same moment must not both take the same range.
    let claim_lock = lock_clusters(parent)?;
    let subnet = claim_ranges(&opts, state_dir)?;
    install_signal_handlers()?;
    create_private_dir(&paths.dir)?;
    let state = ClusterState {
        name: opts.name.to_string(),
        subnet: subnet.to_string(),
        pod_subnet: opts.pod_subnet.to_string(),
        service_subnet: opts.service_subnet.to_string(),
        bridge: opts.name.bridge(),
        network: opts.name.network(),
        masquerade: opts.masquerade,
        image: ImageRef::default(),
        nodes: vec![],
        kubernetes: opts.kube.clone().map(|binaries| KubernetesState {
            binaries,
            phase: InitPhase::Chosen,
            kubeconfig: None,
            pod_cidrs: vec![],
            fingerprints: Default::default(),
        }),
        components: opts.components.clone(),
    };
    let mut ctx = Context {
        opts,
        subnet,
        paths,
        state,
    };
    let saved = ctx.save();
    drop(claim_lock);
    let outcome = saved.and_then(|()| actions::up(&mut ctx));
    match outcome {
        Ok(()) => Ok(ctx.state),
        Err(e) if retain => {
            eprintln!("--retain: leaving the cluster as it is; remove it with `kubeadm-nspawn down --name {}`", ctx.state.name);
            Err(e)
        }
        Err(e) => {
            eprintln!(" ✗ removing what was created ...");
            Err(e.with_cleanup(actions::teardown(&ctx.state, &ctx.paths, STOP_TIMEOUT)))
        }
    }
}

/// `--control-planes K` of `nodes` nodes.
fn check_control_planes(control_planes: usize, nodes: usize) -> Result<()> {
    crate::model::names::control_planes_problem(control_planes, nodes).map_or(Ok(()), |why| {
        Err(Error::InvalidArgument(format!("--control-planes {why}")))
    })
}

/// Checks the requested ranges (or picks a free node subnet) against the host and the other
/// clusters; returns the node subnet. Called under [`lock_clusters`].
fn claim_ranges(opts: &UpOptions, state_dir: &Path) -> Result<Subnet> {
    for (other, e) in list_unreadable(state_dir) {
        eprintln!("warning: cluster {other:?}: {e}; its subnet cannot be checked against ours");
    }
    let others: Vec<OtherCluster> = list(state_dir)?
        .iter()
        .filter_map(ClusterState::as_other)
        .collect();
    let host = ranges::host_claims()?;
    let nodes: Cidr = match opts.subnet {
        Some(subnet) => subnet.into(),
        None => {
            let picked =
                ranges::pick_node_subnet(opts.pod_subnet, opts.service_subnet, &host, &others)?;
            eprintln!("   node subnet {picked} (free; --subnet chooses another)");
            picked
        }
    };
    let wanted = Ranges {
        nodes,
        pods: opts.pod_subnet,
        services: opts.service_subnet,
    };
    ranges::check(&wanted, &host, &others, None)?;
    let subnet = Subnet::parse(&nodes.to_string())?;
    if opts.nodes > subnet.capacity() {
        return Err(Error::InvalidArgument(format!(
            "--subnet {subnet} holds only {} nodes",
            subnet.capacity()
        )));
    }
    Ok(subnet)
}

/// An exclusive lock on the clusters directory, held while a range is checked and claimed.
fn lock_clusters(dir: &Path) -> Result<Flock<std::fs::File>> {
    let handle = std::fs::File::open(dir).map_err(|e| Error::io("open", dir, e))?;
    Flock::lock(handle, FlockArg::LockExclusive).map_err(|(_, e)| Error::io("lock", dir, e.into()))
}

fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                Error::ClusterExists(dir.file_name().unwrap_or_default().to_string_lossy().into())
            }
            _ => Error::io("create", dir, e),
        })
}
