//! `stop`: a cluster's nodes shut down and their host objects gone, everything they own on disk
//! kept for `start`.

use std::path::Path;

use crate::actions::{self, Steps};
use crate::cluster::node;
use crate::error::{Error, Result};
use crate::model::names::{ClusterName, ClusterPaths};
use crate::model::state::ClusterState;
use crate::{require_root, STOP_TIMEOUT};

/// Stops every node of the cluster (those still running, and what is left of the others: a node
/// killed from outside, a host that rebooted), then removes the bridge. Returns the steps' times.
pub fn stop(name: &ClusterName, state_dir: &Path) -> Result<Vec<(&'static str, f64)>> {
    require_root()?;
    let paths = ClusterPaths::new(state_dir, name);
    let mut state = load(&paths, name)?;
    let running = state.nodes.iter().filter(|n| node::is_running(n)).count();
    if running == 0 {
        eprintln!("cluster {name:?} is stopped already; removing anything left of it on the host");
    }
    let mut steps = Steps::default();
    steps.run("Stopping nodes", || {
        actions::stop_nodes(&state.nodes, STOP_TIMEOUT)
    })?;
    steps.run("Removing the bridge", || actions::remove_bridge(&state))?;
    for n in &mut state.nodes {
        n.pid = None;
    }
    state.save(&paths.state_file())?;
    Ok(steps.timings)
}

/// The cluster's state, or the errors `stop` and `start` give for a missing or unreadable one.
pub(crate) fn load(paths: &ClusterPaths, name: &ClusterName) -> Result<ClusterState> {
    if !paths.state_file().exists() {
        return Err(Error::NoCluster(name.to_string()));
    }
    ClusterState::load(&paths.state_file())
}
