//! Nodes' cgroups on a host whose PID 1 is systemd: each node runs in a transient scope of its
//! own, `machine.slice/kubeadm-nspawn-<node>.scope` (`systemd-run --scope`, Delegate=yes), which
//! outlives whatever unit started it and which nspawn registers with machined (`--keep-unit`), so
//! `machinectl list/status/poweroff` see the nodes. Limits are the scope's properties. On a v1
//! (hybrid) host systemd realizes a unit only in the hierarchies it manages (memory, cpu, pids,
//! devices); in the other v1 controller hierarchies (cpuset, cpuacct, blkio, freezer) a node would
//! sit at the host's root and share it with every other node (their kubelets would clean up each
//! other's pod cgroups), so there it still gets kubeadm-nspawn's own cgroups ([`Hybrid`]), joined
//! by its launcher before systemd-run moves it into the scope in the rest. Measured in stand-in
//! hosts (docs/hosts.md).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::hybrid::Hybrid;
use super::{tree, Cgroups, Hierarchy, Layout, Placement, POD_CGROUPS};
use crate::host::error::{Error, Result};
use crate::model::settings::Limits;

/// The slice the scopes go in: machinectl's.
pub const SLICE: &str = "machine.slice";

/// The scope unit of a node.
pub fn scope(node: &str) -> String {
    format!("kubeadm-nspawn-{node}.scope")
}

pub struct Systemd {
    layout: Layout,
    /// Every mounted hierarchy (where the scope's cgroups are).
    all: Vec<Hierarchy>,
    /// kubeadm-nspawn's own per-node cgroups: the v1 controller hierarchies (hybrid only).
    own: Hybrid,
    /// The v2 root (unified), whose `cgroup.controllers` say what limits can be enforced.
    root: PathBuf,
}

impl Systemd {
    pub fn new(layout: Layout, all: Vec<Hierarchy>, root: PathBuf) -> Systemd {
        let own = match layout {
            Layout::Hybrid => Hybrid::new(
                all.iter()
                    .filter(|h| !h.v2 && !h.controllers.is_empty())
                    .cloned()
                    .collect(),
            ),
            Layout::Unified => Hybrid::new(vec![]),
        };
        Systemd {
            layout,
            all,
            own,
            root,
        }
    }

    /// The scope's cgroup directory in each hierarchy.
    fn scope_dirs(&self, node: &str) -> Vec<PathBuf> {
        self.all
            .iter()
            .map(|h| h.path.join(SLICE).join(scope(node)))
            .collect()
    }

    /// Whether the host can enforce `controller` for a scope.
    fn has(&self, controller: &str) -> bool {
        match self.layout {
            Layout::Hybrid => self
                .all
                .iter()
                .any(|h| h.controllers.iter().any(|c| c == controller)),
            // systemd accepts MemoryMax= on a tree without the controller and enforces nothing:
            // asked of the tree itself.
            Layout::Unified => tree::read(&self.root, "cgroup.controllers")
                .split_whitespace()
                .any(|c| c == controller),
        }
    }

    /// The systemd-run command a node's launcher runs in, its limits as properties.
    fn launcher(&self, node: &str, limits: &Limits) -> Result<Vec<String>> {
        let missing = |controller: &str| Error::Cgroup {
            node: node.to_owned(),
            message: format!(
                "no cgroup {controller} controller on this host to enforce the node's limit"
            ),
        };
        let mut properties = vec![
            // The node's own systemd and kubelet manage the cgroups below it.
            "Delegate=yes".to_owned(),
            // runc and the kubelet make device nodes for pods; the scope's device cgroup of its
            // own (not the slice's) allows them all, as the node's own cgroup did.
            "DeviceAllow=char-* rwm".into(),
            "DeviceAllow=block-* rwm".into(),
            "TasksMax=infinity".into(),
        ];
        if let Some(bytes) = limits.memory_bytes {
            if !self.has("memory") {
                return Err(missing("memory"));
            }
            properties.push(format!("MemoryMax={bytes}"));
        }
        if let Some(cpus) = limits.cpus {
            if !self.has("cpu") {
                return Err(missing("cpu"));
            }
            properties.push(format!("CPUQuota={}%", (cpus * 100.0).round() as u64));
        }
        let mut args = vec![
            "systemd-run".to_owned(),
            "--scope".into(),
            "--quiet".into(),
            "--collect".into(),
            format!("--slice={SLICE}"),
            format!("--unit={}", scope(node)),
        ];
        args.extend(properties.into_iter().map(|p| format!("--property={p}")));
        Ok(args)
    }
}

