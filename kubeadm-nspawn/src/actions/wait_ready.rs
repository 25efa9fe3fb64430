//! Step: wait (up to `init --wait`) until every node reports Ready.

use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::kube::KubeBinaries;

use super::InitContext;

pub fn run(ctx: &InitContext, kube: &KubeBinaries) -> Result<()> {
    let timeout = ctx.opts.wait;
    if timeout.is_zero() {
        eprintln!("   not waiting (--wait 0)");
        return Ok(());
    }
    let kubectl = kube.path("kubectl");
    let kubeconfig = ctx.paths.dir.join("kubeconfig");
    let start = Instant::now();
    loop {
        let out = Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["get", "nodes", "-o", "json"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::io("run", &kubectl, e))?;
        let listing: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let not_ready: Vec<String> = ctx
            .state
            .nodes
            .iter()
            .filter(|n| !is_ready(&listing, &n.name))
            .map(|n| n.name.clone())
            .collect();
        if not_ready.is_empty() {
            eprintln!(
                "   all {} nodes Ready after {:.1} s",
                ctx.state.nodes.len(),
                start.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(Error::Timeout {
                what: format!("nodes Ready: {} not Ready", not_ready.join(", ")),
                after: timeout,
                look: format!(
                    "`kubectl --kubeconfig {} describe nodes`",
                    kubeconfig.display()
                ),
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

fn is_ready(listing: &Value, name: &str) -> bool {
    listing["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["metadata"]["name"] == name)
        .flat_map(|n| {
            n["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}
