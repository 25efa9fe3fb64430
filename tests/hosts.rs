//! The host-matrix tier (#27): kubeadm-nspawn inside stand-in hosts that run systemd as PID 1 with
//! machined, as users' machines do (this machine's PID 1 is not systemd). One stand-in per cgroup
//! view ([`View::Hybrid`]: v1 controllers + a controller-less v2 tree, as this kernel has;
//! [`View::Unified`]: a pure cgroup2 /sys/fs/cgroup). See tests/support/host.rs.
//!
//! This tier never prints SKIPPED under `CI=true`: without root (or debootstrap) CI fails instead.

use std::time::Duration;

use kns_integration_tests::host::{StandInHost, View};
use kns_integration_tests::kubectl::Kubectl;
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
            if view == View::Unified {
                // No cpu, memory or pids controller in this tree: init says so at once, in one
                // line, and changes nothing.
                let refused = host.run(&[&kns, "init", "--name", &c]);
                let said = text(&refused);
                assert!(!refused.status.success(), "{said}");
                let errors: Vec<&str> = said.lines().filter(|l| l.starts_with("error:")).collect();
                assert_eq!(errors.len(), 1, "{said}");
                assert!(
                    errors[0].contains("a kubelet cannot run in a node"),
                    "{said}"
                );
                let listed = host.run_ok(&[&kns, "list"]);
                assert!(!listed.contains("initializing"), "{listed}");
            }
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
            let left = left_after(&host, &before);
            assert!(left.is_empty(), "{view:?}: down left in the host: {left:?}");
            assert!(host.poweroff(Duration::from_secs(20)), "clean poweroff");
        }
    });
}

