//! Nodes' cgroups on a v2 host: `/sys/fs/cgroup/kubeadm-nspawn/<node>`, with every controller a
//! kubelet needs enabled for the node (in `cgroup.subtree_control` of the root and of
//! `kubeadm-nspawn`): without them the node's own tree has no `cpu.weight`, and runc fails every
//! pod sandbox.

use std::path::PathBuf;

use super::{
    cfs_quota, tree, Cgroups, Layout, Placement, CFS_PERIOD_US, KUBELET_CONTROLLERS, PARENT,
    POD_CGROUPS,
};
use crate::host::error::Result;
use crate::model::settings::Limits;

pub struct Unified {
    root: PathBuf,
}

impl Unified {
    pub fn new(root: PathBuf) -> Unified {
        Unified { root }
    }

    fn node_dir(&self, node: &str) -> PathBuf {
        self.root.join(PARENT).join(node)
    }

    /// The controllers of the root that a kubelet needs.
    fn available(&self) -> Vec<String> {
        let listed = tree::read(&self.root, "cgroup.controllers");
        listed
            .split_whitespace()
            .filter(|c| KUBELET_CONTROLLERS.contains(c))
            .map(String::from)
            .collect()
    }

    /// Hands `controllers` down from the root to the nodes' parent and from it to each node.
    fn delegate(&self, controllers: &[String]) -> Result<()> {
        if controllers.is_empty() {
            return Ok(());
        }
        let enable: Vec<String> = controllers.iter().map(|c| format!("+{c}")).collect();
        let enable = enable.join(" ");
        tree::write(&self.root, "cgroup.subtree_control", &enable)?;
        tree::write(&self.root.join(PARENT), "cgroup.subtree_control", &enable)
    }
}

impl Cgroups for Unified {
    fn layout(&self) -> Layout {
        Layout::Unified
    }

    fn create(&self, node: &str, limits: &Limits) -> Result<Placement> {
        tree::make(&self.root.join(PARENT))?;
        self.delegate(&self.available())?;
        let dir = self.node_dir(node);
        tree::make(&dir)?;
        if let Some(bytes) = limits.memory_bytes {
            tree::write(&dir, "memory.max", &bytes.to_string())?;
        }
        if let Some(cpus) = limits.cpus {
            tree::write(
                &dir,
                "cpu.max",
                &format!("{} {CFS_PERIOD_US}", cfs_quota(cpus)),
            )?;
        }
        Ok(Placement {
            join: vec![dir.join("cgroup.procs")],
            launcher: vec![],
        })
    }

    fn procs(&self, node: &str) -> Vec<i32> {
        tree::procs_under(&self.node_dir(node))
    }

    fn pod_procs(&self, node: &str) -> Vec<i32> {
        tree::find_named(&self.node_dir(node), POD_CGROUPS)
            .iter()
            .flat_map(|d| tree::procs_under(d))
            .collect()
    }

    fn remove(&self, node: &str) -> Result<()> {
        tree::remove_tree(&self.node_dir(node))?;
        let _ = std::fs::remove_dir(self.root.join(PARENT));
        Ok(())
    }

    fn controller_dir(&self, node: &str, controller: &str) -> Option<PathBuf> {
        self.available()
            .iter()
            .any(|c| c == controller)
            .then(|| self.node_dir(node))
    }

    fn kubelet_problem(&self) -> Option<String> {
        let available = self.available();
        let missing: Vec<&str> = ["cpu", "memory", "pids"]
            .into_iter()
            .filter(|c| !available.iter().any(|a| a == c))
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "this host's cgroup v2 hierarchy has no {} controller{}: a kubelet cannot run in a node \
                 (the kernel or the host's init keeps them)",
                missing.join(", "),
                if missing.len() > 1 { "s" } else { "" }
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(controllers: &str) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("cgroup.controllers"), controllers).unwrap();
        root
    }

    #[test]
    fn every_controller_a_kubelet_needs_is_delegated_to_the_node() {
        let root = layout("cpuset cpu io memory hugetlb pids rdma misc\n");
        let cgroups = Unified::new(root.path().to_path_buf());
        let placement = cgroups
            .create(
                "c-n0",
                &Limits {
                    memory_bytes: Some(2 << 30),
                    cpus: Some(0.5),
                },
            )
            .unwrap();
        let read = |p: &str| std::fs::read_to_string(root.path().join(p)).unwrap();
        assert_eq!(
            read("cgroup.subtree_control"),
            "+cpuset +cpu +io +memory +pids"
        );
        assert_eq!(
            read("kubeadm-nspawn/cgroup.subtree_control"),
            "+cpuset +cpu +io +memory +pids"
        );
        assert_eq!(read("kubeadm-nspawn/c-n0/memory.max"), "2147483648");
        assert_eq!(read("kubeadm-nspawn/c-n0/cpu.max"), "50000 100000");
        assert_eq!(
            placement.join,
            [root.path().join("kubeadm-nspawn/c-n0/cgroup.procs")]
        );
        assert_eq!(cgroups.kubelet_problem(), None);
    }

    #[test]
    fn a_tree_without_controllers_is_refused_for_kubelets_but_nodes_still_start() {
        // This machine's hybrid kernel seen through a unified view: a cgroup2 tree, no controllers.
        let root = layout("\n");
        let cgroups = Unified::new(root.path().to_path_buf());
        cgroups.create("c-n0", &Limits::default()).unwrap();
        assert!(!root.path().join("cgroup.subtree_control").exists());
        let problem = cgroups.kubelet_problem().unwrap();
        assert!(
            problem.contains("no cpu, memory, pids controllers"),
            "{problem}"
        );
        assert_eq!(cgroups.controller_dir("c-n0", "memory"), None);
    }

    #[test]
    fn pods_of_the_systemd_driver_are_found_under_their_slice() {
        let root = layout("cpu memory pids\n");
        let cgroups = Unified::new(root.path().to_path_buf());
        cgroups.create("c-n0", &Limits::default()).unwrap();
        let node = root.path().join("kubeadm-nspawn/c-n0");
        let pod = node.join("kubepods.slice/kubepods-burstable.slice/x.scope");
        std::fs::create_dir_all(&pod).unwrap();
        std::fs::write(node.join("cgroup.procs"), "1\n").unwrap();
        std::fs::write(pod.join("cgroup.procs"), "7\n").unwrap();
        assert_eq!(cgroups.pod_procs("c-n0"), [7]);
    }
}