impl Cgroups for Systemd {
    fn layout(&self) -> Layout {
        self.layout
    }

    fn create(&self, node: &str, limits: &Limits) -> Result<Placement> {
        let launcher = self.launcher(node, limits)?;
        let own = self.own.create(node, &Limits::default())?;
        Ok(Placement {
            join: own.join,
            launcher,
        })
    }

    fn procs(&self, node: &str) -> Vec<i32> {
        let mut procs = self.own.procs(node);
        for dir in self.scope_dirs(node) {
            procs.extend(tree::procs_under(&dir));
        }
        procs.sort_unstable();
        procs.dedup();
        procs
    }

    fn pod_procs(&self, node: &str) -> Vec<i32> {
        let mut procs = self.own.pod_procs(node);
        for dir in self.scope_dirs(node) {
            for pods in tree::find_named(&dir, POD_CGROUPS) {
                procs.extend(tree::procs_under(&pods));
            }
        }
        procs.sort_unstable();
        procs.dedup();
        procs
    }

    fn remove(&self, node: &str) -> Result<()> {
        // The scope goes with its last process; one that failed stays listed until reset.
        let _ = Command::new("systemctl")
            .args(["reset-failed", &scope(node)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        self.own.remove(node)
    }

    fn controller_dir(&self, node: &str, controller: &str) -> Option<PathBuf> {
        let in_scope = self
            .all
            .iter()
            .filter(|h| match self.layout {
                Layout::Hybrid => h.controllers.iter().any(|c| c == controller),
                Layout::Unified => h.v2,
            })
            .map(|h| h.path.join(SLICE).join(scope(node)))
            .find(|d| d.is_dir());
        in_scope.or_else(|| self.own.controller_dir(node, controller))
    }

    /// On a v1 host, the scope's device cgroup allows every device (`a`). systemd writes a
    /// DeviceAllow= list as a deny-all plus one `c *:* rwm` and one `b *:* rwm` exception, and a
    /// v1 device cgroup refuses a child an `a *:* rwm` that no single exception of its parent
    /// covers: runc's privileged containers (kube-proxy) failed to start with RunContainerError
    /// (measured in the stand-in workstation host). The slice above allows all, so the scope can.
    /// On v2 the list is a BPF program allowing every char and block device: all of them.
    fn started(&self, node: &str) -> Result<()> {
        if self.layout != Layout::Hybrid {
            return Ok(());
        }
        let Some(dir) = self
            .all
            .iter()
            .find(|h| h.controllers.iter().any(|c| c == "devices"))
            .map(|h| h.path.join(SLICE).join(scope(node)))
        else {
            return Ok(());
        };
        tree::write(&dir, "devices.allow", "a")
    }

    fn kubelet_problem(&self) -> Option<String> {
        let missing: Vec<&str> = ["cpu", "memory", "pids"]
            .into_iter()
            .filter(|c| !self.has(c))
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "this host's cgroups have no {} controller{}: a kubelet cannot run in a node",
                missing.join(", "),
                if missing.len() > 1 { "s" } else { "" }
            )
        })
    }
}

