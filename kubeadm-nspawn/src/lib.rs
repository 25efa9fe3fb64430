//! kubeadm-nspawn: clusters of systemd-nspawn nodes on one machine, composed from the sibling tools
//! (rootfs-builder for the base image, cnispawn for each node's network) run as programs.

pub mod actions;
pub mod cluster;
pub mod error;
pub mod host;
pub mod kube;
pub mod model;
pub mod verbs;

use std::path::PathBuf;
use std::time::Duration;

pub use crate::error::{Error, Result};
pub use crate::verbs::down::down;
pub use crate::verbs::exec::exec;
pub use crate::verbs::export::export_logs;
pub use crate::verbs::init::init;
pub use crate::verbs::kubeconfig::kubeconfig;
pub use crate::verbs::list::{find_node, list, list_unreadable};
pub use crate::verbs::load::load;
pub use crate::verbs::releases::{gc as releases_gc, list as releases_list};
pub use crate::verbs::start::start;
pub use crate::verbs::stop::stop;
pub use crate::verbs::up::up;
pub use crate::verbs::update::update;

pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

fn require_root() -> Result<()> {
    if !kns_plumbing::privileges::is_root() {
        return Err(Error::NotRoot);
    }
    Ok(())
}

/// Termination signals are recorded from here on: steps stop at their boundaries (see
/// `actions::Steps`) and `up` removes what it created.
fn install_signal_handlers() -> Result<()> {
    kns_plumbing::signals::install().map_err(|(signal, e)| {
        Error::io(
            "install a handler for",
            signal.as_str(),
            std::io::Error::from_raw_os_error(e as i32),
        )
    })
}

pub fn default_state_dir() -> PathBuf {
    PathBuf::from(model::names::DEFAULT_STATE_DIR)
}
