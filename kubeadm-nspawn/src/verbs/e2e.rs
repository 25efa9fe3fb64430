//! `e2e`: Kubernetes' end-to-end suite against a running, initialized cluster (see
//! [`crate::actions::e2e`]). Reads only: the suite uses the cluster, it never waits for a busy
//! one (but `--images` holds the cluster's lock while it loads the nodes).

use crate::actions::e2e::{self, E2eContext, E2eOutcome};
use crate::actions::request::{Common, E2eRequest};
use crate::cluster::{Access, Cluster};
use crate::error::Result;

use super::{install_signal_handlers, require_root};

pub fn run(common: &Common, request: &E2eRequest) -> Result<E2eOutcome> {
    require_root()?;
    let cluster = Cluster::open(&common.state_dir, &request.name, Access::Read)?;
    cluster.require_initialized()?;
    cluster.require_running()?;
    install_signal_handlers()?;
    let ctx = E2eContext {
        request,
        common,
        cluster,
    };
    e2e::e2e(&ctx)
}
