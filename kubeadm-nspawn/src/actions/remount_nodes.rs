//! Step of `start`: the overlay root of each stopped node mounted again over its kept upper
//! directory (its files, etcd's data, the kubelet's and kubeadm's configuration are all there).

use std::path::Path;

use crate::cluster::Cluster;
use crate::error::Result;
use crate::host::Host;

/// Mounts the roots of the nodes at `which`, and forgets what their pods held: the pod IPAM of the
/// node's pod network lives on its disk, and no pod survives a stop, so every address in it is
/// stale (kept, they would leak a few addresses of the node's range at every restart).
pub fn remount(cluster: &mut Cluster, host: &dyn Host, which: &[usize]) -> Result<()> {
    for &i in which {
        let n = cluster.node(i);
        host.mount_root(&cluster.state.image.path, &n.dirs)?;
        host.remove_dir_all(&n.dirs.rootfs().join(Path::new("var/lib/cni/networks")))?;
        // A network that failed before is made anew by cnispawn.
        let recorded = &mut cluster.state.nodes[i];
        recorded.network_failed = false;
        recorded.pid = None;
    }
    cluster.save()?;
    // The host's resolver may have changed since (another network, resolved started).
    super::host_network::write_resolvers(cluster, which)
}
