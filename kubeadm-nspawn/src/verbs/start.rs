//! `start`: the stopped nodes of a cluster back, with the same names, addresses and disks; for an
//! initialized cluster, until every node is Ready again.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::actions::{self, remount_nodes, spawn_nodes, wait_booted, wait_ready, Steps};
use crate::cluster::node;
use crate::error::Result;
use crate::model::names::{ClusterName, ClusterPaths};
use crate::model::state::{InitPhase, NodeRole};
use crate::{install_signal_handlers, require_root};

/// How long a started node may take to boot.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(60);

/// Starts the nodes of the cluster that are not running (all of a stopped cluster, the missing
/// ones of a partly stopped one). Returns the steps' times; none when everything runs already.
pub fn start(
    name: &ClusterName,
    state_dir: &Path,
    wait: Duration,
) -> Result<Vec<(&'static str, f64)>> {
    require_root()?;
    let paths = ClusterPaths::new(state_dir, name);
    let mut state = super::stop::load(&paths, name)?;
    let stopped: Vec<usize> = (0..state.nodes.len())
        .filter(|&i| !node::is_running(&state.nodes[i]))
        .collect();
    if stopped.is_empty() {
        eprintln!(
            "cluster {name:?} is running already ({} nodes): nothing to start",
            state.nodes.len()
        );
        return Ok(vec![]);
    }
    // Checked again: after a reboot the host's networks may not be what they were at `up`.
    super::list::recheck_ranges(state_dir, &state)?;
    install_signal_handlers()?;
    let state_file = paths.state_file();
    let mut steps = Steps::default();
    steps.run("Clearing what the stopped nodes left", || {
        // Whatever a crash, a kill from outside or a reboot left of them: mounts, namespaces,
        // cgroups. Idempotent, like `down`.
        for &i in &stopped {
            actions::remove_node_objects(&state.nodes[i])?;
        }
        Ok(())
    })?;
    steps.run("Mounting node roots", || {
        remount_nodes::remount(&mut state, &stopped)?;
        state.save(&state_file)
    })?;
    let started_at = SystemTime::now();
    steps.run("Starting nodes", || {
        spawn_nodes::spawn(&mut state, &state_file, &stopped)
    })?;
    let booting: Vec<_> = stopped.iter().map(|&i| state.nodes[i].clone()).collect();
    steps.run("Waiting for nodes to boot", || {
        wait_booted::wait(&booting, BOOT_TIMEOUT)
    })?;
    // The load balancer is no Kubernetes node: booted is all it has to be.
    let booting: Vec<_> = booting.into_iter().filter(|n| n.is_kubernetes()).collect();
    let high_availability = state.load_balancer().is_some();
    if let Some(k) = state
        .kubernetes
        .as_ref()
        .filter(|k| k.phase == InitPhase::Initialized)
    {
        let kubectl = k.binaries.path("kubectl");
        steps.run("Waiting for nodes to be Ready", || {
            wait_ready::wait(
                &booting,
                &kubectl,
                &paths.dir.join("kubeconfig"),
                wait,
                Some(started_at),
            )
        })?;
        let control_planes: Vec<_> = booting
            .iter()
            .filter(|n| n.role == NodeRole::ControlPlane)
            .cloned()
            .collect();
        if high_availability && !control_planes.is_empty() && !wait.is_zero() {
            steps.run("Waiting for the control planes' API servers", || {
                wait_ready::wait_api_servers(&control_planes, wait)
            })?;
        }
    }
    Ok(steps.timings)
}
