//! Step: every node started at once: cnispawn makes and wires its netns, then execs systemd-nspawn.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::cluster::node;
use crate::error::{Error, Result};
use crate::host::cgroup;
use crate::model::state::ClusterState;

use super::Context;

pub fn run(ctx: &mut Context) -> Result<()> {
    let all: Vec<usize> = (0..ctx.state.nodes.len()).collect();
    spawn(&mut ctx.state, &ctx.paths.state_file(), &all)
}

/// Starts the nodes at `which` (indices into `state.nodes`), recording each PID in the state file
/// as soon as it exists, and waits until each node's network is made.
pub fn spawn(state: &mut ClusterState, state_file: &Path, which: &[usize]) -> Result<()> {
    for &i in which {
        let procs = cgroup::create(&state.nodes[i].name)?;
        cgroup::limit(&state.nodes[i].name, &state.nodes[i].settings.limits)?;
        let pid = node::spawn(&state.nodes[i], &procs)?;
        state.nodes[i].pid = Some(pid);
        state.save(state_file)?;
    }
    // cnispawn prints its JSON line to the node's log before it execs nspawn; a node whose cnispawn
    // failed has exited with the error in its log.
    for &i in which {
        let n = &state.nodes[i];
        let pid = n.pid.unwrap_or(0);
        let start = Instant::now();
        loop {
            let log = std::fs::read_to_string(n.dir.join("log")).unwrap_or_default();
            match cni_result(&log, &n.ip) {
                Some(Ok(())) => break,
                Some(Err(wrong)) => return Err(Error::node(&n.name, wrong)),
                None => {}
            }
            if !kns_node::liveness::is_running(pid, &n.name) && !is_cnispawn(pid) {
                kns_node::liveness::reap(pid);
                let error = Error::node(
                    &n.name,
                    format!("failed to start: {}", node::log_tail(n, 5).trim()),
                );
                state.nodes[i].network_failed = true;
                state.save(state_file)?;
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

/// What the node's log says of its network so far: None until cnispawn's JSON line is there (a
/// whole first line), then whether CNI gave the node its static address `ip`.
fn cni_result(log: &str, ip: &str) -> Option<std::result::Result<(), String>> {
    let line = log.lines().next().filter(|_| log.contains('\n'))?;
    let result = serde_json::from_str::<serde_json::Value>(line).ok()?;
    let address = result["address"].as_str().unwrap_or_default();
    Some(if address.split('/').next() == Some(ip) {
        Ok(())
    } else {
        Err(format!("CNI gave it {address}, expected {ip}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cni_line_is_read_once_whole_and_checked_against_the_static_address() {
        let line = r#"{"netns":"kns-c-0","address":"10.22.0.10/16","result":{}}"#;
        assert_eq!(cni_result("", "10.22.0.10"), None);
        // Half a line (cnispawn still writing) is not read yet.
        assert_eq!(cni_result(&line[..20], "10.22.0.10"), None);
        assert_eq!(cni_result(&format!("{line}\n"), "10.22.0.10"), Some(Ok(())));
        let wrong = cni_result(&format!("{line}\nspawning\n"), "10.22.0.11").unwrap();
        assert_eq!(
            wrong.unwrap_err(),
            "CNI gave it 10.22.0.10/16, expected 10.22.0.11"
        );
        // nspawn's own output before any JSON: still waiting (the liveness check decides).
        assert_eq!(cni_result("Spawning container c-n0\n", "10.22.0.10"), None);
    }
}
