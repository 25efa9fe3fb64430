//! `update`: rebuilt binaries into a running, initialized cluster (see [`crate::actions::update`]).

use std::path::Path;

use crate::actions::update::{Outcome, UpdateOptions};
use crate::error::{Error, Result};
use crate::model::names::{ClusterName, ClusterPaths};
use crate::model::state::InitPhase;
use crate::{install_signal_handlers, require_root};

/// Updates what changed; returns one outcome per component updated (none: nothing changed).
pub fn update(name: &ClusterName, state_dir: &Path, opts: &UpdateOptions) -> Result<Vec<Outcome>> {
    require_root()?;
    let paths = ClusterPaths::new(state_dir, name);
    let mut state = super::stop::load(&paths, name)?;
    if state.kubernetes.as_ref().map(|k| k.phase) != Some(InitPhase::Initialized) {
        return Err(Error::InvalidArgument(format!(
            "cluster {name:?} is not initialized: `kubeadm-nspawn init --name {name}` first"
        )));
    }
    super::list::require_running(&state)?;
    install_signal_handlers()?;
    crate::actions::update::update(&paths, &mut state, opts)
}