/// The fix of #27 with Kubernetes, on a stand-in for a Kubernetes developer's workstation: systemd
/// with machined (the hybrid view, the one where this kernel lets a kubelet run), NetworkManager
/// running, /etc/resolv.conf pointing at systemd-resolved's stub 127.0.0.53, and a forward path
/// that drops (iptables' FORWARD policy DROP, as dockerd sets it, and an nftables `inet` table
/// whose forward chain drops). `up --nodes 3` + `init` through the host's systemd; each kubelet's
/// pod cgroups inside its own node's cgroups; NetworkManager leaves our links alone; a Deployment
/// across the nodes; pod-to-pod traffic across nodes and a Service by its name work through the
/// dropping forward path; CoreDNS runs without restarts; `machinectl list` shows the nodes;
/// `stop`/`start` → Ready; `down` removes the forward rules and leaves the host as it was. Prints
/// the up, init and down figures. Needs KUBE_BIN and KUBE_EXTRA_BIN.
#[test]
fn a_workstation_with_networkmanager_resolved_and_a_dropping_firewall_runs_kubernetes() {
    let name = "a_workstation_with_networkmanager_resolved_and_a_dropping_firewall_runs_kubernetes";
    if !host_tier(name) {
        return;
    }
    let Some((kube, extra)) = kns_integration_tests::cluster::kube_dirs(name) else {
        return;
    };
    kns_integration_tests::cluster::warm_base();
    privileged_test(name, |sweeper| {
        // The workload's image, built here and loaded inside the host.
        let images = sweeper.workdir.join("images");
        std::fs::create_dir_all(&images).unwrap();
        let busybox = kns_integration_tests::debian_busybox_static(&sweeper.workdir.join("deb"));
        let image = "kubeadm-nspawn.local/web:1";
        kns_integration_tests::workload::build_image(
            image,
            &[busybox.to_str().unwrap()],
            &[],
            &images.join("web.tar"),
        );
        let mut opts = kns_integration_tests::host::HostOptions::new(View::Hybrid);
        opts.extra_packages = [
            "network-manager",
            "libpam-systemd",
            "systemd-resolved",
            "nftables",
        ]
        .map(String::from)
        .to_vec();
        opts.binds = vec![
            (kube, "/opt/kube/bin".into(), true),
            (extra, "/opt/kube/extra".into(), true),
            (images, "/opt/images".into(), true),
        ];
        let mut host = StandInHost::boot_with(sweeper, "ws", opts);
        host.wait_booted(Duration::from_secs(60));
        let kns = host.bin("kubeadm-nspawn");
        let c = sweeper.prefix.clone();
        let subnet_prefix = "10.252.202";
        // The workstation: resolved's stub in resolv.conf, with an upstream of the cluster's own
        // range (nothing answers there; cluster names are CoreDNS's own); NetworkManager
        // running; a forward path that drops.
        host.exec_ok(&["mkdir", "-p", "/etc/systemd/resolved.conf.d"]);
        host.write_file(
            "/etc/systemd/resolved.conf.d/upstream.conf",
            &format!("[Resolve]\nDNS={subnet_prefix}.1\n"),
        );
        host.exec_ok(&[
            "sh",
            "-c",
            "systemctl restart systemd-resolved && \
             ln -sf /run/systemd/resolve/stub-resolv.conf /etc/resolv.conf && \
             systemctl start NetworkManager && \
             iptables -P FORWARD DROP && \
             nft add table inet workstation && \
             nft add chain inet workstation forward \
               '{ type filter hook forward priority 0; policy drop; }'",
        ]);
        assert!(host
            .exec_ok(&["cat", "/etc/resolv.conf"])
            .contains("127.0.0.53"));
        assert_eq!(
            host.exec_ok(&["systemctl", "is-active", "NetworkManager"])
                .trim(),
            "active"
        );
        let env = [(
            "KUBEADM_NSPAWN_RELEASE_MIRROR",
            kns_integration_tests::cluster::NO_MIRROR,
        )];
        let before = host_view(&host);
        let rules_before = host.exec_ok(&["sh", "-c", "iptables -S; nft list ruleset"]);

        let started = std::time::Instant::now();
        let up = host.run_env(
            &env,
            &[
                &kns,
                "up",
                "--nodes",
                "3",
                "--name",
                &c,
                "--subnet",
                &format!("{subnet_prefix}.0/24"),
                "--no-masquerade",
            ],
        );
        assert!(up.status.success(), "up: {}", text(&up));
        let up_seconds = started.elapsed().as_secs_f64();
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
                "4m",
            ],
        );
        assert!(init.status.success(), "init: {}", text(&init));
        let init_seconds = started.elapsed().as_secs_f64();
        let n0 = format!("{c}-n0");
        let kubectl = Kubectl::launched_by(|args| {
            let mut all = vec![
                kns.as_str(),
                "exec",
                &n0,
                "--",
                "kubectl",
                "--kubeconfig",
                "/etc/kubernetes/admin.conf",
            ];
            all.extend(args);
            host.unit_command(&[], &[], &all)
        });
        let ready = |want: usize| {
            let ready = kubectl.ready_nodes();
            assert_eq!(ready.len(), want, "Ready: {ready:?}");
        };
        ready(3);

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
        for i in 0..3 {
            let node = format!("{c}-n{i}");
            let found = node_cgroups(&host, &node)
                .into_iter()
                .filter(|(h, path)| {
                    let h = if h.is_empty() {
                        "unified".to_string()
                    } else {
                        h.trim_start_matches("name=").to_string()
                    };
                    let dir = format!("/sys/fs/cgroup/{h}{path}/kubepods");
                    host.exec(&["test", "-d", &dir]).status.success()
                })
                .count();
            assert!(found > 0, "{node}: no kubepods under its cgroups");
        }

        // NetworkManager manages none of our links.
        let devices = host.exec_ok(&["nmcli", "-t", "-f", "DEVICE,STATE", "device"]);
        let ours: Vec<&str> = devices.lines().filter(|l| l.starts_with("kns")).collect();
        assert!(
            !ours.is_empty(),
            "NetworkManager does not list our links: {devices}"
        );
        for line in &ours {
            assert!(
                line.ends_with(":unmanaged"),
                "NetworkManager took {line}:\n{devices}"
            );
        }
        // machined knows the nodes.
        let machines = host.exec_ok(&["machinectl", "list", "--no-legend"]);
        for i in 0..3 {
            assert!(machines.contains(&format!("{c}-n{i}")), "{machines}");
        }

        // The workload, across the nodes, through the dropping forward path.
        host.run_ok(&[&kns, "load", "--name", &c, "/opt/images/web.tar"]);
        let manifest = kns_integration_tests::workload::DEPLOYMENT.replace("IMAGE", image);
        host.exec_ok(&["mkdir", "-p", "/var/lib/kubeadm-nspawn/manifests"]);
        let manifest_path = "/var/lib/kubeadm-nspawn/manifests/web.yaml";
        host.write_file(manifest_path, &manifest);
        let applied = host.run(&[
            "sh",
            "-c",
            &format!(
                "{kns} exec {n0} -- kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f - \
                 < {manifest_path}"
            ),
        ]);
        assert!(applied.status.success(), "apply: {}", text(&applied));
        kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=180s"]);
        let pods = kubectl.jsonpath(
            &["get", "pods", "-l", "app=web"],
            "{range .items[*]}{.metadata.name} {.spec.nodeName} {.status.podIP}{\"\\n\"}{end}",
        );
        let pods: Vec<Vec<String>> = pods
            .lines()
            .map(|l| l.split_whitespace().map(str::to_owned).collect())
            .collect();
        let spread: std::collections::BTreeSet<&String> = pods.iter().map(|p| &p[1]).collect();
        assert_eq!(spread.len(), 3, "one replica per node: {pods:?}");
        let in_pod =
            |pod: &str, script: &str| kubectl.exec_until(pod, script, |t| t.contains("200 OK"));
        // Pod to pod, each to the next node's pod.
        for (i, pod) in pods.iter().enumerate() {
            let other = &pods[(i + 1) % pods.len()];
            let said = in_pod(
                &pod[0],
                &kns_integration_tests::workload::http_get(&other[2], 8080),
            );
            assert!(
                said.contains("200 OK"),
                "{} -> {}: {said}",
                pod[0],
                other[2]
            );
        }
        // The Service by its name (CoreDNS, kube-proxy).
        let said = in_pod(&pods[0][0], kns_integration_tests::workload::WEB_BY_NAME);
        if !said.contains("200 OK") {
            diagnose(&kubectl);
        }
        assert!(said.contains("200 OK"), "web by name: {said}");
        let restarts = kubectl.jsonpath(
            &["get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns"],
            "{.items[*].status.containerStatuses[*].restartCount}",
        );
        assert!(
            restarts.split_whitespace().all(|r| r == "0"),
            "CoreDNS restarted: {restarts}"
        );
        // The rules added to the forward path are listed.
        let listed = host.run_ok(&[&kns, "list"]);
        assert!(listed.contains("running"), "{listed}");

        // stop/start: machines gone and back, Ready again.
        host.run_ok(&[&kns, "stop", "--name", &c]);
        let machines = host.exec_ok(&["machinectl", "list", "--no-legend"]);
        assert!(!machines.contains(c.as_str()), "after stop: {machines}");
        host.run_ok(&[&kns, "start", "--name", &c, "--wait", "4m"]);
        ready(3);

        // It borrows the host, which is powered off below.
        drop(kubectl);
        let started = std::time::Instant::now();
        host.run_ok(&[&kns, "down", "--name", &c]);
        let down_seconds = started.elapsed().as_secs_f64();
        println!(
            "workstation stand-in (3 nodes): up {up_seconds:.1} s, init to Ready \
             {init_seconds:.1} s, down {down_seconds:.1} s"
        );
        let rules_after = host.exec_ok(&["sh", "-c", "iptables -S; nft list ruleset"]);
        assert_eq!(rules_after, rules_before, "down left forward rules");
        let left = left_after(&host, &before);
        assert!(left.is_empty(), "down left in the host: {left:?}");
        assert!(host.poweroff(Duration::from_secs(20)), "clean poweroff");
    });
}

