//! `stop`: a cluster's nodes shut down (pods first, then a clean poweroff) and their host objects
//! removed (namespaces, veths, mounts, the bridge), everything they own on disk kept. Recorded as
//! stopping before it begins, so a `start` meanwhile knows the nodes may still be going down.

use std::path::Path;

use crate::actions::teardown::{self, NodeObjects};
use crate::actions::{Steps, Timings};
use crate::cluster::{Access, Cluster};
use crate::error::Result;
use crate::host::Host;
use crate::model::names::ClusterName;
use crate::model::state::Transition;

use super::{install_signal_handlers, require_root, STOP_TIMEOUT};

pub fn run(
    state_dir: &Path,
    name: &ClusterName,
    host: &dyn Host,
    access: Access,
) -> Result<Timings> {
    require_root()?;
    let mut cluster = Cluster::open(state_dir, name, access)?;
    if cluster.running() == 0 {
        eprintln!(
            "cluster \"{name}\" is stopped already; removing anything left of it on the host"
        );
    }
    install_signal_handlers()?;
    cluster.state.transition = Some(Transition::Stopping);
    cluster.save()?;
    let nodes: Vec<NodeObjects> = cluster.nodes().iter().map(NodeObjects::of).collect();
    let mut steps = Steps::default();
    steps.run("Stopping nodes", || {
        teardown::stop_nodes(host, &nodes, &teardown::poweroff(host, STOP_TIMEOUT))
    })?;
    steps.run("Removing the bridge", || {
        teardown::remove_bridge(host, name)
    })?;
    for n in &mut cluster.state.nodes {
        n.pid = None;
    }
    cluster.state.transition = None;
    cluster.save()?;
    Ok(steps.timings)
}
