//! Step of `start`: the overlay root of each stopped node mounted again over its kept upper
//! directory (its files, etcd's data, the kubelet's and kubeadm's configuration are all there).

use crate::cluster::node::NodeDirs;
use crate::error::{Error, Result};
use crate::host::overlay;
use crate::model::state::ClusterState;

/// Mounts the roots of the nodes at `which`, and forgets what their pods held: the pod IPAM of the
/// node's pod network lives on its disk, and no pod survives a stop, so every address in it is
/// stale (kept, they would leak a few addresses of the node's range at every restart).
pub fn remount(state: &mut ClusterState, which: &[usize]) -> Result<()> {
    for &i in which {
        let n = &mut state.nodes[i];
        let dirs = NodeDirs { dir: n.dir.clone() };
        overlay::mount_root(
            &state.image.path,
            &dirs.upper(),
            &dirs.work(),
            &dirs.rootfs(),
        )?;
        let ipam = dirs.rootfs().join("var/lib/cni/networks");
        if ipam.exists() {
            std::fs::remove_dir_all(&ipam).map_err(|e| Error::io("remove", &ipam, e))?;
        }
        // A network that failed before is made anew by cnispawn.
        n.network_failed = false;
        n.pid = None;
    }
    Ok(())
}