/// What `host_view` has now that it did not have `before`: systemd drops the units of unmounted
/// roots and finished scopes a moment after they went, so looked at for up to 10 s; what is
/// left is shown with its state.
fn left_after(host: &StandInHost, before: &[String]) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let after = host_view(host);
        let left: Vec<String> = after.into_iter().filter(|l| !before.contains(l)).collect();
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left
                .into_iter()
                .map(|l| match l.strip_prefix("unit ") {
                    Some(unit) => format!(
                        "{l} ({})",
                        host.exec_ok(&[
                            "systemctl",
                            "show",
                            unit,
                            "-p",
                            "ActiveState,SubState,Result",
                            "--value"
                        ])
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                    ),
                    None => l,
                })
                .collect();
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// What the cluster's networking looks like when a Service is not reached: the pods, endpoints,
/// kube-proxy's and CoreDNS's logs (also of their previous container).
fn diagnose(kubectl: &Kubectl) {
    for args in [
        &["get", "pods", "-A", "-o", "wide"][..],
        &["get", "endpoints", "-A"],
        &[
            "describe",
            "pods",
            "-n",
            "kube-system",
            "-l",
            "k8s-app=kube-proxy",
        ],
        &[
            "logs",
            "-n",
            "kube-system",
            "-l",
            "k8s-app=kube-proxy",
            "--tail=40",
        ],
        &[
            "logs",
            "-n",
            "kube-system",
            "-l",
            "k8s-app=kube-proxy",
            "--previous",
            "--tail=40",
        ],
        &[
            "logs",
            "-n",
            "kube-system",
            "-l",
            "k8s-app=kube-dns",
            "--tail=40",
        ],
    ] {
        let out = kubectl.output(args, None);
        println!("kubectl {}:\n{}", args.join(" "), text(&out));
    }
}
