//! Components that run as kube-system workloads (kube-proxy's DaemonSet, CoreDNS's Deployment): a
//! new content-tagged image on every node, the workload's image set, its rollout waited for.

use std::path::Path;

use crate::error::{Error, Result};

use super::Target;

#[allow(clippy::too_many_arguments)]
pub fn update(
    target: &Target,
    component: &str,
    binary: &Path,
    tag: &str,
    kind: &str,
    object: &str,
    container: &str,
) -> Result<String> {
    let reference = target.load_image(component, binary, tag, &target.state.kubernetes_nodes())?;
    let workload = format!("{kind}/{object}");
    let jsonpath =
        format!("jsonpath={{.spec.template.spec.containers[?(@.name==\"{container}\")].image}}");
    let previous = target.kubectl(&["-n", "kube-system", "get", &workload, "-o", &jsonpath])?;
    let set = |image: &str| {
        target
            .kubectl(&[
                "-n",
                "kube-system",
                "set",
                "image",
                &workload,
                &format!("{container}={image}"),
            ])
            .map(drop)
    };
    let rollout = || {
        target
            .kubectl(&[
                "-n",
                "kube-system",
                "rollout",
                "status",
                &workload,
                &format!("--timeout={}s", target.wait.as_secs().max(1)),
            ])
            .map(drop)
    };
    set(&reference)?;
    let failure = match rollout() {
        Ok(()) => return Ok(format!("{workload} runs {reference}")),
        Err(e) => e,
    };
    let log = target
        .kubectl(&["-n", "kube-system", "logs", &workload, "--tail=15"])
        .unwrap_or_default();
    if target.rollback {
        set(previous.trim())?;
        rollout()?;
    }
    Err(Error::UpdateFailed {
        component: component.into(),
        why: failure.to_string(),
        log,
        rolled_back: target.rollback,
    })
}
