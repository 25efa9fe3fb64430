//! Stopping nodes and removing a cluster, whatever state it is in: used by `stop`, by `down` and by
//! a failed `up`. Every step tolerates what is already gone (a node killed from outside, a host
//! that rebooted), so a second run finishes what a first one could not. Every host operation goes
//! through the [`Host`] seam.

use std::path::PathBuf;
use std::time::Duration;

use crate::cluster::ClusterNode;
use crate::error::{Error, Result};
use crate::host::{self, Host};
use crate::model::layout::ClusterPaths;
use crate::model::names::ClusterName;

/// How long a node's processes may outlive SIGKILL before its teardown says so.
const KILL_TIMEOUT: Duration = Duration::from_secs(5);

/// What a cluster has on the host, as teardown needs it: its nodes, bridge and network, its
/// directory. Made from a state, or (for a state.json that cannot be read) from the directory and
/// the naming rules alone.
pub struct HostObjects {
    pub name: ClusterName,
    pub paths: ClusterPaths,
    pub nodes: Vec<NodeObjects>,
}

/// A node's host objects.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeObjects {
    pub name: String,
    pub netns: String,
    /// Its systemd-nspawn, if recorded or found.
    pub pid: Option<u32>,
    /// cnispawn failed for it: whatever is at its namespace's name is not the cluster's.
    pub network_failed: bool,
    pub rootfs: PathBuf,
}

impl NodeObjects {
    pub fn of(n: &ClusterNode) -> NodeObjects {
        NodeObjects {
            name: n.name().to_owned(),
            netns: n.netns(),
            pid: n.state.pid,
            network_failed: n.state.network_failed,
            rootfs: n.dirs.rootfs(),
        }
    }
}

impl HostObjects {
    pub fn of(cluster: &crate::cluster::Cluster) -> HostObjects {
        HostObjects {
            name: cluster.name().clone(),
            paths: cluster.paths.clone(),
            nodes: cluster.nodes().iter().map(NodeObjects::of).collect(),
        }
    }

    /// What a cluster whose state.json is unreadable has, from its directory and the naming rules:
    /// its nodes (`nodes/<cluster>-n<i>`, then `<cluster>-lb`), their namespaces, any nspawn still
    /// running for them (found by machine name). Enough for `down` to remove it.
    pub fn recover(paths: &ClusterPaths, name: &ClusterName) -> HostObjects {
        let found = |node: String, netns: String| NodeObjects {
            pid: kns_node::process::find_nspawn(&node).ok().flatten(),
            netns,
            network_failed: false,
            rootfs: paths.node(&node).rootfs(),
            name: node,
        };
        let mut nodes: Vec<NodeObjects> = (0..crate::model::names::MAX_NODES)
            .map(|i| (i, name.node_name(i)))
            .take_while(|(_, node)| paths.node(node).dir.exists())
            .map(|(i, node)| found(node, name.netns(i)))
            .collect();
        let lb = name.load_balancer_name();
        if paths.node(&lb).dir.exists() {
            nodes.push(found(lb, name.load_balancer_netns()));
        }
        HostObjects {
            name: name.clone(),
            paths: paths.clone(),
            nodes,
        }
    }
}

/// How teardown stops a node (tests stop none).
pub type Stop<'a> = &'a (dyn Fn(&NodeObjects) + Sync);

/// Stops a node as a poweroff would, SIGKILLed after `timeout`.
pub fn poweroff(host: &dyn Host, timeout: Duration) -> impl Fn(&NodeObjects) + Sync + '_ {
    move |n| crate::cluster::node::poweroff(host, &n.name, n.pid, timeout)
}

