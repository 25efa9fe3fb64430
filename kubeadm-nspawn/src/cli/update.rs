//! `update`'s command line.

use std::time::Duration;

use super::binaries::{self, KubeArgs, ReleaseArgs};
use super::{parse_duration, Global};
use crate::actions::request::UpdateRequest;
use crate::model::component::Component;
use crate::model::names::ClusterName;

pub const AFTER_HELP: &str = "Examples:\n  make WHAT=cmd/kubelet && sudo kubeadm-nspawn update\n  \
    sudo kubeadm-nspawn update --kube-root ~/k8s --only kube-apiserver,kube-scheduler";

#[derive(clap::Args, Debug, Clone)]
pub struct UpdateArgs {
    #[arg(long, default_value = "default")]
    pub name: String,
    /// Where the new binaries are (default: what the cluster was made with).
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Only these components (comma-separated).
    #[arg(long, value_name = "COMPONENT,...", value_delimiter = ',', value_enum)]
    pub only: Vec<Component>,
    /// Leave a component that does not become healthy in place (to debug it).
    #[arg(long)]
    pub no_rollback: bool,
    /// How long a replaced component may take to become healthy.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_duration)]
    pub wait: Duration,
}

impl UpdateArgs {
    pub fn request(&self) -> crate::Result<UpdateRequest> {
        Ok(UpdateRequest {
            name: ClusterName::new(&self.name)?,
            binaries: binaries::choice(&self.kube, &ReleaseArgs::default(), None)?,
            only: self.only.clone(),
            rollback: !self.no_rollback,
            wait: self.wait,
        })
    }

    pub fn run(&self, global: &Global) -> crate::Result<i32> {
        let request = self.request()?;
        let started = std::time::Instant::now();
        let outcomes = crate::verbs::update::run(&global.common(), &request)?;
        let seconds = started.elapsed().as_secs_f64();
        let name = &request.name;
        if outcomes.is_empty() {
            eprintln!(
                "nothing changed: cluster \"{name}\" runs these binaries already ({seconds:.2} s)"
            );
        } else {
            eprintln!(
                "\n  {:<24} {:<29} {:>7}  ACTION",
                "COMPONENT", "OLD → NEW", "SECONDS"
            );
            for o in &outcomes {
                let change = format!("{} → {}", o.old.as_deref().unwrap_or("?"), o.new);
                eprintln!(
                    "  {:<24} {change:<29} {:>7.1}  {}",
                    o.component.name(),
                    o.seconds,
                    o.action
                );
            }
        }
        println!(
            "{}",
            serde_json::json!({"name": name.as_str(), "seconds": seconds, "updated": outcomes})
        );
        Ok(0)
    }
}
