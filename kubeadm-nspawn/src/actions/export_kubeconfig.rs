//! Step: the cluster's kubeconfig, kept in the cluster directory and merged into the user's
//! kubeconfig as context `kubeadm-nspawn-<cluster>`.

use std::path::Path;

use crate::error::Result;
use crate::kube::binaries::KubeBinaries;
use crate::kube::documents::API_PORT;
use crate::kube::kubeconfig;
use crate::model::state::Kubernetes;

use super::InitContext;

pub fn run(ctx: &mut InitContext, kube: &KubeBinaries) -> Result<()> {
    let admin = ctx
        .cluster
        .first_control_plane()?
        .read_file(Path::new("/etc/kubernetes/admin.conf"))?;
    // The load balancer, when there is one: the API stays reachable with a control plane lost.
    let server = format!("https://{}:{API_PORT}", ctx.cluster.api_endpoint()?);
    let name = ctx.cluster.name().clone();
    let config =
        kubeconfig::from_admin_conf(&String::from_utf8_lossy(&admin), name.as_str(), &server)?;
    let ours = ctx.cluster.paths.kubeconfig();
    kubeconfig::write_private(&ours, config.as_bytes())?;
    let target = ctx.request.kubeconfig.clone();
    // Recorded first: a failed merge may still have written, and `down` must look there.
    if let Kubernetes::Initializing { kubeconfig, .. } = &mut ctx.cluster.state.kubernetes {
        *kubeconfig = Some(target.path.clone());
    }
    ctx.cluster.save()?;
    kubeconfig::merge(&target, &ours, &kube.path("kubectl"))?;
    kns_plumbing::say!("   context {} in {}", name.context(), target.path.display());
    Ok(())
}
