//! `update`: rebuilt binaries into a running cluster, component by component, only what changed.
//! Each component is replaced the way it runs (see [`crate::model::component::Runs`]): a static pod gets
//! a content-tagged image and its manifest rewritten, the kubelet is swapped and restarted on every
//! node, kube-proxy and CoreDNS get a new image in their workload, the tools are copied in. Every
//! replacement is health-checked; one that does not become healthy is put back (unless
//! `--no-rollback`) and the update stops there with the component's log.

mod node_binary;
mod static_pod;
mod workload;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::kube::binaries::KubeBinaries;
use crate::kube::fingerprint::Fingerprint;
use crate::model::component::{self, Component, Runs, COMPONENTS};
use crate::model::names::ClusterPaths;
use crate::model::state::ClusterState;

/// What `update` was asked for.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    pub kube_bin: Option<PathBuf>,
    pub kube_root: Option<PathBuf>,
    pub extra_bin: Option<PathBuf>,
    /// Component names to consider; empty: all.
    pub only: Vec<String>,
    pub rollback: bool,
    /// How long a replaced component may take to become healthy.
    pub wait: Duration,
}

/// One component's update, for the table and the JSON line.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    pub component: String,
    pub old: Option<String>,
    pub new: String,
    pub version: String,
    pub action: String,
    pub seconds: f64,
}

/// What every component update needs.
pub(crate) struct Target<'a> {
    pub state: &'a ClusterState,
    pub paths: &'a ClusterPaths,
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
            .arg(self.paths.dir.join("kubeconfig"))
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| Error::io("run", &kubectl, e))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(Error::tool(
                &format!("kubectl {}", args.join(" ")),
                String::from_utf8_lossy(&out.stderr).trim(),
            ))
        }
    }

    /// The component's image built from `binary`, tagged `tag`, loaded into `nodes`; returns its
    /// reference.
    pub fn load_image(
        &self,
        component: &str,
        binary: &Path,
        tag: &str,
        nodes: &[crate::model::state::NodeState],
    ) -> Result<String> {
        let (archive, reference) = crate::kube::images::build_component(
            component,
            binary,
            tag,
            &self.state.image.path,
            &self.work_dir(),
        )?;
        kns_plumbing::say!("   image {reference} built");
        crate::host::image_pusher::push(nodes, &[archive], &[], &[])?;
        Ok(reference)
    }

    /// Where update keeps images it built and binaries it replaced.
    pub fn work_dir(&self) -> PathBuf {
        self.paths.dir.join("update")
    }
}

/// The binaries to update from: the flags, else what the cluster was made with (re-read: the
/// directory may hold a new build), `--extra-bin` replacing the recorded extras.
fn binaries(state: &ClusterState, opts: &UpdateOptions) -> Result<KubeBinaries> {
    let recorded = state.kubernetes.as_ref().map(|k| &k.binaries);
    let extra = opts
        .extra_bin
        .clone()
        .or_else(|| recorded.and_then(|b| b.extra_dir.clone()));
    if opts.kube_bin.is_some() || opts.kube_root.is_some() {
        KubeBinaries::find(
            opts.kube_bin.as_deref(),
            opts.kube_root.as_deref(),
            extra.as_deref(),
        )
    } else {
        let dir = recorded.map(|b| b.dir.clone()).ok_or_else(|| {
            Error::InvalidArgument("no Kubernetes binaries recorded: give --kube-bin DIR".into())
        })?;
        KubeBinaries::find(Some(&dir), None, extra.as_deref())
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
        _ => Err(Error::InvalidArgument(format!(
            "the cluster runs {running} and the new binaries are {new}: another minor version is \
             an upgrade (kubeadm upgrade), not a binary swap; make a new cluster for it (down, up, init)"
        ))),
    }
}

/// The components to update: those (of `only`, if given) whose binary is not what the cluster
/// runs, in update order, with their new fingerprints.
fn plan(
    opts: &UpdateOptions,
    binaries: &KubeBinaries,
    running: &std::collections::BTreeMap<String, Fingerprint>,
) -> Result<Vec<(&'static Component, PathBuf, Fingerprint)>> {
    if let Some(unknown) = opts.only.iter().find(|o| component::named(o).is_none()) {
        let known: Vec<&str> = COMPONENTS.iter().map(|c| c.name).collect();
        return Err(Error::InvalidArgument(format!(
            "--only {unknown}: not a component ({})",
            known.join(", ")
        )));
    }
    let mut changed = vec![];
    for c in COMPONENTS {
        if !opts.only.is_empty() && !opts.only.iter().any(|o| o == c.name) {
            continue;
        }
        let Some(path) = component::binary(binaries, c.name) else {
            continue;
        };
        let known = running.get(c.name);
        let new = Fingerprint::of(&path, known)?;
        if known.map(|k| &k.sha256) != Some(&new.sha256) {
            changed.push((c, path, new));
        }
    }
    Ok(changed)
}

