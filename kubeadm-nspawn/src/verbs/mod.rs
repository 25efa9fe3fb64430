//! The verbs: each takes its validated request and the host, loads its cluster with
//! [`Cluster::open`](crate::cluster::Cluster::open) (changing verbs hold the cluster's lock), checks
//! its preconditions and runs its steps. A verb never calls another verb; what two share is here.

pub mod down;
pub mod e2e;
pub mod exec;
pub mod export;
pub mod init;
pub mod kubeconfig;
pub mod list;
pub mod load;
pub mod releases;
pub mod start;
pub mod stop;
pub mod up;
pub mod update;

use std::time::Duration;

use crate::cluster;
use crate::error::{Error, Result};
use crate::host::addresses::{host_claims, host_claims6};
use crate::model::ranges;
use crate::model::state::ClusterState;

/// How long a node's clean poweroff may take before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a started node may take to boot.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(60);

/// Fails unless running as root (checked before anything is touched).
pub fn require_root() -> Result<()> {
    if !kns_plumbing::privileges::is_root() {
        return Err(Error::NotRoot);
    }
    Ok(())
}

/// Termination signals are recorded from here on: steps stop at their boundaries (see
/// `actions::Steps`), waits end, and the verb undoes or records what it did.
pub fn install_signal_handlers() -> Result<()> {
    kns_plumbing::signals::install().map_err(|(signal, e)| {
        Error::from(crate::host::error::Io::errno(
            "install a handler for",
            signal.as_str(),
            e,
        ))
    })
}

/// The cluster's ranges checked again against the host and the other clusters (as `up` did):
/// the host may have changed since (a VPN, another bridge).
pub fn recheck_ranges(state_dir: &std::path::Path, state: &ClusterState) -> Result<()> {
    let states: Vec<ClusterState> = cluster::states(state_dir)?
        .into_iter()
        .filter(|c| c.name != state.name)
        .collect();
    let others: Vec<_> = states.iter().map(ClusterState::as_other).collect();
    let own_bridge = state.name.bridge();
    ranges::check(&state.ranges, &host_claims()?, &others, Some(&own_bridge))?;
    if let Some(ipv6) = &state.ipv6 {
        let others6: Vec<_> = states.iter().filter_map(ClusterState::as_other6).collect();
        crate::model::ranges6::check(
            state.name.as_str(),
            ipv6,
            &host_claims6()?,
            &others6,
            Some(&own_bridge),
        )?;
    }
    Ok(())
}
