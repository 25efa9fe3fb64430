//! The node recipe: what a base root filesystem must contain and how it is configured so that every
//! node boots systemd, runs containerd, and is ready for kubeadm once the Kubernetes binaries are
//! pushed. It follows DESIGN.md §7.1 (measured on these machines). Bump [`RECIPE_VERSION`] with any
//! change here: it is part of every cache key, so old images are rebuilt rather than reused.

use std::path::{Path, PathBuf};

use kns_node::containerd::{containerd_config, upstream_version, CgroupDriver, ContainerdLayout};

use crate::error::{Error, Result};

pub const RECIPE_VERSION: &str = "7";

/// The image repository every image of a cluster is named under. It resolves nowhere, so a missing
/// image can never turn into a pull from the internet.
pub const PRIVATE_REPOSITORY: &str = "kubeadm-nspawn.local";

/// The sandbox image of the base's default containerd configuration: the pause of the default
/// release (v1.28.7). `kubeadm-nspawn init` writes each node's own, for its host's cgroup driver
/// and its Kubernetes minor's pause, and restarts containerd where that differs from this one.
pub const BASE_SANDBOX_IMAGE: &str = "kubeadm-nspawn.local/pause:3.9";

/// Debian packages of the base, on top of debootstrap's minbase. On a suite with a [`Pin`],
/// [`RUNTIME_PACKAGES`] come from the pin's suite instead ([`packages`]).
pub const PACKAGES: &[&str] = &[
    "systemd",
    "systemd-sysv",
    "dbus",
    "containerd",
    "runc",
    "containernetworking-plugins",
    "iptables",
    "conntrack",
    "socat",
    "ethtool",
    "kmod",
    "iproute2",
    "ca-certificates",
    // kubeadm's preflight looks for ebtables and its resets call it; ps, sysctl and ping for
    // debugging a node and its network.
    "ebtables",
    "procps",
    "iputils-ping",
    // kube-proxy's nftables mode runs nft, its ipvs mode ipset: the kube-proxy image carries
    // them from the base (its runtime layer). Debian leaves nftables.service disabled.
    "nftables",
    "ipset",
    // The load balancer node of a cluster with several control planes runs it
    // (kns-load-balancer.service); 2 MB, idle everywhere else.
    "haproxy",
];

/// The container runtime: what Kubernetes needs newest of the base.
pub const RUNTIME_PACKAGES: &[&str] = &["containerd", "runc"];

/// Packages a base suite takes from a newer suite of the same archive, with an APT pin so that
/// nothing else comes from there: Kubernetes 1.35+ needs containerd >= 2.1.5 and a runc >= 1.3,
/// and Debian 13 (trixie) has containerd 1.7 and runc 1.1; testing (forky) has 2.1 and 1.3, built
/// against no newer libc than trixie's (containerd needs libc6 >= 2.34, runc >= 2.38 and
/// libseccomp2 >= 2.5; trixie has 2.41 and 2.6). See docs/decisions.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pin {
    /// The newer suite, by codename: the same distribution whatever "testing" is later.
    pub suite: &'static str,
    pub packages: &'static [&'static str],
    /// (package, lowest upstream version): a pin that installs less fails the build (the newer
    /// suite may have dropped a package, and APT then quietly takes the base suite's).
    pub minimum: &'static [(&'static str, &'static str)],
}

/// The pin of a base suite; None: its own packages are new enough, or it cannot take them
/// (bookworm: testing's runc needs libc6 >= 2.38, bookworm has 2.36).
pub fn pin_for(suite: &str) -> Option<Pin> {
    match suite {
        "trixie" => Some(Pin {
            suite: "forky",
            packages: RUNTIME_PACKAGES,
            minimum: &[("containerd", "2.1"), ("runc", "1.3")],
        }),
        _ => None,
    }
}

/// The packages debootstrap and mkosi install for `suite`: [`PACKAGES`], less those its pin
/// installs afterwards.
pub fn packages(suite: &str) -> Vec<&'static str> {
    let pinned = pin_for(suite).map_or(&[][..], |p| p.packages);
    PACKAGES
        .iter()
        .copied()
        .filter(|p| !pinned.contains(p))
        .collect()
}

/// Units that make no sense in a node or would phone out; masked (linked to /dev/null).
pub const MASKED_UNITS: &[&str] = &[
    "systemd-timesyncd.service",
    "apt-daily.timer",
    "apt-daily.service",
    "apt-daily-upgrade.timer",
    "apt-daily-upgrade.service",
    "dpkg-db-backup.timer",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
    "fstrim.timer",
    "man-db.timer",
    "logrotate.timer",
    "systemd-firstboot.service",
    "getty.target",
    "console-getty.service",
    "swap.target",
    // Debian's own haproxy unit would run a default configuration in every node;
    // kns-load-balancer.service runs it where a load balancer is configured.
    "haproxy.service",
];

