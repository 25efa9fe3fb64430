//! End-to-end: a real kubeadm cluster of three nspawn nodes running a Deployment, with the
//! Kubernetes binaries from `KUBE_BIN` and crictl/etcd/coredns from `KUBE_EXTRA_BIN`. Without
//! them it prints one `SKIPPED:` line and passes. Also: what `init` refuses (no cluster, missing
//! binaries, a second init), leaving the cluster and the host as they were.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kns_integration_tests::cluster::{
    assert_fails_with, assert_ok, copy_kube_binaries, kill_node, kubernetes_test,
    node_cgroup_value, rebuild, simulate_reboot, updated_components, warm_base, TestCluster,
};
use kns_integration_tests::kubectl::{is_ready, Kubectl};
use kns_integration_tests::mirror::{
    write_channel, Content, Release, ReleaseMirror, KUBE_BINARIES,
};
use kns_integration_tests::workload::{
    cluster_ip_answers, http_get, load_busybox_image, wait_for_restarted_web_pods, DEPLOYMENT,
    WEB_BY_NAME,
};
use kns_integration_tests::{
    debian_busybox_static, privileged_test, run_ok, utc_now, HostSnapshot,
};
use serde_json::Value;

/// The `web` Deployment (`replicas` busybox httpd pods spread over the nodes) and its Service in
/// cluster `c`: an image built from Debian's busybox-static with image-pusher, loaded into every
/// node (nothing is pulled), applied, rolled out.
fn deploy_web(c: &TestCluster, kubectl: &Kubectl, busybox: &Path, workdir: &Path, replicas: usize) {
    let image = "kubeadm-nspawn.local/web:1";
    load_busybox_image(c, busybox, &workdir.join("web.tar"), image);
    let manifest = DEPLOYMENT
        .replace("IMAGE", image)
        .replace("replicas: 3", &format!("replicas: {replicas}"));
    kubectl.apply(&manifest);
    kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=120s"]);
}

#[test]
fn three_nodes_run_a_deployment_with_pod_traffic_services_and_dns() {
    let test = "three_nodes_run_a_deployment_with_pod_traffic_services_and_dns";
    kubernetes_test(test, |sweeper, kube_bin, extra_bin| {
        let busybox = debian_busybox_static(&sweeper.workdir.join("deb"));
        let c = TestCluster::new(sweeper);
        let kubeconfig = sweeper.workdir.join("kubeconfig");
        let before_up = HostSnapshot::take();
        let t = Instant::now();
        assert_ok(&c.up(3, &[]), "up --nodes 3");
        let up_seconds = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let init = c.init(kube_bin, extra_bin, &["--wait", "3m"], &kubeconfig);
        assert_ok(&init, "init");
        println!(
            "up 3 nodes: {up_seconds:.1} s; init to all nodes Ready: {:.1} s; steps: {}",
            t.elapsed().as_secs_f64(),
            String::from_utf8_lossy(&init.stdout).trim()
        );

        // The context landed in $KUBECONFIG, mode 0600, and `kubeconfig` prints the same cluster.
        let kubectl = Kubectl::new(kube_bin, kubeconfig.clone());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kubeconfig).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let context = format!("kubeadm-nspawn-{}", c.name);
        assert_eq!(kubectl.ok(&["config", "current-context"]).trim(), context);
        let printed = c.run(&["kubeconfig", "--name", &c.name]);
        assert!(String::from_utf8_lossy(&printed.stdout).contains(&context));

        assert_eq!(kubectl.ready_nodes().len(), 3, "all nodes Ready");

        // A second init is refused and changes nothing.
        assert_fails_with(&c.run(&["init", "--name", &c.name]), "already initialized");

        // The nodes' runtime is one current Kubernetes accepts (#29): containerd >= 2.1, runc
        // >= 1.3, as the nodes themselves say.
        for (program, minimum) in [("containerd", (2, 1)), ("runc", (1, 3))] {
            let out = c.exec(&c.node(0), &[program, "--version"]);
            let said = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(out.status.success(), "{program} --version: {said}");
            let version = said
                .split_whitespace()
                .find_map(|word| {
                    let mut parts = word.trim_start_matches('v').split(['.', '~', '-']);
                    let major = parts.next()?.parse::<u32>().ok()?;
                    let minor = parts.next()?.parse::<u32>().ok()?;
                    Some((major, minor))
                })
                .unwrap_or_else(|| panic!("no version in {said:?}"));
            assert!(
                version >= minimum,
                "{program} {version:?} < {minimum:?}: {said}"
            );
            println!(
                "{program} in the nodes: {}",
                said.lines().next().unwrap_or_default()
            );
        }

        // kube-proxy's image carries what its nftables and ipvs modes run (#31), from the base.
        // A node is Ready before its kube-proxy pod has started: looked for up to 60 s.
        let ps = || {
            let out = c.exec(&c.node(1), &["crictl", "ps", "-q", "--name", "kube-proxy"]);
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        let started = Instant::now();
        let mut proxy = ps();
        while proxy.is_empty() && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_secs(1));
            proxy = ps();
        }
        assert!(!proxy.is_empty(), "a kube-proxy container on {}", c.node(1));
        for program in ["nft", "ipset"] {
            let out = c.exec(
                &c.node(1),
                &["crictl", "exec", &proxy, program, "--version"],
            );
            assert_ok(&out, &format!("{program} in kube-proxy's container"));
        }

        // An image of Debian's busybox-static, loaded into every node (nothing is pulled).
        let t = Instant::now();
        deploy_web(&c, &kubectl, &busybox, &sweeper.workdir, 3);
        println!("deployment of 3 available after {:?}", t.elapsed());

        serves_traffic(&kubectl, &c);

        // export logs of the running cluster: every listed item, no key material.
        let token = bootstrap_token(&c);
        let exported = export_logs(&c, &sweeper.workdir.join("logs-running"), true);
        for node in 0..3 {
            let n = c.node(node);
            for item in [
                "journal.log",
                "systemctl-status.txt",
                "crictl-ps-a.txt",
                "crictl-pods.txt",
                "nspawn.log",
                "cni-result.json",
                "cni.conflist",
                "var/lib/kubelet/config.yaml",
                "var/lib/kubelet/kubeadm-flags.env",
                "var/log/pods",
                "var/log/containers",
            ] {
                assert!(exported.join(&n).join(item).exists(), "{n}/{item} missing");
            }
        }
        let n0 = exported.join(c.node(0));
        for manifest in [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
        ] {
            assert!(n0
                .join(format!("etc/kubernetes/manifests/{manifest}.yaml"))
                .is_file());
        }
        for item in [
            "state.json",
            "versions.txt",
            "kubeadm-init.log",
            "kubectl-get-nodes-pods.txt",
            "kubectl-get-events.txt",
        ] {
            assert!(
                exported.join("cluster").join(item).is_file(),
                "cluster/{item} missing"
            );
        }
        let pods =
            std::fs::read_to_string(exported.join("cluster/kubectl-get-nodes-pods.txt")).unwrap();
        assert!(pods.contains("web-") && pods.contains("Ready"), "{pods}");
        let journal = std::fs::read_to_string(n0.join("journal.log")).unwrap();
        assert!(journal.contains("kubelet"), "the journal names the kubelet");
        assert!(exported.with_extension("tar.gz").is_file(), "--archive");
        assert_no_secrets(&exported, &token);

        // stop keeps everything the cluster owns on disk and nothing on the host; start brings
        // it back with the same addresses, etcd's data, the workloads and their traffic.
        let ips = |c: &TestCluster| -> Vec<String> {
            c.listed()["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["ip"].as_str().unwrap().to_owned())
                .collect()
        };
        let ips_before = ips(&c);
        kubectl.ok(&["create", "configmap", "kept", "--from-literal=in=etcd"]);
        let t = Instant::now();
        let stop = c.run(&["stop", "--name", &c.name]);
        assert_ok(&stop, "stop");
        println!(
            "stop of 3 initialized nodes: {:.1} s; {}",
            t.elapsed().as_secs_f64(),
            String::from_utf8_lossy(&stop.stdout).trim()
        );
        let left = HostSnapshot::take().added_since(&before_up);
        assert!(left.is_empty(), "stop left on the host: {left:?}");
        assert!(String::from_utf8_lossy(&c.run(&["list"]).stdout).contains("[stopped]"));
        // A stopped cluster's logs: the journals from the nodes' disks.
        let exported = export_logs(&c, &sweeper.workdir.join("logs-stopped"), false);
        for node in 0..3 {
            let journal =
                std::fs::read_to_string(exported.join(c.node(node)).join("journal.log")).unwrap();
            assert!(
                journal.contains("kubelet"),
                "{}: stopped journal",
                c.node(node)
            );
        }
        assert!(exported.join(c.node(0)).join("var/log/pods").is_dir());
        assert_no_secrets(&exported, &token);
        let restart = |what: &str| {
            let since = utc_now();
            let t = Instant::now();
            let start = c.run(&["start", "--name", &c.name, "--wait", "3m"]);
            assert_ok(&start, what);
            println!(
                "{what} to all Ready: {:.1} s; {}",
                t.elapsed().as_secs_f64(),
                String::from_utf8_lossy(&start.stdout).trim()
            );
            assert_eq!(ips(&c), ips_before, "same addresses after {what}");
            // The kubeconfig context works unchanged; etcd kept its data.
            let kept = kubectl.jsonpath(&["get", "configmap", "kept"], "{.data.in}");
            assert_eq!(kept, "etcd");
            wait_for_restarted_web_pods(&kubectl, &since, |status| status["podIP"].is_string());
            serves_traffic(&kubectl, &c);
        };
        restart("start");
        // A host reboot: every process of the nodes killed, their mounts, namespaces, veths and
        // bridge gone; state.json and the nodes' disks stay.
        simulate_reboot(&c, 3);
        assert!(String::from_utf8_lossy(&c.run(&["list"]).stdout).contains("[stopped]"));
        restart("start after a reboot");

        let t = Instant::now();
        assert_ok(
            &c.run_with_kubeconfig(&["down", "--name", &c.name], &kubeconfig),
            "down",
        );
        println!("down with a running Deployment: {:?}", t.elapsed());
        let left = std::fs::read_to_string(&kubeconfig).unwrap_or_default();
        assert!(!left.contains(&context), "down left the context: {left}");
    });
}

