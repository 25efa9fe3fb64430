//! Step: binaries into every node's /usr/local/bin, images into every node's containerd (the
//! control-plane images only into the first node), through image-pusher; both pushes at once.

use crate::error::{Error, Result};
use crate::kube::NODE_BINARIES;
use crate::push;

use super::InitContext;

pub fn run(ctx: &mut InitContext) -> Result<()> {
    let kube = ctx.kube()?;
    let images = ctx.images()?;
    let mut binaries: Vec<String> = NODE_BINARIES
        .iter()
        .map(|b| format!("{}:/usr/local/bin/{b}", kube.path(b).display()))
        .collect();
    if let Some(crictl) = kube.extra("crictl") {
        binaries.push(format!("{}:/usr/local/bin/crictl", crictl.display()));
    }
    let nodes = &ctx.state.nodes;
    std::thread::scope(|scope| {
        let control_plane =
            scope.spawn(|| push::push(&nodes[..1], &images.control_plane, &[]).map(drop));
        let every_node = push::push(nodes, &images.every_node, &binaries).map(drop);
        control_plane
            .join()
            .unwrap_or_else(|_| Err(Error::InvalidArgument("push thread panicked".into())))?;
        every_node
    })
}
