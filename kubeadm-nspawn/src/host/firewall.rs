//! The host's forward path, opened for a cluster's bridge where the host drops forwarded packets.
//! With br_netfilter (built into common kernels, on by default per network namespace) even
//! traffic between two nodes on one bridge goes through the host's FORWARD chain: Docker's
//! `-P FORWARD DROP`, or an nftables chain with `policy drop` (firewalld, a hand-made `inet
//! filter`), cuts node from node (measured in a stand-in host). Then `up` adds accept rules for
//! the bridge (iptables: in a chain of its own, `KNS-FORWARD`, jumped to first; nftables: into
//! each dropping chain, marked by a comment), `start` adds them again after a reboot, `down`
//! takes them out; nothing else of the host's rules changes. The rules added are recorded in the
//! cluster's state.

use std::process::{Command, Stdio};

use serde_json::Value;

use super::error::{Error, Result};
pub use crate::model::state::ForwardRule;

/// kubeadm-nspawn's own iptables chain.
pub const CHAIN: &str = "KNS-FORWARD";

fn comment(cluster: &str) -> String {
    format!("kubeadm-nspawn {cluster}")
}

/// The iptables rules a cluster's bridge needs: node to node always; with masquerade, node to
/// the outside and the replies.
pub fn iptables_rules(bridge: &str, cluster: &str, masquerade: bool) -> Vec<Vec<String>> {
    let mut rules = vec![vec!["-i", bridge, "-o", bridge]];
    if masquerade {
        rules.push(vec!["-i", bridge, "!", "-o", bridge]);
        rules.push(vec![
            "-o",
            bridge,
            "-m",
            "conntrack",
            "--ctstate",
            "RELATED,ESTABLISHED",
        ]);
    }
    let comment = comment(cluster);
    rules
        .into_iter()
        .map(|r| {
            let mut r: Vec<String> = r.into_iter().map(String::from).collect();
            r.extend(["-m", "comment", "--comment", &comment, "-j", "ACCEPT"].map(String::from));
            r
        })
        .collect()
}

/// The nftables rules of the same.
pub fn nftables_rules(bridge: &str, cluster: &str, masquerade: bool) -> Vec<String> {
    let comment = comment(cluster);
    let mut rules = vec![format!(
        "iifname \"{bridge}\" oifname \"{bridge}\" accept comment \"{comment}\""
    )];
    if masquerade {
        rules.push(format!(
            "iifname \"{bridge}\" oifname != \"{bridge}\" accept comment \"{comment}\""
        ));
        rules.push(format!(
            "oifname \"{bridge}\" ct state established,related accept comment \"{comment}\""
        ));
    }
    rules
}

/// An nftables base chain on the forward hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftChain {
    pub family: String,
    pub table: String,
    pub chain: String,
}

