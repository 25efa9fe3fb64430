//! Components that run as kube-system workloads (kube-proxy's DaemonSet, CoreDNS's Deployment): a
//! new content-tagged image on every node, the workload's image set, its rollout waited for.

use std::path::Path;

use super::{rollout, Target};
use crate::error::Result;
use crate::model::component::{Component, WorkloadKind};

/// The workload a component runs as: its kind, its object's name, its container's name.
pub type Workload = (WorkloadKind, &'static str, &'static str);

pub fn update(
    target: &Target,
    component: Component,
    binary: &Path,
    tag: &str,
    (kind, object, container): Workload,
) -> Result<String> {
    let nodes = target.cluster.kubernetes_nodes();
    let reference = target.load_image(component, binary, tag, &nodes)?;
    let workload = format!("{}/{object}", kind.as_str());
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
    let rollout_status = || {
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
    let log = || {
        target
            .kubectl(&["-n", "kube-system", "logs", &workload, "--tail=15"])
            .unwrap_or_default()
    };
    rollout::wait_or_put_back(
        component.name(),
        target.rollback,
        rollout_status,
        log,
        || set(previous.trim()),
    )?;
    Ok(format!("{workload} runs {reference}"))
}
