//! The CNI result (spec 0.3.x/0.4.0 and 1.0.0 share the fields read here): interfaces, IP
//! configurations, routes, DNS. cnispawn passes results along the chain untouched; this typed view
//! validates them and finds the address a caller wants.

use std::net::IpAddr;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CniResult {
    #[serde(default)]
    pub cni_version: String,
    #[serde(default)]
    pub interfaces: Vec<Interface>,
    #[serde(default)]
    pub ips: Vec<IpConfig>,
    #[serde(default)]
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Interface {
    pub name: String,
    #[serde(default)]
    pub mac: String,
    /// The netns path for interfaces inside the sandbox; absent for host-side ones.
    #[serde(default)]
    pub sandbox: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct IpConfig {
    /// CIDR notation, e.g. `10.22.0.10/16`.
    pub address: String,
    #[serde(default)]
    pub gateway: Option<String>,
    /// Index into `interfaces`.
    #[serde(default)]
    pub interface: Option<usize>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Route {
    pub dst: String,
    #[serde(default)]
    pub gw: Option<String>,
}

impl CniResult {
    /// Parses and checks a result: addresses must be `IP/prefix`, interface indexes must exist.
    pub fn from_value(value: &Value) -> Result<Self, String> {
        if !value.is_object() {
            return Err("a result must be a JSON object".into());
        }
        let result: CniResult =
            serde_json::from_value(value.clone()).map_err(|e| format!("unexpected shape: {e}"))?;
        for ip in &result.ips {
            parse_cidr(&ip.address)?;
            if let Some(i) = ip.interface {
                if i >= result.interfaces.len() {
                    return Err(format!(
                        "ip {} names interface {i}, but there are {}",
                        ip.address,
                        result.interfaces.len()
                    ));
                }
            }
        }
        Ok(result)
    }

    /// The first address of the interface named `ifname` inside the sandbox, or else the first
    /// address of the result.
    pub fn sandbox_address(&self, ifname: &str) -> Option<(IpAddr, u8)> {
        let in_sandbox = |ip: &&IpConfig| {
            ip.interface
                .and_then(|i| self.interfaces.get(i))
                .is_some_and(|intf| intf.name == ifname && intf.sandbox.is_some())
        };
        self.ips
            .iter()
            .find(in_sandbox)
            .or_else(|| self.ips.first())
            .and_then(|ip| parse_cidr(&ip.address).ok())
    }
}

/// Parses `IP/prefix`.
pub fn parse_cidr(cidr: &str) -> Result<(IpAddr, u8), String> {
    let bad = || format!("\"{cidr}\" is not an address in CIDR notation");
    let (ip, prefix) = cidr.split_once('/').ok_or_else(bad)?;
    let ip: IpAddr = ip.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if prefix > max {
        return Err(bad());
    }
    Ok((ip, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What Debian's bridge plugin 1.1.1 returns for spec 1.0.0.
    fn bridge_result_v1() -> Value {
        json!({
            "cniVersion": "1.0.0",
            "interfaces": [
                {"name": "kns0", "mac": "aa:bb:cc:00:00:01"},
                {"name": "veth1234", "mac": "aa:bb:cc:00:00:02"},
                {"name": "eth0", "mac": "aa:bb:cc:00:00:03", "sandbox": "/run/netns/x"}
            ],
            "ips": [{"interface": 2, "address": "10.22.0.10/16", "gateway": "10.22.0.1"}],
            "routes": [{"dst": "10.23.0.0/16", "gw": "10.22.0.1"}],
            "dns": {}
        })
    }

    #[test]
    fn parses_spec_1_0_and_0_4_results() {
        let r = CniResult::from_value(&bridge_result_v1()).unwrap();
        assert_eq!(
            r.sandbox_address("eth0"),
            Some(("10.22.0.10".parse().unwrap(), 16))
        );
        assert_eq!(r.routes[0].gw.as_deref(), Some("10.22.0.1"));

        // 0.4.0 adds "version" to each ip; unknown fields are ignored.
        let v04 = json!({
            "cniVersion": "0.4.0",
            "interfaces": [{"name": "eth0", "sandbox": "/run/netns/x"}],
            "ips": [{"version": "4", "interface": 0, "address": "192.168.1.2/24"}],
        });
        let r = CniResult::from_value(&v04).unwrap();
        assert_eq!(
            r.sandbox_address("eth0"),
            Some(("192.168.1.2".parse().unwrap(), 24))
        );
    }

    #[test]
    fn rejects_bad_results() {
        assert!(CniResult::from_value(&json!("x")).is_err());
        let bad_addr = json!({"cniVersion": "1.0.0", "ips": [{"address": "10.0.0.1"}]});
        assert!(CniResult::from_value(&bad_addr)
            .unwrap_err()
            .contains("CIDR"));
        let bad_index =
            json!({"cniVersion": "1.0.0", "ips": [{"address": "10.0.0.1/8", "interface": 4}]});
        assert!(CniResult::from_value(&bad_index)
            .unwrap_err()
            .contains("interface 4"));
    }

    #[test]
    fn cidr_parsing() {
        assert_eq!(parse_cidr("fd00::1/64").unwrap().1, 64);
        for bad in ["10.0.0.1/33", "10.0.0/8", "x/8", "10.0.0.1/", "/8"] {
            assert!(parse_cidr(bad).is_err(), "{bad}");
        }
    }
}
