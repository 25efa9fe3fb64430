//! Step: the Kubernetes binaries (`init`'s choice, else what `up` recorded, else the default
//! release), checked to have crictl and etcd beside them.

use crate::error::Result;
use crate::kube::binaries::{check_extras, KubeBinaries};

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
