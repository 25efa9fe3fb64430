//! IPv6 forwarding on the host. The bridge plugin turns the host's
//! `net.ipv6.conf.all.forwarding` on when it gives a cluster's bridge its IPv6 gateway (as it
//! turns `ip_forward` on for IPv4), and a Linux host that forwards ignores router advertisements
//! on interfaces with `accept_ra = 1`: a default route the kernel learnt from them is then not
//! renewed and goes when it expires. NetworkManager and networkd read advertisements themselves
//! (the kernel's `accept_ra` is 0 there) and are not concerned.

use std::process::Command;

const ALL_FORWARDING: &str = "/proc/sys/net/ipv6/conf/all/forwarding";

/// The warning for a cluster with IPv6 about to be given its bridge on this host, if any.
pub fn warning() -> Option<String> {
    let forwarding = std::fs::read_to_string(ALL_FORWARDING).ok()?;
    let routes = Command::new("ip")
        .args(["-6", "route", "show", "default", "proto", "ra"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())?;
    let accept_ra = |dev: &str| {
        std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{dev}/accept_ra")).ok()
    };
    warning_for(&forwarding, &routes, accept_ra)
}

/// The warning, from the host's `all.forwarding`, its default routes learnt from router
/// advertisements (`ip -6 route show default proto ra`) and each interface's `accept_ra`: only
/// when forwarding is off now and an interface's default route depends on the kernel reading
/// advertisements (`accept_ra` 1; 2 reads them while forwarding too).
pub fn warning_for(
    forwarding: &str,
    ra_routes: &str,
    accept_ra: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    if forwarding.trim() != "0" {
        return None;
    }
    let mut devices: Vec<&str> = ra_routes
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0] == "dev")
        .map(|w| w[1])
        .filter(|dev| accept_ra(dev).is_some_and(|v| v.trim() == "1"))
        .collect();
    devices.sort();
    devices.dedup();
    if devices.is_empty() {
        return None;
    }
    let keep: Vec<String> = devices
        .iter()
        .map(|dev| format!("sysctl -w net.ipv6.conf.{dev}.accept_ra=2"))
        .collect();
    Some(format!(
        "the cluster's IPv6 bridge turns the host's IPv6 forwarding on, and then the kernel \
         ignores the router advertisements that give {} {} IPv6 default route; `{}` keeps it",
        devices.join(", "),
        if devices.len() == 1 { "its" } else { "their" },
        keep.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: &str = "default via fe80::1 dev wlp2s0 proto ra metric 600 pref medium\n";

    #[test]
    fn a_default_route_from_the_kernels_router_advertisements_is_warned_about() {
        let said = warning_for("0\n", ROUTE, |_| Some("1\n".into())).unwrap();
        assert!(
            said.contains("give wlp2s0 its IPv6 default route"),
            "{said}"
        );
        assert!(
            said.ends_with("`sysctl -w net.ipv6.conf.wlp2s0.accept_ra=2` keeps it"),
            "{said}"
        );
    }

    #[test]
    fn nothing_is_said_where_forwarding_or_the_advertisements_are_not_at_stake() {
        // Forwarding on already; accept_ra 2 (read while forwarding) or 0 (a network manager reads
        // them); no route from advertisements (this machine: a static fd00::/64 default route).
        assert_eq!(warning_for("1\n", ROUTE, |_| Some("1".into())), None);
        assert_eq!(warning_for("0", ROUTE, |_| Some("2".into())), None);
        assert_eq!(warning_for("0", ROUTE, |_| Some("0".into())), None);
        assert_eq!(warning_for("0", "", |_| Some("1".into())), None);
    }

    #[test]
    fn every_device_of_a_multipath_route_is_named_once() {
        let routes = "default proto ra metric 1024 pref medium\n\
            \tnexthop via fe80::1 dev eth0 weight 1\n\
            \tnexthop via fe80::2 dev eth1 weight 1\n\
            default via fe80::3 dev eth0 proto ra metric 1025\n";
        let said = warning_for("0", routes, |_| Some("1".into())).unwrap();
        assert!(
            said.contains("give eth0, eth1 their IPv6 default route"),
            "{said}"
        );
        assert!(said.contains("eth0.accept_ra=2; sysctl -w net.ipv6.conf.eth1"));
    }
}
