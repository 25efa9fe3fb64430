//! Nodes' cgroups on a v1 host: `<hierarchy>/kubeadm-nspawn/<node>` in every mounted hierarchy,
//! the v1 controllers and the v2 `unified` tree alike. The v2 one matters as much: systemd inside
//! a node tracks its units there, and nodes sharing one v2 cgroup collide on their payload cgroups
//! (units failing at random with 219/CGROUP; docs/decisions.md).

use std::path::{Path, PathBuf};

use super::{
    cfs_quota, tree, Cgroups, Hierarchy, Layout, Placement, CFS_PERIOD_US, PARENT, POD_CGROUPS,
};
use crate::host::error::{Error, Result};
use crate::model::settings::Limits;

pub struct Hybrid {
    hierarchies: Vec<Hierarchy>,
}

impl Hybrid {
    pub fn new(hierarchies: Vec<Hierarchy>) -> Hybrid {
        Hybrid { hierarchies }
    }

    fn node_dirs(&self, node: &str) -> impl Iterator<Item = PathBuf> + '_ {
        let node = node.to_owned();
        self.hierarchies
            .iter()
            .map(move |h| h.path.join(PARENT).join(&node))
    }

    fn with(&self, controller: &str) -> Option<&Hierarchy> {
        self.hierarchies
            .iter()
            .find(|h| h.controllers.iter().any(|c| c == controller))
    }

    fn limit(&self, node: &str, limits: &Limits) -> Result<()> {
        let missing = |controller: &str| Error::Cgroup {
            node: node.to_owned(),
            message: format!(
                "no cgroup {controller} controller on this host to enforce the node's limit"
            ),
        };
        if let Some(bytes) = limits.memory_bytes {
            let h = self.with("memory").ok_or_else(|| missing("memory"))?;
            tree::write(
                &h.path.join(PARENT).join(node),
                "memory.limit_in_bytes",
                &bytes.to_string(),
            )?;
        }
        if let Some(cpus) = limits.cpus {
            let h = self.with("cpu").ok_or_else(|| missing("cpu"))?;
            let dir = h.path.join(PARENT).join(node);
            tree::write(&dir, "cpu.cfs_period_us", &CFS_PERIOD_US.to_string())?;
            tree::write(&dir, "cpu.cfs_quota_us", &cfs_quota(cpus).to_string())?;
        }
        Ok(())
    }
}

/// Makes `dir` (and `parent` before it); a new cpuset cgroup gets its parent's CPUs and memory
/// nodes, without which it refuses tasks.
fn make_in(hierarchy: &Hierarchy, parent: &Path, dir: &Path) -> Result<()> {
    for d in [parent, dir] {
        let made = tree::make(d)?;
        if made && hierarchy.controllers.iter().any(|c| c == "cpuset") {
            let from = d.parent().unwrap_or(&hierarchy.path);
            for file in ["cpuset.cpus", "cpuset.mems"] {
                tree::write(d, file, &tree::read(from, file))?;
            }
        }
    }
    Ok(())
}

impl Cgroups for Hybrid {
    fn layout(&self) -> Layout {
        Layout::Hybrid
    }

    fn create(&self, node: &str, limits: &Limits) -> Result<Placement> {
        let mut join = vec![];
        for h in &self.hierarchies {
            let parent = h.path.join(PARENT);
            let dir = parent.join(node);
            make_in(h, &parent, &dir)?;
            join.push(dir.join("cgroup.procs"));
        }
        self.limit(node, limits)?;
        Ok(Placement {
            join,
            launcher: vec![],
        })
    }

    fn procs(&self, node: &str) -> Vec<i32> {
        self.node_dirs(node)
            .flat_map(|d| tree::procs_under(&d))
            .collect()
    }

    fn pod_procs(&self, node: &str) -> Vec<i32> {
        self.node_dirs(node)
            .flat_map(|d| tree::find_named(&d, POD_CGROUPS))
            .flat_map(|d| tree::procs_under(&d))
            .collect()
    }

    fn remove(&self, node: &str) -> Result<()> {
        for h in &self.hierarchies {
            tree::remove_tree(&h.path.join(PARENT).join(node))?;
            // Other nodes may still be in it.
            let _ = std::fs::remove_dir(h.path.join(PARENT));
        }
        Ok(())
    }

    fn controller_dir(&self, node: &str, controller: &str) -> Option<PathBuf> {
        self.with(controller)
            .map(|h| h.path.join(PARENT).join(node))
    }

