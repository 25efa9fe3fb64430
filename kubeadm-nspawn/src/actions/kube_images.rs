//! Step: the cluster's images, synthesized from the binaries (or found in the cache).

use crate::error::Result;
use crate::kube::binaries::KubeBinaries;
use crate::kube::images::{self, ImageSet};

use super::InitContext;

pub fn prepare(ctx: &InitContext, kube: &KubeBinaries) -> Result<ImageSet> {
    let cache = ctx.opts.state_dir.join("kube-images");
    let set = images::prepare(
        kube,
        &ctx.state.image.path,
        &ctx.state.image.key,
        &cache,
        &|line| kns_plumbing::say!("   {line}"),
    )?;
    if set.coredns_tag.is_none() {
        kns_plumbing::say!(
            "   warning: no coredns in --extra-bin: the CoreDNS addon is skipped (no cluster DNS)"
        );
    }
    Ok(set)
}
