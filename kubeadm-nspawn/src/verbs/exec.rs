//! `exec` and `shell`: a command in a node, its exit code passed through. Reads only: never waits
//! for a busy cluster.

use std::path::Path;
use std::process::Stdio;

use crate::cluster;
use crate::error::Result;
use crate::host::error::Io;

pub fn run(state_dir: &Path, node: &str, args: &[String]) -> Result<i32> {
    super::require_root()?;
    let (state, n) = cluster::find_node(state_dir, node)?;
    if !n.is_running() {
        let running = state.nodes.iter().filter(|s| {
            s.pid
                .is_some_and(|p| kns_node::liveness::is_running(p, &s.name))
        });
        return Err(cluster::Error::Stopped {
            running: running.count(),
            total: state.nodes.len(),
            cluster: state.name,
        }
        .into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let status = n
        .interactive_command(&args)?
        .stdin(Stdio::inherit())
        .status()
        .map_err(|e| Io::new("run", "nsenter", e))?;
    use std::os::unix::process::ExitStatusExt;
    Ok(status.code().unwrap_or(128 + status.signal().unwrap_or(0)))
}
