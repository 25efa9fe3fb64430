//! Step: wait (up to `init --wait`, `start --wait`) until every node reports Ready.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::kube::binaries::KubeBinaries;
use crate::model::state::NodeState;

use super::InitContext;

pub fn run(ctx: &InitContext, kube: &KubeBinaries) -> Result<()> {
    wait(
        &ctx.state.kubernetes_nodes(),
        &kube.path("kubectl"),
        &ctx.paths.dir.join("kubeconfig"),
        ctx.opts.wait,
        None,
    )
}

/// Waits until every node of `nodes` is Ready, asked with `kubectl --kubeconfig kubeconfig`. With
/// `since`, a Ready condition counts only if the kubelet reported it after that moment: a
/// node started again still shows the Ready it reported before it stopped.
pub fn wait(
    nodes: &[NodeState],
    kubectl: &Path,
    kubeconfig: &Path,
    timeout: std::time::Duration,
    since: Option<SystemTime>,
) -> Result<()> {
    if timeout.is_zero() {
        kns_plumbing::say!("   not waiting (--wait 0)");
        return Ok(());
    }
    let since = since.map(rfc3339);
    let polled = poll(timeout, || {
        let out = Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["get", "nodes", "-o", "json"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::io("run", kubectl, e))?;
        let listing: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        Ok(nodes
            .iter()
            .filter(|n| {
                // A Ready reported since; or Ready, and the node's kubelet (started since) says it
                // is healthy: a kubelet whose node status did not change may not post it for
                // minutes (seen: no new heartbeat 120 s after a restart).
                !(is_ready(&listing, &n.name, since.as_deref())
                    || (since.is_some() && is_ready(&listing, &n.name, None) && kubelet_healthy(n)))
            })
            .map(|n| n.name.clone())
            .collect())
    })?;
    match polled {
        Polled::Done(took) => {
            kns_plumbing::say!(
                "   all {} nodes Ready after {:.1} s",
                nodes.len(),
                took.as_secs_f64()
            );
            Ok(())
        }
        Polled::TimedOut(not_ready) => Err(Error::Timeout {
            what: format!("nodes Ready: {} not Ready", not_ready.join(", ")),
            after: timeout,
            look: format!(
                "`kubectl --kubeconfig {} describe nodes`",
                kubeconfig.display()
            ),
        }),
    }
}

/// Waits until the API server of every node in `control_planes` answers `/readyz` in that node
/// (its etcd member included): with several control planes the cluster's API answers through
/// the others long before a started one serves again, so its nodes' Ready says nothing of it.
pub fn wait_api_servers(control_planes: &[NodeState], timeout: std::time::Duration) -> Result<()> {
    let polled = poll(timeout, || {
        Ok(control_planes
            .iter()
            .filter(|n| {
                !crate::cluster::node::handle(n)
                    .is_ok_and(|h| crate::cluster::node::api_server_ready(&h))
            })
            .map(|n| n.name.clone())
            .collect())
    })?;
    match polled {
        Polled::Done(took) => {
            kns_plumbing::say!(
                "   {} API servers ready after {:.1} s",
                control_planes.len(),
                took.as_secs_f64()
            );
            Ok(())
        }
        Polled::TimedOut(waiting) => Err(Error::Timeout {
            what: format!("API servers ready: {} not ready", waiting.join(", ")),
            after: timeout,
            look: format!(
                "`kubeadm-nspawn exec {} -- crictl ps -a`",
                waiting.first().map_or("NODE", String::as_str)
            ),
        }),
    }
}

/// How a [`poll`] ended.
enum Polled {
    /// Nothing left to wait for, after this long.
    Done(std::time::Duration),
    /// Still waiting for these when the time was up.
    TimedOut(Vec<String>),
}

/// Asks `waiting` (what is still waited for) every 250 ms until it is empty or `timeout` has
/// passed.
fn poll(
    timeout: std::time::Duration,
    mut waiting: impl FnMut() -> Result<Vec<String>>,
) -> Result<Polled> {
    let start = Instant::now();
    loop {
        let left = waiting()?;
        if left.is_empty() {
            return Ok(Polled::Done(start.elapsed()));
        }
        if start.elapsed() > timeout {
            return Ok(Polled::TimedOut(left));
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

/// The kubelet's own health endpoint in the node (plain HTTP on 127.0.0.1:10248, kubeadm's default).
fn kubelet_healthy(node: &NodeState) -> bool {
    crate::cluster::node::handle(node)
        .is_ok_and(|n| crate::cluster::node::healthz(&n, "TCP:127.0.0.1:10248"))
}

/// Whether node `name` in a `kubectl get nodes -o json` listing is Ready (and, with `since`, was
/// reported so at or after that RFC 3339 time; the kubelet's times are UTC seconds, which compare
/// as strings).
fn is_ready(listing: &Value, name: &str, since: Option<&str>) -> bool {
    listing["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["metadata"]["name"] == name)
        .flat_map(|n| {
            n["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .any(|c| {
            c["type"] == "Ready"
                && c["status"] == "True"
                && since.is_none_or(|since| {
                    // Strictly later: times are whole seconds, and a report in the very second
                    // of `since` may be from before it.
                    c["lastHeartbeatTime"]
                        .as_str()
                        .is_some_and(|beat| beat > since)
                })
        })
}

/// `t` as the kubelet writes times: `YYYY-MM-DDTHH:MM:SSZ`, UTC, whole seconds (rounded down).
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn times_are_written_as_the_kubelet_does() {
        let at = |s: u64| rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_795_623_845), "2026-11-25T16:24:05Z");
    }

    #[test]
    fn readiness_counts_only_fresh_reports_when_asked() {
        let listing = json!({"items": [
            {"metadata": {"name": "c-n0"}, "status": {"conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-11-25T10:00:05Z"}
            ]}},
            {"metadata": {"name": "c-n1"}, "status": {"conditions": [
                {"type": "Ready", "status": "False", "lastHeartbeatTime": "2026-11-25T10:00:09Z"}
            ]}}
        ]});
        assert!(is_ready(&listing, "c-n0", None));
        assert!(is_ready(&listing, "c-n0", Some("2026-11-25T10:00:04Z")));
        assert!(!is_ready(&listing, "c-n0", Some("2026-11-25T10:00:05Z")));
        assert!(!is_ready(&listing, "c-n1", None));
        assert!(!is_ready(&listing, "c-n2", None));
    }
}
