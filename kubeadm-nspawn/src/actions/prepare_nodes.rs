//! Step: per node, the directories, the overlay root, a machine-id and the CNI config; the control
//! planes first, then the workers, then (with several control planes) the load balancer, its
//! haproxy configured before it boots.

use std::path::Path;

use crate::error::{Error, Result};
use crate::host::error::Io;
use crate::host::{load_balancer, network};
use crate::model::settings::NodeRole;
use crate::model::state::NodeState;

use super::UpContext;

pub fn run(ctx: &mut UpContext) -> Result<()> {
    let name = ctx.cluster.name().clone();
    let subnet = ctx.cluster.state.ranges.nodes;
    let count = ctx.request.nodes.len();
    for index in 0..count {
        let role = if index < ctx.request.control_planes {
            NodeRole::ControlPlane
        } else {
            NodeRole::Worker
        };
        let node = NodeState {
            name: name.node_name(index),
            index,
            role,
            ip: subnet.node_ip(index),
            pid: None,
            network_failed: false,
            settings: ctx.request.nodes[index].clone(),
        };
        prepare(ctx, node)?;
    }
    if ctx.request.control_planes > 1 {
        let node = NodeState {
            name: name.load_balancer_name(),
            index: count,
            role: NodeRole::LoadBalancer,
            ip: subnet.load_balancer_ip(),
            pid: None,
            network_failed: false,
            settings: Default::default(),
        };
        prepare(ctx, node)?;
        let lb = ctx.cluster.node(ctx.cluster.state.nodes.len() - 1);
        let config =
            load_balancer::haproxy_config(name.as_str(), ctx.cluster.state.control_planes());
        load_balancer::configure(&lb.root()?, &config)?;
    }
    let all: Vec<usize> = (0..ctx.cluster.state.nodes.len()).collect();
    super::host_network::write_resolvers(&ctx.cluster, &all)
}

/// Records `node` in the state, then makes its directories, overlay root and network config.
fn prepare(ctx: &mut UpContext, node: NodeState) -> Result<()> {
    // Recorded before anything is created, so a failure half-way is undone by `down`.
    ctx.cluster.state.nodes.push(node);
    ctx.cluster.save()?;
    let n = ctx.cluster.node(ctx.cluster.state.nodes.len() - 1);
    for dir in [n.dirs.containerd(), n.dirs.kubelet()] {
        std::fs::create_dir_all(&dir).map_err(|e| Io::new("create", &dir, e))?;
    }
    ctx.host
        .mount_root(&ctx.cluster.state.image.path, &n.dirs)?;
    let root = n.root()?;
    root.write(
        Path::new("/etc/machine-id"),
        format!("{}\n", machine_id(n.name())?).as_bytes(),
        0o444,
    )?;
    // systemd takes the hostname from /etc/hostname over nspawn's --hostname.
    root.write(
        Path::new("/etc/hostname"),
        format!("{}\n", n.name()).as_bytes(),
        0o644,
    )?;
    let state = &ctx.cluster.state;
    root.write(
        Path::new(network::SYSCTL_FILE),
        network::node_sysctls(state.ip_family.has_ipv6()).as_bytes(),
        0o644,
    )?;
    let ip6 = state
        .ipv6
        .as_ref()
        .zip(state.node_ip6(&n.state))
        .map(|(r, ip)| (&r.nodes, ip));
    let conflist = network::node_conflist(
        &state.name.network(),
        &state.name.bridge(),
        &state.ranges.nodes,
        n.state.ip,
        ip6,
        state.masquerade,
    );
    let path = n.dirs.conflist();
    std::fs::write(&path, conflist.to_string()).map_err(|e| Error::from(Io::new("write", path, e)))
}

