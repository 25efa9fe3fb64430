//! Privileged tests of `kubeadm-nspawn up/down/list/exec` with real nodes booted from the shared
//! debootstrap base: networking between nodes, exec, leak-free teardown, and the failure paths of `up`
//! (an unbootable base, a node whose network cannot be made, SIGINT) leaving nothing behind.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kns_integration_tests::cluster::{
    assert_fails_with, assert_ok, node_cgroup_value, warm_base, TestCluster,
};
use kns_integration_tests::{bin, privileged_test, run_ok};
use serde_json::Value;

#[test]
fn three_nodes_boot_reach_each_other_and_go_away_without_a_trace() {
    privileged_test(
        "three_nodes_boot_reach_each_other_and_go_away_without_a_trace",
        |sweeper| {
            warm_base();
            let c = TestCluster::new(sweeper);
            let t = Instant::now();
            let out = c.up(3, &[]);
            assert_ok(&out, "up --nodes 3");
            println!("up --nodes 3 (warm cache): {:?}", t.elapsed());
            // Not on a terminal: one line per step, when it ends; no live line.
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains(" ✓ Waiting for nodes to boot ("),
                "{stderr}"
            );
            assert!(
                !stderr.contains(" • ") && !stderr.contains('\r'),
                "{stderr}"
            );

            let list = c.run(&["list", "--json"]);
            let clusters: Value = serde_json::from_slice(&list.stdout).unwrap();
            let nodes = clusters[0]["nodes"].as_array().unwrap();
            assert_eq!(nodes.len(), 3);
            let ips: Vec<String> = nodes
                .iter()
                .map(|n| n["ip"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(
                ips.iter().collect::<std::collections::HashSet<_>>().len(),
                3,
                "distinct IPs: {ips:?}"
            );

            for i in 0..3 {
                // exec runs in the right node...
                let hostname = c.exec(&c.node(i), &["hostname"]);
                assert_ok(&hostname, "exec hostname");
                assert_eq!(String::from_utf8_lossy(&hostname.stdout).trim(), c.node(i));
                let addr = c.exec(
                    &c.node(i),
                    &["ip", "-o", "-4", "addr", "show", "dev", "eth0"],
                );
                assert!(
                    String::from_utf8_lossy(&addr.stdout).contains(&format!("inet {}/", ips[i]))
                );
                // ...and every node reaches every other by IP.
                for (j, ip) in ips.iter().enumerate().filter(|(j, _)| *j != i) {
                    let ping = c.exec(&c.node(i), &["ping", "-c", "1", "-W", "2", ip]);
                    assert_ok(&ping, &format!("ping from node {i} to node {j}"));
                }
            }
            // The command's exit code is passed through.
            assert_eq!(
                c.exec(&c.node(1), &["sh", "-c", "exit 7"]).status.code(),
                Some(7)
            );
            // No route off the host without masquerade.
            let routes = c.exec(&c.node(0), &["ip", "route"]);
            assert!(
                !String::from_utf8_lossy(&routes.stdout).contains("default"),
                "{}",
                String::from_utf8_lossy(&routes.stdout)
            );

            // A second `up` of the same name is refused and leaves the cluster alone.
            assert_fails_with(&c.up(1, &[]), "already exists");
            assert_ok(
                &c.exec(&c.node(0), &["true"]),
                "the cluster after a refused up",
            );

            let t = Instant::now();
            assert_ok(&c.run(&["down", "--name", &c.name]), "down");
            println!("down of 3 nodes: {:?}", t.elapsed());
            assert!(!c.cluster_dir().exists());
            // Idempotent.
            assert_ok(&c.run(&["down", "--name", &c.name]), "second down");
            assert_fails_with(&c.exec(&c.node(0), &["true"]), "no node");
        },
    );
}

#[test]
fn a_config_file_binds_host_paths_into_nodes_and_limits_them_across_stop_and_start() {
    privileged_test(
        "a_config_file_binds_host_paths_into_nodes_and_limits_them_across_stop_and_start",
        |sweeper| {
            warm_base();
            let c = TestCluster::new(sweeper);
            let src = sweeper.workdir.join("src");
            let volumes = sweeper.workdir.join("volumes");
            std::fs::create_dir_all(&src).unwrap();
            std::fs::create_dir_all(&volumes).unwrap();
            std::fs::write(src.join("hello"), "from the host\n").unwrap();
            let file = sweeper.workdir.join("cluster.yaml");
            std::fs::write(
                &file,
                format!(
                    "apiVersion: kubeadm-nspawn/v1alpha1\nkind: Cluster\nname: {name}\n\
                     networking:\n  subnet: {subnet}\n  masquerade: false\n\
                     nodes:\n\
                     - memory: 768Mi\n  cpus: 0.5\n  extraMounts:\n  - hostPath: src\n    nodePath: /src\n    readOnly: true\n\
                     - extraMounts:\n  - hostPath: {volumes}\n    nodePath: /volumes\n",
                    name = c.name,
                    subnet = c.subnet,
                    volumes = volumes.display()
                ),
            )
            .unwrap();
            let check = |when: &str| {
                let n0 = c.node(0);
                let hello = c.exec(&n0, &["cat", "/src/hello"]);
                assert_ok(&hello, &format!("{when}: cat /src/hello"));
                assert_eq!(String::from_utf8_lossy(&hello.stdout), "from the host\n");
                assert!(
                    !c.exec(&n0, &["touch", "/src/new"]).status.success(),
                    "{when}: /src is read-only"
                );
                assert_ok(
                    &c.exec(
                        &c.node(1),
                        &["sh", "-c", &format!("echo {when} > /volumes/{when}")],
                    ),
                    "write into /volumes",
                );
                assert_eq!(
                    std::fs::read_to_string(volumes.join(when)).unwrap(),
                    format!("{when}\n")
                );
                let memory =
                    node_cgroup_value(&n0, ("memory", "memory.limit_in_bytes"), "memory.max");
                assert_eq!(
                    memory.as_deref(),
                    Some("805306368"),
                    "{when}: node 0 memory limit"
                );
                let quota = node_cgroup_value(&n0, ("cpu", "cpu.cfs_quota_us"), "cpu.max");
                assert!(
                    matches!(quota.as_deref(), Some("50000" | "50000 100000")),
                    "{when}: node 0 CPU quota {quota:?}"
                );
                let n1 = c.node(1);
                let unlimited =
                    node_cgroup_value(&n1, ("memory", "memory.limit_in_bytes"), "memory.max");
                assert!(
                    unlimited.as_deref() != Some("805306368"),
                    "{when}: node 1 has no limit"
                );
            };
            assert_ok(
                &c.run(&["up", "--config", file.to_str().unwrap()]),
                "up --config",
            );
            check("up");
            let list: Value = serde_json::from_slice(&c.run(&["list", "--json"]).stdout).unwrap();
            assert_eq!(
                list[0]["nodes"][0]["settings"]["limits"]["memoryBytes"],
                805306368
            );
            assert_eq!(
                list[0]["nodes"][1]["settings"]["extraMounts"][0]["nodePath"],
                "/volumes"
            );

            assert_ok(&c.run(&["stop", "--name", &c.name]), "stop");
            // `start` on a terminal (script(1) gives it one): each step is a live line (a spinner,
            // redrawn in place) that ends as the step's ✓ line.
            let typescript = sweeper.workdir.join("typescript");
            let command = format!(
                "{} --state-dir {} start --name {}",
                bin("kubeadm-nspawn").display(),
                c.state_dir.display(),
                c.name
            );
            let out = Command::new("script")
                .args(["-qec", &command])
                .arg(&typescript)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert_ok(&out, "start under script(1)");
            let screen = String::from_utf8_lossy(&std::fs::read(&typescript).unwrap()).into_owned();
            assert!(screen.contains("Waiting for nodes to boot ("), "{screen}");
            assert!(
                screen.contains("\x1b[2K"),
                "the live line is redrawn in place: {screen:?}"
            );
            assert!(
                screen.contains(" ✓ Waiting for nodes to boot ("),
                "{screen}"
            );
            check("start");
            assert_ok(&c.run(&["down", "--name", &c.name]), "down");
            assert!(!c.cluster_dir().exists());
            assert_eq!(
                std::fs::read_to_string(src.join("hello")).unwrap(),
                "from the host\n"
            );
        },
    );
}

#[test]
fn bad_input_is_refused_and_creates_nothing() {
    privileged_test("bad_input_is_refused_and_creates_nothing", |sweeper| {
        let c = TestCluster::new(sweeper);
        let cases: Vec<(Vec<&str>, &str)> = vec![
            (
                vec!["up", "--nodes", "0", "--name", &c.name],
                "a cluster has 1 to 50 nodes",
            ),
            (
                vec!["up", "--nodes", "1000", "--name", &c.name],
                "a cluster has 1 to 50 nodes",
            ),
            (vec!["up", "--name", "a/b"], "invalid cluster name"),
            (vec!["up", "--name", "../x"], "invalid cluster name"),
            (
                vec!["up", "--name", &c.name, "--subnet", "10.0.0.1/24"],
                "host bits are set",
            ),
            (
                vec![
                    "up",
                    "--name",
                    &c.name,
                    "--nodes",
                    "20",
                    "--subnet",
                    "10.252.0.0/28",
                ],
                "holds only",
            ),
            (vec!["exec", "knst-no-such-node", "--", "true"], "no node"),
            (
                vec![
                    "up",
                    "--name",
                    &c.name,
                    "--nodes",
                    "4",
                    "--control-planes",
                    "2",
                ],
                "--control-planes 2: give an odd number",
            ),
            (
                vec![
                    "up",
                    "--name",
                    &c.name,
                    "--nodes",
                    "2",
                    "--control-planes",
                    "3",
                ],
                "--control-planes 3 is more than the 2 nodes",
            ),
            (
                vec![
                    "up",
                    "--name",
                    &c.name,
                    "--nodes",
                    "9",
                    "--control-planes",
                    "9",
                ],
                "--control-planes 9: give an odd number from 1 to 7",
            ),
            (
                vec!["up", "--name", &c.name, "--control-planes", "0"],
                "--control-planes 0: give an odd number from 1 to 7",
            ),
        ];
        for (args, expected) in cases {
            assert_fails_with(&c.run(&args), expected);
            assert!(
                !c.cluster_dir().exists(),
                "{args:?} created the cluster dir"
            );
        }
        // Config files: each mistake is named by its field's path, and nothing is created.
        let head = format!(
            "apiVersion: kubeadm-nspawn/v1alpha1\nkind: Cluster\nname: {}\n",
            c.name
        );
        let files: Vec<(String, &str)> = vec![
            (
                format!("{head}nodes:\n- labels: {{a: b}}\n- extraMounts:\n  - hostPath: /tmp\n    nodePath: /x\n    readonly: true\n"),
                "nodes[1].extraMounts[0].readonly: unknown field `readonly`",
            ),
            (format!("{head}nodes:\n- cpus: many\n"), "nodes[0].cpus: invalid type: string \"many\""),
            (
                "apiVersion: kind.x-k8s.io/v1alpha4\nkind: Cluster\n".into(),
                "apiVersion: \"kind.x-k8s.io/v1alpha4\" is not supported",
            ),
            (format!("{head}nodes:\n- memory: 64Mi\n"), "nodes[0].memory: 64Mi is below"),
            (
                format!("{head}nodes:\n- role: control-plane\n- role: control-plane\n- role: worker\n"),
                "nodes: 2: give an odd number",
            ),
            (
                format!("{head}nodes:\n- {{}}\n- role: worker\n- role: control-plane\n"),
                "nodes[2].role: control-plane nodes come first",
            ),
            (
                format!("{head}nodes:\n- extraMounts:\n  - {{hostPath: no-such-dir, nodePath: /x}}\n"),
                "nodes[0].extraMounts[0]: hostPath:",
            ),
            (format!("{head}networking: {{subnet: 10.0.0.1/24}}\n"), "host bits are set"),
            (format!("{head}nodes: [{{}}, {{}}, {{}}, {{}}, {{}}, {{}}]\nnetworking: {{subnet: 10.252.0.0/28}}\n"), "holds only"),
        ];
        let file = sweeper.workdir.join("cluster.yaml");
        for (text, expected) in files {
            std::fs::write(&file, &text).unwrap();
            let out = c.run(&["up", "--config", file.to_str().unwrap()]);
            assert_fails_with(&out, expected);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                stderr.lines().filter(|l| l.starts_with("error: ")).count(),
                1,
                "{stderr}"
            );
            assert!(!c.cluster_dir().exists(), "{text} created the cluster dir");
        }
        let missing = sweeper.workdir.join("no-such.yaml");
        assert_fails_with(
            &c.run(&["up", "--config", missing.to_str().unwrap()]),
            "cannot read it",
        );
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(bin("kubeadm-nspawn"))
            .arg("--state-dir")
            .arg(&c.state_dir)
            .args(["up", "--name", &c.name])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_fails_with(&out, "run it as root");
        assert!(!c.cluster_dir().exists());
    });
}

