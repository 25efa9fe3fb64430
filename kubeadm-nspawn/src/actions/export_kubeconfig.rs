//! Step: the cluster's kubeconfig, kept in the cluster directory and merged into the user's
//! kubeconfig as context `kubeadm-nspawn-<cluster>`.

use crate::error::{Error, Result};
use crate::kube::binaries::KubeBinaries;
use crate::kube::kubeconfig;

use super::InitContext;

pub fn run(ctx: &mut InitContext, kube: &KubeBinaries) -> Result<()> {
    let first = ctx.state.first_control_plane()?;
    let admin_path = first.dir.join("rootfs/etc/kubernetes/admin.conf");
    let admin =
        std::fs::read_to_string(&admin_path).map_err(|e| Error::io("read", &admin_path, e))?;
    // The load balancer, when there is one: the API stays reachable with a control plane lost.
    let server = format!("https://{}:6443", ctx.state.api_endpoint_ip()?);
    let config = kubeconfig::from_admin_conf(&admin, &ctx.state.name, &server)?;
    let ours = ctx.paths.dir.join("kubeconfig");
    kubeconfig::write_private(&ours, config.as_bytes())?;
    let kubectl = kube.path("kubectl");
    let target = ctx.opts.kubeconfig.clone();
    // Recorded first: a failed merge may still have written, and `down` must look there.
    if let Some(k) = &mut ctx.state.kubernetes {
        k.kubeconfig = Some(target.path.clone());
    }
    ctx.save()?;
    kubeconfig::merge(&target, &ours, &kubectl)?;
    kns_plumbing::say!(
        "   context {} in {}",
        kubeconfig::context_name(&ctx.state.name),
        target.path.display()
    );
    Ok(())
}