/// Removes the cluster: every node stopped and its host objects gone, the bridge, the directory.
pub fn teardown(host: &dyn Host, objects: &HostObjects, stop: Stop) -> Result<()> {
    let mut first_error = stop_nodes(host, &objects.nodes, stop).err();
    if let Err(e) = remove_bridge(host, &objects.name) {
        first_error.get_or_insert(e);
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(host.remove_dir_all(&objects.paths.dir)?)
}

/// Stops `nodes` (by `stop`: a clean poweroff, bounded) and removes their host objects (namespace
/// and veth, overlay mount, cgroups), keeping everything they own on disk. Pods first: a node's
/// systemd waits on them and would not power off. Returns the first failure once every node has
/// been dealt with.
pub fn stop_nodes(host: &dyn Host, nodes: &[NodeObjects], stop: Stop) -> Result<()> {
    for n in nodes {
        host::kill_pods(host, &n.name);
    }
    let mut first_error: Option<Error> = None;
    // Every node is stopped whatever happens to the others; a stop cannot fail, a panic in one is
    // noted and the rest goes on (the cgroup kill below ends what it left).
    if let Err(e) = kns_plumbing::parallel::each(
        nodes,
        |n| &n.name,
        |n| {
            stop(n);
            Ok::<(), Error>(())
        },
    ) {
        first_error.get_or_insert(e);
    }
    for n in nodes {
        if let Err(e) = remove_node_objects(host, n) {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// The host objects of a node whose processes are gone (or about to be: what is left in its
/// cgroups is killed): its namespace (CNI DEL, which also removes the veth), overlay mount,
/// cgroups and nspawn's propagation directory.
pub fn remove_node_objects(host: &dyn Host, n: &NodeObjects) -> Result<()> {
    let mut first_error: Option<Error> = None;
    let mut note = |r: Result<()>| {
        if let Err(e) = r {
            first_error.get_or_insert(e);
        }
    };
    if let Some(pid) = n.pid {
        host.reap(pid);
    }
    note(host::kill_all(host, &n.name, KILL_TIMEOUT).map_err(Error::from));
    if !n.network_failed {
        note(host.delete_netns(&n.netns).map_err(Error::from));
    }
    note(host.unmount(&n.rootfs).map_err(Error::from));
    note(host.cgroups().remove(&n.name).map_err(Error::from));
    note(
        host.remove_dir_all(&PathBuf::from(format!(
            "/run/systemd/nspawn/propagate/{}",
            n.name
        )))
        .map_err(Error::from),
    );
    first_error.map_or(Ok(()), Err)
}

/// The cluster's bridge (the bridge plugin never deletes it) and host-local's bookkeeping.
pub fn remove_bridge(host: &dyn Host, name: &ClusterName) -> Result<()> {
    let bridge = name.bridge();
    if host.link_exists(&bridge) {
        host.delete_link(&bridge)?;
    }
    host.remove_dir_all(&PathBuf::from(format!(
        "/var/lib/cni/networks/{}",
        name.network()
    )))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::recording::{Call, Recording};

    fn objects(dir: &std::path::Path) -> HostObjects {
        let name = ClusterName::new("c").unwrap();
        let paths = ClusterPaths::new(dir, &name);
        let node = |i: usize, failed: bool| NodeObjects {
            name: name.node_name(i),
            netns: name.netns(i),
            pid: Some(100 + i as u32),
            network_failed: failed,
            rootfs: paths.node(&name.node_name(i)).rootfs(),
        };
        HostObjects {
            nodes: vec![node(0, false), node(1, true)],
            paths,
            name,
        }
    }

    #[test]
    fn pods_die_first_then_each_node_and_its_objects_then_the_bridge_and_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let host = Recording::new()
            .with_node("c-n0", &[7, 8, 9], &[9])
            .with_link("kns-c");
        let stopped = std::sync::Mutex::new(vec![]);
        let objects = objects(dir.path());
        teardown(&host, &objects, &|n: &NodeObjects| {
            stopped.lock().unwrap().push(n.name.clone())
        })
        .unwrap();
        let calls = host.calls();
        // The pod first (a poweroff would wait on it), before any node is stopped.
        assert_eq!(
            calls[0],
            Call::Signal {
                pid: 9,
                signal: libc::SIGKILL
            }
        );
        let mut stopped = stopped.into_inner().unwrap();
        stopped.sort();
        assert_eq!(stopped, ["c-n0", "c-n1"]);
        // What the node left in its cgroups is killed, its namespace, root and cgroups removed.
        for pid in [7, 8] {
            assert!(
                calls.contains(&Call::Signal {
                    pid,
                    signal: libc::SIGKILL
                }),
                "{calls:?}"
            );
        }
        assert!(calls.contains(&Call::DeleteNetns {
            netns: "kns-c-0".into()
        }));
        // A node whose network failed: its namespace's name is not the cluster's any more.
        assert!(!calls.contains(&Call::DeleteNetns {
            netns: "kns-c-1".into()
        }));
        assert!(calls.contains(&Call::Unmount {
            target: objects.nodes[1].rootfs.clone()
        }));
        assert!(calls.contains(&Call::CgroupRemove {
            node: "c-n1".into()
        }));
        let bridge = calls.iter().position(|c| {
            *c == Call::DeleteLink {
                name: "kns-c".into(),
            }
        });
        let last = calls.last().unwrap();
        assert!(bridge.is_some(), "{calls:?}");
        assert_eq!(
            *last,
            Call::RemoveDir {
                path: objects.paths.dir.clone()
            }
        );
    }

    #[test]
    fn a_failure_still_deals_with_every_node_and_keeps_the_directory_for_a_second_down() {
        let dir = tempfile::tempdir().unwrap();
        let host = Recording::new().failing_netns("kns-c-0");
        let objects = objects(dir.path());
        let err = teardown(&host, &objects, &|_: &NodeObjects| {}).unwrap_err();
        assert!(err.to_string().contains("cannot delete kns-c-0"), "{err}");
        let calls = host.calls();
        assert!(
            calls.contains(&Call::CgroupRemove {
                node: "c-n1".into()
            }),
            "the next node too"
        );
        assert!(
            !calls.contains(&Call::RemoveDir {
                path: objects.paths.dir.clone()
            }),
            "the record of what is left stays"
        );
    }

    #[test]
    fn an_unreadable_cluster_is_recovered_from_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let name = ClusterName::new("c").unwrap();
        let paths = ClusterPaths::new(dir.path(), &name);
        for node in ["c-n0", "c-n1", "c-lb"] {
            std::fs::create_dir_all(paths.node(node).dir).unwrap();
        }
        let found = HostObjects::recover(&paths, &name);
        let names: Vec<(&str, &str)> = found
            .nodes
            .iter()
            .map(|n| (n.name.as_str(), n.netns.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("c-n0", "kns-c-0"),
                ("c-n1", "kns-c-1"),
                ("c-lb", "kns-c-lb")
            ]
        );
    }
}