/// Units enabled in multi-user.target (containerd enables itself through its package).
pub const ENABLED_UNITS: &[&str] = &[
    "kubelet.service",
    "kns-cgroup-rw.service",
    "kns-load-balancer.service",
];

/// A file the recipe writes into the rootfs.
#[derive(Debug, Clone, PartialEq)]
pub struct RecipeFile {
    /// Absolute path inside the rootfs.
    pub path: &'static str,
    pub mode: u32,
    pub contents: String,
}

/// Every file of the node configuration, for a base whose containerd reads `layout`.
pub fn files(layout: ContainerdLayout) -> Vec<RecipeFile> {
    let file = |path, mode, contents: &str| RecipeFile {
        path,
        mode,
        contents: contents.to_owned(),
    };
    vec![
        // cgroupfs: what every host can run (the node's systemd owns no pod cgroups on v1).
        file(
            kns_node::containerd::CONFIG_PATH,
            0o644,
            &containerd_config(layout, CgroupDriver::Cgroupfs, BASE_SANDBOX_IMAGE),
        ),
        file("/etc/crictl.yaml", 0o644, CRICTL_YAML),
        file("/etc/sysctl.d/90-kubeadm-nspawn.conf", 0o644, SYSCTL_CONF),
        file("/etc/modules-load.d/kubeadm-nspawn.conf", 0o644, ""),
        // No swap: kubelet runs with failSwapOn=false anyway, but nothing should try to enable any.
        file(
            "/etc/fstab",
            0o644,
            "# kubeadm-nspawn node: the root is an overlay set up by the host\n",
        ),
        // Empty: systemd generates a fresh one on the first boot of each node (the orchestrator
        // writes one per node into the node's upper dir).
        file("/etc/machine-id", 0o444, ""),
        file("/etc/hostname", 0o644, "kubeadm-nspawn-node\n"),
        file(
            "/etc/systemd/system/kubelet.service",
            0o644,
            KUBELET_SERVICE,
        ),
        file(
            "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
            0o644,
            KUBEADM_DROP_IN,
        ),
        file(
            "/etc/systemd/system/kns-cgroup-rw.service",
            0o644,
            CGROUP_RW_SERVICE,
        ),
        file("/usr/lib/kubeadm-nspawn/cgroup-rw", 0o755, CGROUP_RW_SCRIPT),
        file(
            "/etc/systemd/system/kns-load-balancer.service",
            0o644,
            LOAD_BALANCER_SERVICE,
        ),
        file(
            "/etc/kubeadm-nspawn-release",
            0o644,
            &format!("recipe={RECIPE_VERSION}\n"),
        ),
        file(
            "/etc/systemd/journald.conf.d/kubeadm-nspawn.conf",
            0o644,
            JOURNALD_CONF,
        ),
    ]
}

/// Whether Debian version `version` is at least upstream `minimum` (`2.1`).
pub fn at_least(version: &str, minimum: &str) -> bool {
    upstream_version(version) >= upstream_version(minimum)
}

/// The version of `package` installed in `root` (from dpkg's status file), if it is installed.
pub fn installed_version(root: &Path, package: &str) -> Option<String> {
    let status = std::fs::read_to_string(in_root(root, "/var/lib/dpkg/status")).ok()?;
    status.split("\n\n").find_map(|stanza| {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
                .map(str::trim)
        };
        (field("Package") == Some(package)
            && field("Status").is_some_and(|s| s.ends_with(" installed")))
        .then(|| field("Version").map(str::to_owned))
        .flatten()
    })
}

/// The layout of the containerd installed in `root`; a root without a containerd package (a
/// downloaded tree) gets the current one.
pub fn containerd_layout(root: &Path) -> ContainerdLayout {
    installed_version(root, "containerd")
        .map_or(ContainerdLayout::V3, |v| ContainerdLayout::of_version(&v))
}

const CRICTL_YAML: &str = "\
runtime-endpoint: unix:///run/containerd/containerd.sock
image-endpoint: unix:///run/containerd/containerd.sock
timeout: 10
";

/// A leading '-' makes systemd-sysctl ignore a key the node cannot set (not every kernel has the
/// bridge-nf keys per network namespace) instead of failing the unit.
const SYSCTL_CONF: &str = "\
# Kubernetes networking (kube-proxy iptables mode, bridge CNI).
net.ipv4.ip_forward = 1
-net.bridge.bridge-nf-call-iptables = 1
-net.bridge.bridge-nf-call-ip6tables = 1
";

