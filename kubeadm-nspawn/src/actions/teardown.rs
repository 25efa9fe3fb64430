//! Stopping nodes and removing a cluster, whatever state it is in: used by `stop`, by `down` and by
//! a failed `up`. Every step tolerates what is already gone (a node killed from outside, a host
//! that rebooted), so a second run finishes what a first one could not.

use std::time::Duration;

use crate::cluster::node::{self, NodeDirs};
use crate::error::{Error, Result};
use crate::host::cgroup;
use crate::host::overlay;
use crate::model::names::ClusterPaths;
use crate::model::state::{ClusterState, NodeState};

/// Removes the cluster: every node stopped and its host objects gone, the bridge, the directory.
pub fn teardown(state: &ClusterState, paths: &ClusterPaths, stop_timeout: Duration) -> Result<()> {
    let mut first_error = stop_nodes(&state.nodes, stop_timeout).err();
    if let Err(e) = remove_bridge(state) {
        first_error.get_or_insert(e);
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    std::fs::remove_dir_all(&paths.dir).map_err(|e| Error::io("remove", &paths.dir, e))
}

/// Stops `nodes` and removes their host objects (namespace and veth, overlay mount, cgroups),
/// keeping everything they own on disk. Pods first: a node's systemd waits on them and would not
/// power off. Returns the first failure once every node has been dealt with.
pub fn stop_nodes(nodes: &[NodeState], stop_timeout: Duration) -> Result<()> {
    for n in nodes {
        cgroup::kill_pods(&n.name);
    }
    let mut first_error: Option<Error> = None;
    // Every node is stopped whatever happens to the others; a stop cannot fail, a panic in one is
    // noted and the rest goes on (the cgroup kill below ends what it left).
    if let Err(e) = kns_plumbing::parallel::each(
        nodes,
        |n| &n.name,
        |n| {
            node::stop(n, stop_timeout);
            Ok(())
        },
    ) {
        first_error.get_or_insert(e);
    }
    for n in nodes {
        if let Err(e) = remove_node_objects(n) {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// The host objects of a node whose processes are gone (or about to be: what is left in its
/// cgroups is killed): its namespace (CNI DEL, which also removes the veth), overlay mount,
/// cgroups and nspawn's propagation directory.
pub fn remove_node_objects(n: &NodeState) -> Result<()> {
    let mut first_error: Option<Error> = None;
    let mut note = |r: Result<()>| {
        if let Err(e) = r {
            first_error.get_or_insert(e);
        }
    };
    if let Some(pid) = n.pid {
        kns_node::liveness::reap(pid);
    }
    note(cgroup::kill_all(&n.name, Duration::from_secs(5)));
    if !n.network_failed {
        note(crate::host::tools::run_quiet("cnispawn", &["del", "--netns", &n.netns]).map(drop));
    }
    let dirs = NodeDirs { dir: n.dir.clone() };
    note(overlay::unmount(&dirs.rootfs()));
    note(cgroup::remove(&n.name));
    let _ = std::fs::remove_dir_all(format!("/run/systemd/nspawn/propagate/{}", n.name));
    first_error.map_or(Ok(()), Err)
}

/// The cluster's bridge (the bridge plugin never deletes it) and host-local's bookkeeping.
pub fn remove_bridge(state: &ClusterState) -> Result<()> {
    if std::path::Path::new("/sys/class/net")
        .join(&state.bridge)
        .exists()
    {
        run("ip", &["link", "del", &state.bridge])?;
    }
    let _ = std::fs::remove_dir_all(format!("/var/lib/cni/networks/{}", state.network));
    Ok(())
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .map_err(|e| Error::io("run", program, e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::tool(
            program,
            String::from_utf8_lossy(&out.stderr).trim(),
        ))
    }
}
