//! `exec` (and `shell`): a command in a node with the terminal attached.

use std::path::Path;
use std::process::Stdio;

use crate::cluster::node;
use crate::error::{Error, Result};
use crate::require_root;

use super::list::find_node;

/// Runs a command in a node with the terminal's stdin/stdout/stderr; returns its exit code.
pub fn exec(state_dir: &Path, node: &str, args: &[String]) -> Result<i32> {
    require_root()?;
    let n = find_node(state_dir, node)?;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let status = node::command(&n, &args)?
        .stdin(Stdio::inherit())
        .status()
        .map_err(|e| Error::io("run", "nsenter", e))?;
    use std::os::unix::process::ExitStatusExt;
    // A command killed by a signal exits like a shell would report it: 128 + the signal.
    Ok(status.code().unwrap_or(128 + status.signal().unwrap_or(0)))
}
