//! Step: every node started at once: its cgroups made (with its limits), then cnispawn makes and
//! wires its netns and execs systemd-nspawn.

use std::time::Duration;

use kns_plumbing::poll::{self, Check, Stopped};

use crate::cluster::{Cluster, ClusterNode};
use crate::error::{Error, Result};
use crate::host::Host;

use super::UpContext;

pub fn run(ctx: &mut UpContext) -> Result<()> {
    let all: Vec<usize> = (0..ctx.cluster.state.nodes.len()).collect();
    spawn(&mut ctx.cluster, ctx.host, &all)
}

/// How long cnispawn may take to report a node's network.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts the nodes at `which` (indices into the state's nodes), recording each PID in the state
/// file as soon as it exists, and waits until each node's network is made.
pub fn spawn(cluster: &mut Cluster, host: &dyn Host, which: &[usize]) -> Result<()> {
    for &i in which {
        let n = cluster.node(i);
        let limits = &n.state.settings.limits;
        let placement = host.cgroups().create(n.name(), limits)?;
        let pid = match n.spawn(&placement) {
            // Seen once on a systemd host (CI, the stand-in's `start` after `stop`): a cgroup
            // made a moment before was gone when the launcher joined it. Made again, once, and
            // said.
            Err(e) if placement.join.iter().any(|p| !p.exists()) => {
                eprintln!("warning: {e}; making its cgroups again");
                n.spawn(&host.cgroups().create(n.name(), limits)?)?
            }
            spawned => spawned?,
        };
        cluster.state.nodes[i].pid = Some(pid);
        cluster.save()?;
    }
    // cnispawn prints its JSON line to the node's log before it execs nspawn; a node whose cnispawn
    // failed has exited with the error in its log.
    for &i in which {
        let n = cluster.node(i);
        match wait_network(&n, host) {
            Ok(()) => {}
            Err(Waited::Failed(message)) => {
                cluster.state.nodes[i].network_failed = true;
                cluster.save()?;
                return Err(crate::cluster::Error::NodeFailed {
                    node: n.name().to_owned(),
                    message,
                }
                .into());
            }
            Err(Waited::Other(e)) => return Err(e),
        }
        // Its launcher ran in its cgroups before it reported the network.
        host.cgroups().started(n.name())?;
    }
    Ok(())
}

enum Waited {
    /// cnispawn exited: its network is not there (and it removed what it made).
    Failed(String),
    Other(Error),
}

fn wait_network(n: &ClusterNode, host: &dyn Host) -> std::result::Result<(), Waited> {
    let pid = n.state.pid.unwrap_or(0);
    let ip = n.state.ip.to_string();
    let waited = poll::until(NETWORK_TIMEOUT, Duration::from_millis(20), || {
        let log = std::fs::read_to_string(n.dirs.log()).unwrap_or_default();
        match cni_result(&log, &ip) {
            Some(Ok(())) => return Check::Done(()),
            Some(Err(wrong)) => return Check::Abort(Waited::Other(node_error(n, wrong))),
            None => {}
        }
        if !kns_node::liveness::is_running(pid, n.name()) && !is_cnispawn(pid) {
            host.reap(pid);
            let tail = n.log_tail(5);
            return Check::Abort(Waited::Failed(format!("failed to start: {}", tail.trim())));
        }
        Check::Waiting("cnispawn has not reported the network".into())
    });
    match waited {
        Ok(_) => Ok(()),
        Err(Stopped::Aborted(w)) => Err(w),
        Err(Stopped::Interrupted) => Err(Waited::Other(Error::Interrupted)),
        Err(Stopped::TimedOut { .. }) => Err(Waited::Other(node_error(
            n,
            format!(
                "cnispawn did not report its network within {}",
                kns_plumbing::report::seconds(NETWORK_TIMEOUT)
            ),
        ))),
    }
}

fn node_error(n: &ClusterNode, message: String) -> Error {
    crate::cluster::Error::NodeFailed {
        node: n.name().to_owned(),
        message,
    }
    .into()
}

/// Whether `pid` is still the node's launcher (systemd-run, then cnispawn) before its exec into
/// nspawn.
fn is_cnispawn(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
        let c = String::from_utf8_lossy(&c);
        c.contains("cnispawn") || c.contains("systemd-run")
    })
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
