//! End-to-end (#31): an IPv6-only and a dual-stack cluster of three nodes with the real
//! Kubernetes binaries (`KUBE_BIN`, `KUBE_EXTRA_BIN`; without them one `SKIPPED:` line). On each
//! family: pods on different nodes reach each other, the Service answers on its ClusterIP(s) from
//! a pod and from a node, DNS answers A and/or AAAA for it; the dual-stack cluster keeps both
//! families across `stop`/`start`. And what `up` refuses of IPv6 ranges, with nothing created.
//! Every address used is the cluster's own (its derived ULA /64, its pod and service ranges); no
//! node has a default route of either family.

use std::path::Path;
use std::time::{Duration, Instant};

use kns_integration_tests::cluster::{
    assert_ok, copy_kube_binaries, kubernetes_test, rebuild, updated_components, warm_base,
    TestCluster,
};
use kns_integration_tests::kubectl::Kubectl;
use kns_integration_tests::workload::{
    cluster_ip_answers, http_get, load_busybox_image, wait_for_restarted_web_pods, DEPLOYMENT,
};
use kns_integration_tests::{
    debian_busybox_static, privileged_test, run_ok, utc_now, HostSnapshot,
};
use serde_json::Value;

fn is_v6(ip: &str) -> bool {
    ip.contains(':')
}

/// `up` of 3 nodes in `family`, then `init` to all Ready; prints the times; returns kubectl.
fn make_cluster(
    c: &TestCluster,
    family: &str,
    kube: &Path,
    extra: &Path,
    work: &Path,
) -> Kubectl<'static> {
    let kubeconfig = work.join("kubeconfig");
    let t = Instant::now();
    assert_ok(&c.up(3, &["--ip-family", family]), "up --ip-family");
    let up = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let init = c.init(kube, extra, &["--wait", "3m"], &kubeconfig);
    assert_ok(&init, "init");
    let init_seconds = t.elapsed().as_secs_f64();
    println!(
        "{family}: up 3 nodes {up:.1} s, init to all Ready {init_seconds:.1} s, up+init {:.1} s; {}",
        up + init_seconds,
        String::from_utf8_lossy(&init.stdout).trim()
    );
    Kubectl::new(kube, kubeconfig)
}

