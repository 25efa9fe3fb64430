//! The load balancer of a cluster with several control planes: a node of its own on the cluster
//! bridge (at .9 of the node subnet) running Debian's haproxy, which passes TCP on :6443 to every
//! control plane's API server and health-checks each one's `/readyz` over TLS. Its address is
//! kubeadm's `controlPlaneEndpoint`: kubelets, kube-proxy and the user's kubeconfig reach the API
//! through it, so losing one control plane costs the API no more than the health checks take to
//! notice (two failed checks 1 s apart; a refused connection is retried on another server at once).
//!
//! The base image carries haproxy and a unit, `kns-load-balancer.service`, that runs only where
//! [`CONFIG`] exists: in this node. Its containerd is masked (it runs no pods, and no kubelet:
//! nothing is pushed into it).

use std::path::Path;

use kns_node::root::NodeRoot;

use super::error::Result;
use crate::model::state::NodeState;

/// haproxy's configuration inside the node (the unit's condition).
pub const CONFIG: &str = "/etc/kubeadm-nspawn/haproxy.cfg";
/// haproxy's admin socket inside the node: `echo 'show servers state' | socat stdio SOCKET`.
pub const ADMIN_SOCKET: &str = "/run/kns-haproxy.sock";
/// The API servers' port, on the control planes and on the load balancer.
pub const API_PORT: u16 = 6443;

/// haproxy's configuration for the API servers of `control_planes`.
pub fn haproxy_config<'a>(
    cluster: &str,
    control_planes: impl IntoIterator<Item = &'a NodeState>,
) -> String {
    let mut servers = String::new();
    for n in control_planes {
        servers.push_str(&format!("  server {} {}:{API_PORT}\n", n.name, n.ip));
    }
    format!(
        r#"# kubeadm-nspawn: the load balancer of cluster {cluster}'s API servers (kubeadm's
# controlPlaneEndpoint). Written by `kubeadm-nspawn up`.
# Server state changes (an API server down or back) are warnings on haproxy's stderr: the node's
# journal (`journalctl -u kns-load-balancer`).
global
  stats socket {ADMIN_SOCKET} mode 600 level admin
  maxconn 4096

defaults
  mode tcp
  timeout connect 2s
  # Watches (kubelets, controllers, kubectl get -w) stay open for long, mostly idle.
  timeout client 1h
  timeout server 1h
  timeout check 2s

frontend kube-apiserver
  bind *:{API_PORT}
  default_backend kube-apiservers

backend kube-apiservers
  # TCP through (TLS ends at the API servers, whose certificates name this address), with
  # HTTP checks of /readyz over TLS: an API server that is up but not ready (etcd lost, starting)
  # gets no new connections.
  option httpchk GET /readyz
  http-check expect status 200
  # A connection refused by a server that just died goes to another one instead of to the client.
  option redispatch
  retries 3
  # Checked every second, down after two failures, up after one success (250 ms apart while
  # its state changes); a server marked down has its connections cut, so clients reconnect
  # through a live one at once.
  default-server check check-ssl verify none inter 1s fastinter 250ms downinter 1s rise 1 fall 2 on-marked-down shutdown-sessions
{servers}"#
    )
}

/// Makes the node whose root is `root` (mounted, not yet booted) the load balancer: haproxy's
/// configuration, which starts `kns-load-balancer.service` at boot, and containerd masked.
pub fn configure(root: &NodeRoot, config: &str) -> Result<()> {
    root.write(Path::new(CONFIG), config.as_bytes(), 0o644)?;
    root.symlink(
        Path::new("/dev/null"),
        Path::new("/etc/systemd/system/containerd.service"),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, ip: &str) -> NodeState {
        NodeState::for_test(name, 0, crate::model::settings::NodeRole::ControlPlane, ip)
    }

    #[test]
    fn every_control_plane_is_a_checked_server() {
        let config = haproxy_config(
            "ha",
            &[
                node("ha-n0", "10.22.0.10"),
                node("ha-n1", "10.22.0.11"),
                node("ha-n2", "10.22.0.12"),
            ],
        );
        assert!(config.contains("  bind *:6443\n"));
        assert!(config.contains("  server ha-n0 10.22.0.10:6443\n"));
        assert!(config.contains("  server ha-n2 10.22.0.12:6443\n"));
        assert!(config.contains("option httpchk GET /readyz"));
        assert!(config.contains("check check-ssl verify none"));
        assert!(config.contains("mode tcp"));
    }

    #[test]
    fn configure_writes_the_config_and_masks_containerd() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("etc/systemd/system")).unwrap();
        let node_root = NodeRoot::open(root.path()).unwrap();
        configure(&node_root, "global\n").unwrap();
        configure(&node_root, "global\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(root.path().join("etc/kubeadm-nspawn/haproxy.cfg")).unwrap(),
            "global\n"
        );
        assert_eq!(
            std::fs::read_link(root.path().join("etc/systemd/system/containerd.service")).unwrap(),
            Path::new("/dev/null")
        );
    }
}
