//! Step: wait for every node's systemd to reach `running`, all nodes at once.

use std::time::Duration;

use crate::cluster::ClusterNode;
use crate::error::{Error, Result};

use super::UpContext;

pub fn run(ctx: &mut UpContext) -> Result<()> {
    wait(&ctx.cluster.nodes(), ctx.request.boot_timeout)
}

/// Waits for every node of `nodes` at once.
pub fn wait(nodes: &[ClusterNode], timeout: Duration) -> Result<()> {
    kns_plumbing::parallel::each(
        nodes,
        |n| n.name(),
        |n| n.wait_booted(timeout).map_err(Error::from),
    )
    .map(drop)
}
