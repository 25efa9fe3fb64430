//! `init`'s command line.

use std::path::PathBuf;
use std::time::Duration;

use super::binaries::{self, KubeArgs, ReleaseArgs};
use super::{config_file, parse_duration, steps_json, Global};
use crate::actions::request::InitRequest;
use crate::kube::kubeconfig;
use crate::kube::releases;
use crate::model::config::{check_patch_name, Config};
use crate::model::names::{ClusterName, DEFAULT_CLUSTER};

pub const LONG_ABOUT: &str =
    "Make the nodes a Kubernetes cluster: kubeadm init on the first node, join the \
    others, pod network, kubeconfig context kubeadm-nspawn-NAME, wait for Ready.\n\n\
    The binaries: --kube-bin/--kube-root (your build), else --kube-version (a release, \
    downloaded once and cached), else what `up` recorded, else the default release v1.28.7 \
    (the newest version the project's end-to-end tests verify).";

pub const AFTER_HELP: &str = "Examples:\n  sudo kubeadm-nspawn init --kube-root ~/go/src/k8s.io/kubernetes --extra-bin ~/extra\n  \
    sudo kubeadm-nspawn init --kube-version stable-1.28\n  \
    sudo kubeadm-nspawn init --config docs/cluster.yaml\n  \
    sudo kubeadm-nspawn init            # v1.28.7 from dl.k8s.io (or $KUBEADM_NSPAWN_RELEASE_MIRROR)";

#[derive(clap::Args, Debug, Clone)]
pub struct InitArgs {
    /// Cluster name [default: default, or the config file's name].
    #[arg(long)]
    pub name: Option<String>,
    /// The cluster config file `up` was given (or an edited one): init takes its binaries,
    /// featureGates, runtimeConfig, kubeadmPatches, networking.kubeProxyMode and
    /// disableDefaultCNI (their defaults when the file leaves them out) and node labels from it
    /// (instead of what `up` recorded). Flags given win over it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// A kubeadm patch file (kubeadm's --patches naming: TARGET[SUFFIX][+strategic|merge|json].yaml,
    /// TARGET one of etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
    /// kubeletconfiguration). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub kubeadm_patch: Vec<PathBuf>,
    /// How long to wait for all nodes to be Ready (e.g. 90s, 5m; 0 to not wait).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub wait: Duration,
}

impl InitArgs {
    pub fn request(&self, config: Option<&Config>) -> crate::Result<InitRequest> {
        for patch in &self.kubeadm_patch {
            let name = patch
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            check_patch_name(&name)?;
        }
        let name = self
            .name
            .as_deref()
            .or(config.and_then(|c| c.raw.name.as_deref()))
            .unwrap_or(DEFAULT_CLUSTER);
        Ok(InitRequest {
            name: ClusterName::new(name)?,
            binaries: binaries::choice(&self.kube, &self.release, config)?,
            default_release: self.release.source.request(releases::DEFAULT_VERSION)?,
            patches: self.kubeadm_patch.clone(),
            components: config.map(|c| c.components.clone()),
            labels: config.map(|c| c.nodes.iter().map(|n| n.labels.clone()).collect()),
            control_planes: config
                .filter(|c| !c.nodes.is_empty())
                .map(|c| c.control_planes),
            wait: self.wait,
            kubeconfig: kubeconfig::default_target(),
        })
    }

    pub fn run(&self, global: &Global) -> crate::Result<i32> {
        let config = config_file(self.config.as_deref())?;
        let request = self.request(config.as_ref())?;
        let name = request.name.clone();
        let kubeconfig = request.kubeconfig.path.clone();
        let started = std::time::Instant::now();
        let timings = crate::verbs::init::run(&global.common(), request, global.host())?;
        let seconds = started.elapsed().as_secs_f64();
        eprintln!("\nCluster \"{name}\" is initialized ({seconds:.1} s):");
        for (step, seconds) in &timings {
            eprintln!("  {step:<45} {seconds:>6.1} s");
        }
        eprintln!(
            "\nkubectl uses it now (context {} in {}): kubectl get nodes",
            name.context(),
            kubeconfig.display()
        );
        println!("{}", steps_json(&name, seconds, &timings));
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;

    fn init(args: &[&str]) -> InitArgs {
        match crate::cli::tests::command("init", args) {
            Command::Init(init) => init,
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_file_names_the_cluster_its_shape_and_its_labels() {
        let c = crate::model::config::tests::parse_ok(
            "apiVersion: kubeadm-nspawn/v1alpha1\nkind: Cluster\nname: dev\nnodes:\n- role: control-plane\n- role: control-plane\n- role: control-plane\n- labels: {c: d}\n",
        );
        let request = init(&[]).request(Some(&c)).unwrap();
        assert_eq!(request.name.as_str(), "dev");
        assert_eq!(request.control_planes, Some(3));
        assert_eq!(request.labels.unwrap()[3]["c"], "d");
        let plain = init(&[]).request(None).unwrap();
        assert_eq!(
            (plain.name.as_str(), plain.control_planes),
            ("default", None)
        );
        let err = init(&["--kubeadm-patch", "/x/apiserver.yaml"])
            .request(None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("--kubeadm-patch apiserver.yaml: kubeadm patch files are named"),
            "{err}"
        );
    }
}
