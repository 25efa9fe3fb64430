//! Step: wait for every node's systemd to reach `running`, all nodes at once.

use crate::cluster::node;
use crate::error::Result;
use crate::model::state::NodeState;
use kns_plumbing::parallel;

use super::Context;

pub fn run(ctx: &mut Context) -> Result<()> {
    wait(&ctx.state.nodes, ctx.opts.boot_timeout)
}

/// Waits for every node of `nodes` at once.
pub fn wait(nodes: &[NodeState], timeout: std::time::Duration) -> Result<()> {
    parallel::each(nodes, |n| &n.name, |n| node::wait_booted(n, timeout)).map(drop)
}
