//! `update`: rebuilt binaries into the running cluster (see [`crate::actions::update`]).

use crate::actions::request::{Common, UpdateRequest};
use crate::actions::update::{self, Outcome};
use crate::cluster::{Access, Cluster};
use crate::error::Result;

use super::{install_signal_handlers, require_root};

pub fn run(common: &Common, request: &UpdateRequest) -> Result<Vec<Outcome>> {
    require_root()?;
    let access = Access::Change {
        verb: "update",
        wait: common.wait,
    };
    let mut cluster = Cluster::open(&common.state_dir, &request.name, access)?;
    cluster.require_initialized()?;
    cluster.require_running()?;
    install_signal_handlers()?;
    update::update(&mut cluster, request)
}
