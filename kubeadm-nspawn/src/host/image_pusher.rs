//! Images and binaries into a cluster's nodes, by running `image-pusher push` with the nodes'
//! PIDs (its progress passes through on stderr; its JSON summary comes back).

use std::path::PathBuf;

use serde_json::Value;

use super::error::{Error, Result};
use crate::host::tools;
use crate::model::state::NodeState;

/// `image-pusher push` into `nodes`: every archive, every image of the host's Docker (by name),
/// every `HOST_PATH:NODE_PATH` binary.
pub fn push(
    nodes: &[&NodeState],
    archives: &[PathBuf],
    docker_images: &[String],
    binaries: &[String],
) -> Result<Value> {
    let mut args: Vec<String> = vec!["push".into()];
    for n in nodes {
        let pid = n
            .pid
            .filter(|p| kns_node::liveness::is_running(*p, &n.name))
            .ok_or_else(|| Error::Tool {
                tool: "image-pusher".into(),
                message: format!("not run: node \"{}\" is not running", n.name),
                hint: Some("`kubeadm-nspawn start --name CLUSTER` starts its nodes".into()),
            })?;
        args.extend(["--node".into(), pid.to_string()]);
    }
    for archive in archives {
        args.extend(["--archive".into(), archive.display().to_string()]);
    }
    for image in docker_images {
        args.extend(["--docker-image".into(), image.clone()]);
    }
    for binary in binaries {
        args.extend(["--binary".into(), binary.clone()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tools::run_json("image-pusher", &args)
}
