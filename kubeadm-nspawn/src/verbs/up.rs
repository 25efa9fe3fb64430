//! `up`: a cluster of booted nodes. Everything that can be checked is checked before anything is
//! made; the cluster's name and ranges are claimed under a lock of the clusters directory (two
//! `up`s at once never take one range); a failure removes what was made (unless `--retain`).

use kns_plumbing::undo::WithCleanup;
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

use crate::actions::request::Ipv6Request;
use crate::actions::request::{Common, UpRequest};
use crate::actions::teardown::{self, HostObjects};
use crate::actions::{self, Timings, UpContext};
use crate::cluster::{self, Cluster, ClusterNode, Listed};
use crate::error::Result;
use crate::host::addresses::{host_claims, host_claims6};
use crate::host::error::Io;
use crate::host::facts::ThisHost;
use crate::host::{firewall, Host};
use crate::kube::proxy_mode;
use crate::model::layout::{clusters_dir, ClusterPaths};
use crate::model::names::{check_control_planes, check_node_count};
use crate::model::ranges::{self, NodeSubnet, OtherCluster, Ranges};
use crate::model::ranges6::{self, OtherCluster6, Ranges6};
use crate::model::state::{ClusterState, ImageRef, Kubernetes, Transition, FORMAT_VERSION};

use super::{install_signal_handlers, require_root, STOP_TIMEOUT};

/// Makes the cluster; returns it, up, with each step's duration.
pub fn run(common: &Common, request: UpRequest, host: &dyn Host) -> Result<(Cluster, Timings)> {
    let nodes = request.nodes.len();
    check_node_count(nodes)?;
    check_control_planes(request.control_planes, nodes)?;
    if let Some(subnet) = request.subnet {
        subnet.check_holds(nodes)?;
    }
    ranges::node_pod_prefix(&request.pod_subnet, nodes)?;
    let mode = request.components.kube_proxy_mode;
    proxy_mode::check_kernel(mode, &ThisHost)?;
    require_root()?;
    let state_dir = common.state_dir.as_path();
    let paths = ClusterPaths::new(state_dir, &request.name);
    if paths.dir.exists() {
        return Err(existing(state_dir, &request, &paths));
    }
    let binaries = request.binaries.for_up()?;
    if let Some(b) = &binaries {
        proxy_mode::check_version(mode, &b.version, &request.components.feature_gates)?;
    }
    let parent = clusters_dir(state_dir);
    std::fs::create_dir_all(&parent).map_err(|e| Io::new("create", &parent, e))?;
    let claim_lock = lock_clusters(&parent)?;
    let (subnet, ipv6) = claim_ranges(&request, state_dir)?;
    install_signal_handlers()?;
    let state = ClusterState {
        format_version: FORMAT_VERSION,
        name: request.name.clone(),
        ranges: Ranges {
            nodes: subnet,
            pods: request.pod_subnet,
            services: request.service_subnet,
        },
        ip_family: request.ip_family,
        ipv6,
        masquerade: request.masquerade,
        image: ImageRef::default(),
        nodes: vec![],
        kubernetes: binaries.map_or(Kubernetes::None, |binaries| Kubernetes::Chosen { binaries }),
        components: request.components.clone(),
        dns: request.dns.clone(),
        forward_rules: vec![],
        transition: Some(Transition::Making),
    };
    let cluster = Cluster::create(state_dir, state, "up")?;
    drop(claim_lock);
    let retain = request.retain;
    let mut ctx = UpContext {
        request,
        cluster,
        host,
    };
    match actions::up(&mut ctx).and_then(|timings| {
        ctx.cluster.state.transition = None;
        ctx.cluster.save()?;
        Ok(timings)
    }) {
        Ok(timings) => Ok((ctx.cluster, timings)),
        Err(e) if retain => {
            eprintln!(
                "--retain: leaving the cluster as it is; remove it with `kubeadm-nspawn down --name {}`",
                ctx.cluster.name()
            );
            Err(e)
        }
        Err(e) => {
            eprintln!(" ✗ removing what was created ...");
            let objects = HostObjects::of(&ctx.cluster);
            let rules = &ctx.cluster.state.forward_rules;
            let undone =
                teardown::teardown(host, &objects, &teardown::poweroff(host, STOP_TIMEOUT))
                    .and_then(|()| Ok(firewall::close(rules)?));
            Err(e.with_cleanup(undone))
        }
    }
}