/// A base with no init at all: nspawn refuses to boot it.
fn unbootable_base(workdir: &Path) -> (String, String) {
    let tree = workdir.join("unbootable");
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    std::fs::write(tree.join("etc/os-release"), "ID=knst\n").unwrap();
    let tarball = workdir.join("unbootable.tar");
    run_ok(
        "tar",
        &[
            "-C",
            tree.to_str().unwrap(),
            "-cf",
            tarball.to_str().unwrap(),
            ".",
        ],
    );
    let sum = run_ok("sha256sum", &[tarball.to_str().unwrap()]);
    (
        format!("file://{}", tarball.display()),
        sum.split_whitespace().next().unwrap().to_owned(),
    )
}

#[test]
fn failed_ups_remove_everything_they_created() {
    privileged_test("failed_ups_remove_everything_they_created", |sweeper| {
        warm_base();
        let c = TestCluster::new(sweeper);
        let cache = sweeper.workdir.join("images");

        // 1. An unbootable base: the error names a node and shows its log.
        let (url, sum) = unbootable_base(&sweeper.workdir);
        let out = c.up(
            2,
            &[
                "--image-method",
                "download",
                "--image-url",
                &url,
                "--image-sha256",
                &sum,
                "--boot-timeout",
                "20",
            ],
        );
        assert_fails_with(&out, &format!("node \"{}-n", c.name));
        assert!(
            !c.cluster_dir().exists(),
            "cluster dir left after a failed up"
        );
        // (the unbootable image stays in the shared cache like any image; remove it)
        let _ = cache;
        let built = Command::new(bin("rootfs-builder"))
            .args([
                "build", "--method", "download", "--url", &url, "--sha256", &sum,
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let built: Value = serde_json::from_slice(&built.stdout).unwrap();
        let _ =
            std::fs::remove_dir_all(Path::new(built["path"].as_str().unwrap()).parent().unwrap());

        // 2. Node 2 of 3 cannot get its network (its namespace name is taken): everything is
        //    removed, and the namespace that was there before is left alone.
        let foreign = format!("kns-{}-1", c.name);
        run_ok("ip", &["netns", "add", &foreign]);
        let out = c.up(3, &[]);
        assert_fails_with(&out, &format!("node \"{}-n1\"", c.name));
        assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
        assert!(!c.cluster_dir().exists());
        assert!(
            Path::new("/run/netns").join(&foreign).exists(),
            "a namespace that was not ours was deleted"
        );
        run_ok("ip", &["netns", "del", &foreign]);

        // 3. SIGINT while the nodes boot.
        let child = c
            .up_cmd(3, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let dir = c.cluster_dir();
        let start = Instant::now();
        while !dir.join("nodes").exists() && start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100));
        // SAFETY: the PID is the child this test started.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let out = child.wait_with_output().unwrap();
        assert_fails_with(&out, "interrupted");
        assert!(!c.cluster_dir().exists());
    });
}

#[test]
fn a_cluster_with_an_unreadable_state_is_listed_and_down_still_removes_it() {
    privileged_test(
        "a_cluster_with_an_unreadable_state_is_listed_and_down_still_removes_it",
        |sweeper| {
            warm_base();
            let c = TestCluster::new(sweeper);
            assert_ok(&c.up(2, &[]), "up --nodes 2");
            // A state file cut short (a full disk, a hand edit): the nodes still run.
            std::fs::write(c.cluster_dir().join("state.json"), b"{\"name\": ").unwrap();
            let list = c.run(&["list"]);
            let stderr = String::from_utf8_lossy(&list.stderr);
            assert!(
                stderr.contains(&format!("cluster \"{}\": UNREADABLE", c.name))
                    && stderr.contains(&format!("down --name {}", c.name)),
                "{stderr}"
            );
            // Everything the running nodes hold (processes, mounts, netns, veths, bridge,
            // cgroups) goes: the privileged_test leak check proves it after the body.
            let down = c.run(&["down", "--name", &c.name]);
            assert_ok(&down, "down of a cluster with an unreadable state");
            assert!(!c.cluster_dir().exists());
        },
    );
}
