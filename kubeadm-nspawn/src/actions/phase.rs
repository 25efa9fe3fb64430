//! Steps: the cluster's Kubernetes phase in state.json. `Initializing` is recorded once the
//! binaries are checked (so a retry with the right directory is still possible before it), and
//! `Initialized` once every node is Ready.

use crate::error::{Error, Result};
use crate::kube::binaries::KubeBinaries;
use crate::model::state::{Initialized, Kubernetes};

use super::fingerprints::Fingerprints;
use super::InitContext;

pub fn initializing(ctx: &mut InitContext, kube: &KubeBinaries) -> Result<()> {
    // An earlier init's context in the user's kubeconfig stays recorded (down takes it out).
    let kubeconfig = ctx.cluster.phase().kubeconfig().cloned();
    ctx.cluster.state.kubernetes = Kubernetes::Initializing {
        binaries: kube.clone(),
        step: None,
        kubeconfig,
    };
    Ok(ctx.cluster.save()?)
}

/// Records that `init` begins step `title` (so `list` and the next `init` know where an
/// interrupted one stopped).
pub fn begin_step(ctx: &mut InitContext, title: &str) -> Result<()> {
    if let Kubernetes::Initializing { step, .. } = &mut ctx.cluster.state.kubernetes {
        *step = Some(title.to_owned());
        ctx.cluster.save()?;
    }
    Ok(())
}

pub fn initialized(ctx: &mut InitContext, fingerprints: Fingerprints) -> Result<()> {
    let Kubernetes::Initializing {
        binaries,
        kubeconfig,
        ..
    } = &ctx.cluster.state.kubernetes
    else {
        return Err(Error::Internal(
            "the cluster was not marked initializing".into(),
        ));
    };
    ctx.cluster.state.kubernetes = Kubernetes::Initialized(Initialized {
        binaries: binaries.clone(),
        kubeconfig: kubeconfig.clone(),
        fingerprints,
    });
    Ok(ctx.cluster.save()?)
}
