//! `update`: rebuilt binaries into a running cluster, component by component, only what changed.
//! Each component is replaced the way it runs (see [`Runs`]): a static pod gets a content-tagged
//! image and its manifest rewritten, the kubelet is swapped and restarted on every node,
//! kube-proxy and CoreDNS get a new image in their workload, the tools are copied in. Every
//! replacement is health-checked; one that does not become healthy is put back (unless
//! `--no-rollback`) and the update stops there with the component's log. A rollback that fails
//! too keeps both failures.

mod node_binary;
mod rollout;
mod static_pod;
mod workload;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cluster::{Cluster, ClusterNode};
use crate::error::{Error, Result};
use crate::host::image_pusher;
use crate::kube::binaries::KubeBinaries;
use crate::kube::fingerprint::{self, Fingerprint};
use crate::kube::images;
use crate::model::component::{Component, Runs};
use crate::model::settings::{ComponentSettings, KubeProxyMode};
use crate::model::state::{Kubernetes, Transition};

use super::request::UpdateRequest;

/// One component's update, for the table and the JSON line.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    pub component: Component,
    pub old: Option<String>,
    pub new: String,
    pub version: String,
    pub action: String,
    pub seconds: f64,
}

/// What every component update needs.
pub(crate) struct Target<'a> {
    pub cluster: &'a Cluster,
    pub binaries: &'a KubeBinaries,
    pub rollback: bool,
    pub wait: Duration,
}

impl Target<'_> {
    /// The cluster's kubeconfig and a kubectl to use it with.
    pub fn kubectl(&self, args: &[&str]) -> Result<String> {
        let kubectl = self.binaries.path("kubectl");
        let out = std::process::Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(self.cluster.paths.kubeconfig())
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| crate::host::error::Io::new("run", &kubectl, e))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(crate::host::Error::tool(
                &format!("kubectl {}", args.join(" ")),
                String::from_utf8_lossy(&out.stderr).trim(),
            )
            .into())
        }
    }

    /// The component's image built from `binary`, tagged `tag`, loaded into `nodes`; returns its
    /// reference.
    pub fn load_image(
        &self,
        component: Component,
        binary: &Path,
        tag: &str,
        nodes: &[ClusterNode],
    ) -> Result<String> {
        let (archive, reference) = images::build_component(
            component,
            binary,
            tag,
            &self.cluster.state.image.path,
            &self.cluster.paths.update_dir(),
        )?;
        kns_plumbing::say!("   image {reference} built");
        let nodes: Vec<_> = nodes.iter().map(|n| &n.state).collect();
        image_pusher::push(&nodes, &[archive], &[], &[])?;
        Ok(reference)
    }

    /// Where update keeps what it replaced, to put it back.
    pub fn previous_dir(&self) -> PathBuf {
        self.cluster.paths.update_dir().join("previous")
    }
}

/// `vMAJOR.MINOR` of a version such as `v1.28.7-dirty+abc`.
fn minor(version: &str) -> Option<String> {
    let mut parts = version.trim_start_matches('v').split(['.', '-', '+']);
    Some(format!("v{}.{}", parts.next()?, parts.next()?))
}

/// Same major.minor is a binary swap; anything else is `kubeadm upgrade`'s business.
fn check_minor(running: &str, new: &str) -> Result<()> {
    match (minor(running), minor(new)) {
        (Some(a), Some(b)) if a == b => Ok(()),
        _ => Err(Error::Request(format!(
            "the cluster runs {running} and the new binaries are {new}: another minor version is \
             an upgrade (kubeadm upgrade), not a binary swap; make a new cluster for it (down, up, init)"
        ))),
    }
}

/// One component to replace: its binary and what that binary is now.
type Change = (Component, PathBuf, Fingerprint);

/// The components to update: those (of `only`, if given) whose binary is not what the cluster
/// runs, in update order, with their new fingerprints.
fn plan(
    only: &[Component],
    binaries: &KubeBinaries,
    running: &std::collections::BTreeMap<Component, Fingerprint>,
) -> Result<Vec<Change>> {
    let mut changed = vec![];
    for c in Component::ALL {
        if !only.is_empty() && !only.contains(&c) {
            continue;
        }
        let Some(path) = binaries.of(c) else {
            continue;
        };
        let known = running.get(&c);
        let new = fingerprint::of(&path, known)?;
        if known.map(|k| &k.sha256) != Some(&new.sha256) {
            changed.push((c, path, new));
        }
    }
    Ok(changed)
}

/// Whether `component` runs in a cluster of `components`: kube-proxy does not with
/// `kubeProxyMode: none` (its DaemonSet was never made).
fn runs_in(component: Component, components: &ComponentSettings) -> bool {
    !(component == Component::KubeProxy && components.kube_proxy_mode == KubeProxyMode::None)
}

/// The tag of a component's new image: the version it was built as, and its content.
fn image_tag(version: &str, fingerprint: &Fingerprint) -> String {
    format!("{version}-{}", fingerprint.short())
}

