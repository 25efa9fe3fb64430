//! The host's network managers told to leave kubeadm-nspawn's links alone. NetworkManager takes a
//! new bridge as an externally configured connection, and a later `nmcli networking off/on` takes
//! its address away and the bridge down (measured in a stand-in host: node-to-node traffic broken);
//! systemd-networkd manages whatever its `.network` files match. While any cluster exists, both
//! are told that `kns-*` links are unmanaged (NetworkManager: a conf.d file; networkd: a
//! `.network` file in /run with `Unmanaged=yes`), then reloaded; `down` of the last cluster takes
//! the files out again. Veths are unmanaged by both already.

use std::path::Path;
use std::process::{Command, Stdio};

use super::error::{Error, Result};

pub const NETWORK_MANAGER_CONF: &str = "/etc/NetworkManager/conf.d/90-kubeadm-nspawn.conf";
pub const NETWORKD_CONF: &str = "/run/systemd/network/10-kubeadm-nspawn.network";

const NETWORK_MANAGER_TEXT: &str =
    "# Written by kubeadm-nspawn while it has clusters: their bridges (kns-*) are its own.\n\
    [keyfile]\nunmanaged-devices=interface-name:kns-*\n";
const NETWORKD_TEXT: &str =
    "# Written by kubeadm-nspawn while it has clusters: their bridges (kns-*) are its own.\n\
    [Match]\nName=kns-*\n\n[Link]\nUnmanaged=yes\n";

/// A network manager running on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    NetworkManager,
    Networkd,
}

impl Manager {
    fn file(self) -> &'static str {
        match self {
            Manager::NetworkManager => NETWORK_MANAGER_CONF,
            Manager::Networkd => NETWORKD_CONF,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Manager::NetworkManager => NETWORK_MANAGER_TEXT,
            Manager::Networkd => NETWORKD_TEXT,
        }
    }

    fn reload(self) -> Vec<&'static str> {
        match self {
            Manager::NetworkManager => vec!["nmcli", "general", "reload", "conf"],
            Manager::Networkd => vec!["networkctl", "reload"],
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Manager::NetworkManager => "NetworkManager.service",
            Manager::Networkd => "systemd-networkd.service",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Manager::NetworkManager => "NetworkManager",
            Manager::Networkd => "systemd-networkd",
        }
    }
}

/// The network managers running here: their units active under a systemd that is PID 1. A
/// runtime directory alone says nothing (a host without systemd, or with networkd stopped, keeps
/// /run/systemd/netif and `networkctl reload` then fails).
pub fn running() -> Vec<Manager> {
    if !Path::new("/run/systemd/system").is_dir() {
        return vec![];
    }
    [Manager::NetworkManager, Manager::Networkd]
        .into_iter()
        .filter(|manager| unit_active(manager.unit()))
        .collect()
}

fn unit_active(unit: &str) -> bool {
    Command::new("systemctl")
        .args(["is-active", "--quiet", unit])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn reload(manager: Manager) -> Result<()> {
    let argv = manager.reload();
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io("run", argv[0], e))?;
    if !out.status.success() {
        return Err(Error::tool(
            &argv.join(" "),
            String::from_utf8_lossy(&out.stderr).trim(),
        ));
    }
    Ok(())
}

/// What became of telling one network manager.
#[derive(Debug)]
pub struct Told {
    pub manager: Manager,
    /// Its reload failed: the file is in place and takes effect at its next reload or start;
    /// the cluster does not depend on it, so this is a warning, not a failure.
    pub reload_failed: Option<Error>,
}

/// Tells every running network manager to leave `kns-*` alone; returns those told.
pub fn leave_our_links_alone() -> Result<Vec<Told>> {
    let mut told = vec![];
    for manager in running() {
        let file = Path::new(manager.file());
        let mut reload_failed = None;
        if std::fs::read_to_string(file).ok().as_deref() != Some(manager.text()) {
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
            }
            kns_plumbing::atomic_file::write(file, manager.text().as_bytes(), 0o644)
                .map_err(|e| Error::io("write", file, e))?;
            reload_failed = reload(manager).err();
        }
        told.push(Told {
            manager,
            reload_failed,
        });
    }
    Ok(told)
}

/// Takes the files out again (the last cluster is gone); returns the reloads that failed (the
/// files are gone, so their managers see it at their next reload).
pub fn forget_our_links() -> Result<Vec<Error>> {
    let mut failed = vec![];
    for manager in [Manager::NetworkManager, Manager::Networkd] {
        let file = Path::new(manager.file());
        if !file.exists() {
            continue;
        }
        std::fs::remove_file(file).map_err(|e| Error::io("remove", file, e))?;
        if running().contains(&manager) {
            if let Err(e) = reload(manager) {
                failed.push(e);
            }
        }
    }
    Ok(failed)
}
