//! Step: the cluster's images, synthesized from the binaries (or found in the cache).

use crate::error::Result;
use crate::images;

use super::InitContext;

pub fn run(ctx: &mut InitContext) -> Result<()> {
    let kube = ctx.kube()?.clone();
    let cache = ctx.opts.state_dir.join("kube-images");
    let set = images::prepare(
        &kube,
        &ctx.state.image.path,
        &ctx.state.image.key,
        &cache,
        &|line| eprintln!("   {line}"),
    )?;
    if set.coredns_tag.is_none() {
        eprintln!(
            "   warning: no coredns in --extra-bin: the CoreDNS addon is skipped (no cluster DNS)"
        );
    }
    ctx.images = Some(set);
    Ok(())
}
