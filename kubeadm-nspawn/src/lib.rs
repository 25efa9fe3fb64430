//! kubeadm-nspawn: clusters of systemd-nspawn nodes on one machine, composed from the sibling tools
//! (rootfs-builder for the base image, cnispawn for each node's network) run as programs.

pub mod actions;
pub mod cgroup;
pub mod cluster;
pub mod error;
pub mod images;
pub mod kube;
pub mod kubeadm;
pub mod kubeconfig;
pub mod network;
pub mod node;
pub mod overlay;
pub mod parallel;
pub mod push;
pub mod state;
pub mod tools;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::actions::{Context, InitContext, InitOptions, UpOptions};
use crate::cluster::{ClusterName, ClusterPaths, MAX_NODES};
pub use crate::error::{Error, Result};
use crate::state::{ClusterState, ImageRef, InitPhase, KubernetesState};

pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

fn require_root() -> Result<()> {
    if !kns_plumbing::privileges::is_root() {
        return Err(Error::NotRoot);
    }
    Ok(())
}

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
    kns_plumbing::signals::install().map_err(|(signal, e)| {
        Error::io(
            "install a handler for",
            signal.as_str(),
            std::io::Error::from_raw_os_error(e as i32),
        )
    })?;
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

/// Removes a cluster. Idempotent: a missing cluster is reported as such (false).
pub fn down(name: &ClusterName, state_dir: &Path) -> Result<bool> {
    require_root()?;
    let paths = ClusterPaths::new(state_dir, name);
    if !paths.dir.exists() {
        return Ok(false);
    }
    let state = match ClusterState::load(&paths.state_file()) {
        Ok(state) => state,
        // state.json never written (a crash before the first save): only the directory is there.
        Err(_) if !paths.state_file().exists() => {
            std::fs::remove_dir_all(&paths.dir).map_err(|e| Error::io("remove", &paths.dir, e))?;
            return Ok(true);
        }
        Err(e @ Error::CorruptState { .. }) => {
            eprintln!("warning: {e}; removing what its directory and the naming rules show");
            ClusterState::recover(&paths, name)
        }
        Err(e) => return Err(e),
    };
    if let Some(k) = &state.kubernetes {
        if let Some(target) = &k.kubeconfig {
            let kubectl = k.binaries.path("kubectl");
            if let Err(e) = kubeconfig::remove(target, &state.name, &kubectl) {
                eprintln!(
                    "warning: context {} stays in {}: {e}",
                    kubeconfig::context_name(&state.name),
                    target.display()
                );
            }
        }
    }
    actions::teardown(&state, &paths, STOP_TIMEOUT)?;
    Ok(true)
}

/// Turns a cluster's booted nodes into a Kubernetes cluster: `kubeadm init` on the first node,
/// `kubeadm join` on the others, pod network, kubeconfig, Ready nodes. Returns each step's
/// duration.
pub fn init(name: &ClusterName, opts: InitOptions) -> Result<Vec<(&'static str, f64)>> {
    require_root()?;
    for patch in &opts.patches {
        let file_name = patch
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        kubeadm::check_patch_name(&file_name).map_err(Error::InvalidArgument)?;
        if !patch.is_file() {
            return Err(Error::InvalidArgument(format!(
                "--kubeadm-patch {}: no such file",
                patch.display()
            )));
        }
    }
    let paths = ClusterPaths::new(&opts.state_dir, name);
    if !paths.state_file().exists() {
        return Err(Error::NoCluster(name.to_string()));
    }
    let state = ClusterState::load(&paths.state_file())?;
    match state.kubernetes.as_ref().map(|k| k.phase) {
        Some(InitPhase::Initialized) => {
            return Err(Error::InvalidArgument(format!(
                "cluster {name:?} is already initialized: `kubectl --context {}` uses it; \
                 `kubeadm-nspawn down --name {name}` and `up` for a new one",
                kubeconfig::context_name(&name.to_string())
            )))
        }
        Some(InitPhase::Initializing) => {
            return Err(Error::InvalidArgument(format!(
                "an earlier `init` of cluster {name:?} failed or is still running: \
                 `kubeadm-nspawn down --name {name}` and `up` it again"
            )))
        }
        _ => {}
    }
    if let Some(stopped) = state.nodes.iter().find(|n| !node::is_running(n)) {
        return Err(Error::node(
            &stopped.name,
            "is not running: `kubeadm-nspawn down` and `up` the cluster again",
        ));
    }
    kns_plumbing::signals::install().map_err(|(signal, e)| {
        Error::io(
            "install a handler for",
            signal.as_str(),
            std::io::Error::from_raw_os_error(e as i32),
        )
    })?;
    let mut ctx = InitContext { opts, paths, state };
    actions::init(&mut ctx)
}