/// The tag of a component's new image: the version it was built as, and its content.
fn image_tag(version: &str, fingerprint: &Fingerprint) -> String {
    format!("{version}-{}", fingerprint.short())
}

/// Updates the cluster's changed components. Returns one outcome per component updated (none:
/// nothing changed).
pub fn update(
    paths: &ClusterPaths,
    state: &mut ClusterState,
    opts: &UpdateOptions,
) -> Result<Vec<Outcome>> {
    let running = state
        .kubernetes
        .as_ref()
        .map(|k| k.fingerprints.clone())
        .unwrap_or_default();
    let recorded_version = state
        .kubernetes
        .as_ref()
        .map(|k| k.binaries.version.clone())
        .unwrap_or_default();
    let binaries = binaries(state, opts)?;
    check_minor(&recorded_version, &binaries.version)?;
    let changed = plan(opts, &binaries, &running)?;
    let mut outcomes = vec![];
    for (component, path, new) in changed {
        crate::actions::check_interrupted()?;
        let started = Instant::now();
        kns_plumbing::say!(
            " • {} {} → {} ...",
            component.name,
            running
                .get(component.name)
                .map_or("(unknown)", |f| f.short()),
            new.short()
        );
        let target = Target {
            state,
            paths,
            binaries: &binaries,
            rollback: opts.rollback,
            wait: opts.wait,
        };
        let tag = image_tag(
            &crate::kube::images::version_tag(component.name, &path, &binaries.version)?,
            &new,
        );
        let action = match component.runs {
            Runs::StaticPod => static_pod::update(&target, component.name, &path, &tag)?,
            Runs::Workload {
                kind,
                object,
                container,
            } => workload::update(
                &target,
                component.name,
                &path,
                &tag,
                kind,
                object,
                container,
            )?,
            Runs::Kubelet => node_binary::update(&target, component.name, &path, true)?,
            Runs::Tool => node_binary::update(&target, component.name, &path, false)?,
        };
        let seconds = started.elapsed().as_secs_f64();
        kns_plumbing::say!(" ✓ {} ({seconds:.1} s): {action}", component.name);
        if let Some(k) = &mut state.kubernetes {
            k.fingerprints
                .insert(component.name.to_owned(), new.clone());
        }
        state.save(&paths.state_file())?;
        outcomes.push(Outcome {
            component: component.name.into(),
            old: running.get(component.name).map(|f| f.short().to_owned()),
            new: new.short().to_owned(),
            version: binaries.version.clone(),
            action,
            seconds,
        });
    }
    // Later updates default to the binaries this one used.
    if let Some(k) = &mut state.kubernetes {
        if k.binaries != binaries {
            k.binaries = binaries;
            state.save(&paths.state_file())?;
        }
    }
    Ok(outcomes)
}

/// Writes a manifest whole (kns_plumbing::atomic_file, whose temporary is a hidden file: the
/// kubelet reads every file in its manifest directory except hidden ones). Mode 0600, as kubeadm
/// writes them.
pub(crate) fn replace_file(path: &Path, text: &str) -> Result<()> {
    kns_plumbing::atomic_file::write(path, text.as_bytes(), 0o600)
        .map_err(|e| Error::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let opts = UpdateOptions {
            kube_bin: None,
            kube_root: None,
            extra_bin: None,
            only: vec![],
            rollback: true,
            wait: Duration::from_secs(1),
        };
        let running = crate::actions::fingerprints::of(&binaries, &Default::default()).unwrap();
        assert!(plan(&opts, &binaries, &running).unwrap().is_empty());
        // "Rebuilt": bytes appended to the kubelet and the apiserver.
        std::fs::write(dir.path().join("kubelet"), b"kubelet+").unwrap();
        std::fs::write(dir.path().join("kube-apiserver"), b"kube-apiserver+").unwrap();
        let names: Vec<&str> = plan(&opts, &binaries, &running)
            .unwrap()
            .iter()
            .map(|(c, _, _)| c.name)
            .collect();
        assert_eq!(names, ["kube-apiserver", "kubelet"]);
        let only = UpdateOptions {
            only: vec!["kubelet".into()],
            ..opts.clone()
        };
        assert_eq!(plan(&only, &binaries, &running).unwrap().len(), 1);
        let bad = UpdateOptions {
            only: vec!["kubelets".into()],
            ..opts
        };
        assert!(plan(&bad, &binaries, &running)
            .unwrap_err()
            .to_string()
            .contains("--only kubelets: not a component"));
    }

    #[test]
    fn manifests_are_replaced_through_a_hidden_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kube-apiserver.yaml");
        std::fs::write(&path, "old").unwrap();
        replace_file(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
