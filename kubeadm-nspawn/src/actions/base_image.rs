//! Step: the node base image, from rootfs-builder (cached by content; built on first use).

use crate::error::Result;
use crate::host::{tools, Error};
use crate::model::state::ImageRef;

use super::UpContext;

pub fn run(ctx: &mut UpContext) -> Result<()> {
    let mut args = vec!["build".to_owned()];
    args.extend(ctx.request.image.builder_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let built = tools::run_json("rootfs-builder", &args)?;
    let path = built["path"]
        .as_str()
        .ok_or_else(|| Error::tool("rootfs-builder", format!("no path in {built}")))?;
    ctx.cluster.state.image = ImageRef {
        key: built["key"].as_str().unwrap_or_default().into(),
        path: path.into(),
    };
    Ok(ctx.cluster.save()?)
}
