//! Privileged tests of the address-range checks of `up` (and `init`): a node subnet that collides
//! with the host's addresses or routes, another cluster, or the cluster's own pod and service
//! ranges is refused with the collision named and nothing created; two `up`s claiming one range
//! at the same moment: exactly one wins. The host's colliding network is a test-owned bridge with
//! a test range (never the real uplink), removed by the sweeper.

use std::process::Output;

use kns_integration_tests::cluster::{assert_fails_with, assert_ok, warm_base, TestCluster};
use kns_integration_tests::{privileged_test, run_ok, HostSnapshot};

#[test]
fn colliding_ranges_are_refused_with_the_collision_named() {
    privileged_test(
        "colliding_ranges_are_refused_with_the_collision_named",
        |sweeper| {
            warm_base();
            let c = TestCluster::new(sweeper);
            let octet = &c.subnet.split('.').nth(2).unwrap().to_owned();
            // The host's "LAN" and a route of the host's, both the test's own.
            let bridge = format!("{}h", sweeper.prefix);
            run_ok("ip", &["link", "add", &bridge, "type", "bridge"]);
            run_ok(
                "ip",
                &[
                    "addr",
                    "add",
                    &format!("10.250.{octet}.1/24"),
                    "dev",
                    &bridge,
                ],
            );
            run_ok("ip", &["link", "set", &bridge, "up"]);
            run_ok(
                "ip",
                &[
                    "route",
                    "add",
                    &format!("10.249.{octet}.0/24"),
                    "dev",
                    &bridge,
                ],
            );
            let name = c.name.clone();
            let up = |extra: &[&str]| -> Vec<String> {
                let mut args = vec!["up", "--name", name.as_str(), "--no-masquerade"];
                args.extend(extra);
                args.into_iter().map(String::from).collect()
            };
            let cases: Vec<(Vec<String>, String)> = vec![
                (
                    up(&["--subnet", &format!("10.250.{octet}.0/24")]),
                    format!("collides with the host's interface {bridge} (10.250.{octet}.0/24)"),
                ),
                (
                    up(&["--subnet", &format!("10.250.{octet}.0/28")]),
                    format!("collides with the host's interface {bridge}"),
                ),
                (
                    up(&["--subnet", &format!("10.249.{octet}.128/25")]),
                    format!("collides with the host's route to 10.249.{octet}.0/24 via {bridge}"),
                ),
                (
                    up(&["--subnet", &c.subnet, "--pod-subnet", &c.subnet]),
                    format!("--subnet {} collides with --pod-subnet", c.subnet),
                ),
                (
                    up(&["--subnet", &c.subnet, "--service-subnet", "10.252.0.0/16"]),
                    "collides with --service-subnet 10.252.0.0/16".into(),
                ),
                (
                    up(&["--subnet", &c.subnet, "--pod-subnet", "10.96.0.0/16"]),
                    "--pod-subnet 10.96.0.0/16 collides with --service-subnet 10.96.0.0/12".into(),
                ),
                (
                    up(&[
                        "--subnet",
                        &c.subnet,
                        "--pod-subnet",
                        "10.244.0.0/26",
                        "--nodes",
                        "8",
                    ]),
                    "too small for 8 nodes".into(),
                ),
            ];
            for (args, expected) in &cases {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                c.assert_refused(&args, expected);
            }
            // Every refusal proposes a free range.
            let out = c.run(
                &up(&["--subnet", &format!("10.250.{octet}.0/24")])
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            );
            assert!(String::from_utf8_lossy(&out.stderr).contains("is free"));

            // Another cluster (same state directory): overlap, not only equality, is refused.
            assert_ok(&c.up(1, &[]), "up of the first cluster");
            let second = format!("{}b", c.name);
            let second_dir = c.state_dir.join("clusters").join(&second);
            for subnet in [c.subnet.replace(".0/24", ".128/25"), "10.252.0.0/16".into()] {
                let before = HostSnapshot::take();
                let out = c.run(&[
                    "up",
                    "--name",
                    &second,
                    "--subnet",
                    &subnet,
                    "--no-masquerade",
                ]);
                assert_fails_with(
                    &out,
                    &format!("collides with cluster \"{}\" (subnet {})", c.name, c.subnet),
                );
                assert!(HostSnapshot::take().added_since(&before).is_empty());
                assert!(!second_dir.exists());
            }
            // `init` checks again: a route that appeared since `up` stops it before any node is
            // touched (the check comes before the binaries are looked for).
            run_ok(
                "ip",
                &[
                    "route",
                    "add",
                    &c.subnet.replace(".0/24", ".0/26"),
                    "dev",
                    &bridge,
                ],
            );
            let out = c.run(&["init", "--name", &c.name, "--kube-bin", "/nonexistent"]);
            assert_fails_with(&out, "collides with the host's route");
            assert_ok(&c.run(&["down", "--name", &c.name]), "down");
        },
    );
}

#[test]
fn two_ups_claiming_one_range_at_once_exactly_one_wins() {
    privileged_test(
        "two_ups_claiming_one_range_at_once_exactly_one_wins",
        |sweeper| {
            warm_base();
            let c = TestCluster::new(sweeper);
            for round in 0..3 {
                // Short names: bridge names longer than 15 characters are hashed and would lose the
                // test prefix the sweeper looks for.
                let names = [format!("{}a", c.name), format!("{}b", c.name)];
                let children: Vec<_> = names
                    .iter()
                    .map(|name| {
                        c.cmd(&[
                            "up",
                            "--nodes",
                            "1",
                            "--name",
                            name,
                            "--subnet",
                            &c.subnet,
                            "--no-masquerade",
                        ])
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::piped())
                        .spawn()
                        .unwrap()
                    })
                    .collect();
                let outcomes: Vec<Output> = children
                    .into_iter()
                    .map(|ch| ch.wait_with_output().unwrap())
                    .collect();
                let won: Vec<&String> = names
                    .iter()
                    .zip(&outcomes)
                    .filter(|(_, o)| o.status.success())
                    .map(|(n, _)| n)
                    .collect();
                assert_eq!(
                    won.len(),
                    1,
                    "round {round}: {:?}",
                    outcomes
                        .iter()
                        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
                        .collect::<Vec<_>>()
                );
                let lost = outcomes.iter().find(|o| !o.status.success()).unwrap();
                assert_fails_with(lost, "collides with cluster");
                assert_ok(&c.run(&["down", "--name", won[0]]), "down of the winner");
            }
        },
    );
}
