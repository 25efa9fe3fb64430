//! The host-matrix tier (#27): kubeadm-nspawn inside stand-in hosts that run systemd as PID 1 with
//! machined, as users' machines do (this machine's PID 1 is not systemd). One stand-in per cgroup
//! view ([`View::Hybrid`]: v1 controllers + a controller-less v2 tree, as this kernel has;
//! [`View::Unified`]: a pure cgroup2 /sys/fs/cgroup). See tests/support/host.rs.
//!
//! This tier never prints SKIPPED under `CI=true`: without root (or debootstrap) CI fails instead.

use std::time::Duration;

use kns_integration_tests::host::{StandInHost, View};
use kns_integration_tests::{privileged_test, require_root};

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The tier's gate: root, systemd-nspawn and debootstrap. Outside CI their absence is one SKIPPED
/// line; under CI it is a failure (CI never silently stops testing the host matrix).
fn host_tier(test: &str) -> bool {
    let missing: Vec<&str> = ["systemd-nspawn", "debootstrap"]
        .into_iter()
        .filter(|tool| {
            !std::env::var("PATH")
                .unwrap_or_default()
                .split(':')
                .any(|dir| std::path::Path::new(dir).join(tool).exists())
        })
        .collect();
    if ci() {
        assert!(
            kns_plumbing::privileges::is_root(),
            "{test}: CI=true but not root: the host-matrix tier must run under CI"
        );
        assert!(
            missing.is_empty(),
            "{test}: CI=true but {missing:?} missing (scripts/setup-host installs them)"
        );
        return true;
    }
    if !missing.is_empty() {
        kns_integration_tests::skipped(&format!(
            "{test} needs {missing:?} (apt-get install systemd-container debootstrap)"
        ));
        return false;
    }
    require_root(test)
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn stand_in_hosts_boot_systemd_with_machined_and_run_the_product_in_a_unit() {
    let name = "stand_in_hosts_boot_systemd_with_machined_and_run_the_product_in_a_unit";
    if !host_tier(name) {
        return;
    }
    privileged_test(name, |sweeper| {
        for view in View::all() {
            let suffix = match view {
                View::Hybrid => "hy",
                View::Unified => "un",
            };
            let mut host = StandInHost::boot_with(
                sweeper,
                suffix,
                kns_integration_tests::host::HostOptions::new(view),
            );
            let seconds = host.wait_booted(Duration::from_secs(60));
            println!("stand-in host {view:?}: running {seconds:.1} s after nspawn started");

            // systemd is PID 1, machined answers (bus-activated), the product would see it.
            assert_eq!(host.exec_ok(&["cat", "/proc/1/comm"]).trim(), "systemd");
            assert_eq!(host.exec_ok(&["hostname"]).trim(), host.name);
            let listed = host.exec(&["machinectl", "list", "--no-legend"]);
            assert!(
                listed.status.success(),
                "machinectl list: {}",
                text(&listed)
            );
            assert_eq!(
                host.exec_ok(&["systemctl", "is-active", "systemd-machined"])
                    .trim(),
                "active"
            );
            host.exec_ok(&["test", "-d", "/run/systemd/machines"]);
            host.exec_ok(&["test", "-d", "/run/systemd/system"]);

            // The view: what /sys/fs/cgroup is inside.
            let fs = host.exec_ok(&["stat", "-f", "-c", "%T", "/sys/fs/cgroup"]);
            match view {
                View::Hybrid => {
                    assert_eq!(fs.trim(), "tmpfs");
                    let unified =
                        host.exec_ok(&["stat", "-f", "-c", "%T", "/sys/fs/cgroup/unified"]);
                    assert_eq!(unified.trim(), "cgroup2fs");
                    // The cgroup-rw unit made the controller hierarchies writable for nested nodes.
                    let mounts =
                        host.exec_ok(&["findmnt", "-rn", "-o", "OPTIONS", "/sys/fs/cgroup/memory"]);
                    assert!(mounts.starts_with("rw"), "{mounts}");
                    // ... and the host's systemd uses them, as a hybrid host's does: a unit with a
                    // memory limit has a memory cgroup of its own, with the limit.
                    let show_memory = "cat /proc/self/cgroup; cat /sys/fs/cgroup/memory$(awk -F: \
                        '$2 == \"memory\" { print $3 }' /proc/self/cgroup)/memory.limit_in_bytes";
                    let out = host.run_unit(&["MemoryMax=123M"], &[], &["sh", "-c", show_memory]);
                    let cgroups = text(&out);
                    assert!(out.status.success(), "{cgroups}");
                    assert!(cgroups.contains(":memory:/system.slice/run-"), "{cgroups}");
                    assert!(cgroups.contains(&(123u64 << 20).to_string()), "{cgroups}");
                }
                View::Unified => assert_eq!(fs.trim(), "cgroup2fs"),
            }

            // The product, run as a user of the host runs it: in a unit of the host's systemd.
            let version = host.run_ok(&[&host.bin("kubeadm-nspawn"), "--version"]);
            assert!(version.starts_with("kubeadm-nspawn "), "{version}");
            let cgroup = host.run_ok(&["cat", "/proc/self/cgroup"]);
            assert!(
                cgroup.contains(".service"),
                "a command run through systemd-run is in a unit: {cgroup}"
            );
            // A failing command's status comes back.
            assert!(!host.run(&["false"]).status.success());

            assert!(
                host.poweroff(Duration::from_secs(20)),
                "clean poweroff of {}",
                host.name
            );
        }
    });
}

/// What the host looks like to a user: machines, units, links, namespaces, mounts and
/// kubeadm-nspawn's cgroups, one sorted line each; compared before `up` and after `down`. The
/// `/run/netns` mount is infrastructure (made once by the first named namespace, as on any host).
fn host_view(host: &StandInHost) -> Vec<String> {
    let script = "machinectl list --no-legend | sed 's/^/machine /'; \
        systemctl list-units --all --plain --no-legend | awk '{print \"unit \" $1}'; \
        ip -o link | awk -F': ' '{print \"link \" $2}' | sed 's/@.*//'; \
        ls /run/netns 2>/dev/null | sed 's/^/netns /'; \
        findmnt -rn -o TARGET | sed 's/^/mount /'; \
        find /sys/fs/cgroup -type d -path '*kubeadm-nspawn*' | sed 's/^/cgroup /'";
    let mut lines: Vec<String> = host
        .exec_ok(&["sh", "-c", script])
        .lines()
        .map(str::to_owned)
        .collect();
    lines.retain(|l| l != "mount /run/netns" && l != "unit run-netns.mount");
    lines.sort();
    lines
}

/// The node's cgroup in each hierarchy (`hierarchy -> path`) from its systemd's /proc/PID/cgroup,
/// as the host sees it.
fn node_cgroups(host: &StandInHost, node: &str) -> Vec<(String, String)> {
    let leader = host.exec_ok(&["machinectl", "show", node, "-p", "Leader", "--value"]);
    host.exec_ok(&["cat", &format!("/proc/{}/cgroup", leader.trim())])
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, h, path) = (f.next()?, f.next()?, f.next()?);
            Some((h.to_owned(), path.to_owned()))
        })
        .collect()
}

