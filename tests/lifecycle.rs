//! Privileged tests of `stop` and `start` with booted nodes (no Kubernetes needed): a stopped
//! cluster leaves nothing on the host but keeps its nodes' disks, starts again with the same
//! addresses and files, also after a (simulated) host reboot and with one node killed from outside;
//! what `stop`/`start`/`up`/`exec`/`load` say about stopped and missing clusters.

use kns_integration_tests::cluster::{
    assert_fails_with, assert_hint, assert_ok, simulate_reboot, warm_base, TestCluster,
};
use kns_integration_tests::{privileged_test, HostSnapshot};
use serde_json::Value;

fn listed(c: &TestCluster) -> (String, Vec<String>) {
    let table = String::from_utf8_lossy(&c.run(&["list"]).stdout).into_owned();
    let json: Value = serde_json::from_slice(&c.run(&["list", "--json"]).stdout).unwrap();
    let ips = json[0]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["ip"].as_str().unwrap().to_owned())
        .collect();
    (table, ips)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn stopped_nodes_start_again_with_their_files_and_addresses() {
    privileged_test(
        "stopped_nodes_start_again_with_their_files_and_addresses",
        |sweeper| {
            warm_base();
            let c = TestCluster::new(sweeper);
            assert_fails_with(&c.run(&["stop", "--name", &c.name]), "no cluster");
            assert_fails_with(&c.run(&["start", "--name", &c.name]), "no cluster");
            let before_up = HostSnapshot::take();
            assert_ok(&c.up(2, &[]), "up --nodes 2");
            let (table, ips) = listed(&c);
            assert!(table.contains("[running]"), "{table}");
            let marker = ["sh", "-c", "cat /root/marker"];
            assert_ok(
                &c.exec(&c.node(1), &["sh", "-c", "echo kept > /root/marker"]),
                "write",
            );

            let stop = c.run(&["stop", "--name", &c.name]);
            assert_ok(&stop, "stop");
            println!("stop of 2 booted nodes: {}", stdout(&stop));
            let left = HostSnapshot::take().added_since(&before_up);
            assert!(left.is_empty(), "stop left on the host: {left:?}");
            let (table, _) = listed(&c);
            assert!(
                table.contains("[stopped]") && !table.contains("running"),
                "{table}"
            );
            // What needs a running cluster says how to get one.
            let exec = c.exec(&c.node(0), &["true"]);
            assert_fails_with(&exec, "is stopped");
            assert_hint(&exec, "start --name");
            assert_fails_with(
                &c.run(&["load", "--name", &c.name, "/etc/hostname"]),
                "is stopped",
            );
            let again = c.up(2, &[]);
            assert_fails_with(&again, "is stopped");
            assert!(String::from_utf8_lossy(&again.stderr).contains("down --name"));
            // Stopping a stopped cluster is harmless.
            assert_ok(&c.run(&["stop", "--name", &c.name]), "second stop");

            let start = c.run(&["start", "--name", &c.name]);
            assert_ok(&start, "start");
            println!("start of 2 booted nodes: {}", stdout(&start));
            let (table, ips_after) = listed(&c);
            assert!(table.contains("[running]"), "{table}");
            assert_eq!(ips_after, ips, "the same addresses");
            assert_eq!(stdout(&c.exec(&c.node(1), &marker)), "kept");
            assert_ok(
                &c.exec(&c.node(0), &["ping", "-c", "1", "-W", "2", &ips[1]]),
                "node to node",
            );
            // Starting a running cluster does nothing and says so.
            let noop = c.run(&["start", "--name", &c.name]);
            assert_ok(&noop, "start of a running cluster");
            assert!(String::from_utf8_lossy(&noop.stderr).contains("running already"));

            // One node killed from outside: partly stopped; start starts just that one.
            simulate_reboot_of_node(&c, 1);
            let (table, _) = listed(&c);
            assert!(table.contains("partly stopped: 1 of 2"), "{table}");
            assert_ok(
                &c.run(&["start", "--name", &c.name]),
                "start of the missing node",
            );
            assert_eq!(stdout(&c.exec(&c.node(1), &marker)), "kept");

            // A host reboot: processes, mounts, namespaces, the bridge gone; state.json stays.
            simulate_reboot(&c, 2);
            let (table, _) = listed(&c);
            assert!(table.contains("[stopped]"), "{table}");
            assert_ok(
                &c.run(&["start", "--name", &c.name]),
                "start after a reboot",
            );
            assert_eq!(stdout(&c.exec(&c.node(1), &marker)), "kept");
            assert_ok(
                &c.exec(&c.node(1), &["ping", "-c", "1", "-W", "2", &ips[0]]),
                "node to node",
            );

            // A stopped cluster goes with `down`; so does a rebooted one (the leak check follows).
            assert_ok(&c.run(&["stop", "--name", &c.name]), "stop");
            assert_ok(
                &c.run(&["down", "--name", &c.name]),
                "down of a stopped cluster",
            );
            assert!(!c.cluster_dir().exists());
            assert_ok(&c.up(1, &[]), "up of a cluster to reboot");
            simulate_reboot(&c, 1);
            assert_ok(&c.run(&["down", "--name", &c.name]), "down after a reboot");
        },
    );
}

/// Node `i` alone killed from outside (as a crash or an OOM kill of its nspawn would).
fn simulate_reboot_of_node(c: &TestCluster, i: usize) {
    let state: Value =
        serde_json::from_slice(&std::fs::read(c.cluster_dir().join("state.json")).unwrap())
            .unwrap();
    let pid = state["nodes"][i]["pid"].as_u64().unwrap() as i32;
    let leader = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .and_then(|p| p.parse::<i32>().ok());
    // SAFETY: kill(2) of this test cluster's own node processes.
    unsafe {
        if let Some(leader) = leader {
            libc::kill(leader, libc::SIGKILL);
        }
        libc::kill(pid, libc::SIGKILL);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists()
        && std::time::Instant::now() < deadline
    {
        kns_integration_tests::reap_orphans();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