/// Updates the cluster's changed components. Returns one outcome per component updated (none:
/// nothing changed).
pub fn update(cluster: &mut Cluster, request: &UpdateRequest) -> Result<Vec<Outcome>> {
    let running = cluster.require_initialized()?.clone();
    let binaries = request.binaries.for_update(&running.binaries)?;
    check_minor(&running.binaries.version, &binaries.version)?;
    if let Some(Transition::Updating { component }) = &cluster.state.transition {
        kns_plumbing::say!("an earlier update of {component} did not finish: it is done again");
    }
    let mut changed = plan(&request.only, &binaries, &running.fingerprints)?;
    changed.retain(|(component, ..)| {
        let runs = runs_in(*component, &cluster.state.components);
        if !runs {
            kns_plumbing::say!(
                " • {component}: not in this cluster (kubeProxyMode: none), left out"
            );
        }
        runs
    });
    let mut outcomes = vec![];
    for (component, path, new) in changed {
        super::check_interrupted()?;
        let started = Instant::now();
        let old = running.fingerprints.get(&component);
        kns_plumbing::say!(
            " • {component} {} → {} ...",
            old.map_or("(unknown)", |f| f.short()),
            new.short()
        );
        cluster.state.transition = Some(Transition::Updating { component });
        cluster.save()?;
        let action = replace(cluster, &binaries, request, component, &path, &new)?;
        let seconds = started.elapsed().as_secs_f64();
        kns_plumbing::say!(" ✓ {component} ({seconds:.1} s): {action}");
        if let Kubernetes::Initialized(k) = &mut cluster.state.kubernetes {
            k.fingerprints.insert(component, new.clone());
        }
        cluster.state.transition = None;
        cluster.save()?;
        outcomes.push(Outcome {
            component,
            old: old.map(|f| f.short().to_owned()),
            new: new.short().to_owned(),
            version: binaries.version.clone(),
            action,
            seconds,
        });
    }
    // Nothing left to do: an earlier update's mark goes too.
    if cluster.state.transition.is_some() {
        cluster.state.transition = None;
        cluster.save()?;
    }
    // Later updates default to the binaries this one used.
    if let Kubernetes::Initialized(k) = &mut cluster.state.kubernetes {
        if k.binaries != binaries {
            k.binaries = binaries;
            cluster.save()?;
        }
    }
    Ok(outcomes)
}

/// Replaces one component the way it runs; returns what was done.
fn replace(
    cluster: &Cluster,
    binaries: &KubeBinaries,
    request: &UpdateRequest,
    component: Component,
    path: &Path,
    new: &Fingerprint,
) -> Result<String> {
    let target = Target {
        cluster,
        binaries,
        rollback: request.rollback,
        wait: request.wait,
    };
    let tag = image_tag(
        &images::version_tag(component, path, &binaries.version)?,
        new,
    );
    match component.runs() {
        Runs::StaticPod => static_pod::update(&target, component, path, &tag),
        Runs::Workload {
            kind,
            object,
            container,
        } => workload::update(&target, component, path, &tag, (kind, object, container)),
        Runs::Kubelet => node_binary::update(&target, component, path, true),
        Runs::Tool => node_binary::update(&target, component, path, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_kube_proxy_its_binary_is_not_updated() {
        let none = ComponentSettings {
            kube_proxy_mode: KubeProxyMode::None,
            ..Default::default()
        };
        assert!(!runs_in(Component::KubeProxy, &none));
        assert!(runs_in(Component::Kubelet, &none));
        for mode in [
            KubeProxyMode::Iptables,
            KubeProxyMode::Ipvs,
            KubeProxyMode::Nftables,
        ] {
            let with = ComponentSettings {
                kube_proxy_mode: mode,
                ..Default::default()
            };
            assert!(runs_in(Component::KubeProxy, &with), "{mode}");
        }
    }

    #[test]
    fn only_the_same_minor_is_a_binary_swap() {
        assert!(check_minor("v1.28.7", "v1.28.8-beta.0.12+abcdef-dirty").is_ok());
        assert!(check_minor("v1.28.7", "v1.28.7").is_ok());
        let err = check_minor("v1.28.7", "v1.29.0").unwrap_err().to_string();
        assert!(err.contains("kubeadm upgrade"), "{err}");
        assert!(check_minor("v1.28.7", "garbage").is_err());
        assert_eq!(minor("v1.30.0-alpha.1").as_deref(), Some("v1.30"));
    }

    #[test]
    fn the_plan_takes_what_changed_in_update_order() {
        let dir = tempfile::tempdir().unwrap();
        for b in crate::kube::binaries::KUBE_BINARIES {
            std::fs::write(dir.path().join(b), b.as_bytes()).unwrap();
        }
        let binaries = KubeBinaries {
            dir: dir.path().into(),
            extra_dir: None,
            version: "v1.28.7".into(),
        };
        let running = crate::actions::fingerprints::of(&binaries, &Default::default()).unwrap();
        assert!(plan(&[], &binaries, &running).unwrap().is_empty());
        // "Rebuilt": bytes appended to the kubelet and the apiserver.
        std::fs::write(dir.path().join("kubelet"), b"kubelet+").unwrap();
        std::fs::write(dir.path().join("kube-apiserver"), b"kube-apiserver+").unwrap();
        let changed: Vec<Component> = plan(&[], &binaries, &running)
            .unwrap()
            .iter()
            .map(|(c, _, _)| *c)
            .collect();
        assert_eq!(changed, [Component::KubeApiserver, Component::Kubelet]);
        assert_eq!(
            plan(&[Component::Kubelet], &binaries, &running)
                .unwrap()
                .len(),
            1
        );
    }
}
