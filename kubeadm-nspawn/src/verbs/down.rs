//! `down`: a cluster removed without a trace, whatever state it is in.

use std::path::Path;

use crate::actions;
use crate::error::{Error, Result};
use crate::kube::kubeconfig;
use crate::model::names::{ClusterName, ClusterPaths};
use crate::model::state::ClusterState;
use crate::{require_root, STOP_TIMEOUT};

/// Removes a cluster. Idempotent: a missing cluster is reported as such (false).
pub fn down(name: &ClusterName, state_dir: &Path) -> Result<bool> {
    require_root()?;
    let paths = ClusterPaths::new(state_dir, name);
    if !paths.dir.exists() {
        return Ok(false);
    }
    let state = match ClusterState::load(&paths.state_file()) {
        Ok(state) => state,
        // state.json never written (a crash before the first save): only the directory is there.
        Err(_) if !paths.state_file().exists() => {
            std::fs::remove_dir_all(&paths.dir).map_err(|e| Error::io("remove", &paths.dir, e))?;
            return Ok(true);
        }
        Err(e @ Error::CorruptState { .. }) => {
            eprintln!("warning: {e}; removing what its directory and the naming rules show");
            ClusterState::recover(&paths, name)
        }
        Err(e) => return Err(e),
    };
    if let Some(k) = &state.kubernetes {
        if let Some(target) = &k.kubeconfig {
            let kubectl = k.binaries.path("kubectl");
            if let Err(e) = kubeconfig::remove(target, &state.name, &kubectl) {
                eprintln!(
                    "warning: context {} stays in {}: {e}",
                    kubeconfig::context_name(&state.name),
                    target.display()
                );
            }
        }
    }
    actions::teardown(&state, &paths, STOP_TIMEOUT)?;
    Ok(true)
}
