//! The resolver a node uses (its /etc/resolv.conf). A node cannot use the host's when that is the
//! systemd-resolved stub (127.0.0.53, which exists only in the host's network namespace: CoreDNS
//! would forward to itself and its loop detection would stop it); then it gets resolved's
//! upstream servers (`/run/systemd/resolve/resolv.conf`), as kind does. A host with no usable
//! resolver (no file, only loopback servers) gets the servers given with `--dns`, else the node's
//! gateway (the host, which may answer nothing: CoreDNS runs, and answers the cluster's names),
//! with a warning.

use std::net::IpAddr;
use std::path::Path;

/// The host's resolver configuration.
pub const HOST_RESOLV_CONF: &str = "/etc/resolv.conf";
/// systemd-resolved's list of the upstream servers.
pub const RESOLVED_UPLINK: &str = "/run/systemd/resolve/resolv.conf";

/// A node's resolv.conf, and a warning when the host had none a node can use.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeResolver {
    pub text: String,
    pub warning: Option<String>,
}

/// The nameservers, search and options lines of a resolv.conf text; the servers parsed.
fn parse(text: &str) -> (Vec<IpAddr>, Vec<String>) {
    let mut servers = vec![];
    let mut other = vec![];
    for line in text.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                servers.extend(words.next().and_then(|a| a.parse::<IpAddr>().ok()))
            }
            Some("search" | "domain" | "options") => other.push(line.to_owned()),
            _ => {}
        }
    }
    (servers, other)
}

fn usable(servers: &[IpAddr]) -> Vec<IpAddr> {
    servers
        .iter()
        .copied()
        .filter(|s| !s.is_loopback())
        .collect()
}

fn render(servers: &[IpAddr], other: &[String], source: &str) -> String {
    let mut text = format!("# Written by kubeadm-nspawn for this node ({source}).\n");
    for s in servers {
        text.push_str(&format!("nameserver {s}\n"));
    }
    for line in other {
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// The resolv.conf of a node on a host whose files are `read(path)`: `dns` if given, else the
/// host's servers when a node can use them, else resolved's upstreams, else `gateway`.
pub fn node_resolver(
    dns: &[IpAddr],
    gateway: IpAddr,
    read: impl Fn(&Path) -> Option<String>,
) -> NodeResolver {
    if !dns.is_empty() {
        return NodeResolver {
            text: render(dns, &[], "--dns"),
            warning: None,
        };
    }
    let host = read(Path::new(HOST_RESOLV_CONF)).map(|t| parse(&t));
    if let Some((servers, other)) = &host {
        let servers = usable(servers);
        if !servers.is_empty() {
            return NodeResolver {
                text: render(&servers, other, "the host's servers"),
                warning: None,
            };
        }
    }
    if let Some((servers, other)) = read(Path::new(RESOLVED_UPLINK)).map(|t| parse(&t)) {
        let servers = usable(&servers);
        if !servers.is_empty() {
            return NodeResolver {
                text: render(&servers, &other, "systemd-resolved's upstream servers"),
                warning: None,
            };
        }
    }
    let why = match host {
        None => format!("{HOST_RESOLV_CONF} is missing"),
        Some(_) => {
            format!("{HOST_RESOLV_CONF} names only loopback servers, which a node cannot reach")
        }
    };
    NodeResolver {
        text: render(&[gateway], &[], "no usable resolver on the host"),
        warning: Some(format!(
            "{why}: the nodes get nameserver {gateway} (the host); give --dns SERVER (or \
             networking.dns in the config file) for names outside the cluster"
        )),
    }
}

/// [`node_resolver`] on this host.
pub fn this_host(dns: &[IpAddr], gateway: IpAddr) -> NodeResolver {
    node_resolver(dns, gateway, |p| std::fs::read_to_string(p).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn host(files: &[(&str, &str)]) -> impl Fn(&Path) -> Option<String> {
        let files: BTreeMap<String, String> = files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        move |p| files.get(p.to_str().unwrap()).cloned()
    }

    const GATEWAY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 22, 0, 1));

    #[test]
    fn the_resolved_stub_is_replaced_by_its_upstream_servers() {
        let r = node_resolver(
            &[],
            GATEWAY,
            host(&[
                (
                    HOST_RESOLV_CONF,
                    "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n",
                ),
                (
                    RESOLVED_UPLINK,
                    "nameserver 192.168.1.1\nnameserver fd00::1\nsearch lan\n",
                ),
            ]),
        );
        assert_eq!(r.warning, None);
        assert!(
            r.text
                .contains("nameserver 192.168.1.1\nnameserver fd00::1\nsearch lan\n"),
            "{}",
            r.text
        );
        assert!(!r.text.contains("127.0.0.53"));
    }

    #[test]
    fn a_plain_host_resolver_is_kept_and_dns_wins() {
        let plain = host(&[(HOST_RESOLV_CONF, "nameserver 10.255.255.53\n")]);
        let r = node_resolver(&[], GATEWAY, &plain);
        assert!(r.text.contains("nameserver 10.255.255.53\n") && r.warning.is_none());
        let r = node_resolver(&["9.9.9.9".parse().unwrap()], GATEWAY, &plain);
        assert!(r.text.contains("nameserver 9.9.9.9\n") && !r.text.contains("10.255"));
    }

    #[test]
    fn a_host_without_a_usable_resolver_gets_a_working_file_and_a_warning() {
        for files in [vec![], vec![(HOST_RESOLV_CONF, "nameserver 127.0.0.53\n")]] {
            let r = node_resolver(&[], GATEWAY, host(&files));
            assert_eq!(
                r.text.lines().nth(1),
                Some("nameserver 10.22.0.1"),
                "{}",
                r.text
            );
            let warning = r.warning.unwrap();
            assert!(warning.contains("give --dns SERVER"), "{warning}");
        }
    }
}
