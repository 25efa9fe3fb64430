//! Step: find the Kubernetes binaries (flags of `init`, else what `up` recorded, else the default
//! release) and check they are one build with crictl and etcd beside them.

use crate::error::{Error, Result};
use crate::kube::binaries::KubeBinaries;
use crate::kube::releases;

use super::InitContext;

pub fn find(ctx: &InitContext) -> Result<KubeBinaries> {
    let o = &ctx.opts;
    let binaries = if o.kube_bin.is_some() || o.kube_root.is_some() {
        KubeBinaries::find(
            o.kube_bin.as_deref(),
            o.kube_root.as_deref(),
            o.extra_bin.as_deref(),
        )?
    } else if let Some(release) = &o.release {
        releases::fetch(release)?
    } else {
        let mut b = match &ctx.state.kubernetes {
            Some(k) => k.binaries.clone(),
            None => {
                kns_plumbing::say!(
                    "   no --kube-bin, --kube-root or --kube-version: Kubernetes {}, the newest \
                     version the end-to-end tests verify",
                    releases::DEFAULT_VERSION
                );
                releases::fetch(&o.default_release)?
            }
        };
        if let Some(extra) = &o.extra_bin {
            b.extra_dir = Some(extra.clone());
        }
        b
    };
    // Checked before the cluster is marked as initializing (the next step), so a retry with the
    // right directory is possible.
    for (name, why) in [
        (
            "crictl",
            "kubeadm needs it in every node (cri-tools: `go build ./cmd/crictl`)",
        ),
        (
            "etcd",
            "the control plane's datastore (e.g. Debian's etcd-server package)",
        ),
    ] {
        if binaries.extra(name).is_none() {
            return Err(Error::InvalidArgument(format!(
                "no {name} in --extra-bin DIR: {why}"
            )));
        }
    }
    kns_plumbing::say!(
        "   Kubernetes {} from {}",
        binaries.version,
        binaries.dir.display()
    );
    Ok(binaries)
}
