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

use super::{install_signal_handlers, recheck_ranges, require_root, BOOT_TIMEOUT};

pub fn run(
    state_dir: &Path,
    name: &ClusterName,
    host: &dyn Host,
    access: Access,
    wait: Duration,
) -> Result<Timings> {
    require_root()?;
    let mut cluster = Cluster::open(state_dir, name, access)?;
    let stopped: Vec<usize> = (0..cluster.state.nodes.len())
        .filter(|&i| !cluster.node(i).is_running())
        .collect();
    if stopped.is_empty() {
        eprintln!(
            "cluster \"{name}\" is running already ({} nodes): nothing to start",
            cluster.state.nodes.len()
        );
        return Ok(vec![]);
    }
    recheck_ranges(state_dir, &cluster.state)?;
    install_signal_handlers()?;
    cluster.state.transition = Some(Transition::Starting);
    cluster.save()?;
    let mut steps = Steps::default();
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
    let booting: Vec<ClusterNode> = stopped.iter().map(|&i| cluster.node(i)).collect();
    steps.run("Waiting for nodes to boot", || {
        wait_booted::wait(&booting, BOOT_TIMEOUT)
    })?;
    if let Ok(k) = cluster.require_initialized() {
        let kubectl = k.binaries.path("kubectl");
        let kubernetes: Vec<ClusterNode> = booting
            .into_iter()
            .filter(|n| n.state.is_kubernetes())
            .collect();
        steps.run("Waiting for nodes to be Ready", || {
            wait_ready::wait(
                &kubernetes,
                &kubectl,
                &cluster.paths.kubeconfig(),
                wait,
                Some(started_at),
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
