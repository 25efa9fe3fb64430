//! `list` and finding clusters and nodes by name.

use std::path::Path;

use crate::error::{Error, Result};
use crate::model::state::{self, ClusterState};

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

/// Finds a node by name among all clusters; a node of a stopped cluster is an error naming `start`.
pub fn find_node(state_dir: &Path, node: &str) -> Result<state::NodeState> {
    for cluster in list(state_dir)? {
        if let Some(n) = cluster.nodes.iter().find(|n| n.name == node) {
            if !crate::cluster::node::is_running(n) {
                return Err(stopped(&cluster));
            }
            return Ok(n.clone());
        }
    }
    Err(Error::InvalidArgument(format!(
        "no node {node:?}: see `kubeadm-nspawn list`"
    )))
}

/// Fails with [`Error::Stopped`] unless every node of the cluster runs.
pub fn require_running(state: &ClusterState) -> Result<()> {
    if state.nodes.iter().all(crate::cluster::node::is_running) {
        Ok(())
    } else {
        Err(stopped(state))
    }
}

fn stopped(state: &ClusterState) -> Error {
    Error::Stopped {
        cluster: state.name.clone(),
        running: state
            .nodes
            .iter()
            .filter(|n| crate::cluster::node::is_running(n))
            .count(),
        total: state.nodes.len(),
    }
}

/// Checks the cluster's ranges again against the host and the other clusters (its own bridge
/// excepted): the host may have changed since `up` (a new VPN, a reboot into another network).
pub fn recheck_ranges(state_dir: &Path, state: &ClusterState) -> Result<()> {
    let others: Vec<_> = list(state_dir)?
        .iter()
        .filter(|c| c.name != state.name)
        .filter_map(ClusterState::as_other)
        .collect();
    crate::model::ranges::check(
        &state.ranges()?,
        &crate::model::ranges::host_claims()?,
        &others,
        Some(&state.bridge),
    )
}
