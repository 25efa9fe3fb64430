//! Step: the Kubernetes binaries (`init`'s choice, else what `up` recorded, else the default
//! release), checked to have crictl and etcd beside them.

use crate::error::Result;
use crate::host::facts::ThisHost;
use crate::kube::binaries::{check_extras, KubeBinaries};
use crate::kube::proxy_mode;

use super::InitContext;

pub fn find(ctx: &InitContext) -> Result<KubeBinaries> {
    let binaries = ctx
        .request
        .binaries
        .for_init(ctx.cluster.phase().binaries(), &ctx.request.default_release)?;
    // Checked before the cluster is marked as initializing (the next step), so a retry with the
    // right directory is possible.
    check_extras(&binaries)?;
    kns_plumbing::say!(
        "   Kubernetes {} from {}",
        binaries.version,
        binaries.dir.display()
    );
    Ok(binaries)
}

/// Step: whether the cluster's kube-proxy mode runs with these binaries, on this host's kernel,
/// with the node base's programs; before the cluster is marked initializing, so a refused init
/// changes nothing.
pub fn check_proxy_mode(ctx: &InitContext, kube: &KubeBinaries) -> Result<()> {
    let components = &ctx.cluster.state.components;
    let mode = components.kube_proxy_mode;
    proxy_mode::check_version(mode, &kube.version, &components.feature_gates)?;
    proxy_mode::check_kernel(mode, &ThisHost)?;
    proxy_mode::check_base(mode, &ctx.cluster.state.image.path, &ThisHost)?;
    kns_plumbing::say!(
        "   kube-proxy: {mode}{}",
        if components.disable_default_cni {
            "; no pod network (disableDefaultCNI)"
        } else {
            ""
        }
    );
    Ok(())
}
