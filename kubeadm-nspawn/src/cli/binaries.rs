//! The flags that say which Kubernetes a verb uses (`up`, `init`, `update`) and where releases
//! come from, turned into one [`BinaryChoice`].

use std::path::PathBuf;

use crate::kube::binaries::Build;
use crate::kube::releases;
use crate::kube::source::{BinaryChoice, BinarySource};
use crate::model::config::Config;

/// Where the Kubernetes binaries come from: your build.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct KubeArgs {
    /// Kubernetes binaries (kubeadm, kubelet, kubectl, kube-apiserver, kube-controller-manager,
    /// kube-scheduler, kube-proxy) in one directory.
    #[arg(long, value_name = "DIR", conflicts_with = "kube_root")]
    pub kube_bin: Option<PathBuf>,
    /// A Kubernetes source tree built with `make`: its _output/local/bin/linux/amd64 (or
    /// _output/bin) is used.
    #[arg(long, value_name = "DIR")]
    pub kube_root: Option<PathBuf>,
    /// crictl (required), etcd (required), coredns (optional: without it no cluster DNS) and
    /// pause (optional: the project's own is the default).
    #[arg(long, value_name = "DIR")]
    pub extra_bin: Option<PathBuf>,
}

/// A released Kubernetes instead of your own build.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ReleaseArgs {
    /// A released Kubernetes: v1.28.7, 1.28.7, stable or stable-1.28. Its seven binaries, crictl of
    /// its minor and the etcd and CoreDNS its kubeadm names are downloaded once (checked against
    /// their published sha256) and cached; images are synthesized from them as from a build.
    #[arg(long, value_name = "VERSION", conflicts_with_all = ["kube_bin", "kube_root", "extra_bin"])]
    pub kube_version: Option<String>,
    #[command(flatten)]
    pub source: ReleaseSource,
}

/// Where releases come from and are kept.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ReleaseSource {
    /// One base URL with the paths of dl.k8s.io and github.com under it, used instead of them
    /// (an air-gapped mirror).
    #[arg(long, value_name = "URL", env = releases::MIRROR_ENV)]
    pub release_mirror: Option<String>,
    /// Where downloaded releases are kept (one directory per version and architecture).
    #[arg(long, value_name = "DIR", env = releases::CACHE_ENV, default_value = releases::DEFAULT_CACHE_DIR)]
    pub release_cache: PathBuf,
}

impl ReleaseSource {
    pub fn request(&self, version: &str) -> crate::Result<releases::Request> {
        Ok(releases::Request::new(
            version,
            self.release_mirror.as_deref(),
            &self.release_cache,
        )?)
    }
}

/// The choice the flags make, over the config file's `kubernetes`: a flag naming the binaries
/// (`--kube-bin`, `--kube-root`, `--kube-version`) replaces the file's choice whole;
/// `--extra-bin` alone replaces only its extraBin.
pub fn choice(
    kube: &KubeArgs,
    release: &ReleaseArgs,
    config: Option<&Config>,
) -> crate::Result<BinaryChoice> {
    let file = config.map(|c| &c.raw.kubernetes);
    let named =
        kube.kube_bin.is_some() || kube.kube_root.is_some() || release.kube_version.is_some();
    let (bin, root, version, extra) = if named || file.is_none() {
        (
            kube.kube_bin.clone(),
            kube.kube_root.clone(),
            release.kube_version.clone(),
            kube.extra_bin.clone(),
        )
    } else {
        let f = file.cloned().unwrap_or_default();
        let extra = kube.extra_bin.clone().or(f.extra_bin);
        // An --extra-bin of the flags goes with the file's build, not with its release.
        let version = if kube.extra_bin.is_some() {
            None
        } else {
            f.version
        };
        (f.kube_bin, f.kube_root, version, extra)
    };
    let source = match (bin, root, version) {
        (Some(dir), _, _) => BinarySource::Build(Build::Dir(dir)),
        (None, Some(root), _) => BinarySource::Build(Build::Tree(root)),
        (None, None, Some(version)) => BinarySource::Release(release.source.request(&version)?),
        (None, None, None) => BinarySource::Recorded,
    };
    Ok(BinaryChoice {
        source,
        extra_bin: extra,
    })
}
