//! Steps: the cluster's Kubernetes phase in state.json. `Initializing` is recorded once the
//! binaries are checked (so a retry with the right directory is still possible before it), and
//! `Initialized` once every node is Ready: a failed `init` leaves `Initializing`, which a second
//! `init` refuses and `down` removes.

use crate::error::Result;
use crate::kube::binaries::KubeBinaries;
use crate::model::state::{InitPhase, KubernetesState};

use super::InitContext;

pub fn initializing(ctx: &mut InitContext, kube: &KubeBinaries) -> Result<()> {
    ctx.state.kubernetes = Some(KubernetesState {
        binaries: kube.clone(),
        phase: InitPhase::Initializing,
        kubeconfig: None,
        pod_cidrs: vec![],
        fingerprints: Default::default(),
    });
    ctx.save()
}

pub fn initialized(ctx: &mut InitContext) -> Result<()> {
    if let Some(k) = &mut ctx.state.kubernetes {
        k.phase = InitPhase::Initialized;
    }
    ctx.save()
}
