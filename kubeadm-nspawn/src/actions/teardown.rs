//! Removing a cluster, whatever state it is in: used by `down` and by a failed `up`. Every step
//! tolerates what is already gone, so a second run finishes what a first one could not.

use std::time::Duration;

use crate::cgroup;
use crate::cluster::ClusterPaths;
use crate::error::{Error, Result};
use crate::node::{self, NodeDirs};
use crate::overlay;
use crate::state::ClusterState;

pub fn teardown(state: &ClusterState, paths: &ClusterPaths, stop_timeout: Duration) -> Result<()> {
    let mut first_error: Option<Error> = None;
    let mut note = |r: Result<()>| {
        if let Err(e) = r {
            first_error.get_or_insert(e);
        }
    };
    // Pods first: a node's systemd waits on them and would not power off.
    for n in &state.nodes {
        cgroup::kill_pods(&n.name);
    }
    // Every node is stopped whatever happens to the others; a stop cannot fail, a panic in one is
    // noted and the teardown goes on (the cgroup kill below ends what it left).
    note(
        crate::parallel::each(
            &state.nodes,
            |n| &n.name,
            |n| {
                node::stop(n, stop_timeout);
                Ok(())
            },
        )
        .map(drop),
    );
    for n in &state.nodes {
        if let Some(pid) = n.pid {
            kns_node::liveness::reap(pid);
        }
        note(cgroup::kill_all(&n.name, Duration::from_secs(5)));
        if !n.network_failed {
            note(crate::tools::run_quiet("cnispawn", &["del", "--netns", &n.netns]).map(drop));
        }
        let dirs = NodeDirs { dir: n.dir.clone() };
        note(overlay::unmount(&dirs.rootfs()));
        note(cgroup::remove(&n.name));
        let _ = std::fs::remove_dir_all(format!("/run/systemd/nspawn/propagate/{}", n.name));
    }
    // The bridge plugin never deletes the bridge, and host-local keeps its bookkeeping.
    if std::path::Path::new("/sys/class/net")
        .join(&state.bridge)
        .exists()
    {
        note(run("ip", &["link", "del", &state.bridge]));
    }
    let _ = std::fs::remove_dir_all(format!("/var/lib/cni/networks/{}", state.network));
    if let Some(e) = first_error {
        return Err(e);
    }
    std::fs::remove_dir_all(&paths.dir).map_err(|e| Error::io("remove", &paths.dir, e))
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
