//! Step: per node, the directories, the overlay root, a machine-id and the CNI config; the control
//! planes first, then the workers, then (with several control planes) the load balancer, its
//! haproxy configured before it boots.

use crate::cluster::node::NodeDirs;
use crate::error::{Error, Result};
use crate::host::{load_balancer, network, overlay};
use crate::model::state::{NodeRole, NodeState};

use super::Context;

pub fn run(ctx: &mut Context) -> Result<()> {
    for index in 0..ctx.opts.nodes {
        let role = if index < ctx.opts.control_planes {
            NodeRole::ControlPlane
        } else {
            NodeRole::Worker
        };
        let name = ctx.opts.name.node_name(index);
        let node = NodeState {
            index,
            netns: ctx.opts.name.netns(index),
            ip: ctx.subnet.node_ip(index).to_string(),
            dir: ctx.paths.node_dir(&name),
            name,
            pid: None,
            network_failed: false,
            settings: ctx
                .opts
                .node_settings
                .get(index)
                .cloned()
                .unwrap_or_default(),
            role,
        };
        prepare(ctx, node)?;
    }
    if ctx.opts.control_planes > 1 {
        let name = ctx.opts.name.load_balancer_name();
        let node = NodeState {
            index: ctx.opts.nodes,
            netns: ctx.opts.name.load_balancer_netns(),
            ip: ctx.subnet.load_balancer_ip().to_string(),
            dir: ctx.paths.node_dir(&name),
            name,
            pid: None,
            network_failed: false,
            settings: Default::default(),
            role: NodeRole::LoadBalancer,
        };
        let rootfs = prepare(ctx, node)?;
        let config = load_balancer::haproxy_config(&ctx.state.name, &ctx.state.control_planes());
        load_balancer::configure(&rootfs, &config)?;
    }
    Ok(())
}

/// Records `node` in the state, then makes its directories, overlay root and network config;
/// returns its root.
fn prepare(ctx: &mut Context, node: NodeState) -> Result<std::path::PathBuf> {
    let (name, ip) = (node.name.clone(), node.ip.clone());
    let dirs = NodeDirs {
        dir: node.dir.clone(),
    };
    // Recorded before anything is created, so a failure half-way is undone by `down`.
    ctx.state.nodes.push(node);
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
        &ip,
        ctx.opts.masquerade,
    );
    write(&dirs.conflist(), &conflist.to_string())?;
    Ok(dirs.rootfs())
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
    kns_plumbing::hex::encode(&hasher.finalize()[..16])
}
