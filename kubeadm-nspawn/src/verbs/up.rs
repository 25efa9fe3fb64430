//! `up`: a cluster of booted nodes, or nothing at all.

use std::path::Path;

use crate::actions::{self, Context, UpOptions};
use crate::cluster::{ClusterPaths, MAX_NODES};
use crate::error::{Error, Result};
use crate::state::{ClusterState, ImageRef, InitPhase, KubernetesState};
use crate::{install_signal_handlers, require_root, STOP_TIMEOUT};

use super::list::{list, list_unreadable};

/// Creates a cluster of booted nodes. On failure or a signal everything created is removed again,
/// unless `retain`.
pub fn up(opts: UpOptions, state_dir: &Path, retain: bool) -> Result<ClusterState> {
    if opts.nodes == 0 || opts.nodes > MAX_NODES {
        return Err(Error::InvalidArgument(format!(
            "--nodes {}: a cluster has 1 to {MAX_NODES} nodes",
            opts.nodes
        )));
    }
    if opts.nodes > opts.subnet.capacity() {
        return Err(Error::InvalidArgument(format!(
            "--subnet {} holds only {} nodes",
            opts.subnet,
            opts.subnet.capacity()
        )));
    }
    require_root()?;
    let paths = ClusterPaths::new(state_dir, &opts.name);
    if paths.dir.exists() {
        return Err(Error::ClusterExists(opts.name.to_string()));
    }
    for (other, e) in list_unreadable(state_dir) {
        eprintln!("warning: cluster {other:?}: {e}; its subnet cannot be checked against --subnet");
    }
    for other in list(state_dir)? {
        if other.subnet == opts.subnet.to_string() {
            return Err(Error::InvalidArgument(format!(
                "cluster {:?} already uses subnet {}: pass another --subnet (e.g. 10.23.0.0/16)",
                other.name, other.subnet
            )));
        }
    }
    install_signal_handlers()?;
    let parent = paths.dir.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    create_private_dir(&paths.dir)?;
    let state = ClusterState {
        name: opts.name.to_string(),
        subnet: opts.subnet.to_string(),
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
        }),
    };
    let mut ctx = Context { opts, paths, state };
    let outcome = ctx.save().and_then(|()| actions::up(&mut ctx));
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