/// The forward chains of `nft -j list chains` that drop what they do not accept, leaving out the
/// tables iptables itself manages (`ip filter`, `ip6 filter` when iptables is its nft backend).
pub fn dropping_chains(listing: &Value, iptables_on_nft: bool) -> Vec<NftChain> {
    listing["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item.get("chain"))
        .filter(|c| c["hook"] == "forward" && c["policy"] == "drop")
        .filter(|c| {
            let own = matches!(c["family"].as_str(), Some("ip" | "ip6")) && c["table"] == "filter";
            !(iptables_on_nft && own)
        })
        .map(|c| NftChain {
            family: c["family"].as_str().unwrap_or_default().to_owned(),
            table: c["table"].as_str().unwrap_or_default().to_owned(),
            chain: c["name"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// Whether `iptables -S FORWARD` says the chain drops by policy.
pub fn iptables_drops(listing: &str) -> bool {
    listing.lines().any(|l| l.trim() == "-P FORWARD DROP")
}

fn run(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io("run", program, e))?;
    if !out.status.success() {
        return Err(Error::tool(
            &format!("{program} {}", args.join(" ")),
            String::from_utf8_lossy(&out.stderr).trim(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ok(program: &str, args: &[&str]) -> bool {
    run(program, args).is_ok()
}

fn exists(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// The iptables program of a family.
fn iptables(ipv6: bool) -> &'static str {
    if ipv6 {
        "ip6tables"
    } else {
        "iptables"
    }
}

/// Opens the host's forward path for `bridge` where it drops (idempotent); returns the rules that
/// are there for the cluster now. `ipv6`: the cluster has IPv6 (#31), so ip6tables' forward path
/// too (bridged IPv6 goes through it as IPv4 through iptables'); IPv6 never leaves the bridge, so
/// only the node-to-node rule, masquerade or not.
pub fn open(bridge: &str, cluster: &str, masquerade: bool, ipv6: bool) -> Result<Vec<ForwardRule>> {
    let mut added = vec![];
    for (v6, masquerade) in [(false, masquerade), (true, false)] {
        let program = iptables(v6);
        if (v6 && !ipv6) || !exists(program) || !iptables_drops(&run(program, &["-S", "FORWARD"])?)
        {
            continue;
        }
        if !ok(program, &["-S", CHAIN]) {
            run(program, &["-N", CHAIN])?;
        }
        if !ok(program, &["-C", "FORWARD", "-j", CHAIN]) {
            run(program, &["-I", "FORWARD", "1", "-j", CHAIN])?;
        }
        for rule in iptables_rules(bridge, cluster, masquerade) {
            let args: Vec<&str> = rule.iter().map(String::as_str).collect();
            if !ok(program, &[&["-C", CHAIN][..], &args].concat()) {
                run(program, &[&["-A", CHAIN][..], &args].concat())?;
            }
            added.push(ForwardRule::Iptables { rule, ipv6: v6 });
        }
    }
    if exists("nft") {
        let on_nft = run("iptables", &["-V"]).is_ok_and(|v| v.contains("nf_tables"));
        let listing: Value = serde_json::from_str(&run("nft", &["-j", "list", "chains"])?)
            .map_err(|e| Error::tool("nft -j list chains", e.to_string()))?;
        for c in dropping_chains(&listing, on_nft) {
            let present = run("nft", &["list", "chain", &c.family, &c.table, &c.chain])?;
            for rule in nftables_rules(bridge, cluster, masquerade) {
                if !present.contains(&rule) {
                    let mut args = vec!["insert", "rule", &c.family, &c.table, &c.chain];
                    args.extend(rule.split(' '));
                    run("nft", &args)?;
                }
                added.push(ForwardRule::Nftables {
                    family: c.family.clone(),
                    table: c.table.clone(),
                    chain: c.chain.clone(),
                    rule,
                });
            }
        }
    }
    Ok(added)
}

/// Takes `rules` out again; the iptables chain too once nothing of any cluster is left in it.
pub fn close(rules: &[ForwardRule]) -> Result<()> {
    for r in rules {
        match r {
            ForwardRule::Iptables { rule, ipv6 } => {
                let program = iptables(*ipv6);
                let args: Vec<&str> = rule.iter().map(String::as_str).collect();
                if ok(program, &[&["-C", CHAIN][..], &args].concat()) {
                    run(program, &[&["-D", CHAIN][..], &args].concat())?;
                }
            }
            ForwardRule::Nftables {
                family,
                table,
                chain,
                rule,
            } => {
                let Ok(listing) = run("nft", &["-a", "list", "chain", family, table, chain]) else {
                    continue;
                };
                for line in listing.lines().filter(|l| l.contains(rule.as_str())) {
                    if let Some(handle) = line.rsplit("# handle ").next().filter(|h| *h != line) {
                        run(
                            "nft",
                            &[
                                "delete",
                                "rule",
                                family,
                                table,
                                chain,
                                "handle",
                                handle.trim(),
                            ],
                        )?;
                    }
                }
            }
        }
    }
    for program in [iptables(false), iptables(true)] {
        let ours_left = run(program, &["-S", CHAIN]).is_ok_and(|l| l.lines().count() > 1);
        if ok(program, &["-S", CHAIN]) && !ours_left {
            while ok(program, &["-D", "FORWARD", "-j", CHAIN]) {}
            run(program, &["-X", CHAIN])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_accept_the_bridge_and_say_whose_they_are() {
        let plain = iptables_rules("kns-dev", "dev", false);
        assert_eq!(
            plain,
            [[
                "-i",
                "kns-dev",
                "-o",
                "kns-dev",
                "-m",
                "comment",
                "--comment",
                "kubeadm-nspawn dev",
                "-j",
                "ACCEPT"
            ]]
        );
        assert_eq!(iptables_rules("kns-dev", "dev", true).len(), 3);
        assert_eq!(
            nftables_rules("kns-dev", "dev", false),
            ["iifname \"kns-dev\" oifname \"kns-dev\" accept comment \"kubeadm-nspawn dev\""]
        );
    }

    #[test]
    fn an_ip6tables_rule_is_recorded_as_such_and_older_records_are_iptables() {
        let rule = iptables_rules("kns-dev", "dev", false).remove(0);
        let v6 = ForwardRule::Iptables {
            rule: rule.clone(),
            ipv6: true,
        };
        let json = serde_json::to_value(&v6).unwrap();
        assert_eq!(json["in"], "iptables");
        assert_eq!(json["ipv6"], true);
        assert!(v6
            .to_string()
            .starts_with("ip6tables -A KNS-FORWARD -i kns-dev"));
        let old: ForwardRule =
            serde_json::from_value(serde_json::json!({"in": "iptables", "rule": rule})).unwrap();
        assert_eq!(old, ForwardRule::Iptables { rule, ipv6: false });
        assert!(!serde_json::to_string(&old).unwrap().contains("ipv6"));
        assert_eq!((iptables(false), iptables(true)), ("iptables", "ip6tables"));
    }

    #[test]
    fn dropping_forward_chains_are_found_but_not_iptables_own() {
        let listing: Value = serde_json::json!({"nftables": [
            {"metainfo": {"version": "1.0.6"}},
            {"chain": {"family": "inet", "table": "filter", "name": "forward", "hook": "forward", "policy": "drop", "prio": 0}},
            {"chain": {"family": "inet", "table": "filter", "name": "input", "hook": "input", "policy": "drop"}},
            {"chain": {"family": "ip", "table": "filter", "name": "FORWARD", "hook": "forward", "policy": "drop"}},
            {"chain": {"family": "inet", "table": "firewalld", "name": "filter_FORWARD", "hook": "forward", "policy": "accept"}}
        ]});
        let found = dropping_chains(&listing, true);
        assert_eq!(
            found,
            [NftChain {
                family: "inet".into(),
                table: "filter".into(),
                chain: "forward".into()
            }]
        );
        assert_eq!(
            dropping_chains(&listing, false).len(),
            2,
            "legacy iptables: ip filter is nft's"
        );
        assert!(iptables_drops(
            "-P FORWARD DROP\n-A FORWARD -j DOCKER-USER\n"
        ));
        assert!(!iptables_drops("-P FORWARD ACCEPT\n"));
    }
}
