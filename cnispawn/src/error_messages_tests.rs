//! Every error of cnispawn, printed as its `main` prints it: namespaces, plugins and paths named
//! plainly, no Rust Debug text (kns_plumbing::plain).

use kns_plumbing::undo::WithCleanup;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;

use kns_plumbing::every_variant;
use kns_plumbing::plain::assert_plain;

use crate::error::Error;
use crate::netns::NetnsName;
use crate::plugin::{failure_message, parse_result, CniCommand};
use crate::Options;

fn options() -> Options {
    Options::new(NetnsName::new("kns-dev-0").unwrap())
}

fn plugin_failure() -> Error {
    Error::Plugin {
        plugin: "bridge".into(),
        command: "ADD",
        message: failure_message(
            br#"{"code": 7, "msg": "invalid subnet", "details": "10.251.0.0/33"}"#,
            b"",
            ExitStatus::from_raw(1 << 8),
        ),
    }
}

fn samples() -> Vec<(Error, &'static str)> {
    every_variant!(Error {
        Error::InvalidArgument(..) => (
            NetnsName::new("../x").unwrap_err(),
            "invalid network namespace name \"../x\": it may not start with '.'",
        ), (
            NetnsName::new("a b").unwrap_err(),
            "invalid network namespace name \"a b\": ' ' is not allowed",
        ), (
            {
                let mut o = options();
                o.cni_args = Some("K=V;novalue".into());
                o.validate().unwrap_err()
            },
            "invalid --cni-args \"K=V;novalue\": expected KEY=VALUE pairs separated by ';', got \"novalue\"",
        ), (
            {
                let mut o = options();
                o.ifname = "e/0".into();
                o.validate().unwrap_err()
            },
            "invalid --ifname \"e/0\": ",
        );
        Error::NotPrivileged { .. } => (
            Error::NotPrivileged { missing: "CAP_SYS_ADMIN and CAP_NET_ADMIN".into() },
            "cnispawn needs CAP_SYS_ADMIN and CAP_NET_ADMIN (it creates network namespaces and runs CNI plugins): run it as root",
        );
        Error::NetnsExists { .. } => (
            Error::NetnsExists { name: "kns-dev-0".into(), path: "/run/netns/kns-dev-0".into() },
            "network namespace \"kns-dev-0\" already exists at /run/netns/kns-dev-0: remove it with `cnispawn del --netns kns-dev-0`",
        );
        Error::Io(_) => (
            Error::io(
                "read",
                "/etc/cni/net.d/10-kns.conflist",
                std::io::Error::from_raw_os_error(libc::EACCES),
            ),
            "error: read /etc/cni/net.d/10-kns.conflist: Permission denied (os error 13)\n",
        );
        Error::Sys { .. } => (
            Error::sys("unshare(CLONE_NEWNET)", nix::Error::EPERM),
            "error: unshare(CLONE_NEWNET): EPERM: Operation not permitted\n",
        );
        Error::Config { .. } => (
            Error::Config {
                path: "/etc/cni/net.d/10-kns.conflist".into(),
                msg: "cniVersion \"9.9.9\" is not supported (supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0)".into(),
            },
            "CNI config /etc/cni/net.d/10-kns.conflist: cniVersion \"9.9.9\" is not supported",
        );
        Error::NoConfig(..) => (
            Error::NoConfig(PathBuf::from("/etc/cni/net.d")),
            "no CNI network config (*.conf, *.conflist, *.json) in /etc/cni/net.d: write one there or pass --cni-conf FILE",
        );
        Error::PluginNotFound { .. } => (
            Error::PluginNotFound {
                plugin: "bridge".into(),
                search: "/usr/lib/cni:/opt/cni/bin".into(),
            },
            "CNI plugin \"bridge\" not found in /usr/lib/cni:/opt/cni/bin: install",
        );
        Error::Plugin { .. } => (
            plugin_failure(),
            "CNI plugin \"bridge\" ADD failed: invalid subnet: 10.251.0.0/33 (CNI error code 7: invalid network config)",
        ), (
            Error::Plugin {
                plugin: "tuning".into(),
                command: "DEL",
                message: failure_message(b"", b"", ExitStatus::from_raw(2 << 8)),
            },
            "CNI plugin \"tuning\" DEL failed: it exited with exit status: 2 and printed nothing",
        );
        Error::BadResult { .. } => (
            parse_result("bridge", CniCommand::Add, b"").unwrap_err(),
            "CNI plugin \"bridge\" ADD returned an invalid result: it printed nothing",
        ), (
            parse_result("bridge", CniCommand::Add, b"{\"ips\": 3}").unwrap_err(),
            "CNI plugin \"bridge\" ADD returned an invalid result: ",
        );
        Error::Exec { .. } => (
            Error::Exec {
                command: "/nonexistent/cmd".into(),
                netns: "kns-dev-0".into(),
                source: nix::Error::ENOENT,
            },
            "cannot run `/nonexistent/cmd` in network namespace \"kns-dev-0\": ENOENT: No such file or directory",
        );
        Error::Interrupted => (
            Error::Interrupted,
            "interrupted by a signal; everything cnispawn created was removed",
        );
        Error::Cleanup(_) => (
            plugin_failure().with_cleanup(Err(Error::io(
                "remove",
                "/run/netns/kns-dev-0",
                std::io::Error::from_raw_os_error(libc::EBUSY),
            ))),
            "CNI plugin \"bridge\" ADD failed: invalid subnet: 10.251.0.0/33 (CNI error code 7: invalid network config); cleaning up after it also failed: remove /run/netns/kns-dev-0: Device or resource busy",
        );
    })
}

#[test]
fn every_error_names_things_plainly() {
    assert_plain(samples());
}
