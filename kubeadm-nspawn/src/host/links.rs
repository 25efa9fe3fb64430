//! The host's network links kubeadm-nspawn makes: one bridge per cluster (the bridge plugin makes
//! it and never deletes it), and host-local's bookkeeping of the node network.

use std::path::Path;
use std::process::{Command, Stdio};

use super::error::{Error, Result};

/// Whether the host has a link named `name`.
pub fn exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// Deletes the link `name` (a bridge takes its ports' addresses with it).
pub fn delete(name: &str) -> Result<()> {
    let out = Command::new("ip")
        .args(["link", "del", name])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io("run", "ip", e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::tool(
            "ip link del",
            String::from_utf8_lossy(&out.stderr).trim(),
        ))
    }
}