    fn kubelet_problem(&self) -> Option<String> {
        let missing: Vec<&str> = ["cpu", "cpuset", "memory", "pids"]
            .into_iter()
            .filter(|c| self.with(c).is_none())
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "this host's cgroup v1 hierarchies lack {}: a kubelet cannot run in a node",
                missing.join(", ")
            )
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A recorded hybrid layout: cpu, cpuset, memory, pids, the systemd named hierarchy and the
    /// v2 `unified` tree, as directories of a temporary root.
    pub(crate) fn layout(root: &Path) -> Vec<Hierarchy> {
        let v1 = |name: &str, controllers: &[&str]| Hierarchy {
            path: root.join(name),
            controllers: controllers.iter().map(|c| c.to_string()).collect(),
            v2: false,
        };
        let hierarchies = vec![
            v1("cpu", &["cpu"]),
            v1("cpuset", &["cpuset"]),
            v1("memory", &["memory"]),
            v1("pids", &["pids"]),
            v1("systemd", &[]),
            Hierarchy {
                path: root.join("unified"),
                controllers: vec![],
                v2: true,
            },
        ];
        for h in &hierarchies {
            std::fs::create_dir_all(&h.path).unwrap();
        }
        std::fs::write(root.join("cpuset/cpuset.cpus"), "0-1\n").unwrap();
        std::fs::write(root.join("cpuset/cpuset.mems"), "0\n").unwrap();
        hierarchies
    }

    #[test]
    fn a_node_gets_a_cgroup_in_every_hierarchy_with_its_limits() {
        let root = tempfile::tempdir().unwrap();
        let cgroups = Hybrid::new(layout(root.path()));
        let limits = Limits {
            memory_bytes: Some(1 << 30),
            cpus: Some(1.5),
        };
        let placement = cgroups.create("c-n0", &limits).unwrap();
        assert_eq!(placement.join.len(), 6);
        assert!(placement
            .join
            .contains(&root.path().join("unified/kubeadm-nspawn/c-n0/cgroup.procs")));
        let read = |p: &str| std::fs::read_to_string(root.path().join(p)).unwrap();
        assert_eq!(read("cpuset/kubeadm-nspawn/cpuset.cpus"), "0-1");
        assert_eq!(read("cpuset/kubeadm-nspawn/c-n0/cpuset.mems"), "0");
        assert_eq!(
            read("memory/kubeadm-nspawn/c-n0/memory.limit_in_bytes"),
            "1073741824"
        );
        assert_eq!(read("cpu/kubeadm-nspawn/c-n0/cpu.cfs_quota_us"), "150000");
        assert_eq!(read("cpu/kubeadm-nspawn/c-n0/cpu.cfs_period_us"), "100000");
        assert_eq!(
            cgroups.controller_dir("c-n0", "memory").unwrap(),
            root.path().join("memory/kubeadm-nspawn/c-n0")
        );
        assert_eq!(cgroups.kubelet_problem(), None);
        // Made again (start after stop): the same, no error.
        cgroups.create("c-n0", &Limits::default()).unwrap();
    }

    #[test]
    fn pods_and_processes_are_found_at_any_depth_and_removal_takes_everything() {
        let root = tempfile::tempdir().unwrap();
        let cgroups = Hybrid::new(layout(root.path()));
        cgroups.create("c-n0", &Limits::default()).unwrap();
        let node = root.path().join("pids/kubeadm-nspawn/c-n0");
        let pod = node.join("kubepods/burstable/pod1");
        std::fs::create_dir_all(&pod).unwrap();
        std::fs::write(node.join("cgroup.procs"), "10\n11\n").unwrap();
        std::fs::write(pod.join("cgroup.procs"), "42\n").unwrap();
        let mut procs = cgroups.procs("c-n0");
        procs.sort_unstable();
        assert_eq!(procs, [10, 11, 42]);
        assert_eq!(cgroups.pod_procs("c-n0"), [42]);
        // The control files a real cgroupfs has would go with the directory; here they are
        // plain files, so take them first.
        for f in [node.join("cgroup.procs"), pod.join("cgroup.procs")] {
            std::fs::remove_file(f).unwrap();
        }
        for h in ["cpuset/kubeadm-nspawn/c-n0", "cpuset/kubeadm-nspawn"] {
            for f in ["cpuset.cpus", "cpuset.mems"] {
                std::fs::remove_file(root.path().join(h).join(f)).unwrap();
            }
        }
        cgroups.remove("c-n0").unwrap();
        for h in ["cpu", "cpuset", "memory", "pids", "systemd", "unified"] {
            assert!(!root.path().join(h).join(PARENT).exists(), "{h}");
        }
        cgroups.remove("c-n0").unwrap();
    }

    #[test]
    fn a_missing_controller_is_named() {
        let root = tempfile::tempdir().unwrap();
        let mut hierarchies = layout(root.path());
        hierarchies.retain(|h| !h.controllers.contains(&"memory".to_string()));
        let cgroups = Hybrid::new(hierarchies);
        let err = super::super::tests::memory_limit_refusal(&cgroups);
        assert!(err.contains("no cgroup memory controller"), "{err}");
        assert!(cgroups.kubelet_problem().unwrap().contains("lack memory"));
    }
}
