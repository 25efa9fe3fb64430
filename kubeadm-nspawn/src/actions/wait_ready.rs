//! Step: wait (up to `init --wait`, `start --wait`) until every node reports Ready.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use kns_plumbing::poll::{self, Check, Stopped};

use crate::cluster::ClusterNode;
use crate::error::{Error, Result};
use crate::host::error::Timeout;
use crate::kube::binaries::KubeBinaries;
use crate::model::component::Component;

use super::InitContext;

/// How often the nodes are asked.
const EVERY: Duration = Duration::from_millis(250);

pub fn run(ctx: &InitContext, kube: &KubeBinaries) -> Result<()> {
    wait(
        &ctx.cluster.kubernetes_nodes(),
        &kube.path("kubectl"),
        &ctx.cluster.paths.kubeconfig(),
        ctx.request.wait,
        None,
    )
}

/// `init` without a pod network: the API answers through the cluster's kubeconfig (the nodes'
/// registration is waited for beside it, by the pod CIDRs' step); the nodes are NotReady until
/// the user's pod network runs, which `init` says.
pub fn api(ctx: &InitContext, kube: &KubeBinaries) -> Result<()> {
    let kubectl = kube.path("kubectl");
    let kubeconfig = ctx.cluster.paths.kubeconfig();
    let timeout = ctx.request.wait.max(Duration::from_secs(60));
    let polled = poll::until(timeout, EVERY, || {
        let out = Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["get", "--raw", "/readyz", "--request-timeout=10s"])
            .stdin(Stdio::null())
            .output();
        match out {
            Err(e) => Check::Failed(format!("cannot run {}: {e}", kubectl.display())),
            Ok(out) if out.status.success() => Check::Done(()),
            Ok(out) => Check::Failed(format!(
                "kubectl get --raw /readyz: {}",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim()
            )),
        }
    });
    match polled {
        Ok(((), took)) => {
            kns_plumbing::say!(
                "   the API answers after {:.1} s; the {} nodes wait for a pod network (NotReady \
                 until you apply one: `kubectl apply -f YOUR-CNI.yaml`, docs/config.md)",
                took.as_secs_f64(),
                ctx.cluster.kubernetes_nodes().len()
            );
            Ok(())
        }
        Err(stopped) => Err(timed_out(
            stopped,
            "the API ready",
            format!(
                "`kubectl --kubeconfig {} get --raw /readyz`",
                kubeconfig.display()
            ),
        )),
    }
}

/// `kubectl --kubeconfig kubeconfig get nodes -o json`; a kubectl that fails is an error (with
/// what it said), not a listing without Ready nodes.
fn list_nodes(kubectl: &Path, kubeconfig: &Path) -> std::result::Result<Value, String> {
    let out = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["get", "nodes", "-o", "json", "--request-timeout=10s"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", kubectl.display()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "kubectl get nodes: {}",
            stderr.lines().last().unwrap_or_default().trim()
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("kubectl get nodes: {e}"))
}

/// What a wait for the nodes waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Ready,
    /// Each kubelet reported its node's status, Ready or not: a cluster without kubeadm-nspawn's
    /// pod network (disableDefaultCNI) is NotReady until the user's runs, which may be never.
    Reported,
}

impl Want {
    /// What `start` waits for in a cluster of `components`.
    pub fn of(components: &crate::model::settings::ComponentSettings) -> Want {
        if components.disable_default_cni {
            Want::Reported
        } else {
            Want::Ready
        }
    }
}

/// Waits until every node of `nodes` is Ready, asked with `kubectl --kubeconfig kubeconfig`. With
/// `since`, a Ready condition counts only if the kubelet reported it after that moment: a
/// node started again still shows the Ready it reported before it stopped.
pub fn wait(
    nodes: &[ClusterNode],
    kubectl: &Path,
    kubeconfig: &Path,
    timeout: Duration,
    since: Option<SystemTime>,
) -> Result<()> {
    wait_for(nodes, kubectl, kubeconfig, timeout, since, Want::Ready)
}

