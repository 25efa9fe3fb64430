//! Components that run as static pods on the control-plane nodes (etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler): a new content-tagged image pushed there, the image in
//! `/etc/kubernetes/manifests/<name>.yaml` rewritten (the kubelet replaces the pod), then waited
//! for: a container of the new pod running, and the component healthy in that node (the
//! apiserver's `/readyz`, which includes etcd; the controller-manager's and scheduler's `/healthz`
//! on their secure ports). With several control planes, one node at a time, the next only once
//! the one before is healthy: the others serve the API meanwhile (through the load balancer),
//! and etcd never loses more than one member.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use kns_node::Exec;

use super::rollout::{self, NodeFailure, NodeUpdate};
use super::Target;
use crate::cluster::ClusterNode;
use crate::error::{Error, Result};
use crate::host::error::Io;
use crate::model::component::Component;

/// How long after the old pod's sandbox stopped the new manifest is written (see [`swap_manifest`]).
const SETTLE: Duration = Duration::from_secs(3);

/// A new pod whose container exited this many times is broken, whatever the time left.
const EXITS_BEFORE_FAILING: usize = 3;

pub fn update(target: &Target, component: Component, binary: &Path, tag: &str) -> Result<String> {
    let control_planes = target.cluster.control_planes();
    let reference = target.load_image(component, binary, tag, &control_planes)?;
    let update = StaticPod {
        target,
        component,
        reference: &reference,
        nodes: &control_planes,
    };
    rollout::one_at_a_time(&update, component.name(), target.rollback)?;
    Ok(match control_planes.len() {
        1 => format!("static pod runs {reference}"),
        k => format!("static pods run {reference} (on {k} control planes, one at a time)"),
    })
}

/// A static pod's manifest, rewritten to a new image on each control plane.
struct StaticPod<'a> {
    target: &'a Target<'a>,
    component: Component,
    reference: &'a str,
    nodes: &'a [ClusterNode],
}

impl StaticPod<'_> {
    fn node(&self, name: &str) -> Result<&ClusterNode> {
        self.nodes
            .iter()
            .find(|n| n.name() == name)
            .ok_or_else(|| Error::Internal(format!("no control plane {name}")))
    }

    fn manifest(&self) -> PathBuf {
        manifest_path(self.component)
    }
}

