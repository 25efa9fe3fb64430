//! The host's addresses and routes, which a cluster's ranges must not take (see
//! [`crate::model::ranges`]).

use serde_json::Value;

use super::error::{Error, Result};
use crate::model::cidr::Address;
use crate::model::collisions::{parse_claims, HostClaim};

/// Every IPv4 address and route of the host (all interfaces, all routing tables).
pub fn host_claims() -> Result<Vec<HostClaim<std::net::Ipv4Addr>>> {
    claims("-4")
}

/// Every IPv6 address and route of the host (all interfaces, all routing tables).
pub fn host_claims6() -> Result<Vec<HostClaim<std::net::Ipv6Addr>>> {
    claims("-6")
}

/// The host's addresses and routes of the family `A`, whose `ip` flag is `family` (`-4`, `-6`).
fn claims<A: Address>(family: &str) -> Result<Vec<HostClaim<A>>> {
    let addresses = ip_json(&[family, "addr", "show"])?;
    let routes = ip_json(&[family, "route", "show", "table", "all"])?;
    Ok(parse_claims(&addresses, &routes))
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
