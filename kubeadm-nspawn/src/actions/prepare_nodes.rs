//! Step: per node, the directories, the overlay root, a machine-id and the CNI config.

use crate::error::{Error, Result};
use crate::network;
use crate::node::NodeDirs;
use crate::overlay;
use crate::state::NodeState;

use super::Context;

pub fn run(ctx: &mut Context) -> Result<()> {
    for index in 0..ctx.opts.nodes {
        let name = ctx.opts.name.node_name(index);
        let dirs = NodeDirs {
            dir: ctx.paths.node_dir(&name),
        };
        // Recorded before anything is created, so a failure half-way is undone by `down`.
        ctx.state.nodes.push(NodeState {
            name: name.clone(),
            index,
            netns: ctx.opts.name.netns(index),
            ip: ctx.subnet.node_ip(index).to_string(),
            dir: dirs.dir.clone(),
            pid: None,
            network_failed: false,
            settings: ctx
                .opts
                .node_settings
                .get(index)
                .cloned()
                .unwrap_or_default(),
        });
        ctx.save()?;
        for dir in [dirs.containerd(), dirs.kubelet()] {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
        }
        overlay::mount_root(
            &ctx.state.image.path,
            &dirs.upper(),
            &dirs.work(),
            &dirs.rootfs(),
        )?;
        write(
            &dirs.rootfs().join("etc/machine-id"),
            &format!("{}\n", machine_id(&name)),
        )?;
        // systemd takes the hostname from /etc/hostname over nspawn's --hostname.
        write(&dirs.rootfs().join("etc/hostname"), &format!("{name}\n"))?;
        let conflist = network::node_conflist(
            &ctx.state.network,
            &ctx.state.bridge,
            &ctx.subnet,
            index,
            ctx.opts.masquerade,
        );
        write(&dirs.conflist(), &conflist.to_string())?;
    }
    Ok(())
}

fn write(path: &std::path::Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io("write", path, e))
}

/// A random 128-bit id in machine-id form (32 hex digits); the node name keeps it unique per
/// node even if the random source repeats.
fn machine_id(node: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut random = [0u8; 16];
    let _ = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut random));
    let mut hasher = Sha256::new();
    hasher.update(random);
    hasher.update(node.as_bytes());
    hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