/// [`wait`] for what `want` says.
pub fn wait_for(
    nodes: &[ClusterNode],
    kubectl: &Path,
    kubeconfig: &Path,
    timeout: Duration,
    since: Option<SystemTime>,
    want: Want,
) -> Result<()> {
    if timeout.is_zero() {
        kns_plumbing::say!("   not waiting (--wait 0)");
        return Ok(());
    }
    // What can never answer is said at once, not after the whole wait.
    for file in [kubectl, kubeconfig] {
        std::fs::metadata(file).map_err(|e| crate::host::error::Io::new("read", file, e))?;
    }
    let since = since.map(rfc3339);
    let counts = match want {
        Want::Ready => is_ready,
        Want::Reported => is_reported,
    };
    let polled = poll::until(timeout, EVERY, || {
        let listing = match list_nodes(kubectl, kubeconfig) {
            Ok(listing) => listing,
            Err(e) => return Check::Failed(e),
        };
        let not_ready: Vec<&str> = nodes
            .iter()
            .filter(|n| {
                // Reported since; or reported, and the node's kubelet (started since) says it
                // is healthy: a kubelet whose node status did not change may not post it for
                // minutes (seen: no new heartbeat 120 s after a restart).
                !(counts(&listing, n.name(), since.as_deref())
                    || (since.is_some() && counts(&listing, n.name(), None) && kubelet_healthy(n)))
            })
            .map(|n| n.name())
            .collect();
        if not_ready.is_empty() {
            let ready = nodes
                .iter()
                .filter(|n| is_ready(&listing, n.name(), None))
                .count();
            Check::Done(ready)
        } else {
            Check::Waiting(format!(
                "{} not {}",
                not_ready.join(", "),
                match want {
                    Want::Ready => "Ready",
                    Want::Reported => "reporting",
                }
            ))
        }
    });
    match polled {
        Ok((ready, took)) => {
            let seconds = took.as_secs_f64();
            match want {
                Want::Ready => {
                    kns_plumbing::say!("   all {} nodes Ready after {seconds:.1} s", nodes.len())
                }
                Want::Reported => kns_plumbing::say!(
                    "   all {} kubelets reporting after {seconds:.1} s, {ready} nodes Ready (no \
                     default pod network: the others wait for yours)",
                    nodes.len()
                ),
            }
            Ok(())
        }
        Err(stopped) => Err(timed_out(
            stopped,
            "nodes Ready",
            format!(
                "`kubectl --kubeconfig {} describe nodes`",
                kubeconfig.display()
            ),
        )),
    }
}

/// A wait's end without its thing, as the verb's error.
fn timed_out(stopped: Stopped<String>, what: &str, look: String) -> Error {
    match stopped {
        Stopped::Interrupted => Error::Interrupted,
        Stopped::Aborted(e) => Error::Internal(e),
        Stopped::TimedOut {
            after,
            waiting,
            last_error,
        } => Timeout {
            what: what.into(),
            after,
            waiting,
            last_error,
            look,
        }
        .into(),
    }
}

/// Waits until the API server of every node in `control_planes` answers `/readyz` in that node
/// (its etcd member included): with several control planes the cluster's API answers through
/// the others long before a started one serves again, so its nodes' Ready says nothing of it.
pub fn wait_api_servers(control_planes: &[ClusterNode], timeout: Duration) -> Result<()> {
    let health = Component::KubeApiserver.health();
    let polled = poll::until(timeout, EVERY, || {
        let waiting: Vec<&str> = control_planes
            .iter()
            .filter(|n| !health.is_some_and(|h| n.healthy(h)))
            .map(|n| n.name())
            .collect();
        if waiting.is_empty() {
            Check::<(), String>::Done(())
        } else {
            Check::Waiting(format!("{} not ready", waiting.join(", ")))
        }
    });
    match polled {
        Ok(((), took)) => {
            kns_plumbing::say!(
                "   {} API servers ready after {:.1} s",
                control_planes.len(),
                took.as_secs_f64()
            );
            Ok(())
        }
        Err(stopped) => Err(timed_out(
            stopped,
            "API servers ready",
            format!(
                "`kubeadm-nspawn exec {} -- crictl ps -a`",
                control_planes.first().map_or("NODE", |n| n.name())
            ),
        )),
    }
}

/// The kubelet's own health endpoint in the node (plain HTTP on 127.0.0.1:10248, kubeadm's default).
fn kubelet_healthy(node: &ClusterNode) -> bool {
    Component::Kubelet.health().is_some_and(|h| node.healthy(h))
}

/// Whether node `name` in a `kubectl get nodes -o json` listing is Ready (and, with `since`, was
/// reported so at or after that RFC 3339 time; the kubelet's times are UTC seconds, which compare
/// as strings).
fn is_ready(listing: &Value, name: &str, since: Option<&str>) -> bool {
    ready_conditions(listing, name, since).any(|c| c["status"] == "True")
}

/// Whether node `name` has a Ready condition of any status (its kubelet reports), reported at
/// or after `since` when given (see [`is_ready`]).
fn is_reported(listing: &Value, name: &str, since: Option<&str>) -> bool {
    ready_conditions(listing, name, since).next().is_some()
}

/// The Ready conditions of node `name` in `listing`, of any status, reported after `since` when
/// given.
fn ready_conditions<'a>(
    listing: &'a Value,
    name: &'a str,
    since: Option<&'a str>,
) -> impl Iterator<Item = Value> + 'a {
    listing["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |n| n["metadata"]["name"] == name)
        .flat_map(|n| {
            n["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(move |c| {
            c["type"] == "Ready"
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
        // Without a pod network a NotReady node that reports is what `start` waits for.
        assert!(is_reported(&listing, "c-n1", Some("2026-11-25T10:00:08Z")));
        assert!(!is_reported(&listing, "c-n1", Some("2026-11-25T10:00:09Z")));
        assert!(is_reported(&listing, "c-n0", None));
        assert!(!is_reported(&listing, "c-n2", None));
        use crate::model::settings::ComponentSettings;
        assert_eq!(Want::of(&ComponentSettings::default()), Want::Ready);
        let own = ComponentSettings {
            disable_default_cni: true,
            ..Default::default()
        };
        assert_eq!(Want::of(&own), Want::Reported);
    }
}