/// A random 128-bit id in machine-id form (32 hex digits); the node name keeps it unique per
/// node even if the random source repeats.
fn machine_id(node: &str) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut random = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut random))
        .map_err(|e| Io::new("read", "/dev/urandom", e))?;
    let mut hasher = Sha256::new();
    hasher.update(random);
    hasher.update(node.as_bytes());
    Ok(kns_plumbing::hex::encode(&hasher.finalize()[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::request::UpRequest;
    use crate::cluster::Cluster;
    use crate::host::recording::{Call, Recording};
    use crate::kube::source::{BinaryChoice, BinarySource};
    use crate::model::names::ClusterName;
    use crate::model::ranges::{
        Cidr, NodeSubnet, Ranges, DEFAULT_POD_SUBNET, DEFAULT_SERVICE_SUBNET,
    };
    use crate::model::state::{ClusterState, ImageRef, Kubernetes, FORMAT_VERSION};

    fn request(nodes: usize, control_planes: usize) -> UpRequest {
        UpRequest {
            name: ClusterName::new("c").unwrap(),
            nodes: vec![Default::default(); nodes],
            control_planes,
            subnet: None,
            pod_subnet: DEFAULT_POD_SUBNET,
            service_subnet: DEFAULT_SERVICE_SUBNET,
            ip_family: Default::default(),
            ipv6: None,
            masquerade: false,
            dns: vec![],
            image: Default::default(),
            boot_timeout: std::time::Duration::from_secs(60),
            binaries: BinaryChoice {
                source: BinarySource::Recorded,
                extra_bin: None,
            },
            components: Default::default(),
            retain: false,
        }
    }

    fn cluster(state_dir: &Path) -> Cluster {
        let state = ClusterState {
            format_version: FORMAT_VERSION,
            name: ClusterName::new("c").unwrap(),
            ranges: Ranges {
                nodes: NodeSubnet::new(Cidr::parse("10.30.0.0/24", "x").unwrap()).unwrap(),
                pods: DEFAULT_POD_SUBNET,
                services: DEFAULT_SERVICE_SUBNET,
            },
            masquerade: false,
            image: ImageRef {
                key: "k".into(),
                path: "/images/k/rootfs".into(),
            },
            nodes: vec![],
            kubernetes: Kubernetes::None,
            components: Default::default(),
            dns: vec![],
            ip_family: Default::default(),
            ipv6: None,
            forward_rules: vec![],
            transition: None,
        };
        std::fs::create_dir_all(crate::model::layout::clusters_dir(state_dir)).unwrap();
        Cluster::create(state_dir, state, "up").unwrap()
    }

    #[test]
    fn every_node_is_recorded_before_its_root_is_mounted_and_gets_its_identity() {
        let state_dir = tempfile::tempdir().unwrap();
        let host = Recording::new();
        let mut ctx = UpContext {
            request: request(4, 3),
            cluster: cluster(state_dir.path()),
            host: &host,
        };
        // The recording host mounts nothing: the roots are plain directories here.
        run(&mut ctx).unwrap();
        let state = &ctx.cluster.state;
        let names: Vec<&str> = state.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["c-n0", "c-n1", "c-n2", "c-n3", "c-lb"]);
        assert_eq!(state.nodes[3].role, NodeRole::Worker);
        assert_eq!(state.nodes[4].role, NodeRole::LoadBalancer);
        assert_eq!(state.nodes[4].ip.to_string(), "10.30.0.9");
        assert_eq!(state.nodes[2].ip.to_string(), "10.30.0.12");
        let mounts: Vec<Call> = host
            .calls()
            .into_iter()
            .filter(|c| matches!(c, Call::MountRoot { .. }))
            .collect();
        assert_eq!(mounts.len(), 5);
        assert_eq!(
            mounts[0],
            Call::MountRoot {
                lower: "/images/k/rootfs".into(),
                target: ctx.cluster.paths.node("c-n0").rootfs(),
            }
        );
        // Saved: a `down` after a failure here finds every node.
        let saved = Cluster::open(
            state_dir.path(),
            ctx.cluster.name(),
            crate::cluster::Access::Read,
        )
        .unwrap();
        assert_eq!(saved.state.nodes.len(), 5);
        let n0 = ctx.cluster.paths.node("c-n0");
        let id = std::fs::read_to_string(n0.rootfs().join("etc/machine-id")).unwrap();
        assert!(
            id.trim().len() == 32 && id.trim().bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        assert_eq!(
            std::fs::read_to_string(n0.rootfs().join("etc/hostname")).unwrap(),
            "c-n0\n"
        );
        let conflist: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(n0.conflist()).unwrap()).unwrap();
        assert_eq!(
            conflist["plugins"][0]["ipam"]["addresses"][0]["address"],
            "10.30.0.10/24"
        );
        let lb = ctx.cluster.paths.node("c-lb").rootfs();
        let haproxy = std::fs::read_to_string(lb.join("etc/kubeadm-nspawn/haproxy.cfg")).unwrap();
        assert!(haproxy.contains("server c-n2 10.30.0.12:6443"), "{haproxy}");
        assert!(!haproxy.contains("c-n3"), "workers are no API servers");
    }
}
