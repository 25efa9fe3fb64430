//! `start`: a stopped (or partly stopped) cluster back: the same nodes with the same names,
//! addresses and disks; an initialized cluster is waited for until every node is Ready.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::actions::teardown::{self, NodeObjects};
use crate::actions::{
    host_network, remount_nodes, spawn_nodes, wait_booted, wait_ready, Steps, Timings,
};
use crate::cluster::{Access, Cluster, ClusterNode};
use crate::error::Result;
use crate::host::Host;
use crate::model::names::ClusterName;
use crate::model::settings::NodeRole;
use crate::model::state::Transition;

use super::{install_signal_handlers, recheck_ranges, require_root, BOOT_TIMEOUT, STOP_TIMEOUT};

pub fn run(
    state_dir: &Path,
    name: &ClusterName,
    host: &dyn Host,
    access: Access,
    wait: Duration,
) -> Result<Timings> {
    require_root()?;
    let mut cluster = Cluster::open(state_dir, name, access)?;
    install_signal_handlers()?;
    let mut steps = Steps::default();
    // An interrupted `stop`: its nodes may still be shutting down (running, as a process goes,
    // but not for long). The stop is finished first; then every node starts.
    if cluster.state.transition == Some(Transition::Stopping) {
        kns_plumbing::say!(
            "an earlier stop of cluster \"{name}\" did not finish: finishing it first"
        );
        let nodes: Vec<NodeObjects> = cluster.nodes().iter().map(NodeObjects::of).collect();
        steps.run("Finishing the stop", || {
            teardown::stop_nodes(host, &nodes, &teardown::poweroff(host, STOP_TIMEOUT))
        })?;
        for n in &mut cluster.state.nodes {
            n.pid = None;
        }
        cluster.save()?;
    }
    let stopped: Vec<usize> = (0..cluster.state.nodes.len())
        .filter(|&i| !cluster.node(i).is_running())
        .collect();
    if stopped.is_empty() && cluster.state.transition.is_none() {
        // Running as processes go; said so only once every node is booted (and Ready).
        wait_booted::wait(&cluster.nodes(), BOOT_TIMEOUT)?;
        if let Ok(k) = cluster.require_initialized() {
            wait_ready::wait_for(
                &cluster.kubernetes_nodes(),
                &k.binaries.path("kubectl"),
                &cluster.paths.kubeconfig(),
                wait,
                None,
                wait_ready::Want::of(&cluster.state.components),
            )?;
        }
        eprintln!(
            "cluster \"{name}\" is running already ({} nodes, every one booted{}): nothing to start",
            cluster.state.nodes.len(),
            if cluster.require_initialized().is_ok() {
                " and Ready"
            } else {
                ""
            }
        );
        return Ok(vec![]);
    }
    recheck_ranges(state_dir, &cluster.state)?;
    cluster.state.transition = Some(Transition::Starting);
    cluster.save()?;
    steps.run("Clearing what the stopped nodes left", || {
        for &i in &stopped {
            teardown::remove_node_objects(host, &NodeObjects::of(&cluster.node(i)))?;
        }
        Ok(())
    })?;
    steps.run("Mounting node roots", || {
        remount_nodes::remount(&mut cluster, host, &stopped)
    })?;
    steps.run("Preparing the host's network", || {
        host_network::open(&mut cluster)
    })?;
    let started_at = SystemTime::now();
    steps.run("Starting nodes", || {
        spawn_nodes::spawn(&mut cluster, host, &stopped)
    })?;
    // Every node, not only those started: one an earlier start left booting is waited for too.
    let booting: Vec<ClusterNode> = cluster.nodes();
    steps.run("Waiting for nodes to boot", || {
        wait_booted::wait(&booting, BOOT_TIMEOUT)
    })?;
    if let Ok(k) = cluster.require_initialized() {
        let kubectl = k.binaries.path("kubectl");
        let kubernetes = cluster.kubernetes_nodes();
        let want = wait_ready::Want::of(&cluster.state.components);
        steps.run("Waiting for nodes to be Ready", || {
            wait_ready::wait_for(
                &kubernetes,
                &kubectl,
                &cluster.paths.kubeconfig(),
                wait,
                Some(started_at),
                want,
            )
        })?;
        let control_planes: Vec<ClusterNode> = kubernetes
            .into_iter()
            .filter(|n| n.state.role == NodeRole::ControlPlane)
            .collect();
        let high_availability = cluster.state.load_balancer().is_some();
        if high_availability && !control_planes.is_empty() && !wait.is_zero() {
            steps.run("Waiting for the control planes' API servers", || {
                wait_ready::wait_api_servers(&control_planes, wait)
            })?;
        }
    }
    cluster.state.transition = None;
    cluster.save()?;
    Ok(steps.timings)
}