/// Whether the host's PID 1 is systemd (so nodes go in scopes of their own).
pub fn host_runs_systemd() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_gets_a_delegated_scope_with_its_limits_and_own_cgroups_where_systemd_has_none() {
        let root = tempfile::tempdir().unwrap();
        let hierarchies = super::super::hybrid::tests::layout(root.path());
        let cgroups = Systemd::new(Layout::Hybrid, hierarchies, root.path().join("unified"));
        let placement = cgroups
            .create(
                "c-n0",
                &Limits {
                    memory_bytes: Some(1 << 30),
                    cpus: Some(1.5),
                },
            )
            .unwrap();
        let launcher = placement.launcher.join(" ");
        assert!(
            launcher.starts_with(
                "systemd-run --scope --quiet --collect --slice=machine.slice \
                 --unit=kubeadm-nspawn-c-n0.scope --property=Delegate=yes"
            ),
            "{launcher}"
        );
        assert!(
            launcher.contains("--property=MemoryMax=1073741824"),
            "{launcher}"
        );
        assert!(launcher.contains("--property=CPUQuota=150%"), "{launcher}");
        // Its own cgroups: the v1 controller hierarchies only (not name=systemd, not cgroup2).
        let joined: Vec<String> = placement
            .join
            .iter()
            .map(|p| p.strip_prefix(root.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(
            joined,
            [
                "cpu/kubeadm-nspawn/c-n0/cgroup.procs",
                "cpuset/kubeadm-nspawn/c-n0/cgroup.procs",
                "memory/kubeadm-nspawn/c-n0/cgroup.procs",
                "pids/kubeadm-nspawn/c-n0/cgroup.procs"
            ]
        );
        // The limits are the scope's: none written into its own.
        assert!(!root
            .path()
            .join("memory/kubeadm-nspawn/c-n0/memory.limit_in_bytes")
            .exists());
        // Processes of the scope count as the node's.
        let scope = root
            .path()
            .join("pids/machine.slice/kubeadm-nspawn-c-n0.scope/payload");
        std::fs::create_dir_all(scope.join("kubepods")).unwrap();
        std::fs::write(scope.join("cgroup.procs"), "5\n").unwrap();
        std::fs::write(scope.join("kubepods/cgroup.procs"), "6\n").unwrap();
        assert_eq!(cgroups.procs("c-n0"), [5, 6]);
        assert_eq!(cgroups.pod_procs("c-n0"), [6]);
        assert_eq!(
            cgroups.controller_dir("c-n0", "pids").unwrap(),
            root.path()
                .join("pids/machine.slice/kubeadm-nspawn-c-n0.scope")
        );
    }

    #[test]
    fn on_a_v1_host_a_started_scope_allows_every_device() {
        let root = tempfile::tempdir().unwrap();
        let devices = root.path().join("devices");
        let scope_dir = devices.join("machine.slice/kubeadm-nspawn-c-n0.scope");
        std::fs::create_dir_all(&scope_dir).unwrap();
        let all = vec![Hierarchy {
            path: devices,
            controllers: vec!["devices".into()],
            v2: false,
        }];
        Systemd::new(Layout::Hybrid, all.clone(), root.path().join("unified"))
            .started("c-n0")
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(scope_dir.join("devices.allow")).unwrap(),
            "a"
        );
        // Unified: nothing to write (and no v1 file to write it to).
        std::fs::remove_file(scope_dir.join("devices.allow")).unwrap();
        Systemd::new(Layout::Unified, all, root.path().to_path_buf())
            .started("c-n0")
            .unwrap();
        assert!(!scope_dir.join("devices.allow").exists());
    }

    #[test]
    fn limits_a_controller_less_tree_cannot_enforce_are_refused() {
        // systemd would accept MemoryMax= there and enforce nothing.
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("cgroup.controllers"), "\n").unwrap();
        let all = vec![Hierarchy {
            path: root.path().to_path_buf(),
            controllers: vec![],
            v2: true,
        }];
        let cgroups = Systemd::new(Layout::Unified, all, root.path().to_path_buf());
        let err = super::super::tests::memory_limit_refusal(&cgroups);
        assert!(err.contains("no cgroup memory controller"), "{err}");
        let plain = cgroups.create("c-n0", &Limits::default()).unwrap();
        assert!(plain.join.is_empty());
        assert!(cgroups
            .kubelet_problem()
            .unwrap()
            .contains("no cpu, memory, pids controllers"));
    }
}