/// `export logs DIR --name C [--archive]`; returns DIR.
fn export_logs(c: &TestCluster, dir: &Path, archive: bool) -> PathBuf {
    let mut args = vec!["export", "logs", dir.to_str().unwrap(), "--name", &c.name];
    if archive {
        args.push("--archive");
    }
    let t = Instant::now();
    let out = c.run(&args);
    assert_ok(&out, "export logs");
    println!(
        "export logs ({}): {:.1} s; {}",
        if archive {
            "with --archive"
        } else {
            "directory"
        },
        t.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&out.stdout).trim()
    );
    dir.to_owned()
}

/// The bootstrap token kubeadm-nspawn gave kubeadm (in the first node's configuration).
fn bootstrap_token(c: &TestCluster) -> String {
    let config = c.exec(&c.node(0), &["cat", "/etc/kubeadm-nspawn/kubeadm.yaml"]);
    let text = String::from_utf8_lossy(&config.stdout).into_owned();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("- token: "))
        .unwrap_or_else(|| panic!("no token in {text}"))
        .to_owned()
}

/// No private key, key file, kubeconfig credential or the bootstrap token anywhere in `dir`.
fn assert_no_secrets(dir: &Path, token: &str) {
    let out = Command::new("grep")
        .args([
            "-rIl",
            "-e",
            "PRIVATE KEY",
            "-e",
            token,
            "-e",
            "client-key-data: [^R]",
        ])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.stdout.is_empty(),
        "secrets in the export: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let keys = Command::new("find")
        .arg(dir)
        .args([
            "-name",
            "*.key",
            "-o",
            "-name",
            "admin.conf",
            "-o",
            "-name",
            "kubelet.conf",
        ])
        .output()
        .unwrap();
    assert!(
        keys.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&keys.stdout)
    );
}

