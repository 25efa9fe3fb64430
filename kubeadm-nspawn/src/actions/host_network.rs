//! Step of `up` and `start`: the host's network made ready for the cluster's bridge: network
//! managers told to leave `kns-*` alone, the forward path opened where the host drops forwarded
//! packets (the rules recorded, so `down` takes exactly them out). And the resolver every node
//! gets, as the host's can serve a node.

use std::path::Path;

use crate::cluster::Cluster;
use crate::error::Result;
use crate::host::{firewall, forwarding, network_managers, resolver};

/// Step: network managers and the forward path.
pub fn open(cluster: &mut Cluster) -> Result<()> {
    for told in network_managers::leave_our_links_alone()? {
        let name = told.manager.name();
        match told.reload_failed {
            None => kns_plumbing::say!("   {name}: kns-* links unmanaged"),
            Some(e) => kns_plumbing::say!(
                "   warning: {name} was not reloaded ({e}); it may take the cluster's bridge until it is"
            ),
        }
    }
    let state = &cluster.state;
    if state.ip_family.has_ipv6() {
        if let Some(warning) = forwarding::warning() {
            kns_plumbing::say!("   warning: {warning}");
        }
    }
    let rules = firewall::open(
        &state.name.bridge(),
        state.name.as_str(),
        state.masquerade,
        state.ip_family.has_ipv6(),
    )?;
    for rule in &rules {
        kns_plumbing::say!("   the host drops forwarded packets: added {rule}");
    }
    cluster.state.forward_rules = rules;
    Ok(cluster.save()?)
}

/// Writes every node's /etc/resolv.conf among `which` (indices of nodes whose roots are
/// mounted), saying once why when the host had no resolver a node can use.
pub fn write_resolvers(cluster: &Cluster, which: &[usize]) -> Result<()> {
    let state = &cluster.state;
    let gateway = std::net::IpAddr::V4(state.ranges.nodes.gateway());
    let resolver = resolver::this_host(&state.dns, gateway);
    if let Some(warning) = &resolver.warning {
        kns_plumbing::say!("   warning: {warning}");
    }
    for &i in which {
        cluster.node(i).write_file(
            Path::new("/etc/resolv.conf"),
            resolver.text.as_bytes(),
            0o644,
        )?;
    }
    Ok(())
}
