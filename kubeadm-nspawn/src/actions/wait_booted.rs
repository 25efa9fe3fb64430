//! Step: wait for every node's systemd to reach `running`, all nodes at once.

use crate::error::Result;
use crate::node;

use super::Context;

pub fn run(ctx: &mut Context) -> Result<()> {
    let timeout = ctx.opts.boot_timeout;
    std::thread::scope(|scope| {
        let waits: Vec<_> = ctx
            .state
            .nodes
            .iter()
            .map(|n| scope.spawn(move || node::wait_booted(n, timeout)))
            .collect();
        for wait in waits {
            wait.join().unwrap_or_else(|_| Ok("panicked".into()))?;
        }
        Ok(())
    })
}