/// Binaries are pushed into /usr/local/bin after boot; until then the unit is skipped (not failed),
/// so the node boots to `running`. Once kubelet is there it restarts every second until kubeadm has
/// written its configuration.
const KUBELET_SERVICE: &str = "\
[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target containerd.service
After=network-online.target containerd.service kns-cgroup-rw.service
ConditionPathExists=/usr/local/bin/kubelet

[Service]
ExecStart=/usr/local/bin/kubelet
Restart=always
RestartSec=1s
StartLimitIntervalSec=0

[Install]
WantedBy=multi-user.target
";

/// haproxy in front of the API servers, in the one node given its configuration (the load
/// balancer of a cluster with several control planes); skipped in every other node.
const LOAD_BALANCER_SERVICE: &str = "\
[Unit]
Description=haproxy: the load balancer of the cluster's API servers
ConditionPathExists=/etc/kubeadm-nspawn/haproxy.cfg
Wants=network-online.target
After=network-online.target

[Service]
Type=notify
ExecStartPre=/usr/sbin/haproxy -c -q -f /etc/kubeadm-nspawn/haproxy.cfg
ExecStart=/usr/sbin/haproxy -Ws -f /etc/kubeadm-nspawn/haproxy.cfg
ExecReload=/usr/sbin/haproxy -c -q -f /etc/kubeadm-nspawn/haproxy.cfg
ExecReload=/bin/kill -USR2 $MAINPID
Restart=always
RestartSec=1s
StartLimitIntervalSec=0

[Install]
WantedBy=multi-user.target
";

/// The drop-in kubeadm expects (as in the Kubernetes release packages), with the binary path of this
/// project.
const KUBEADM_DROP_IN: &str = "\
[Service]
Environment=\"KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf\"
Environment=\"KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml\"
# kubeadm init/join write KUBELET_KUBEADM_ARGS here at runtime.
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# For the user's own overrides: KUBELET_EXTRA_ARGS.
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/local/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
";

/// systemd-nspawn mounts the cgroup v1 controller hierarchies read-only; kubelet and runc must create
/// pod cgroups in them, so the node remounts them read-write before containerd and kubelet start.
const CGROUP_RW_SERVICE: &str = "\
[Unit]
Description=Remount cgroup hierarchies read-write for kubelet and containerd
DefaultDependencies=no
After=local-fs.target
Before=containerd.service kubelet.service
ConditionVirtualization=container

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/lib/kubeadm-nspawn/cgroup-rw

[Install]
WantedBy=multi-user.target
";

const CGROUP_RW_SCRIPT: &str = r#"#!/bin/sh
# Remount read-only cgroup mounts (and the tmpfs holding them) read-write. Part of the kubeadm-nspawn
# node recipe; see kns-cgroup-rw.service. "bind" changes only this mount's flag: a plain remount
# would change the hierarchy's superblock, which the kernel refuses (EBUSY) while the host uses it.
set -eu
awk '$3 == "cgroup" || $3 == "cgroup2" || ($2 == "/sys/fs/cgroup" && $3 == "tmpfs") { print $2, $4 }' /proc/mounts |
while read -r target options; do
  case ",$options," in
    *,ro,*) mount -o remount,bind,rw "$target" ;;
  esac
done
"#;

/// The journal is kept on the node's disk (its overlay upper dir), so `export logs` can read a
/// stopped node's and a failed boot's; small, since many nodes share one host disk.
const JOURNALD_CONF: &str = "\
[Journal]
Storage=persistent
SystemMaxUse=32M
RuntimeMaxUse=16M
";

/// Writes the node configuration into `root`: the files, the masks and the enabled units.
pub fn apply(root: &Path) -> Result<()> {
    for file in files(containerd_layout(root)) {
        let path = in_root(root, file.path);
        write_file(&path, file.contents.as_bytes(), file.mode)?;
    }
    let system = in_root(root, "/etc/systemd/system");
    for unit in MASKED_UNITS {
        replace_symlink(Path::new("/dev/null"), &system.join(unit))?;
    }
    let wants = system.join("multi-user.target.wants");
    for unit in ENABLED_UNITS {
        replace_symlink(
            &Path::new("/etc/systemd/system").join(unit),
            &wants.join(unit),
        )?;
    }
    // Directories the orchestrator bind-mounts host directories onto (containerd's snapshots cannot
    // live on the overlay root), and where kubeadm and CNI expect to write.
    for dir in [
        "/var/lib/containerd",
        "/var/lib/kubelet",
        "/etc/kubernetes/manifests",
        "/etc/cni/net.d",
        "/usr/local/bin",
    ] {
        let path = in_root(root, dir);
        std::fs::create_dir_all(&path).map_err(|e| Error::io("create", &path, e))?;
    }
    Ok(())
}