/// The cluster's kubeconfig (as `init` wrote it).
pub fn kubeconfig(state_dir: &Path, name: &ClusterName) -> Result<String> {
    let paths = ClusterPaths::new(state_dir, name);
    if !paths.state_file().exists() {
        return Err(Error::NoCluster(name.to_string()));
    }
    let file = paths.dir.join("kubeconfig");
    std::fs::read_to_string(&file).map_err(|_| {
        Error::InvalidArgument(format!(
            "cluster {name:?} has no kubeconfig yet: run `kubeadm-nspawn init --name {name}`"
        ))
    })
}

/// Every cluster's state.
pub fn list(state_dir: &Path) -> Result<Vec<ClusterState>> {
    let dir = state_dir.join("clusters");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(vec![]);
    };
    let mut clusters = vec![];
    for entry in entries.filter_map(|e| e.ok()) {
        if let Ok(state) = ClusterState::load(&entry.path().join("state.json")) {
            clusters.push(state);
        }
    }
    clusters.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(clusters)
}

/// The clusters whose state.json cannot be read (by name), with why: `list` shows them and `up`
/// warns of them rather than skipping them silently.
pub fn list_unreadable(state_dir: &Path) -> Vec<(String, Error)> {
    let Ok(entries) = std::fs::read_dir(state_dir.join("clusters")) else {
        return vec![];
    };
    let mut unreadable: Vec<(String, Error)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|entry| {
            let file = entry.path().join("state.json");
            match ClusterState::load(&file) {
                Err(e @ Error::CorruptState { .. }) => {
                    Some((entry.file_name().to_string_lossy().into_owned(), e))
                }
                _ => None,
            }
        })
        .collect();
    unreadable.sort_by(|a, b| a.0.cmp(&b.0));
    unreadable
}

/// Finds a node by name among all clusters.
pub fn find_node(state_dir: &Path, node: &str) -> Result<state::NodeState> {
    for cluster in list(state_dir)? {
        if let Some(n) = cluster.nodes.into_iter().find(|n| n.name == node) {
            return Ok(n);
        }
    }
    Err(Error::InvalidArgument(format!(
        "no node {node:?}: see `kubeadm-nspawn list`"
    )))
}

/// Runs a command in a node with the terminal's stdin/stdout/stderr; returns its exit code.
pub fn exec(state_dir: &Path, node: &str, args: &[String]) -> Result<i32> {
    require_root()?;
    let n = find_node(state_dir, node)?;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let status = node::command(&n, &args)?
        .stdin(Stdio::inherit())
        .status()
        .map_err(|e| Error::io("run", "nsenter", e))?;
    use std::os::unix::process::ExitStatusExt;
    // A command killed by a signal exits like a shell would report it: 128 + the signal.
    Ok(status.code().unwrap_or(128 + status.signal().unwrap_or(0)))
}

/// Loads image archives and images of the host's Docker into every node of a cluster (like
/// `kind load image-archive` and `kind load docker-image`).
pub fn load(
    state_dir: &Path,
    name: &ClusterName,
    archives: &[PathBuf],
    docker_images: &[String],
) -> Result<serde_json::Value> {
    require_root()?;
    if archives.is_empty() && docker_images.is_empty() {
        return Err(Error::InvalidArgument(
            "give at least one image archive or --docker-image REF".into(),
        ));
    }
    if let Some(missing) = archives.iter().find(|a| !a.is_file()) {
        return Err(Error::InvalidArgument(format!(
            "{}: no such file",
            missing.display()
        )));
    }
    let paths = ClusterPaths::new(state_dir, name);
    if !paths.state_file().exists() {
        return Err(Error::InvalidArgument(format!(
            "no cluster {name:?}: create it with `kubeadm-nspawn up --name {name}`"
        )));
    }
    let state = ClusterState::load(&paths.state_file())?;
    push::push(&state.nodes, archives, docker_images, &[])
}

pub fn default_state_dir() -> PathBuf {
    PathBuf::from(cluster::DEFAULT_STATE_DIR)
}
