//! The command line of `stop`, `start` and `down`: one cluster, or every one with `--all`.

use std::time::Duration;

use super::{parse_duration, steps_json, Global};
use crate::cluster;
use crate::model::names::ClusterName;

/// Which clusters a lifecycle verb is for.
#[derive(clap::Args, Debug, Clone)]
pub struct Which {
    #[arg(long, default_value = "default", conflicts_with = "all")]
    pub name: String,
    /// Every cluster.
    #[arg(long)]
    pub all: bool,
}

impl Which {
    fn names(&self, global: &Global) -> crate::Result<Vec<ClusterName>> {
        Ok(if self.all {
            cluster::states(&global.state_dir)?
                .into_iter()
                .map(|c| c.name)
                .collect()
        } else {
            vec![ClusterName::new(&self.name)?]
        })
    }
}

pub const STOP_ABOUT: &str =
    "Shut a cluster's nodes down (pods first, then a clean poweroff) and remove their host \
    objects (namespaces, veths, mounts, the bridge), keeping everything they own on disk: the \
    overlay upper dirs, containerd's and the kubelet's dirs, etcd's data. `start` brings the \
    cluster back, also after a host reboot.";

pub fn stop(which: &Which, global: &Global) -> crate::Result<i32> {
    for name in which.names(global)? {
        let started = std::time::Instant::now();
        let timings = crate::verbs::stop::run(
            &global.state_dir,
            &name,
            global.host(),
            global.access("stop"),
        )?;
        let seconds = started.elapsed().as_secs_f64();
        eprintln!("cluster \"{name}\" stopped ({seconds:.1} s); `kubeadm-nspawn start --name {name}` brings it back");
        println!("{}", steps_json(&name, seconds, &timings));
    }
    Ok(0)
}

#[derive(clap::Args, Debug, Clone)]
pub struct StartArgs {
    #[command(flatten)]
    pub which: Which,
    /// How long to wait for all nodes Ready (0: do not wait).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub wait: Duration,
}

pub fn start(args: &StartArgs, global: &Global) -> crate::Result<i32> {
    for name in args.which.names(global)? {
        let started = std::time::Instant::now();
        let timings = crate::verbs::start::run(
            &global.state_dir,
            &name,
            global.host(),
            global.access("start"),
            args.wait,
        )?;
        let seconds = started.elapsed().as_secs_f64();
        if !timings.is_empty() {
            eprintln!("cluster \"{name}\" started ({seconds:.1} s)");
        }
        println!("{}", steps_json(&name, seconds, &timings));
    }
    Ok(0)
}

pub fn down(which: &Which, global: &Global) -> crate::Result<i32> {
    for name in which.names(global)? {
        let removed = crate::verbs::down::run(
            &global.state_dir,
            &name,
            global.host(),
            global.access("down"),
        )?;
        if removed {
            eprintln!("cluster \"{name}\" removed");
        } else {
            eprintln!("no cluster \"{name}\": nothing to do");
        }
    }
    Ok(0)
}
