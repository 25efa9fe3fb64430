//! containerd in a node: which configuration layout its containerd reads, the node's
//! `/etc/containerd/config.toml` (DESIGN.md §7.1) for a cgroup driver and a sandbox image, and
//! restarting it. rootfs-builder writes a default configuration into the node base when it builds
//! it; kubeadm-nspawn's `init` writes each Kubernetes node's own (the host's cgroup driver, the
//! pause image of the cluster's Kubernetes minor) and restarts containerd where it changed.

use std::time::Duration;

use kns_plumbing::poll::{self, Check, Stopped};

use crate::exec::Exec;

/// Where containerd reads its configuration.
pub const CONFIG_PATH: &str = "/etc/containerd/config.toml";

/// What can go wrong with a node's containerd.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "node \"{node}\": `containerd --version` printed \"{output}\", which names no version"
    )]
    NoVersion { node: String, output: String },

    #[error("node \"{node}\": containerd did not answer `ctr version` within {} of its restart{}", kns_plumbing::report::seconds(*.after), .last_error.as_ref().map(|e| format!("; last error: {e}")).unwrap_or_default())]
    NotAnswering {
        node: String,
        after: Duration,
        last_error: Option<String>,
    },

    /// Running something in the node (its failure names the node and the command).
    #[error(transparent)]
    Node(#[from] crate::Error),
}

impl kns_plumbing::report::Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::NotAnswering { node, .. } => Some(format!(
                "its log: `kubeadm-nspawn exec {node} -- journalctl -u containerd -n 50`"
            )),
            Error::Node(e) => e.hint(),
            Error::NoVersion { .. } => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which configuration file a containerd reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerdLayout {
    /// containerd 1.6 and 1.7 (Debian bookworm, trixie): config version 2, one CRI plugin
    /// `io.containerd.grpc.v1.cri`.
    V2,
    /// containerd 2.0 and later: config version 3, the CRI plugin split into
    /// `io.containerd.cri.v1.runtime` and `io.containerd.cri.v1.images` (2.x still reads version 2,
    /// but migrates it with a warning on every start).
    V3,
}

impl ContainerdLayout {
    /// The layout of a containerd of version `version`, Debian's (`2.1.9+ds1-5`,
    /// `1.6.20~ds1-1+b1`) or upstream's (`v2.1.4`): 2 and later read version 3.
    pub fn of_version(version: &str) -> Self {
        match upstream_version(version.trim_start_matches('v')).first() {
            Some(major) if *major >= 2 => ContainerdLayout::V3,
            _ => ContainerdLayout::V2,
        }
    }
}

/// Who owns the pod cgroups: runc's `SystemdCgroup`, which must match the kubelet's
/// `cgroupDriver`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupDriver {
    /// runc writes the cgroup files itself (kubelet `cgroupDriver: cgroupfs`): on a cgroup v1
    /// host, where the node's systemd does not own the pod cgroups.
    Cgroupfs,
    /// runc asks the node's systemd for a scope per container (kubelet `cgroupDriver: systemd`):
    /// on a cgroup v2 host, where the node's systemd owns its delegated subtree.
    Systemd,
}

impl CgroupDriver {
    /// The name the kubelet's `cgroupDriver` takes.
    pub fn name(self) -> &'static str {
        match self {
            CgroupDriver::Cgroupfs => "cgroupfs",
            CgroupDriver::Systemd => "systemd",
        }
    }
}

