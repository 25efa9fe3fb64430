//! The host's addresses and routes, which a cluster's ranges must not take (see
//! [`crate::model::ranges`]).

use serde_json::Value;

use super::error::{Error, Result};
use crate::model::ranges::{parse_claims, HostClaim};
use crate::model::ranges6::{self, HostClaim6};

/// Every IPv4 address and route of the host (all interfaces, all routing tables).
pub fn host_claims() -> Result<Vec<HostClaim>> {
    let addresses = ip_json(&["-4", "addr", "show"])?;
    let routes = ip_json(&["-4", "route", "show", "table", "all"])?;
    Ok(parse_claims(&addresses, &routes))
}

/// Every IPv6 address and route of the host (all interfaces, all routing tables).
pub fn host_claims6() -> Result<Vec<HostClaim6>> {
    let addresses = ip_json(&["-6", "addr", "show"])?;
    let routes = ip_json(&["-6", "route", "show", "table", "all"])?;
    Ok(ranges6::parse_claims(&addresses, &routes))
}

fn ip_json(args: &[&str]) -> Result<Value> {
    let out = std::process::Command::new("ip")
        .arg("-json")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::io("run", "ip", e))?;
    if !out.status.success() {
        return Err(Error::tool(
            "ip",
            String::from_utf8_lossy(&out.stderr).trim(),
        ));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::tool("ip", format!("printed no JSON: {e}")))
}