impl NodeUpdate for StaticPod<'_> {
    type Previous = String;

    fn nodes(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.name().to_owned()).collect()
    }

    /// The component's manifest on `node` rewritten to the new image and waited for; returns
    /// the manifest as it was.
    fn apply(&self, node: &str) -> std::result::Result<String, NodeFailure<String>> {
        let before = |e: Error| NodeFailure {
            why: e.to_string(),
            log: String::new(),
            previous: None,
        };
        let n = self.node(node).map_err(before)?;
        let manifest = self.manifest();
        // Kept where a crash between the removal and the new manifest cannot lose it.
        let backup = self
            .target
            .previous_dir()
            .join(node)
            .join(format!("{}.yaml", self.component));
        let previous = match n.read_file(&manifest) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            // An update killed between the two: the manifest it kept is the one to start from.
            Err(e) => std::fs::read_to_string(&backup).map_err(|_| before(e.into()))?,
        };
        let changed = with_image(&previous, self.reference).ok_or_else(|| {
            before(Error::Internal(format!(
                "{} has no image line",
                manifest.display()
            )))
        })?;
        std::fs::create_dir_all(backup.parent().unwrap_or(Path::new("/")))
            .and_then(|()| std::fs::write(&backup, &previous))
            .map_err(|e| before(Io::new("write", &backup, e).into()))?;
        let since = swap_manifest(n, self.component, &manifest, &changed).map_err(before)?;
        kns_plumbing::say!(
            "   {node}: {} rewritten; waiting for the new pod to be healthy",
            manifest.display()
        );
        match wait_healthy(self.target, n, self.component, since) {
            Ok(()) => Ok(previous),
            Err(why) => Err(NodeFailure {
                why,
                log: log_tail(n, self.component, since),
                previous: Some(previous),
            }),
        }
    }

    /// `node`'s manifest of the component back to `previous`, waited for until healthy.
    fn put_back(&self, node: &str, previous: &String) -> std::result::Result<(), String> {
        let n = self.node(node).map_err(|e| e.to_string())?;
        let since = swap_manifest(n, self.component, &self.manifest(), previous)
            .map_err(|e| e.to_string())?;
        wait_healthy(self.target, n, self.component, since)
    }

    /// The previous manifest back, not waited for (an interrupted update).
    fn restore(&self, node: &str, previous: &String) -> std::result::Result<(), String> {
        let n = self.node(node).map_err(|e| e.to_string())?;
        swap_manifest(n, self.component, &self.manifest(), previous)
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

fn manifest_path(component: Component) -> PathBuf {
    Path::new("/etc/kubernetes/manifests").join(format!("{component}.yaml"))
}

/// Replaces the static pod: the old manifest removed, the old pod stopped (its containers with a
/// short grace) and gone (its sandbox removed by the kubelet, not only stopped), then the new
/// manifest written; returns when that happened. In that order because the kubelet holds a new pod
/// back while another of the same name is still terminating and looks again only after its 10 s
/// back-off. Measured on a scheduler update: new manifest first 14.3 s; waiting for the old pod's
/// sandbox to be only stopped, 15.7–17.6 s; to be removed, 13.0 s (most of it the kubelet finishing
/// the old pod). The manifest goes in whole under a hidden temporary name (the kubelet reads every
/// file in its manifest directory except hidden ones).
fn swap_manifest(
    n: &ClusterNode,
    component: Component,
    manifest: &Path,
    text: &str,
) -> Result<SystemTime> {
    let mut old = running_containers(n, component);
    if component == Component::Etcd {
        // Without etcd the apiserver holds every request up to its 60 s timeout, and the kubelet,
        // which asks it about the new etcd's mirror pod before starting it, waits that long
        // (measured: 135 s to a new etcd container). Stopped too, the apiserver refuses at once;
        // the kubelet restarts it.
        old.extend(running_containers(n, Component::KubeApiserver));
    }
    let root = n.root()?;
    root.remove(manifest)?;
    cut_grace_short(n, &old);
    let pod = format!("^{component}-{}$", n.name());
    let deadline = Instant::now() + Duration::from_secs(40);
    while Instant::now() < deadline
        && !n
            .run(&["crictl", "pods", "--name", &pod, "--state", "ready", "-q"])
            .unwrap_or_default()
            .trim()
            .is_empty()
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    // The kubelet lets a pod of the same name start once its housekeeping (every 2 s) has seen the
    // old one finished.
    std::thread::sleep(SETTLE);
    let since = SystemTime::now();
    // Mode 0600, as kubeadm writes them.
    root.write(manifest, text.as_bytes(), 0o600)?;
    Ok(since)
}

/// The ids of the component's running containers.
fn running_containers(n: &ClusterNode, component: Component) -> Vec<String> {
    containers_since(
        &n.run(&["crictl", "ps", "--name", component.name(), "-o", "json"])
            .unwrap_or_default(),
        component.name(),
        0,
    )
    .into_iter()
    .filter(|(_, state)| state == "CONTAINER_RUNNING")
    .map(|(id, _)| id)
    .collect()
}

/// Stops the replaced pod's containers with a 2 s grace instead of the pod's 30 s: the kubelet
/// stops them as soon as it sees the new manifest, but kube-apiserver, its watches open, uses the
/// whole 30 s (measured: 39–42 s per apiserver update, 30 of them waiting for the old one to go).
/// Given a moment first, so the kubelet has taken the manifest change (inotify) and will not
/// restart the old pod; should it, it stops it again itself, only slower.
fn cut_grace_short(n: &ClusterNode, old: &[String]) {
    if old.is_empty() {
        return;
    }
    std::thread::sleep(Duration::from_millis(500));
    let mut args = vec!["crictl", "stop", "--timeout", "2"];
    args.extend(old.iter().map(String::as_str));
    let _ = n.run(&args);
}

/// The manifest with its container image set to `reference` (kubeadm's static pods have one).
fn with_image(manifest: &str, reference: &str) -> Option<String> {
    let mut replaced = false;
    let lines: Vec<String> = manifest
        .lines()
        .map(|line| {
            let indent = line.len() - line.trim_start().len();
            if line.trim_start().starts_with("image: ") {
                replaced = true;
                format!("{}image: {reference}", &line[..indent])
            } else {
                line.to_owned()
            }
        })
        .collect();
    replaced.then(|| lines.join("\n") + "\n")
}

/// Waits until a container of the component created after `since` runs and the component is
/// healthy; the error says why not.
fn wait_healthy(
    target: &Target,
    n: &ClusterNode,
    component: Component,
    since: SystemTime,
) -> std::result::Result<(), String> {
    let deadline = Instant::now() + target.wait;
    let mut announced = false;
    loop {
        if kns_plumbing::signals::interrupted() {
            return Err("interrupted by a signal".into());
        }
        let containers = new_containers(n, component, since);
        let running = containers
            .iter()
            .any(|(_, state)| state == "CONTAINER_RUNNING");
        if running && !announced {
            kns_plumbing::say!("   its new container runs");
            announced = true;
        }
        if running && component.health().is_some_and(|h| n.healthy(h)) {
            return Ok(());
        }
        let exited = containers
            .iter()
            .filter(|(_, state)| state == "CONTAINER_EXITED")
            .count();
        if exited >= EXITS_BEFORE_FAILING {
            return Err(format!("its new container exited {exited} times"));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "not running and healthy within {} ({} new containers)",
                kns_plumbing::report::seconds(target.wait),
                containers.len()
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// (id, state) of the component's containers created at or after `since`, newest first.
fn new_containers(
    n: &ClusterNode,
    component: Component,
    since: SystemTime,
) -> Vec<(String, String)> {
    let since = since
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let listing = n
        .run(&[
            "crictl",
            "ps",
            "-a",
            "--name",
            component.name(),
            "-o",
            "json",
        ])
        .unwrap_or_default();
    containers_since(&listing, component.name(), since)
}

fn containers_since(listing: &str, component: &str, since_ns: u128) -> Vec<(String, String)> {
    let listing: Value = serde_json::from_str(listing).unwrap_or(Value::Null);
    let mut found: Vec<(u128, String, String)> = listing["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["metadata"]["name"] == component)
        .filter_map(|c| {
            let created: u128 = c["createdAt"].as_str()?.parse().ok()?;
            (created >= since_ns).then(|| {
                (
                    created,
                    c["id"].as_str().unwrap_or_default().to_owned(),
                    c["state"].as_str().unwrap_or_default().to_owned(),
                )
            })
        })
        .collect();
    found.sort_by_key(|c| std::cmp::Reverse(c.0));
    found
        .into_iter()
        .map(|(_, id, state)| (id, state))
        .collect()
}

/// The end of the newest new container's log, or of the kubelet's when none was created.
fn log_tail(n: &ClusterNode, component: Component, since: SystemTime) -> String {
    match new_containers(n, component, since).first() {
        Some((id, _)) => n
            .run(&["sh", "-c", &format!("crictl logs --tail 15 {id} 2>&1")])
            .unwrap_or_default(),
        None => format!(
            "no container of it was created; the kubelet's log:\n{}",
            n.run(&[
                "journalctl",
                "-u",
                "kubelet",
                "-n",
                "10",
                "--no-pager",
                "-o",
                "cat"
            ])
            .unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_line_is_replaced_keeping_its_indentation() {
        let manifest = "spec:\n  containers:\n  - command:\n    - kube-apiserver\n    image: kubeadm-nspawn.local/kube-apiserver:v1.28.7\n    imagePullPolicy: Never\n";
        let new = with_image(
            manifest,
            "kubeadm-nspawn.local/kube-apiserver:v1.28.7-0123456789ab",
        )
        .unwrap();
        assert!(
            new.contains("\n    image: kubeadm-nspawn.local/kube-apiserver:v1.28.7-0123456789ab\n")
        );
        assert!(new.contains("imagePullPolicy: Never"));
        assert!(with_image("spec: {}\n", "x").is_none());
    }

    #[test]
    fn only_the_components_new_containers_count_newest_first() {
        let listing = r#"{"containers": [
            {"id": "old", "metadata": {"name": "kube-apiserver"}, "state": "CONTAINER_EXITED", "createdAt": "100"},
            {"id": "a", "metadata": {"name": "kube-apiserver"}, "state": "CONTAINER_EXITED", "createdAt": "200"},
            {"id": "b", "metadata": {"name": "kube-apiserver"}, "state": "CONTAINER_RUNNING", "createdAt": "300"},
            {"id": "e", "metadata": {"name": "etcd"}, "state": "CONTAINER_RUNNING", "createdAt": "400"}
        ]}"#;
        assert_eq!(
            containers_since(listing, "kube-apiserver", 150),
            [
                ("b".to_owned(), "CONTAINER_RUNNING".to_owned()),
                ("a".to_owned(), "CONTAINER_EXITED".to_owned())
            ]
        );
        assert!(containers_since("not json", "etcd", 0).is_empty());
    }
}