/// The nodes' addresses as Kubernetes has them, their routes: one InternalIP of each family the
/// cluster has, and no default route of either family in any node.
fn nodes_have_their_families_and_no_way_out(
    c: &TestCluster,
    kubectl: &Kubectl,
    v4: bool,
    v6: bool,
) {
    let nodes = kubectl.json(&["get", "nodes"]);
    for n in nodes["items"].as_array().unwrap() {
        let ips: Vec<&str> = n["status"]["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["type"] == "InternalIP")
            .map(|a| a["address"].as_str().unwrap())
            .collect();
        assert_eq!(ips.iter().any(|i| !is_v6(i)), v4, "{ips:?}");
        assert_eq!(ips.iter().any(|i| is_v6(i)), v6, "{ips:?}");
        if v4 && v6 {
            assert!(!is_v6(ips[0]), "IPv4 first in dual-stack: {ips:?}");
            let cidrs = n["spec"]["podCIDRs"].as_array().unwrap();
            assert_eq!(cidrs.len(), 2, "a podCIDR of each family: {cidrs:?}");
        }
    }
    for i in 0..3 {
        for family in ["-4", "-6"] {
            let out = c.exec(&c.node(i), &["ip", family, "route", "show", "default"]);
            assert_ok(&out, "ip route show default");
            let routes = String::from_utf8_lossy(&out.stdout);
            assert!(routes.trim().is_empty(), "{} {family}: {routes}", c.node(i));
        }
        let out = c.exec(
            &c.node(i),
            &["sysctl", "-n", "net.ipv6.conf.eth0.accept_ra"],
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "0",
            "accept_ra"
        );
    }
}

/// The `web` pods (one a node) with their addresses, the Service `web` of `policy`.
fn deploy_web(c: &TestCluster, kubectl: &Kubectl, busybox: &Path, work: &Path, dual: bool) {
    let image = "kubeadm-nspawn.local/web:1";
    load_busybox_image(c, busybox, &work.join("web.tar"), image);
    let mut manifest = DEPLOYMENT.replace("IMAGE", image);
    if dual {
        manifest = manifest.replace(
            "spec:\n  selector: {app: web}",
            "spec:\n  ipFamilyPolicy: RequireDualStack\n  selector: {app: web}",
        );
        assert!(manifest.contains("RequireDualStack"));
    }
    assert_ok(
        &kubectl.output(&["apply", "-f", "-"], Some(&manifest)),
        "apply",
    );
    kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=180s"]);
}

/// Each family of `families` ("4", "6"): pod to pod across nodes on it, the Service's ClusterIP
/// of it from a pod and from node 2, and DNS answering the Service with every ClusterIP.
fn serves_traffic(c: &TestCluster, kubectl: &Kubectl, families: &[bool]) {
    let pods = kubectl.json(&["get", "pods", "-l", "app=web"]);
    let pods: Vec<(String, String, Vec<String>)> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["metadata"]["name"].as_str().unwrap().to_owned(),
                p["spec"]["nodeName"].as_str().unwrap().to_owned(),
                p["status"]["podIPs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["ip"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    let mut on: Vec<&str> = pods.iter().map(|p| p.1.as_str()).collect();
    on.sort();
    on.dedup();
    assert_eq!(on.len(), 3, "one replica per node: {pods:?}");
    let service = kubectl.json(&["get", "service", "web"]);
    let cluster_ips: Vec<String> = service["spec"]["clusterIPs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(cluster_ips.len(), families.len(), "{cluster_ips:?}");
    let names: Vec<&str> = pods.iter().map(|p| p.0.as_str()).collect();
    let answered = |t: &str| names.iter().any(|n| t.contains(n));
    for &v6 in families {
        let of = |ips: &[String]| ips.iter().find(|i| is_v6(i) == v6).cloned().unwrap();
        for i in 0..3 {
            let (from, to) = (&pods[i], &pods[(i + 1) % 3]);
            let ip = of(&to.2);
            let page = kubectl.exec_until(&from.0, &http_get(&ip, 8080), |t| t.contains(&to.0));
            assert!(
                page.contains(&to.0),
                "{} -> {} at {ip}: {page}",
                from.0,
                to.0
            );
        }
        let cluster_ip = of(&cluster_ips);
        cluster_ip_answers(c, kubectl, &pods[0].0, &cluster_ip, answered);
    }
    // CoreDNS answers A and/or AAAA: every ClusterIP of the Service.
    let lookup = kubectl.exec_until(
        &pods[1].0,
        "/usr/local/bin/busybox nslookup web.default.svc.cluster.local",
        |t| cluster_ips.iter().all(|ip| t.contains(ip.as_str())),
    );
    for ip in &cluster_ips {
        assert!(lookup.contains(ip.as_str()), "nslookup has {ip}: {lookup}");
    }
}

#[test]
fn an_ipv6_only_cluster_serves_pods_services_and_dns_on_ipv6() {
    let test = "an_ipv6_only_cluster_serves_pods_services_and_dns_on_ipv6";
    kubernetes_test(test, |sweeper, kube, extra| {
        let busybox = debian_busybox_static(&sweeper.workdir.join("deb"));
        let c = TestCluster::new(sweeper);
        // A copy of the binaries, so that components can be "rebuilt" for `update`.
        let copy = copy_kube_binaries(kube, sweeper.workdir.join("kube"));
        let before_up = HostSnapshot::take();
        let kubectl = make_cluster(&c, "ipv6", &copy, extra, &sweeper.workdir);
        let list = c.listed();
        assert_eq!(list["ipFamily"], "ipv6");
        assert_eq!(list["podSubnet"], "fd00:10:244::/56");
        assert_eq!(list["serviceSubnet"], "fd00:10:96::/112");
        let subnet6 = list["subnet"]
            .as_str()
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .to_owned();
        assert!(
            subnet6.starts_with("fd") && subnet6.ends_with("::/64"),
            "{list}"
        );
        assert!(list["nodes"][0]["ip6"]
            .as_str()
            .unwrap()
            .starts_with(&subnet6[..4]));
        nodes_have_their_families_and_no_way_out(&c, &kubectl, false, true);
        let t = Instant::now();
        deploy_web(&c, &kubectl, &busybox, &sweeper.workdir, false);
        println!(
            "ipv6: deployment of 3 available after {:.1} s",
            t.elapsed().as_secs_f64()
        );
        serves_traffic(&c, &kubectl, &[true]);
        let kubernetes = kubectl.json(&["get", "service", "kubernetes"]);
        assert!(is_v6(kubernetes["spec"]["clusterIP"].as_str().unwrap()));
        // stop/start: the same IPv6 addresses; the kubelets' health (on ::1) and the pods'
        // traffic back.
        stop_and_start(&c, &kubectl, "ipv6", 1, &before_up);
        serves_traffic(&c, &kubectl, &[true]);
        // The loopback-only servers listen on IPv6's loopback.
        let listening = c.exec(&c.node(0), &["ss", "-ltnH"]);
        let listening = String::from_utf8_lossy(&listening.stdout).into_owned();
        for port in ["10248", "10257", "10259"] {
            assert!(
                listening.contains(&format!("[::1]:{port}")),
                "{port}: {listening}"
            );
        }
        // update: the components whose health is served on ::1 in an IPv6 cluster, replaced and
        // found healthy there.
        for b in ["kubelet", "kube-controller-manager", "kube-scheduler"] {
            rebuild(&copy.join(b));
        }
        let t = Instant::now();
        let update = c.run(&["update", "--name", &c.name]);
        assert_ok(&update, "update");
        println!(
            "ipv6: update of kubelet, kube-controller-manager, kube-scheduler {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let updated = updated_components(&update);
        for b in ["kubelet", "kube-controller-manager", "kube-scheduler"] {
            assert!(updated.iter().any(|u| u == b), "{b} in {updated:?}");
        }
        serves_traffic(&c, &kubectl, &[true]);
        assert_ok(&c.run(&["down", "--name", &c.name]), "down");
    });
}

#[test]
fn a_dual_stack_cluster_serves_both_families_and_keeps_them_across_stop_and_start() {
    let test = "a_dual_stack_cluster_serves_both_families_and_keeps_them_across_stop_and_start";
    kubernetes_test(test, |sweeper, kube, extra| {
        let busybox = debian_busybox_static(&sweeper.workdir.join("deb"));
        let c = TestCluster::new(sweeper);
        let before_up = HostSnapshot::take();
        let kubectl = make_cluster(&c, "dual", kube, extra, &sweeper.workdir);
        let list = c.listed();
        assert_eq!(list["ipFamily"], "dual");
        assert_eq!(list["podSubnet"], "10.244.0.0/16,fd00:10:244::/56");
        assert_eq!(list["serviceSubnet"], "10.96.0.0/12,fd00:10:96::/112");
        nodes_have_their_families_and_no_way_out(&c, &kubectl, true, true);
        let t = Instant::now();
        deploy_web(&c, &kubectl, &busybox, &sweeper.workdir, true);
        println!(
            "dual: deployment of 3 available after {:.1} s",
            t.elapsed().as_secs_f64()
        );
        serves_traffic(&c, &kubectl, &[false, true]);

        // export logs: the state names the family and both ranges.
        let logs = sweeper.workdir.join("logs");
        assert_ok(
            &c.run(&["export", "logs", logs.to_str().unwrap(), "--name", &c.name]),
            "export logs",
        );
        let state = std::fs::read_to_string(logs.join("cluster/state.json")).unwrap();
        let state: Value = serde_json::from_str(&state).unwrap();
        assert_eq!(state["ipFamily"], "dual");
        assert_eq!(state["ipv6"]["pods"], "fd00:10:244::/56");
        let network = std::fs::read_to_string(logs.join("cluster/network.txt")).unwrap();
        assert!(network.starts_with("ip family: dual\n"), "{network}");
        let ip = std::fs::read_to_string(logs.join(c.node(1)).join("ip.txt")).unwrap();
        assert!(
            ip.contains("fd00:10:244::/64 via"),
            "node 1 routes node 0's IPv6 pods: {ip}"
        );

        stop_and_start(&c, &kubectl, "dual", 2, &before_up);
        nodes_have_their_families_and_no_way_out(&c, &kubectl, true, true);
        serves_traffic(&c, &kubectl, &[false, true]);
        assert_ok(&c.run(&["down", "--name", &c.name]), "down");
    });
}

/// `stop` (leaving nothing on the host that was not there before `up`: no bridge, no ip6tables
/// rule), then `start` to all Ready: the same addresses of each family, the `web` pods running
/// again with `families` addresses each.
fn stop_and_start(
    c: &TestCluster,
    kubectl: &Kubectl,
    what: &str,
    families: usize,
    before_up: &HostSnapshot,
) {
    let addresses = c.listed()["nodes"].clone();
    let t = Instant::now();
    assert_ok(&c.run(&["stop", "--name", &c.name]), "stop");
    println!("{what}: stop {:.1} s", t.elapsed().as_secs_f64());
    let left = HostSnapshot::take().added_since(before_up);
    assert!(left.is_empty(), "stop left on the host: {left:?}");
    let since = utc_now();
    let t = Instant::now();
    assert_ok(
        &c.run(&["start", "--name", &c.name, "--wait", "3m"]),
        "start",
    );
    println!(
        "{what}: start to all Ready {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let now = c.listed()["nodes"].clone();
    for (a, b) in addresses
        .as_array()
        .unwrap()
        .iter()
        .zip(now.as_array().unwrap())
    {
        assert_eq!(
            (&a["ip"], &a["ip6"]),
            (&b["ip"], &b["ip6"]),
            "same addresses"
        );
    }
    wait_for_restarted_web_pods(kubectl, &since, |status| {
        status["podIPs"]
            .as_array()
            .is_some_and(|a| a.len() == families)
    });
}

#[test]
fn ipv6_ranges_that_collide_or_are_not_unique_local_are_refused() {
    privileged_test(
        "ipv6_ranges_that_collide_or_are_not_unique_local_are_refused",
        |sweeper| {
            warm_base();
            let c = TestCluster::new(sweeper);
            // The host's "IPv6 LAN": a test-owned bridge with a range derived as the cluster's
            // would be (the test's own; nothing is sent to it).
            let bridge = format!("{}h", sweeper.prefix);
            let octet = &c.name[c.name.len() - 2..];
            let lan = format!("fd6e:57{octet}:1::/64");
            run_ok("ip", &["link", "add", &bridge, "type", "bridge"]);
            run_ok(
                "ip",
                &[
                    "addr",
                    "add",
                    &format!("fd6e:57{octet}:1::1/64"),
                    "dev",
                    &bridge,
                    "nodad",
                ],
            );
            let subnets = format!("{},{lan}", c.subnet);
            let up = |more: &[&str]| {
                let mut args = vec!["up", "--name", &c.name, "--no-masquerade", "--ip-family"];
                args.extend(more);
                args.into_iter().map(String::from).collect::<Vec<_>>()
            };
            let args = up(&["ipv6", "--subnet", &subnets]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            c.assert_refused(
                &args,
                &format!("--subnet {lan} collides with the host's interface {bridge} ({lan})"),
            );
            let args = up(&[
                "dual",
                "--subnet",
                &c.subnet.clone(),
                "--pod-subnet",
                "10.244.0.0/16",
            ]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            c.assert_refused(&args, "--pod-subnet: 10.244.0.0/16 alone: a dual-stack cluster takes one range of each family");
            let non_ula = format!("{},2001:db8::/64", c.subnet);
            let args = up(&["ipv6", "--subnet", &non_ula]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            c.assert_refused(
                &args,
                "--subnet 2001:db8::/64 is not a unique local range (fd00::/8)",
            );
            run_ok("ip", &["link", "del", &bridge]);
        },
    );
}

#[test]
fn an_ipv6_cluster_of_three_control_planes_behind_the_load_balancer_comes_up_and_restarts() {
    let test =
        "an_ipv6_cluster_of_three_control_planes_behind_the_load_balancer_comes_up_and_restarts";
    kubernetes_test(test, |sweeper, kube, extra| {
        three_control_planes(sweeper, kube, extra, "ipv6")
    });
}

#[test]
fn a_dual_stack_cluster_of_three_control_planes_behind_the_load_balancer_comes_up_and_restarts() {
    let test = "a_dual_stack_cluster_of_three_control_planes_behind_the_load_balancer_comes_up_and_restarts";
    kubernetes_test(test, |sweeper, kube, extra| {
        three_control_planes(sweeper, kube, extra, "dual")
    });
}

/// 3 control planes behind the load balancer and a worker in `family` (ipv6, dual): every etcd
/// member and API server advertises the primary family's address, the load balancer has its
/// IPv6 address beside its IPv4 frontend, the pods' traffic of each family, stop/start.
fn three_control_planes(
    sweeper: &kns_integration_tests::PrefixSweeper,
    kube: &Path,
    extra: &Path,
    family: &str,
) {
    let dual = family == "dual";
    let families: &[bool] = if dual { &[false, true] } else { &[true] };
    let busybox = debian_busybox_static(&sweeper.workdir.join("deb"));
    let c = TestCluster::new(sweeper);
    let before_up = HostSnapshot::take();
    let kubeconfig = sweeper.workdir.join("kubeconfig");
    let t = Instant::now();
    assert_ok(
        &c.up(4, &["--ip-family", family, "--control-planes", "3"]),
        "up --control-planes 3 --ip-family",
    );
    let up = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let init = c.init(kube, extra, &["--wait", "5m"], &kubeconfig);
    assert_ok(&init, "init");
    println!(
        "{family} HA (3 control planes + 1 worker): up {up:.1} s, init to all Ready {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let kubectl = Kubectl::new(kube, kubeconfig);
    let list = c.listed();
    let lb = list["nodes"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(lb["role"], "load-balancer");
    assert!(lb["ip6"].as_str().unwrap().ends_with("::9"), "{lb}");
    let primary = if dual { "https://10." } else { "https://[fd" };
    let etcd = kubectl.json(&["-n", "kube-system", "get", "pods", "-l", "component=etcd"]);
    let urls: Vec<String> = etcd["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["metadata"]["annotations"]["kubeadm.kubernetes.io/etcd.advertise-client-urls"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(urls.len(), 3, "{urls:?}");
    assert!(urls.iter().all(|u| u.starts_with(primary)), "{urls:?}");
    // The `kubernetes` Service's endpoints: every API server (the last to start is listed a
    // moment after the nodes are Ready), by its primary family's address.
    let deadline = Instant::now() + Duration::from_secs(60);
    let addresses = loop {
        let endpoints = kubectl.json(&["get", "endpoints", "kubernetes"]);
        let addresses: Vec<String> = endpoints["subsets"][0]["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| a["ip"].as_str().unwrap().to_owned())
            .collect();
        if addresses.len() == 3 || Instant::now() > deadline {
            break addresses;
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    assert_eq!(addresses.len(), 3, "{addresses:?}");
    assert!(addresses.iter().all(|a| is_v6(a) != dual), "{addresses:?}");
    nodes_have_their_families_and_no_way_out(&c, &kubectl, dual, true);
    deploy_web(&c, &kubectl, &busybox, &sweeper.workdir, dual);
    serves_traffic(&c, &kubectl, families);
    stop_and_start(
        &c,
        &kubectl,
        &format!("{family} HA"),
        families.len(),
        &before_up,
    );
    serves_traffic(&c, &kubectl, families);
    assert_ok(&c.run(&["down", "--name", &c.name]), "down");
}