/// The fix of #27, as a user of a systemd host sees it: `up` through the host's systemd (a unit,
/// as a login shell's command is) makes nodes that machined knows (`machinectl list/status`),
/// each in a scope of its own with Delegate=yes that outlives the unit `up` ran in; each node has a
/// cgroup of its own in every hierarchy (two nodes never share one: kubelets would collide);
/// `stop` leaves no machine and no scope, `start` brings them back, `down` leaves the host as it
/// was.
#[test]
fn nodes_are_machines_in_scopes_of_their_own_on_a_systemd_host() {
    let name = "nodes_are_machines_in_scopes_of_their_own_on_a_systemd_host";
    if !host_tier(name) {
        return;
    }
    kns_integration_tests::cluster::warm_base();
    privileged_test(name, |sweeper| {
        for (i, view) in View::all().into_iter().enumerate() {
            let mut host = StandInHost::boot_with(
                sweeper,
                &format!("h{i}"),
                kns_integration_tests::host::HostOptions::new(view),
            );
            host.wait_booted(Duration::from_secs(60));
            let kns = host.bin("kubeadm-nspawn");
            let c = sweeper.prefix.clone();
            let nodes = [format!("{c}-n0"), format!("{c}-n1")];
            let env = [(
                "KUBEADM_NSPAWN_RELEASE_MIRROR",
                kns_integration_tests::cluster::NO_MIRROR,
            )];
            let before = host_view(&host);

            let up = host.run_env(
                &env,
                &[
                    &kns,
                    "up",
                    "--nodes",
                    "2",
                    "--name",
                    &c,
                    "--subnet",
                    "10.252.200.0/24",
                    "--no-masquerade",
                ],
            );
            assert!(up.status.success(), "up in {view:?}: {}", text(&up));
            // `up`'s unit is gone (collected); the nodes are machines of the host, in scopes.
            let machines = host.exec_ok(&["machinectl", "list", "--no-legend"]);
            let mut seen: Vec<Vec<(String, String)>> = vec![];
            for node in &nodes {
                assert!(machines.contains(node.as_str()), "{view:?}: {machines}");
                let unit = host.exec_ok(&["machinectl", "show", node, "-p", "Unit", "--value"]);
                let unit = unit.trim();
                assert!(unit.ends_with(".scope"), "{view:?} {node}: unit {unit:?}");
                let delegate =
                    host.exec_ok(&["systemctl", "show", unit, "-p", "Delegate", "--value"]);
                assert_eq!(delegate.trim(), "yes", "{view:?} {unit}");
                host.exec_ok(&["machinectl", "status", node, "--no-pager"]);
                let mut cgroups = node_cgroups(&host, node);
                if view == View::Unified {
                    // This hybrid kernel still lists its v1 hierarchies; a unified host has none.
                    cgroups.retain(|(h, _)| h.is_empty());
                }
                if view == View::Hybrid {
                    for (h, path) in &cgroups {
                        assert!(
                            path != "/" && !path.ends_with(".slice"),
                            "{node} shares the {h} cgroup {path} with the host or other nodes"
                        );
                    }
                }
                for other in &seen {
                    for ((h, a), (_, b)) in cgroups.iter().zip(other) {
                        assert_ne!(a, b, "{view:?}: two nodes in one {h} cgroup");
                    }
                }
                seen.push(cgroups);
            }
            let listed = host.run_ok(&[&kns, "list"]);
            assert!(listed.contains("running"), "{listed}");
            host.run_ok(&[&kns, "exec", &nodes[1], "--", "true"]);

            host.run_ok(&[&kns, "stop", "--name", &c]);
            let machines = host.exec_ok(&["machinectl", "list", "--no-legend"]);
            assert!(!machines.contains(c.as_str()), "after stop: {machines}");
            let units =
                host.exec_ok(&["systemctl", "list-units", "--all", "--plain", "--no-legend"]);
            assert!(
                !units
                    .lines()
                    .any(|u| u.contains(&c) && u.contains(".scope")),
                "a scope outlived stop: {units}"
            );
            host.run_ok(&[&kns, "start", "--name", &c]);
            let machines = host.exec_ok(&["machinectl", "list", "--no-legend"]);
            assert!(
                machines.contains(nodes[0].as_str()),
                "after start: {machines}"
            );

            host.run_ok(&[&kns, "down", "--name", &c]);
            let after = host_view(&host);
            let left: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
            assert!(left.is_empty(), "{view:?}: down left in the host: {left:?}");
            assert!(host.poweroff(Duration::from_secs(20)), "clean poweroff");
        }
    });
}

