//! The systemd-nspawn command of a node: one list of flags, each saying which trap of the measured
//! recipe (DESIGN.md §7.1) it avoids. kubeadm-nspawn's nodes and the tests' nodes are built from it.

use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment of every nspawn launch: /proc/sys and /sys writable (sysctls for kube-proxy and
/// containerd). SYSTEMD_NSPAWN_USE_CGNS stays unset: with it off nspawn fails on the missing
/// hugetlb hierarchy.
pub const ENV: &[(&str, &str)] = &[("SYSTEMD_NSPAWN_API_VFS_WRITABLE", "1")];

/// Where a node's network comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Network {
    /// A named namespace that cnispawn made and wired: nspawn joins it instead of making one.
    Namespace(String),
    /// A fresh namespace with only loopback (tests that need no network).
    Private,
}

/// What varies between nodes; everything else is the recipe.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Machine name and hostname.
    pub machine: String,
    /// The node's root (an overlay mount).
    pub root: PathBuf,
    pub network: Network,
    /// Host directory bound at /var/lib/containerd.
    pub containerd_dir: PathBuf,
    /// Host directory bound at /var/lib/kubelet, if the node runs a kubelet.
    pub kubelet_dir: Option<PathBuf>,
    /// Register with systemd-machined (see [`host_has_machined`]).
    pub register: bool,
    /// More host paths bound into the node (the cluster config file's `extraMounts`).
    pub binds: Vec<Bind>,
}

/// A host path bound into the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub host: PathBuf,
    pub node: PathBuf,
    pub read_only: bool,
}

impl Spec {
    /// The arguments after `systemd-nspawn`.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "-D".into(),
            self.root.display().to_string(),
            // With machined the node shows in `machinectl list`; without it registering fails.
            format!("--register={}", if self.register { "yes" } else { "no" }),
            // The node is registered as the unit it was started in: its own scope on a systemd
            // host (systemd-run --scope; machined's own scope would leave nspawn itself in the
            // caller's unit, and the node would die with it), nothing without systemd (nspawn
            // would ask the absent system bus for a scope: "Failed to open system bus").
            "--keep-unit".into(),
            "--boot".into(),
            format!("--machine={}", self.machine),
            format!("--hostname={}", self.machine),
        ];
        args.push(match &self.network {
            Network::Namespace(netns) => format!("--network-namespace-path=/run/netns/{netns}"),
            Network::Private => "--private-network".into(),
        });
        args.extend([
            // The console goes to the node's log; nothing reads from it.
            "--console=read-only".into(),
            // The node's /etc/resolv.conf is the orchestrator's (a resolver a node can reach),
            // never a copy of the host's, which may be a stub on 127.0.0.53.
            "--resolv-conf=off".into(),
            // kubelet, containerd and runc need them (mounts, cgroups, iptables, namespaces).
            "--capability=all".into(),
            // runc uses keyrings and bpf for device cgroups.
            "--system-call-filter=@keyring bpf".into(),
            "--private-users=no".into(),
            // kubelet's OOM watcher reads the kernel log.
            "--bind=/dev/kmsg".into(),
            // containerd's overlayfs snapshotter cannot put an upper dir on the overlay root.
            bind(&self.containerd_dir, "/var/lib/containerd"),
        ]);
        if let Some(kubelet) = &self.kubelet_dir {
            // The kubelet's pod volumes belong on a plain host directory too.
            args.push(bind(kubelet, "/var/lib/kubelet"));
        }
        for b in &self.binds {
            let flag = if b.read_only { "--bind-ro" } else { "--bind" };
            args.push(format!("{flag}={}:{}", b.host.display(), b.node.display()));
        }
        args
    }
}

fn bind(host: &Path, node: &str) -> String {
    format!("--bind={}:{node}", host.display())
}

/// Whether the host runs systemd-machined, so nodes can be registered (and seen by `machinectl`).
pub fn host_has_machined() -> bool {
    Path::new("/run/systemd/machines").is_dir() && Path::new("/run/systemd/system").is_dir()
}

/// Makes `cmd`'s child a session of its own and moves it into each cgroup whose `cgroup.procs`
/// file is in `procs`, between fork and exec: nspawn (or its launcher) then starts where the
/// node's processes belong, before it forks anything.
pub fn start_in_cgroups(cmd: &mut Command, procs: Vec<CString>) {
    // SAFETY: between fork and exec only async-signal-safe calls: setsid, open, write, close.
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            for path in &procs {
                let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // "0" = the writing process itself.
                let written = libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
                if written != 1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec {
            machine: "c-n0".into(),
            root: "/r".into(),
            network: Network::Namespace("kns-c-0".into()),
            containerd_dir: "/d/ctd".into(),
            kubelet_dir: Some("/d/kl".into()),
            register: false,
            binds: vec![],
        }
    }

    #[test]
    fn args_follow_the_measured_recipe() {
        let a = spec().args();
        for expected in [
            "--register=no",
            "--keep-unit",
            "--boot",
            "--machine=c-n0",
            "--hostname=c-n0",
            "--network-namespace-path=/run/netns/kns-c-0",
            "--system-call-filter=@keyring bpf",
            "--bind=/d/ctd:/var/lib/containerd",
            "--bind=/d/kl:/var/lib/kubelet",
        ] {
            assert!(
                a.contains(&expected.to_string()),
                "{expected} missing from {a:?}"
            );
        }
        assert_eq!(&a[..2], ["-D", "/r"]);
    }

    #[test]
    fn private_network_registration_and_no_kubelet() {
        let a = Spec {
            network: Network::Private,
            kubelet_dir: None,
            register: true,
            ..spec()
        }
        .args();
        assert!(a.contains(&"--private-network".to_string()));
        assert!(a.contains(&"--register=yes".to_string()));
        assert!(!a.iter().any(|f| f.starts_with("--network-namespace-path")));
        assert!(!a.iter().any(|f| f.ends_with(":/var/lib/kubelet")));
    }

    #[test]
    fn extra_binds_read_only_or_not() {
        let a = Spec {
            binds: vec![
                Bind {
                    host: "/src".into(),
                    node: "/go/src".into(),
                    read_only: true,
                },
                Bind {
                    host: "/data".into(),
                    node: "/data".into(),
                    read_only: false,
                },
            ],
            ..spec()
        }
        .args();
        assert!(a.contains(&"--bind-ro=/src:/go/src".to_string()));
        assert!(a.contains(&"--bind=/data:/data".to_string()));
    }
}
