//! The steps of `up` and `down`, each a function of the [`Context`]. [`up`] lists them in order, so
//! that one function reads as the whole flow (like kind's create actions).

mod base_image;
mod prepare_nodes;
mod spawn_nodes;
mod teardown;
mod wait_booted;

use std::time::Instant;

use crate::cluster::{ClusterName, ClusterPaths, Subnet};
use crate::error::Result;
use crate::state::ClusterState;

pub use teardown::teardown;

/// What `up` was asked for.
#[derive(Debug, Clone)]
pub struct UpOptions {
    pub name: ClusterName,
    pub nodes: usize,
    pub subnet: Subnet,
    pub masquerade: bool,
    /// Extra arguments for `rootfs-builder build` (method and its inputs).
    pub image_args: Vec<String>,
    pub boot_timeout: std::time::Duration,
}

/// Everything the steps share.
pub struct Context {
    pub opts: UpOptions,
    pub paths: ClusterPaths,
    pub state: ClusterState,
}

impl Context {
    pub fn save(&self) -> Result<()> {
        self.state.save(&self.paths.state_file())
    }
}

type Step = (&'static str, fn(&mut Context) -> Result<()>);

/// The steps of `up`, in order.
const UP: &[Step] = &[
    ("Getting the node base image", base_image::run),
    ("Preparing node root filesystems", prepare_nodes::run),
    ("Starting nodes", spawn_nodes::run),
    ("Waiting for nodes to boot", wait_booted::run),
];

/// Runs the steps of `up`, printing each with its duration; stops at the first failure.
pub fn up(ctx: &mut Context) -> Result<()> {
    for (title, step) in UP {
        crate::signals::check()?;
        let started = Instant::now();
        eprintln!(" • {title} ...");
        step(ctx)?;
        crate::signals::check()?;
        eprintln!(" ✓ {title} ({:.1} s)", started.elapsed().as_secs_f64());
    }
    Ok(())
}