/// The fix of #27 with Kubernetes on the hybrid host (the one view where this kernel lets a kubelet
/// run): `up` + `init` through the host's systemd, both nodes Ready, and each kubelet's pod cgroups
/// (`kubepods`) inside its own node's cgroups in every hierarchy, none at the host's root (where
/// kubelets of two nodes would collide and clean up each other's pods). Needs KUBE_BIN and
/// KUBE_EXTRA_BIN.
#[test]
fn kubernetes_runs_on_a_hybrid_systemd_host() {
    let name = "kubernetes_runs_on_a_hybrid_systemd_host";
    if !host_tier(name) {
        return;
    }
    let dir = |var: &str| {
        std::env::var_os(var)
            .map(std::path::PathBuf::from)
            .filter(|d| d.is_dir())
    };
    let (Some(kube), Some(extra)) = (dir("KUBE_BIN"), dir("KUBE_EXTRA_BIN")) else {
        assert!(
            !ci(),
            "{name}: CI=true but KUBE_BIN/KUBE_EXTRA_BIN are not set"
        );
        kns_integration_tests::skipped(&format!("{name}: set KUBE_BIN and KUBE_EXTRA_BIN"));
        return;
    };
    kns_integration_tests::cluster::warm_base();
    privileged_test(name, |sweeper| {
        let mut opts = kns_integration_tests::host::HostOptions::new(View::Hybrid);
        opts.binds = vec![
            (kube, "/opt/kube/bin".into(), true),
            (extra, "/opt/kube/extra".into(), true),
        ];
        let mut host = StandInHost::boot_with(sweeper, "k8s", opts);
        host.wait_booted(Duration::from_secs(60));
        let kns = host.bin("kubeadm-nspawn");
        let c = sweeper.prefix.clone();
        let env = [(
            "KUBEADM_NSPAWN_RELEASE_MIRROR",
            kns_integration_tests::cluster::NO_MIRROR,
        )];
        let before = host_view(&host);
        let up = host.run_env(
            &env,
            &[
                &kns,
                "up",
                "--nodes",
                "2",
                "--name",
                &c,
                "--subnet",
                "10.252.201.0/24",
                "--no-masquerade",
            ],
        );
        assert!(up.status.success(), "up: {}", text(&up));
        let started = std::time::Instant::now();
        let init = host.run_env(
            &env,
            &[
                &kns,
                "init",
                "--name",
                &c,
                "--kube-bin",
                "/opt/kube/bin",
                "--extra-bin",
                "/opt/kube/extra",
                "--wait",
                "3m",
            ],
        );
        assert!(init.status.success(), "init: {}", text(&init));
        println!(
            "init on the hybrid stand-in: {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let nodes = host.run_ok(&[
            &kns,
            "exec",
            &format!("{c}-n0"),
            "--",
            "kubectl",
            "--kubeconfig",
            "/etc/kubernetes/admin.conf",
            "get",
            "nodes",
            "--no-headers",
        ]);
        assert_eq!(
            nodes
                .lines()
                .filter(|l| l.split_whitespace().nth(1) == Some("Ready"))
                .count(),
            2,
            "{nodes}"
        );
        // Every v1 hierarchy: pod cgroups only below a node's own cgroup.
        let stray = host.exec_ok(&[
            "sh",
            "-c",
            "for h in /sys/fs/cgroup/*/; do [ -e \"$h/kubepods\" ] && echo \"$h/kubepods\"; done; true",
        ]);
        assert!(
            stray.trim().is_empty(),
            "kubepods at the host's root: {stray}"
        );
        for i in 0..2 {
            let node = format!("{c}-n{i}");
            let mut found = 0;
            for (h, path) in node_cgroups(&host, &node) {
                let h = if h.is_empty() {
                    "unified".to_string()
                } else {
                    h.trim_start_matches("name=").to_string()
                };
                let dir = format!("/sys/fs/cgroup/{h}{path}/kubepods");
                if host.exec(&["test", "-d", &dir]).status.success() {
                    found += 1;
                }
            }
            assert!(found > 0, "{node}: no kubepods under its cgroups");
        }
        host.run_ok(&[&kns, "down", "--name", &c]);
        let after = host_view(&host);
        let left: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
        assert!(left.is_empty(), "down left in the host: {left:?}");
        assert!(host.poweroff(Duration::from_secs(20)), "clean poweroff");
    });
}