/// `root` + an absolute in-image path.
pub fn in_root(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    // A symlink at the path (e.g. Debian's /etc/resolv.conf style links) is replaced, never followed.
    if path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        std::fs::remove_file(path).map_err(|e| Error::io("remove", path, e))?;
    }
    std::fs::write(path, contents).map_err(|e| Error::io("write", path, e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("chmod", path, e))
}

fn replace_symlink(target: &Path, link: &Path) -> Result<()> {
    if let Some(dir) = link.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    kns_plumbing::atomic_file::symlink(target, link).map_err(|e| Error::io("symlink", link, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_gets_the_default_containerd_config_of_its_layout() {
        assert!(BASE_SANDBOX_IMAGE.starts_with(&format!("{PRIVATE_REPOSITORY}/pause:")));
        for layout in [ContainerdLayout::V2, ContainerdLayout::V3] {
            let config = files(layout)
                .into_iter()
                .find(|f| f.path == "/etc/containerd/config.toml")
                .unwrap();
            assert_eq!(
                config.contents,
                containerd_config(layout, CgroupDriver::Cgroupfs, BASE_SANDBOX_IMAGE)
            );
            assert_eq!(config.mode, 0o644);
        }
    }

    #[test]
    fn the_layout_follows_the_installed_containerd() {
        assert!(at_least("2.1.9+ds1-5", "2.1") && at_least("2.10.0-1", "2.9"));
        assert!(!at_least("1.7.24~ds1-6", "2.1") && !at_least("1.1.15+ds1-2", "1.3"));

        let root = tempfile::tempdir().unwrap();
        assert_eq!(containerd_layout(root.path()), ContainerdLayout::V3);
        let status = in_root(root.path(), "/var/lib/dpkg/status");
        std::fs::create_dir_all(status.parent().unwrap()).unwrap();
        std::fs::write(
            &status,
            "Package: containerd\nStatus: deinstall ok config-files\nVersion: 2.1.9+ds1-5\n\n\
             Package: runc\nStatus: install ok installed\nVersion: 1.1.5+ds1-1\n\n\
             Package: containerd\nStatus: install ok installed\nVersion: 1.6.20~ds1-1+b1\n",
        )
        .unwrap();
        assert_eq!(
            installed_version(root.path(), "containerd").as_deref(),
            Some("1.6.20~ds1-1+b1")
        );
        assert_eq!(containerd_layout(root.path()), ContainerdLayout::V2);
        assert_eq!(installed_version(root.path(), "haproxy"), None);
    }

    #[test]
    fn trixie_takes_the_runtime_from_forky_and_bookworm_its_own() {
        let pin = pin_for("trixie").unwrap();
        assert_eq!((pin.suite, pin.packages), ("forky", RUNTIME_PACKAGES));
        let trixie = packages("trixie");
        assert!(!trixie.contains(&"containerd") && !trixie.contains(&"runc"));
        assert_eq!(trixie.len(), PACKAGES.len() - 2);
        assert_eq!(pin_for("bookworm"), None);
        assert_eq!(packages("bookworm"), PACKAGES);
    }

    #[test]
    fn kubelet_units_point_at_the_pushed_binary() {
        assert!(KUBELET_SERVICE.contains("ConditionPathExists=/usr/local/bin/kubelet"));
        assert!(KUBEADM_DROP_IN.contains("EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env"));
        assert!(KUBEADM_DROP_IN.contains("ExecStart=\nExecStart=/usr/local/bin/kubelet"));
    }

    #[test]
    fn apply_writes_files_masks_and_enables() {
        let root = tempfile::tempdir().unwrap();
        // A pre-existing symlink where a file goes is replaced, not followed.
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.path().join("etc/hostname")).unwrap();
        apply(root.path()).unwrap();
        apply(root.path()).unwrap(); // idempotent
        let read = |p: &str| std::fs::read_to_string(in_root(root.path(), p)).unwrap();
        assert_eq!(read("/etc/machine-id"), "");
        assert_eq!(read("/etc/hostname"), "kubeadm-nspawn-node\n");
        assert!(read("/etc/crictl.yaml").contains("containerd.sock"));
        let link = |p: &str| std::fs::read_link(in_root(root.path(), p)).unwrap();
        assert_eq!(
            link("/etc/systemd/system/systemd-timesyncd.service"),
            Path::new("/dev/null")
        );
        assert_eq!(
            link("/etc/systemd/system/apt-daily.timer"),
            Path::new("/dev/null")
        );
        assert_eq!(
            link("/etc/systemd/system/multi-user.target.wants/kubelet.service"),
            Path::new("/etc/systemd/system/kubelet.service")
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(in_root(root.path(), "/usr/lib/kubeadm-nspawn/cgroup-rw"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert!(in_root(root.path(), "/var/lib/containerd").is_dir());
    }
}
