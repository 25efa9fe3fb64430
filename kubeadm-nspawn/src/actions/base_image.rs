//! Step: the node base image, from rootfs-builder (cached by content; built on first use).

use crate::error::{Error, Result};
use crate::model::state::ImageRef;

use super::Context;

pub fn run(ctx: &mut Context) -> Result<()> {
    let mut args = vec!["build"];
    args.extend(ctx.opts.image_args.iter().map(String::as_str));
    let built = crate::host::tools::run_json("rootfs-builder", &args)?;
    let path = built["path"]
        .as_str()
        .ok_or_else(|| Error::tool("rootfs-builder", format!("no path in {built}")))?;
    ctx.state.image = ImageRef {
        key: built["key"].as_str().unwrap_or_default().into(),
        path: path.into(),
    };
    ctx.save()
}
