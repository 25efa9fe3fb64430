//! Step: every node started at once: cnispawn makes and wires its netns, then execs systemd-nspawn.

use std::time::{Duration, Instant};

use crate::cgroup;
use crate::error::{Error, Result};
use crate::node;

use super::Context;

pub fn run(ctx: &mut Context) -> Result<()> {
    for i in 0..ctx.state.nodes.len() {
        let procs = cgroup::create(&ctx.state.nodes[i].name)?;
        let pid = node::spawn(&ctx.state.nodes[i], &procs)?;
        ctx.state.nodes[i].pid = Some(pid);
        ctx.save()?;
    }
    // cnispawn prints its JSON line to the node's log before it execs nspawn; a node whose cnispawn
    // failed has exited with the error in its log.
    for i in 0..ctx.state.nodes.len() {
        let n = &ctx.state.nodes[i];
        let pid = n.pid.unwrap_or(0);
        let start = Instant::now();
        loop {
            let log = std::fs::read_to_string(n.dir.join("log")).unwrap_or_default();
            if let Some(line) = log.lines().next().filter(|_| log.contains('\n')) {
                if let Ok(result) = serde_json::from_str::<serde_json::Value>(line) {
                    let address = result["address"].as_str().unwrap_or_default();
                    if address.split('/').next() != Some(n.ip.as_str()) {
                        return Err(Error::node(
                            &n.name,
                            format!("CNI gave it {address}, expected {}", n.ip),
                        ));
                    }
                    break;
                }
            }
            if !kns_node::liveness::is_running(pid, &n.name) && !is_cnispawn(pid) {
                kns_node::liveness::reap(pid);
                let error = Error::node(
                    &n.name,
                    format!("failed to start: {}", node::log_tail(n, 5).trim()),
                );
                ctx.state.nodes[i].network_failed = true;
                ctx.save()?;
                return Err(error);
            }
            if start.elapsed() > Duration::from_secs(30) {
                return Err(Error::node(
                    &n.name,
                    "cnispawn did not report its network within 30 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(())
}

/// Whether `pid` is still cnispawn (before its exec into nspawn).
fn is_cnispawn(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| String::from_utf8_lossy(&c).contains("cnispawn"))
}