impl std::fmt::Display for CgroupDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// containerd's `/etc/containerd/config.toml` for a node (DESIGN.md §7.1): CRI on, the sandbox
/// (pause) image `sandbox_image`, pushed and never pulled, `restrict_oom_score_adj` (the host's
/// bounding set lacks CAP_SYS_RESOURCE), runc with `driver`, Debian's CNI plugins. The same
/// settings in either layout.
pub fn containerd_config(
    layout: ContainerdLayout,
    driver: CgroupDriver,
    sandbox_image: &str,
) -> String {
    let systemd_cgroup = driver == CgroupDriver::Systemd;
    let driver_comment = match driver {
        CgroupDriver::Cgroupfs => {
            "cgroupfs, matching kubelet's cgroupDriver (the node's systemd does not own pod cgroups)."
        }
        CgroupDriver::Systemd => "systemd, matching kubelet's cgroupDriver.",
    };
    match layout {
        ContainerdLayout::V2 => format!(
            r#"# kubeadm-nspawn node: containerd with the CRI plugin for kubelet.
version = 2

[plugins."io.containerd.grpc.v1.cri"]
  # The pause image is pushed by image-pusher; nothing is ever pulled.
  sandbox_image = "{sandbox_image}"
  # The host's capability bounding set lacks CAP_SYS_RESOURCE, so runc cannot set the negative
  # oom_score_adj kubelet asks for critical pods; without this every static pod fails to start.
  restrict_oom_score_adj = true

  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    snapshotter = "overlayfs"

  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"

  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    # {driver_comment}
    SystemdCgroup = {systemd_cgroup}

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "/etc/cni/net.d"
"#
        ),
        ContainerdLayout::V3 => format!(
            r#"# kubeadm-nspawn node: containerd 2 with the CRI plugins for kubelet.
version = 3

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"

  [plugins."io.containerd.cri.v1.images".pinned_images]
    # The pause image is pushed by image-pusher; nothing is ever pulled.
    sandbox = "{sandbox_image}"

[plugins."io.containerd.cri.v1.runtime"]
  # The host's capability bounding set lacks CAP_SYS_RESOURCE, so runc cannot set the negative
  # oom_score_adj kubelet asks for critical pods; without this every static pod fails to start.
  restrict_oom_score_adj = true

  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"

  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"

  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
    # {driver_comment}
    SystemdCgroup = {systemd_cgroup}

  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "/etc/cni/net.d"
"#
        ),
    }
}

/// The numeric parts of a Debian version's upstream version: `1:2.1.9+ds1-5` -> [2, 1, 9].
pub fn upstream_version(version: &str) -> Vec<u64> {
    let version = version.split_once(':').map_or(version, |(_, v)| v);
    let upstream = version
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()
        .unwrap_or_default();
    upstream
        .split('.')
        .map_while(|part| part.parse().ok())
        .collect()
}

/// The version in what `containerd --version` prints: `containerd <module> <version>
/// <revision>`, the version Debian's (`2.1.9~ds1`) or upstream's (`v2.1.4`). None when no
/// word after the program's name looks like one (the module path `.../containerd/v2` does not:
/// it has no dot after its `v`).
pub fn version_of_output(output: &str) -> Option<&str> {
    output.split_whitespace().skip(1).find(|word| {
        let bare = word.strip_prefix('v').unwrap_or(word);
        bare.starts_with(|c: char| c.is_ascii_digit()) && upstream_version(bare).len() >= 2
    })
}

/// The version and layout of the containerd installed in `node` (`containerd --version`).
pub fn installed(node: &impl Exec) -> Result<(String, ContainerdLayout)> {
    let output = node.run(&["containerd", "--version"])?;
    let version = version_of_output(&output).ok_or_else(|| Error::NoVersion {
        node: node.name().to_owned(),
        output: output.trim().to_owned(),
    })?;
    Ok((version.to_owned(), ContainerdLayout::of_version(version)))
}

/// Restarts the node's containerd (`systemctl restart containerd`) and waits, up to `timeout`,
/// looking every `every`, until it answers `ctr version`.
pub fn restart(node: &impl Exec, timeout: Duration, every: Duration) -> Result<()> {
    node.run(&["systemctl", "restart", "containerd"])?;
    let answered = poll::until(timeout, every, || {
        match node.run(&["ctr", "version"]) {
            Ok(_) => Check::Done(()),
            // Nothing to wait for in a node that is gone or a command that was stopped.
            Err(
                e @ (crate::Error::Gone { .. }
                | crate::Error::Interrupted { .. }
                | crate::Error::NotRunning { .. }),
            ) => Check::Abort(e),
            Err(e) => Check::Failed(e),
        }
    });
    match answered {
        Ok(_) => Ok(()),
        Err(Stopped::Aborted(e)) => Err(e.into()),
        Err(Stopped::Interrupted) => Err(crate::Error::Interrupted {
            node: node.name().to_owned(),
            command: "ctr version".into(),
        }
        .into()),
        Err(Stopped::TimedOut {
            after, last_error, ..
        }) => Err(Error::NotAnswering {
            node: node.name().to_owned(),
            after,
            last_error: last_error.map(|e| e.to_string()),
        }),
    }
}

#[cfg(test)]
mod tests;
