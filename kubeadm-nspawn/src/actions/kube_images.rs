//! Step: the cluster's images, synthesized from the binaries (or found in the cache).

use crate::error::Result;
use crate::kube::binaries::KubeBinaries;
use crate::kube::images::{self, ImageSet};

use super::InitContext;

pub fn prepare(ctx: &InitContext, kube: &KubeBinaries) -> Result<ImageSet> {
    let image = &ctx.cluster.state.image;
    let set = images::prepare(kube, &image.path, &image.key, &ctx.image_cache, &|line| {
        kns_plumbing::say!("   {line}")
    })?;
    if set.coredns_tag.is_none() {
        kns_plumbing::say!(
            "   warning: no coredns in --extra-bin: the CoreDNS addon is skipped (no cluster DNS)"
        );
    }
    Ok(set)
}
