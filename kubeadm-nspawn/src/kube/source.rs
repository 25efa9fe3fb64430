//! Where a verb's Kubernetes binaries come from, as its flags and the cluster config file say
//! it, resolved once into the binaries themselves.

use std::path::PathBuf;

use super::binaries::{self, Build, KubeBinaries};
use super::error::Result;
use super::releases;

/// One answer to "which Kubernetes": a build, a release, or what the cluster recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum BinarySource {
    /// `--kube-bin` or `--kube-root`.
    Build(Build),
    /// `--kube-version`: a released version, from the cache or downloaded.
    Release(releases::Request),
    /// Nothing named: what the cluster recorded.
    Recorded,
}

/// The binaries a verb was told to use.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryChoice {
    pub source: BinarySource,
    /// `--extra-bin`: crictl, etcd, coredns, pause (replaces the recorded extras).
    pub extra_bin: Option<PathBuf>,
}

impl BinaryChoice {
    /// What `init` runs: the choice; with none, what `up` recorded; with nothing recorded, the
    /// `default` release (said in one line).
    pub fn for_init(
        &self,
        recorded: Option<&KubeBinaries>,
        default: &releases::Request,
    ) -> Result<KubeBinaries> {
        match (&self.source, recorded) {
            (BinarySource::Build(build), _) => binaries::find(build, self.extra_bin.as_deref()),
            (BinarySource::Release(release), _) => releases::fetch(release),
            (BinarySource::Recorded, Some(recorded)) => Ok(self.over_extras(recorded.clone())),
            (BinarySource::Recorded, None) => {
                kns_plumbing::say!(
                    "   no --kube-bin, --kube-root or --kube-version: Kubernetes {}, the newest \
                     version the end-to-end tests verify",
                    releases::DEFAULT_VERSION
                );
                Ok(self.over_extras(releases::fetch(default)?))
            }
        }
    }

    /// What `update` puts in: the choice, else the directory the cluster was made with read
    /// again (it may hold a new build), the recorded extras unless `--extra-bin` replaces them.
    pub fn for_update(&self, recorded: &KubeBinaries) -> Result<KubeBinaries> {
        let extra = self
            .extra_bin
            .clone()
            .or_else(|| recorded.extra_dir.clone());
        match &self.source {
            BinarySource::Build(build) => binaries::find(build, extra.as_deref()),
            BinarySource::Release(release) => releases::fetch(release),
            BinarySource::Recorded => {
                binaries::find(&Build::Dir(recorded.dir.clone()), extra.as_deref())
            }
        }
    }

    /// What `up` records for a later `init` (checked now), if the choice names binaries.
    pub fn for_up(&self) -> Result<Option<KubeBinaries>> {
        match &self.source {
            BinarySource::Build(build) => {
                binaries::find(build, self.extra_bin.as_deref()).map(Some)
            }
            BinarySource::Release(release) => releases::fetch(release).map(Some),
            BinarySource::Recorded => Ok(None),
        }
    }

    fn over_extras(&self, mut binaries: KubeBinaries) -> KubeBinaries {
        if let Some(extra) = &self.extra_bin {
            binaries.extra_dir = Some(extra.clone());
        }
        binaries
    }
}