/// Why `up` cannot make a cluster whose directory exists: it is stopped (start it), or it is there.
fn existing(state_dir: &Path, request: &UpRequest, paths: &ClusterPaths) -> crate::error::Error {
    let stopped = cluster::list(state_dir).ok().and_then(|all| {
        all.into_iter().find_map(|l| match l {
            Listed::Readable(state) if state.name == request.name => Some(*state),
            _ => None,
        })
    });
    match stopped {
        Some(state) if state.transition == Some(Transition::Making) => {
            cluster::Error::Unmade(state.name).into()
        }
        Some(state)
            if !state
                .nodes
                .iter()
                .any(|n| ClusterNode::new(&state.name, paths, n).is_running()) =>
        {
            cluster::Error::Stopped {
                running: 0,
                total: state.nodes.len(),
                cluster: state.name,
            }
            .into()
        }
        _ => cluster::Error::Exists(request.name.clone()).into(),
    }
}

/// The node subnet: `--subnet` checked, or a free one picked; the three ranges checked against
/// the host and the other clusters. The same for the IPv6 ones, when the family has IPv6.
fn claim_ranges(request: &UpRequest, state_dir: &Path) -> Result<(NodeSubnet, Option<Ranges6>)> {
    let mut others: Vec<OtherCluster> = vec![];
    let mut others6: Vec<OtherCluster6> = vec![];
    for listed in cluster::list(state_dir)? {
        match listed {
            Listed::Readable(state) => {
                others.push(state.as_other());
                others6.extend(state.as_other6());
            }
            Listed::Unreadable { name, error } => eprintln!(
                "warning: cluster \"{name}\": {error}; its subnet cannot be checked against ours"
            ),
        }
    }
    let host = host_claims()?;
    let nodes = match request.subnet {
        Some(subnet) => subnet,
        None => {
            let picked = ranges::pick_node_subnet(
                request.pod_subnet,
                request.service_subnet,
                &host,
                &others,
            )?;
            eprintln!("   node subnet {picked} (free; --subnet chooses another)");
            picked
        }
    };
    let wanted = Ranges {
        nodes,
        pods: request.pod_subnet,
        services: request.service_subnet,
    };
    ranges::check(&wanted, &host, &others, None)?;
    nodes.check_holds(request.nodes.len())?;
    let ipv6 = request
        .ipv6
        .map(|asked| claim_ranges6(request, &asked, &others6))
        .transpose()?;
    Ok((nodes, ipv6))
}

/// The IPv6 ranges: the `--subnet` /64 checked, or the first free one derived from the name.
fn claim_ranges6(
    request: &UpRequest,
    asked: &Ipv6Request,
    others: &[OtherCluster6],
) -> Result<Ranges6> {
    let host = host_claims6()?;
    let name = request.name.as_str();
    let nodes = match asked.subnet {
        Some(subnet) => subnet,
        None => {
            let picked =
                ranges6::pick_node_subnet(name, asked.pods, asked.services, &host, others)?;
            eprintln!("   IPv6 node subnet {picked} (derived from the name, free)");
            picked
        }
    };
    let wanted = Ranges6 {
        nodes,
        pods: asked.pods,
        services: asked.services,
    };
    ranges6::check(name, &wanted, &host, others, None)?;
    Ok(wanted)
}

fn lock_clusters(dir: &Path) -> Result<Flock<std::fs::File>> {
    let handle = std::fs::File::open(dir).map_err(|e| Io::new("open", dir, e))?;
    Flock::lock(handle, FlockArg::LockExclusive).map_err(|(_, e)| Io::errno("lock", dir, e).into())
}
