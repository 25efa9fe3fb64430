//! The capability check done before anything else, so an unprivileged run fails with one clear line
//! instead of an EPERM from deep inside a mount or a plugin.

use caps::{CapSet, Capability};

use crate::error::{Error, Result};

/// What creating namespaces (mount, unshare, setns) and wiring them (netlink) takes.
pub const REQUIRED: &[Capability] = &[Capability::CAP_SYS_ADMIN, Capability::CAP_NET_ADMIN];

pub fn require(required: &[Capability]) -> Result<()> {
    let missing: Vec<String> = required
        .iter()
        .filter(|cap| !caps::has_cap(None, CapSet::Effective, **cap).unwrap_or(false))
        .map(|cap| cap.to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::NotPrivileged {
            missing: missing.join(" and "),
        })
    }
}
