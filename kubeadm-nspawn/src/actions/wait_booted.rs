//! Step: wait for every node's systemd to reach `running`, all nodes at once.

use crate::error::Result;
use crate::{node, parallel};

use super::Context;

pub fn run(ctx: &mut Context) -> Result<()> {
    let timeout = ctx.opts.boot_timeout;
    parallel::each(
        &ctx.state.nodes,
        |n| &n.name,
        |n| node::wait_booted(n, timeout),
    )
    .map(drop)
}