/// The Deployment `web` runs one replica per node, its pods reach each other across nodes, its
/// ClusterIP answers from a pod and from node 2, and its DNS name resolves to the ClusterIP.
fn serves_traffic(kubectl: &Kubectl, c: &TestCluster) {
    let pods = kubectl.json(&["get", "pods", "-l", "app=web"]);
    let pods: Vec<(String, String, String)> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["metadata"]["name"].as_str().unwrap().to_owned(),
                p["spec"]["nodeName"].as_str().unwrap().to_owned(),
                p["status"]["podIP"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut on_nodes: Vec<&str> = pods.iter().map(|p| p.1.as_str()).collect();
    on_nodes.sort();
    on_nodes.dedup();
    assert_eq!(on_nodes.len(), 3, "one replica per node: {pods:?}");

    // Pod to pod across nodes: each pod fetches the next one's page (its hostname).
    for i in 0..3 {
        let (from, to) = (&pods[i], &pods[(i + 1) % 3]);
        let page = kubectl.exec_until(&from.0, &http_get(&to.2, 8080), |t| t.contains(&to.0));
        assert!(
            page.contains(&to.0),
            "{} on {} -> {} on {}: {page}",
            from.0,
            from.1,
            to.0,
            to.1
        );
    }

    // The ClusterIP Service answers, asked from a pod, and from a node other than the first.
    let service = kubectl.json(&["get", "service", "web"]);
    let cluster_ip = service["spec"]["clusterIP"].as_str().unwrap().to_owned();
    let names: Vec<&str> = pods.iter().map(|p| p.0.as_str()).collect();
    let answered = |t: &str| names.iter().any(|n| t.contains(n));
    cluster_ip_answers(c, kubectl, &pods[0].0, &cluster_ip, answered);

    // The Service's DNS name resolves (CoreDNS) to the ClusterIP.
    let lookup = kubectl.exec_until(
        &pods[1].0,
        "/usr/local/bin/busybox nslookup web.default.svc.cluster.local",
        |t| t.contains(&cluster_ip),
    );
    assert!(lookup.contains(&cluster_ip), "nslookup: {lookup}");
}

#[test]
fn init_refuses_what_it_cannot_use_and_leaves_the_cluster_as_it_was() {
    privileged_test(
        "init_refuses_what_it_cannot_use_and_leaves_the_cluster_as_it_was",
        |sweeper| {
            let c = TestCluster::new(sweeper);
            std::fs::create_dir_all(&sweeper.workdir).unwrap();
            let empty = sweeper.workdir.join("empty");
            std::fs::create_dir_all(&empty).unwrap();
            let empty = empty.to_str().unwrap();
            // No cluster: nothing is created.
            assert_fails_with(
                &c.run(&["init", "--name", &c.name, "--kube-bin", empty]),
                "no cluster",
            );
            assert!(!c.cluster_dir().exists());

            warm_base();
            assert_ok(&c.up(1, &[]), "up --nodes 1");
            let state = || std::fs::read_to_string(c.cluster_dir().join("state.json")).unwrap();
            let before = state();
            let config = |name: &str, text: &str| {
                let file = sweeper.workdir.join(name);
                std::fs::write(
                    &file,
                    format!("apiVersion: kubeadm-nspawn/v1alpha1\nkind: Cluster\n{text}"),
                )
                .unwrap();
                file.to_str().unwrap().to_owned()
            };
            let three_nodes = config("three.yaml", "nodes: [{}, {}, {}]\n");
            let unknown_field = config("unknown.yaml", "featureGate: {A: true}\n");
            let highly_available = config(
                "ha.yaml",
                "nodes:\n- role: control-plane\n- role: control-plane\n- role: control-plane\n",
            );
            for (args, expected) in [
                (vec!["--kube-bin", empty], "missing kubeadm, kubelet"),
                // No binaries anywhere: the default release, from a mirror that is not there.
                (
                    vec![],
                    "kubeadm of Kubernetes v1.28.7: cannot reach the server",
                ),
                (vec!["--kube-root", empty], "not a Kubernetes source tree"),
                (
                    vec!["--kube-bin", empty, "--kubeadm-patch", "/etc/hostname"],
                    "must end in .yaml or .json",
                ),
                (
                    vec!["--kube-bin", empty, "--config", &three_nodes],
                    "describes 3 nodes; cluster",
                ),
                (
                    vec!["--config", &unknown_field],
                    "featureGate: unknown field",
                ),
                (
                    vec!["--kube-bin", empty, "--config", &highly_available],
                    "describes 3 control-plane nodes; cluster",
                ),
            ] {
                let mut all = vec!["init", "--name", &c.name];
                all.extend(args);
                assert_fails_with(&c.run(&all), expected);
                // Refused before anything changed: the same init can be retried.
                assert_eq!(state(), before);
            }
            // With real binaries at hand (the end-to-end tier), also: no crictl/etcd.
            let kube_bin = std::env::var_os("KUBE_BIN")
                .map(PathBuf::from)
                .filter(|d| d.is_dir());
            if let Some(kube_bin) = kube_bin {
                // Binaries but no crictl/etcd: refused before the cluster is marked.
                assert_fails_with(
                    &c.run(&[
                        "init",
                        "--name",
                        &c.name,
                        "--kube-bin",
                        kube_bin.to_str().unwrap(),
                        "--extra-bin",
                        empty,
                    ]),
                    "no crictl",
                );
                assert_eq!(state(), before);
            }
            assert_ok(&c.run(&["down", "--name", &c.name]), "down");
        },
    );
}

/// Pod names of `app=web` in a cluster.
fn web_pods(kubectl: &Kubectl) -> Vec<String> {
    kubectl.json(&["get", "pods", "-l", "app=web"])["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn two_clusters_side_by_side_each_serve_their_own_services_and_a_lone_node_runs_pods() {
    let test = "two_clusters_side_by_side_each_serve_their_own_services_and_a_lone_node_runs_pods";
    kubernetes_test(test, |sweeper, kube_bin, extra_bin| {
        let busybox = debian_busybox_static(&sweeper.workdir.join("deb"));
        let first = TestCluster::new(sweeper);
        // A second cluster in the same state directory, on the next /24; both keep the default
        // pod and service ranges (they live only inside each cluster's nodes).
        let second = first.beside();
        let clusters = [&first, &second];
        let kubeconfig = |c: &TestCluster| sweeper.workdir.join(format!("kubeconfig-{}", c.name));
        // Created at the same time, then initialized at the same time: 2 nodes and 1 node.
        let ups: Vec<_> = clusters
            .iter()
            .zip([2, 1])
            .map(|(c, nodes)| {
                c.up_cmd(nodes, &[])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for up in ups {
            assert_ok(&up.wait_with_output().unwrap(), "up");
        }
        let t = Instant::now();
        let inits: Vec<_> = clusters
            .iter()
            .map(|c| {
                c.init_cmd(kube_bin, extra_bin, &["--wait", "4m"])
                    .env("KUBECONFIG", kubeconfig(c))
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for init in inits {
            assert_ok(&init.wait_with_output().unwrap(), "init");
        }
        println!(
            "a 2-node and a 1-node cluster initialized side by side: {:?}",
            t.elapsed()
        );
        let kubectls: Vec<Kubectl> = clusters
            .iter()
            .map(|c| Kubectl::new(kube_bin, kubeconfig(c)))
            .collect();
        for (c, kubectl) in clusters.iter().zip(&kubectls) {
            deploy_web(c, kubectl, &busybox, &sweeper.workdir, 2);
        }
        // The lone node is a control plane without workers: untainted, it runs pods that do not
        // tolerate the control-plane taint.
        let taints = kubectls[1].jsonpath(&["get", "nodes"], "{.items[*].spec.taints}");
        assert_eq!(
            taints, "",
            "a cluster without workers keeps no control-plane taint"
        );
        kubectls[1].apply(SLEEPER);
        kubectls[1].ok(&["rollout", "status", "deployment/sleeper", "--timeout=120s"]);
        // The 2-node cluster's control plane keeps it (its worker runs the pods).
        let taints = kubectls[0].jsonpath(&["get", "node", &first.node(0)], "{.spec.taints}");
        assert!(
            taints.contains("node-role.kubernetes.io/control-plane"),
            "{taints}"
        );
        // Each cluster's pods reach their own cluster's Service by name: the page names one of
        // their own cluster's pods, never one of the other's.
        let serves_own = |kubectl: &Kubectl, other: &Kubectl| {
            let own = web_pods(kubectl);
            let theirs = web_pods(other);
            let page =
                kubectl.exec_until(&own[0], WEB_BY_NAME, |t| own.iter().any(|p| t.contains(p)));
            assert!(own.iter().any(|p| page.contains(p)), "{own:?}: {page}");
            assert!(
                !theirs.iter().any(|p| page.contains(p)),
                "the other cluster answered: {page}"
            );
        };
        serves_own(&kubectls[0], &kubectls[1]);
        serves_own(&kubectls[1], &kubectls[0]);
        // `down` of one leaves the other working.
        let second_pods = web_pods(&kubectls[1]);
        assert_ok(
            &first.run(&["down", "--name", &first.name]),
            "down of the first",
        );
        let page = kubectls[1].exec_until(&second_pods[0], WEB_BY_NAME, |t| {
            second_pods.iter().any(|p| t.contains(p))
        });
        assert!(
            second_pods.iter().any(|p| page.contains(p)),
            "after the other's down: {page}"
        );
        assert_eq!(kubectls[1].ready_nodes(), [second.node(0)]);
        assert_ok(
            &second.run(&["down", "--name", &second.name]),
            "down of the second",
        );
    });
}

fn sha256_of(path: &Path) -> String {
    run_ok("sha256sum", &[path.to_str().unwrap()])
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn update_swaps_rebuilt_components_and_puts_a_broken_one_back() {
    let test = "update_swaps_rebuilt_components_and_puts_a_broken_one_back";
    kubernetes_test(test, |sweeper, kube_bin, extra_bin| {
        let busybox = debian_busybox_static(&sweeper.workdir.join("deb"));
        let c = TestCluster::new(sweeper);
        // The cluster is made from a copy of the binaries, which the test then "rebuilds".
        let kube = copy_kube_binaries(kube_bin, sweeper.workdir.join("kube"));
        let kubeconfig = sweeper.workdir.join("kubeconfig");
        let run = |args: &[&str]| c.run_with_kubeconfig(args, &kubeconfig);
        let state_before = || std::fs::read_to_string(c.cluster_dir().join("state.json")).unwrap();
        assert_fails_with(&run(&["update", "--name", &c.name]), "no cluster");
        assert_ok(&c.up(2, &[]), "up --nodes 2");
        assert_ok(
            &c.init(&kube, extra_bin, &["--wait", "3m"], &kubeconfig),
            "init",
        );
        let kubectl = Kubectl::new(kube_bin, kubeconfig.clone());
        deploy_web(&c, &kubectl, &busybox, &sweeper.workdir, 2);
        let pod_to_pod = || {
            let pods = kubectl.json(&["get", "pods", "-l", "app=web"]);
            let pods: Vec<(String, String)> = pods["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["metadata"]["name"].as_str().unwrap().to_owned(),
                        p["status"]["podIP"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            let page = kubectl.exec_until(&pods[0].0, &http_get(&pods[1].1, 8080), |t| {
                t.contains(&pods[1].0)
            });
            assert!(page.contains(&pods[1].0), "pod to pod: {page}");
        };
        pod_to_pod();
        let kubelet_pid = |i: usize| {
            String::from_utf8_lossy(
                &c.exec(
                    &c.node(i),
                    &["systemctl", "show", "-p", "MainPID", "--value", "kubelet"],
                )
                .stdout,
            )
            .trim()
            .to_owned()
        };
        let pids_before: Vec<String> = (0..2).map(kubelet_pid).collect();
        let apiserver_pod = format!("kube-apiserver-{}", c.node(0));
        let container_of = |pod: &str| {
            kubectl.jsonpath(
                &["-n", "kube-system", "get", "pod", pod],
                "{.status.containerStatuses[0].containerID}",
            )
        };
        let apiserver_before = container_of(&apiserver_pod);

        // "Rebuilt" kubelet and kube-apiserver: only they are replaced.
        rebuild(&kube.join("kubelet"));
        rebuild(&kube.join("kube-apiserver"));
        rebuild(&kube.join("kube-proxy"));
        let t = Instant::now();
        let update = run(&["update", "--name", &c.name]);
        assert_ok(&update, "update");
        println!(
            "update of kubelet, kube-apiserver and kube-proxy: {:.1} s; {}",
            t.elapsed().as_secs_f64(),
            String::from_utf8_lossy(&update.stdout).trim()
        );
        assert_eq!(
            updated_components(&update),
            ["kube-apiserver", "kubelet", "kube-proxy"]
        );
        let new_kubelet = sha256_of(&kube.join("kubelet"));
        for (i, pid_before) in pids_before.iter().enumerate() {
            let in_node = c.exec(&c.node(i), &["sha256sum", "/usr/local/bin/kubelet"]);
            assert!(
                String::from_utf8_lossy(&in_node.stdout).starts_with(&new_kubelet),
                "node {i}"
            );
            assert_ne!(
                &kubelet_pid(i),
                pid_before,
                "node {i}'s kubelet was restarted"
            );
        }
        assert_eq!(
            kubectl.ready_nodes().len(),
            2,
            "both nodes Ready after the update"
        );
        let new_apiserver = sha256_of(&kube.join("kube-apiserver"));
        let image_now = kubectl.jsonpath(
            &["-n", "kube-system", "get", "pod", &apiserver_pod],
            "{.spec.containers[0].image}",
        );
        assert_eq!(
            image_now,
            format!(
                "kubeadm-nspawn.local/kube-apiserver:v1.28.7-{}",
                &new_apiserver[..12]
            )
        );
        assert_ne!(
            container_of(&apiserver_pod),
            apiserver_before,
            "a new apiserver container"
        );
        // kube-proxy's DaemonSet runs the new content-tagged image, rolled out on both nodes.
        let new_proxy = sha256_of(&kube.join("kube-proxy"));
        let proxy_image = kubectl.jsonpath(
            &["-n", "kube-system", "get", "daemonset", "kube-proxy"],
            "{.spec.template.spec.containers[0].image}",
        );
        assert_eq!(
            proxy_image,
            format!(
                "kubeadm-nspawn.local/kube-proxy:v1.28.7-{}",
                &new_proxy[..12]
            )
        );
        let proxies = kubectl.jsonpath(
            &[
                "-n",
                "kube-system",
                "get",
                "pods",
                "-l",
                "k8s-app=kube-proxy",
            ],
            "{.items[*].spec.containers[0].image}",
        );
        assert_eq!(
            proxies
                .split_whitespace()
                .filter(|i| *i == proxy_image)
                .count(),
            2,
            "{proxies}"
        );
        pod_to_pod();

        // Nothing changed: said so, quickly.
        let t = Instant::now();
        let again = run(&["update", "--name", &c.name]);
        assert_ok(&again, "update again");
        println!(
            "update with nothing changed: {:.2} s",
            t.elapsed().as_secs_f64()
        );
        assert!(String::from_utf8_lossy(&again.stderr).contains("nothing changed"));

        // A broken kube-apiserver (it answers --version, then cannot run) is put back.
        let broken = kube.join("kube-apiserver");
        std::fs::write(
            &broken,
            "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'Kubernetes v1.28.7'; exit 0; fi\necho broken >&2\nexit 1\n",
        )
        .unwrap();
        let t = Instant::now();
        let failed = run(&[
            "update",
            "--name",
            &c.name,
            "--only",
            "kube-apiserver",
            "--wait",
            "20s",
        ]);
        println!(
            "a broken kube-apiserver put back after {:.1} s",
            t.elapsed().as_secs_f64()
        );
        assert_fails_with(&failed, "update of kube-apiserver failed");
        assert_fails_with(&failed, "the previous one is back");
        assert_eq!(kubectl.ok(&["get", "--raw", "/readyz"]), "ok");
        pod_to_pod();

        // Bad input leaves the cluster as it was: another minor, a missing binary, a stopped cluster.
        let other_minor = sweeper.workdir.join("v129");
        std::fs::create_dir_all(&other_minor).unwrap();
        for &b in KUBE_BINARIES {
            let script = if b == "kubeadm" {
                "#!/bin/sh\necho v1.29.0\n".to_owned()
            } else {
                "#!/bin/sh\necho Kubernetes v1.29.0\n".to_owned()
            };
            std::fs::write(other_minor.join(b), script).unwrap();
            run_ok("chmod", &["+x", other_minor.join(b).to_str().unwrap()]);
        }
        let before = state_before();
        assert_fails_with(
            &run(&[
                "update",
                "--name",
                &c.name,
                "--kube-bin",
                other_minor.to_str().unwrap(),
            ]),
            "kubeadm upgrade",
        );
        let empty = sweeper.workdir.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        assert_fails_with(
            &run(&[
                "update",
                "--name",
                &c.name,
                "--kube-bin",
                empty.to_str().unwrap(),
            ]),
            "missing",
        );
        assert_fails_with(
            &run(&["update", "--name", &c.name, "--only", "kubelets"]),
            "invalid value 'kubelets' for '--only",
        );
        assert_eq!(state_before(), before);
        assert_ok(&c.run(&["stop", "--name", &c.name]), "stop");
        assert_fails_with(&run(&["update", "--name", &c.name]), "is stopped");
        assert_ok(&run(&["down", "--name", &c.name]), "down");
    });
}

/// A release mirror on 127.0.0.1 in the upstream layouts, made from the binaries at hand (their
/// version, the etcd and CoreDNS versions their kubeadm names), with `stable-MAJOR.MINOR.txt`.
fn mirror_of(kube_bin: &Path, extra_bin: &Path, root: &Path) -> (String, String) {
    let kubeadm = kube_bin.join("kubeadm");
    let version = run_ok(&kubeadm, &["version", "-o", "short"])
        .trim()
        .to_owned();
    let images = run_ok(
        &kubeadm,
        &["config", "images", "list", "--kubernetes-version", &version],
    );
    let tag = |name: &str| {
        images
            .lines()
            .find_map(|l| l.strip_prefix(&format!("registry.k8s.io/{name}:")))
            .unwrap()
            .to_owned()
    };
    let etcd = tag("etcd").split('-').next().unwrap().to_owned();
    let coredns = tag("coredns/coredns").trim_start_matches('v').to_owned();
    Release {
        version: version.clone(),
        kubernetes: KUBE_BINARIES
            .iter()
            .map(|b| (*b, Content::File(kube_bin.join(b))))
            .collect(),
        crictl: Content::File(extra_bin.join("crictl")),
        etcd: (etcd, Content::File(extra_bin.join("etcd"))),
        coredns: (coredns, Content::File(extra_bin.join("coredns"))),
        wrong_checksum: vec![],
    }
    .write(root);
    let minor: Vec<&str> = version.trim_start_matches('v').split('.').take(2).collect();
    let channel = format!("stable-{}", minor.join("."));
    write_channel(root, &channel, &version);
    (version, channel)
}

#[test]
fn a_released_version_from_a_mirror_makes_a_ready_cluster_and_is_downloaded_once() {
    let test = "a_released_version_from_a_mirror_makes_a_ready_cluster_and_is_downloaded_once";
    kubernetes_test(test, |sweeper, kube_bin, extra_bin| {
        let root = sweeper.workdir.join("mirror");
        let (version, channel) = mirror_of(kube_bin, extra_bin, &root);
        let mirror = ReleaseMirror::start(&root, &sweeper.workdir.join("mirror.log"), &[]);
        let cache = sweeper.workdir.join("releases");
        let cache_arg = cache.to_str().unwrap();
        let c = TestCluster::new(sweeper);

        // Cold: the channel resolved, every file downloaded and verified, then the nodes.
        let t = Instant::now();
        let up = c
            .up_cmd(
                3,
                &["--kube-version", &channel, "--release-cache", cache_arg],
            )
            .env("KUBEADM_NSPAWN_RELEASE_MIRROR", &mirror.url)
            .output()
            .unwrap();
        assert_ok(&up, "up --kube-version");
        let stderr = String::from_utf8_lossy(&up.stderr);
        let downloaded = stderr
            .lines()
            .find(|l| l.contains("verified and cached in"))
            .unwrap_or_else(|| panic!("no download summary in: {stderr}"));
        println!(
            "up 3 nodes with a cold download of {channel} ({version}): {:.1} s; {}",
            t.elapsed().as_secs_f64(),
            downloaded.trim()
        );
        let binaries: Vec<String> = mirror
            .requests()
            .into_iter()
            .filter(|r| !r.contains(".sha256") && !r.contains("SHA256SUMS") && !r.contains(".txt"))
            .collect();
        assert_eq!(
            binaries.len(),
            10,
            "7 + crictl + etcd + coredns: {binaries:?}"
        );
        assert!(binaries.iter().all(|r| r.ends_with(" 200")), "{binaries:?}");

        // init with no binaries named: the release `up` recorded. Run as `sudo -E` by a user
        // (uid 4242, whom no test creates: only the numbers matter) would run it: the kubeconfig,
        // and the directories made for it, are that user's, the file 0600.
        let kubeconfig = sweeper.workdir.join("home-of-4242/.kube/config");
        let t = Instant::now();
        let init = c
            .cmd(&["init", "--name", &c.name, "--wait", "3m"])
            .env("KUBECONFIG", &kubeconfig)
            .env("SUDO_USER", "knst-user")
            .env("SUDO_UID", "4242")
            .env("SUDO_GID", "4243")
            .output()
            .unwrap();
        assert_ok(&init, "init");
        println!(
            "init to all nodes Ready: {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let owner = |path: &Path| {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(path).unwrap();
            (m.uid(), m.gid(), m.mode() & 0o777)
        };
        assert_eq!(owner(&kubeconfig), (4242, 4243, 0o600));
        assert_eq!(owner(kubeconfig.parent().unwrap()), (4242, 4243, 0o750));
        let kubectl = Kubectl::new(kube_bin, kubeconfig.clone());
        let nodes = kubectl.json(&["get", "nodes"]);
        let items = nodes["items"].as_array().unwrap();
        assert_eq!(items.len(), 3);
        for n in items {
            assert_eq!(n["status"]["nodeInfo"]["kubeletVersion"], version.as_str());
            assert!(is_ready(n), "{n}");
        }
        let in_node = c.exec(&c.node(2), &["crictl", "--version"]);
        assert_ok(&in_node, "crictl in a node");
        let list = c.run(&["releases", "list", "--json", "--release-cache", cache_arg]);
        let listed: Value = serde_json::from_slice(&list.stdout).unwrap();
        assert_eq!(listed[0]["record"]["version"], version.as_str());
        assert_eq!(listed[0]["clusters"][0], c.name.as_str());

        // A second cluster downloads nothing: `up` with no binaries, then `init` with none
        // either, which takes the default release (the version the shared binaries are), found
        // in the cache.
        let before = mirror.requests().len();
        let second = c.beside();
        assert_ok(&second.up(1, &[]), "second up");
        if version == "v1.28.7" {
            let t = Instant::now();
            let init = second
                .cmd(&["init", "--name", &second.name, "--release-cache", cache_arg])
                .env("KUBEADM_NSPAWN_RELEASE_MIRROR", &mirror.url)
                .env("KUBECONFIG", &kubeconfig)
                .output()
                .unwrap();
            assert_ok(&init, "init with the default release");
            let stderr = String::from_utf8_lossy(&init.stderr);
            assert!(
                stderr
                    .contains("Kubernetes v1.28.7, the newest version the end-to-end tests verify"),
                "{stderr}"
            );
            assert!(stderr.contains("from the cache"), "{stderr}");
            println!(
                "second cluster, 1 node, init with the default release from the cache: {:.1} s",
                t.elapsed().as_secs_f64()
            );
        }
        assert_eq!(mirror.requests()[before..], [] as [String; 0]);
        // The second init (plain root) merged into the same file: it stays the user's.
        assert_eq!(owner(&kubeconfig), (4242, 4243, 0o600));
        let t = Instant::now();
        let get = c.run(&[
            "releases",
            "get",
            &version,
            "--release-mirror",
            &mirror.url,
            "--release-cache",
            cache_arg,
        ]);
        assert_ok(&get, "releases get (cached)");
        println!(
            "cache hit (releases get {version}): {:.2} s",
            t.elapsed().as_secs_f64()
        );
        assert_eq!(mirror.requests()[before..], [] as [String; 0]);

        // gc keeps what a cluster uses, frees the rest once no cluster does.
        let gc = c.run(&["releases", "gc", "--release-cache", cache_arg]);
        assert_ok(&gc, "releases gc");
        assert!(String::from_utf8_lossy(&gc.stderr).contains("0 version(s) removed"));
        for cluster in [&c, &second] {
            let down = cluster.run_with_kubeconfig(&["down", "--name", &cluster.name], &kubeconfig);
            assert_ok(&down, "down");
        }
        let gc = c.run(&["releases", "gc", "--release-cache", cache_arg]);
        assert!(String::from_utf8_lossy(&gc.stderr).contains("1 version(s) removed"));
        assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 0);
    });
}

/// A pod on the node labelled `tier: front` that holds `mebibytes` of memory (dd's buffer, blocked
/// on a pipe nobody reads) until it is stopped.
const MEMORY_HOG: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  nodeSelector: {tier: front}
  restartPolicy: Never
  containers:
  - name: hog
    image: IMAGE
    imagePullPolicy: Never
    command: ["/usr/local/bin/busybox", "sh", "-c",
      "/usr/local/bin/busybox dd if=/dev/zero bs=MEBIBYTESM count=1 | /usr/local/bin/busybox sleep 3600"]
"#;

#[test]
fn a_config_file_gives_nodes_labels_and_limits_the_scheduler_sees_and_components_gates_and_patches()
{
    let test = "a_config_file_gives_nodes_labels_and_limits_the_scheduler_sees_and_components_gates_and_patches";
    kubernetes_test(test, |sweeper, kube_bin, extra_bin| {
        let c = TestCluster::new(sweeper);
        let src = sweeper.workdir.join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("hello"), "source tree\n").unwrap();
        let file = sweeper.workdir.join("cluster.yaml");
        std::fs::write(
            &file,
            format!(
                r#"apiVersion: kubeadm-nspawn/v1alpha1
kind: Cluster
name: {name}
networking: {{subnet: {subnet}, masquerade: false}}
kubernetes: {{kubeBin: {kube_bin}, extraBin: {extra_bin}}}
nodes:
- role: control-plane
  memory: 1536Mi
  labels: {{tier: control}}
- memory: 768Mi
  cpus: 1
  labels: {{tier: front, node.kubernetes.io/pool: blue}}
  extraMounts: [{{hostPath: src, nodePath: /src, readOnly: true}}]
featureGates: {{InPlacePodVerticalScaling: true}}
runtimeConfig: {{resource.k8s.io/v1alpha2: "true"}}
kubeadmPatches:
- target: kube-scheduler
  patch: |
    metadata:
      annotations: {{kubeadm-nspawn.test/inline: "yes"}}
"#,
                name = c.name,
                subnet = c.subnet,
                kube_bin = kube_bin.display(),
                extra_bin = extra_bin.display(),
            ),
        )
        .unwrap();
        let file = file.to_str().unwrap();
        assert_ok(&c.run(&["up", "--config", file]), "up --config");
        // `init` takes everything from what `up` recorded: no flags, no file.
        let kubeconfig = sweeper.workdir.join("kubeconfig");
        let started = Instant::now();
        let out = c.run_with_kubeconfig(&["init", "--name", &c.name], &kubeconfig);
        assert_ok(&out, "init");
        println!(
            "config-file cluster of 2 nodes Ready in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let kubectl = Kubectl::new(kube_bin, kubeconfig);
        let nodes = kubectl.json(&["get", "nodes"]);
        let node = |i: usize| {
            nodes["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| n["metadata"]["name"] == c.node(i))
                .unwrap()
                .clone()
        };
        let (n0, n1) = (node(0), node(1));
        // Labels, from the kubelet's --node-labels.
        assert_eq!(n0["metadata"]["labels"]["tier"], "control");
        assert_eq!(n1["metadata"]["labels"]["tier"], "front");
        assert_eq!(n1["metadata"]["labels"]["node.kubernetes.io/pool"], "blue");
        // Limits the scheduler sees: allocatable = limit - 160Mi for the node's own services -
        // the 100Mi eviction threshold; the CPUs given; capacity stays the host's.
        assert_eq!(
            n0["status"]["allocatable"]["memory"], "1276Mi",
            "{}",
            n0["status"]
        );
        assert_eq!(
            n1["status"]["allocatable"]["memory"], "508Mi",
            "{}",
            n1["status"]
        );
        assert_eq!(n1["status"]["allocatable"]["cpu"], "1");
        assert_eq!(n0["status"]["allocatable"]["cpu"], host_cpus());
        // Enforced by the kernel: the node's cgroup, and the kubelet's cap on its pods' cgroup.
        let memory =
            |path: &str| node_cgroup_value(path, ("memory", "memory.limit_in_bytes"), "memory.max");
        if std::path::Path::new("/sys/fs/cgroup/memory/kubeadm-nspawn").is_dir() {
            assert_eq!(memory(&c.node(1)).as_deref(), Some("805306368"));
            assert_eq!(
                memory(&format!("{}/kubepods", c.node(1))).as_deref(),
                Some("637534208")
            );
        }
        // The bind mount.
        let hello = c.exec(&c.node(1), &["cat", "/src/hello"]);
        assert_eq!(String::from_utf8_lossy(&hello.stdout), "source tree\n");
        // Feature gates in every component, the runtime config in the API server.
        let apiserver = kubectl.json(&[
            "-n",
            "kube-system",
            "get",
            "pod",
            "-l",
            "component=kube-apiserver",
        ]);
        let command = apiserver["items"][0]["spec"]["containers"][0]["command"].to_string();
        assert!(
            command.contains("--feature-gates=InPlacePodVerticalScaling=true"),
            "{command}"
        );
        assert!(
            command.contains("--runtime-config=resource.k8s.io/v1alpha2=true"),
            "{command}"
        );
        assert!(kubectl
            .ok(&["api-versions"])
            .lines()
            .any(|l| l == "resource.k8s.io/v1alpha2"));
        for component in ["kube-controller-manager", "kube-scheduler"] {
            let pod = kubectl.json(&[
                "-n",
                "kube-system",
                "get",
                "pod",
                "-l",
                &format!("component={component}"),
            ]);
            let command = pod["items"][0]["spec"]["containers"][0]["command"].to_string();
            assert!(
                command.contains("--feature-gates=InPlacePodVerticalScaling=true"),
                "{component}: {command}"
            );
        }
        for i in 0..2 {
            let config = c.exec(&c.node(i), &["cat", "/var/lib/kubelet/config.yaml"]);
            let config = String::from_utf8_lossy(&config.stdout);
            assert!(
                config.contains("InPlacePodVerticalScaling: true"),
                "kubelet of node {i}: {config}"
            );
        }
        let proxy = kubectl.jsonpath(
            &["-n", "kube-system", "get", "configmap", "kube-proxy"],
            "{.data.config\\.conf}",
        );
        assert!(proxy.contains("InPlacePodVerticalScaling: true"), "{proxy}");
        // The inline kubeadm patch.
        let scheduler = kubectl.json(&[
            "-n",
            "kube-system",
            "get",
            "pod",
            "-l",
            "component=kube-scheduler",
        ]);
        assert_eq!(
            scheduler["items"][0]["metadata"]["annotations"]["kubeadm-nspawn.test/inline"],
            "yes"
        );

        // Memory eviction works against the limit: a pod holding 540 MiB on the 768Mi node (508Mi
        // allocatable) is evicted by the kubelet, and the node stays Ready.
        let busybox = debian_busybox_static(&sweeper.workdir.join("busybox"));
        let image = "kubeadm-nspawn.local/hog:1";
        load_busybox_image(&c, &busybox, &sweeper.workdir.join("hog.tar"), image);
        let hog = MEMORY_HOG
            .replace("IMAGE", image)
            .replace("MEBIBYTES", "540");
        kubectl.apply(&hog);
        let started = Instant::now();
        let status = loop {
            let pod = kubectl.json(&["get", "pod", "hog"]);
            if pod["status"]["phase"] == "Failed" || started.elapsed() > Duration::from_secs(120) {
                break pod["status"].clone();
            }
            std::thread::sleep(Duration::from_secs(1));
        };
        assert_eq!(status["reason"], "Evicted", "{status}");
        assert!(
            status["message"]
                .as_str()
                .unwrap()
                .contains("low on resource: memory"),
            "{status}"
        );
        println!(
            "the memory hog was evicted {:.0} s after it was created",
            started.elapsed().as_secs_f64()
        );
        let ready = kubectl.jsonpath(
            &["get", "node", &c.node(1)],
            "{.status.conditions[?(@.type==\"Ready\")].status}",
        );
        assert_eq!(ready, "True");
        assert_ok(&c.run(&["down", "--name", &c.name]), "down");
    });
}

fn host_cpus() -> String {
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
    let count: usize = online
        .trim()
        .split(',')
        .map(|range| match range.split_once('-') {
            Some((a, b)) => b.parse::<usize>().unwrap() - a.parse::<usize>().unwrap() + 1,
            None => 1,
        })
        .sum();
    count.to_string()
}

#[test]
fn export_logs_of_a_cluster_whose_init_failed_holds_the_apiservers_log() {
    let test = "export_logs_of_a_cluster_whose_init_failed_holds_the_apiservers_log";
    kubernetes_test(test, |sweeper, kube_bin, extra_bin| {
        let c = TestCluster::new(sweeper);
        assert_ok(&c.up(1, &[]), "up --nodes 1");
        // An API server that cannot start: a flag it does not know, by a kubeadm patch.
        let patch = sweeper.workdir.join("kube-apiserver+json.yaml");
        std::fs::write(
            &patch,
            "- op: add\n  path: /spec/containers/0/command/-\n  value: --no-such-flag-from-a-test\n",
        )
        .unwrap();
        // kubeadm waits minutes for a control plane that never comes; the person at the
        // terminal presses Ctrl-C once the API server has failed: SIGINT to init's process group
        // (the one this test started).
        use std::os::unix::process::CommandExt;
        let mut init = c
            .init_cmd(
                kube_bin,
                extra_bin,
                &["--kubeadm-patch", patch.to_str().unwrap()],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let pods = c
            .cluster_dir()
            .join(format!("nodes/{}/rootfs/var/log/pods", c.node(0)));
        let deadline = Instant::now() + Duration::from_secs(120);
        let failed = loop {
            let out = Command::new("grep")
                .args(["-rl", "unknown flag: --no-such-flag-from-a-test"])
                .arg(&pods)
                .output()
                .unwrap();
            if !out.stdout.is_empty() {
                break true;
            }
            if Instant::now() > deadline || init.try_wait().unwrap().is_some() {
                break false;
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        unsafe { libc::kill(-(init.id() as i32), libc::SIGINT) };
        let out = init.wait_with_output().unwrap();
        assert!(
            failed,
            "no failed kube-apiserver log: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&c.run(&["list", "--json"]).stdout)
            .contains("\"kubernetes\":\"initializing\""));

        let exported = export_logs(&c, &sweeper.workdir.join("logs"), false);
        let grep = Command::new("grep")
            .args(["-rl", "unknown flag: --no-such-flag-from-a-test"])
            .arg(exported.join(c.node(0)).join("var/log/pods"))
            .output()
            .unwrap();
        let found = String::from_utf8_lossy(&grep.stdout);
        assert!(
            found.contains("kube-apiserver"),
            "the API server's container log: {found:?}"
        );
        assert!(exported.join("cluster/kubeadm-init.log").is_file());
        assert!(exported.join(c.node(0)).join("journal.log").is_file());
        assert_ok(&c.run(&["down", "--name", &c.name]), "down");
    });
}

/// The names of etcd's members (none of them a learner still), as the etcd of `node` lists them:
/// its gRPC gateway over TLS with kubeadm's healthcheck client certificate, sent by the node's socat.
fn etcd_members(c: &TestCluster, node: &str) -> Vec<String> {
    // stdin stays open until the answer is in: the gateway cancels a request whose client has
    // closed its side (TLS close_notify), answering 499 "context canceled".
    let script = "{ printf 'POST /v3/cluster/member/list HTTP/1.0\\r\\nContent-Length: 2\\r\\n\\r\\n{}'; sleep 2; } \
        | socat -t 2 - OPENSSL:127.0.0.1:2379,cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt,\
key=/etc/kubernetes/pki/etcd/healthcheck-client.key,cafile=/etc/kubernetes/pki/etcd/ca.crt";
    let out = c.exec(node, &["sh", "-c", script]);
    let text = String::from_utf8_lossy(&out.stdout);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let listing: Value = serde_json::from_str(body.trim()).unwrap_or(Value::Null);
    let mut names: Vec<String> = listing["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["isLearner"] != true)
        .filter_map(|m| m["name"].as_str().map(String::from))
        .collect();
    names.sort();
    if names.is_empty() {
        eprintln!(
            "etcd member list in {node}: {text:?} {:?}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    names
}

/// The API servers haproxy on the load balancer counts as up (`show servers state`, op state 2).
fn servers_up(c: &TestCluster) -> Vec<String> {
    let out = c.exec(
        &format!("{}-lb", c.name),
        &[
            "sh",
            "-c",
            "echo 'show servers state' | socat stdio /run/kns-haproxy.sock",
        ],
    );
    let mut up: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() > 5 && f[1] == "kube-apiservers" && f[5] == "2")
        .map(|f| f[3].to_owned())
        .collect();
    up.sort();
    up
}

/// Within 30 s, the etcd of `node` lists every one of `all` (and no other) as a voting member;
/// `what` names the check.
fn assert_etcd_members(c: &TestCluster, node: &str, all: &[String], what: &str) {
    assert!(
        eventually(Duration::from_secs(30), || etcd_members(c, node) == all),
        "{what}"
    );
}

/// Within 30 s, haproxy on the load balancer counts every one of `all` (and no other) as up;
/// `what` names the check.
fn assert_servers_up(c: &TestCluster, all: &[String], what: &str) {
    assert!(
        eventually(Duration::from_secs(30), || servers_up(c) == all),
        "{what}: {:?}",
        servers_up(c)
    );
}

/// Polls until `check` holds, for up to `within`.
fn eventually(within: Duration, check: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The node's memory in use by its processes (RSS, MiB), from its cgroup.
fn node_rss_mib(node: &str) -> u64 {
    let stat =
        node_cgroup_value(node, ("memory", "memory.stat"), "memory.stat").unwrap_or_default();
    stat.lines()
        .find_map(|l| {
            let (key, value) = l.split_once(' ')?;
            matches!(key, "total_rss" | "anon").then(|| value.trim().parse::<u64>().ok())?
        })
        .unwrap_or(0)
        >> 20
}

/// A Deployment of one busybox pod that only sleeps, with no tolerations: it runs only where no
/// taint keeps it off.
const SLEEPER: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: sleeper
spec:
  replicas: 1
  selector:
    matchLabels: {app: sleeper}
  template:
    metadata:
      labels: {app: sleeper}
    spec:
      containers:
      - name: sleep
        image: kubeadm-nspawn.local/web:1
        imagePullPolicy: Never
        command: [/usr/local/bin/busybox, sleep, "3600"]
"#;

#[test]
fn three_control_planes_behind_a_load_balancer_keep_the_api_when_one_is_killed() {
    let test = "three_control_planes_behind_a_load_balancer_keep_the_api_when_one_is_killed";
    kubernetes_test(test, |sweeper, kube_bin, extra_bin| {
        let busybox = debian_busybox_static(&sweeper.workdir.join("deb"));
        let c = TestCluster::new(sweeper);
        // A copy of the binaries, so that the API server can be "rebuilt" for `update`.
        let kube = copy_kube_binaries(kube_bin, sweeper.workdir.join("kube"));
        let kubeconfig = sweeper.workdir.join("kubeconfig");
        let run = |args: &[&str]| c.run_with_kubeconfig(args, &kubeconfig);
        let before_up = HostSnapshot::take();
        let t = Instant::now();
        assert_ok(
            &c.up(4, &["--control-planes", "3"]),
            "up --control-planes 3",
        );
        let up_seconds = t.elapsed().as_secs_f64();
        let listed = String::from_utf8_lossy(&c.run(&["list"]).stdout).into_owned();
        let lb = format!("{}-lb", c.name);
        let lb_ip = c.subnet.replace(".0/24", ".9");
        for (node, role) in [
            (c.node(0), "control-plane"),
            (c.node(2), "control-plane"),
            (c.node(3), "worker"),
            (lb.clone(), "load-balancer"),
        ] {
            assert!(
                listed
                    .lines()
                    .any(|l| l.split_whitespace().take(2).eq([node.as_str(), role])),
                "{node} as {role} in {listed}"
            );
        }
        assert!(listed.contains(&lb_ip), "{listed}");

        let t = Instant::now();
        let init = c.init(&kube, extra_bin, &["--wait", "5m"], &kubeconfig);
        assert_ok(&init, "init");
        println!(
            "3 control planes + 1 worker: up {up_seconds:.1} s, init to all Ready {:.1} s; steps: {}",
            t.elapsed().as_secs_f64(),
            String::from_utf8_lossy(&init.stdout).trim()
        );
        let kubectl = Kubectl::new(kube_bin, kubeconfig.clone());
        // kubectl goes through the load balancer.
        let server = kubectl.jsonpath(
            &["config", "view", "--minify"],
            "{.clusters[0].cluster.server}",
        );
        assert_eq!(server, format!("https://{lb_ip}:6443"));
        let nodes = kubectl.ok(&["get", "nodes", "-o", "name"]);
        assert_eq!(
            nodes.lines().count(),
            4,
            "the load balancer is no node: {nodes}"
        );
        assert_eq!(kubectl.ready_nodes().len(), 4, "all Ready: {nodes}");
        let control_planes = kubectl.ok(&[
            "get",
            "nodes",
            "-l",
            "node-role.kubernetes.io/control-plane",
            "-o",
            "name",
        ]);
        assert_eq!(control_planes.lines().count(), 3, "{control_planes}");
        let all_three: Vec<String> = (0..3).map(|i| c.node(i)).collect();
        assert_etcd_members(&c, &c.node(0), &all_three, "etcd has 3 voting members");
        assert_servers_up(&c, &all_three, "haproxy sees every API server up");
        let memory: Vec<String> = (0..4)
            .map(|i| c.node(i))
            .chain([lb.clone()])
            .map(|n| format!("{n} {} MiB", node_rss_mib(&n)))
            .collect();
        println!("memory (RSS) per node: {}", memory.join(", "));
        // export logs takes the load balancer along: its journal, unit and haproxy's view.
        let exported = export_logs(&c, &sweeper.workdir.join("logs"), false);
        let servers =
            std::fs::read_to_string(exported.join(&lb).join("haproxy-servers.txt")).unwrap();
        assert!(servers.contains(&c.node(2)), "{servers}");
        let status =
            std::fs::read_to_string(exported.join(&lb).join("systemctl-status.txt")).unwrap();
        assert!(status.contains("kns-load-balancer.service"), "{status}");
        assert!(exported.join(&lb).join("journal.log").is_file());
        assert!(exported
            .join(&lb)
            .join("etc/kubeadm-nspawn/haproxy.cfg")
            .is_file());
        load_busybox_image(
            &c,
            &busybox,
            &sweeper.workdir.join("web.tar"),
            "kubeadm-nspawn.local/web:1",
        );

        // The first control plane (where kubeadm init ran, etcd's first member) crashes.
        kill_node(&c.node(0));
        let killed = Instant::now();
        let mut failures = 0;
        while !kubectl.api_ready("2s") {
            failures += 1;
            assert!(
                killed.elapsed() < Duration::from_secs(10),
                "no API within 10 s of the loss"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        println!(
            "API through the load balancer again {:.1} s after the first control plane was killed ({failures} failed requests)",
            killed.elapsed().as_secs_f64()
        );
        // etcd kept its quorum: a new Deployment is stored, scheduled and runs.
        let t = Instant::now();
        kubectl.apply(SLEEPER);
        kubectl.ok(&["rollout", "status", "deployment/sleeper", "--timeout=180s"]);
        let on = kubectl.jsonpath(
            &["get", "pods", "-l", "app=sleeper"],
            "{.items[0].spec.nodeName}",
        );
        assert_eq!(on, c.node(3), "scheduled on the worker");
        println!(
            "a new Deployment available {:.1} s after the loss",
            t.elapsed().as_secs_f64()
        );
        assert_etcd_members(
            &c,
            &c.node(1),
            &all_three,
            "etcd keeps its 3 members (2 of them up)",
        );

        // `start` brings the killed node back, its API server serving and its etcd a member again.
        let t = Instant::now();
        let start = c.run(&["start", "--name", &c.name, "--wait", "3m"]);
        assert_ok(&start, "start");
        println!(
            "start of the killed control plane: {:.1} s",
            t.elapsed().as_secs_f64()
        );
        assert_servers_up(&c, &all_three, "haproxy sees every API server up again");
        assert_etcd_members(
            &c,
            &c.node(0),
            &all_three,
            "the started node's etcd lists the 3 members",
        );

        // `update` of a rebuilt API server, one control plane at a time: the API answers
        // throughout.
        rebuild(&kube.join("kube-apiserver"));
        let stop = std::sync::atomic::AtomicBool::new(false);
        let (update, outage) = std::thread::scope(|s| {
            let poller = s.spawn(|| {
                // The longest time the API did not answer, and how many requests failed.
                let (mut longest, mut failed, mut down_since) = (Duration::ZERO, 0, None);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let asked = Instant::now();
                    let ok = kubectl.api_ready("5s");
                    match (ok, down_since) {
                        (false, None) => {
                            failed += 1;
                            down_since = Some(asked);
                        }
                        (false, Some(_)) => failed += 1,
                        (true, Some(since)) => {
                            longest = longest.max(asked.duration_since(since));
                            down_since = None;
                        }
                        (true, None) => {}
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                (longest, failed)
            });
            let update = run(&[
                "update",
                "--name",
                &c.name,
                "--only",
                "kube-apiserver",
                "--wait",
                "3m",
            ]);
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            (update, poller.join().unwrap())
        });
        assert_ok(&update, "update --only kube-apiserver");
        println!(
            "update of kube-apiserver on 3 control planes: {}; API unavailable at most {:.1} s ({} failed requests)",
            String::from_utf8_lossy(&update.stdout).trim(),
            outage.0.as_secs_f64(),
            outage.1
        );
        assert!(
            outage.0 < Duration::from_secs(3),
            "the API was away {:?} during the update",
            outage.0
        );
        let tag = sha256_of(&kube.join("kube-apiserver"))[..12].to_owned();
        for i in 0..3 {
            let pod = format!("kube-apiserver-{}", c.node(i));
            let image = kubectl.jsonpath(
                &["-n", "kube-system", "get", "pod", &pod],
                "{.spec.containers[0].image}",
            );
            assert!(image.ends_with(&tag), "{} runs {image}", c.node(i));
        }

        // The whole cluster stopped and started again (all of etcd at once): the API, etcd and the
        // load balancer come back, and the Deployment with them.
        assert_ok(&c.run(&["stop", "--name", &c.name]), "stop");
        let t = Instant::now();
        assert_ok(
            &c.run(&["start", "--name", &c.name, "--wait", "3m"]),
            "start",
        );
        println!(
            "start of the stopped HA cluster to all Ready: {:.1} s",
            t.elapsed().as_secs_f64()
        );
        assert_servers_up(
            &c,
            &all_three,
            "haproxy sees every API server up after start",
        );
        assert_etcd_members(
            &c,
            &c.node(2),
            &all_three,
            "etcd has its 3 members after start",
        );
        kubectl.ok(&["rollout", "status", "deployment/sleeper", "--timeout=120s"]);

        assert_ok(&run(&["down", "--name", &c.name]), "down");
        let left = HostSnapshot::take().added_since(&before_up);
        assert!(left.is_empty(), "down left on the host: {left:?}");
    });
}
