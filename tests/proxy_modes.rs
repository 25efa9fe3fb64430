//! End-to-end (#31): a cluster without kube-proxy (`kubeProxyMode: none`) and without
//! kubeadm-nspawn's pod network (`disableDefaultCNI: true`) comes up with its nodes NotReady,
//! `init` returning once the API answers; a pod network the user applies (a DaemonSet that writes
//! a bridge + host-local CNI config from each node's podCIDR, its image built here from Debian's
//! busybox-static and the cluster's kubectl and loaded with `kubeadm-nspawn load`) makes them
//! Ready and a pod runs. Also what `up` and `init` refuse: nftables on 1.28, ipvs on a kernel
//! without IPVS, each in one error line with nothing created or changed. Needs `KUBE_BIN` and
//! `KUBE_EXTRA_BIN` (else one SKIPPED line).

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use kns_integration_tests::cluster::{
    assert_fails_with, assert_ok, kube_dirs, warm_base, TestCluster,
};
use kns_integration_tests::kubectl::Kubectl;
use kns_integration_tests::workload::build_image;
use kns_integration_tests::{debian_busybox_static, privileged_test, HostSnapshot};

/// The user's pod network: a DaemonSet (host network, every taint tolerated: it runs on NotReady
/// nodes) that asks the API for its node's podCIDR and writes a bridge + host-local conflist into
/// the node's /etc/cni/net.d. Without kube-proxy the kubernetes Service's ClusterIP leads nowhere,
/// so the API server is given by its address (as a CNI that replaces kube-proxy is told).
const USER_CNI: &str = r#"
apiVersion: v1
kind: ServiceAccount
metadata: {name: user-cni, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: user-cni}
rules:
- apiGroups: [""]
  resources: [nodes]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: user-cni}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: user-cni}
subjects:
- {kind: ServiceAccount, name: user-cni, namespace: kube-system}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: user-cni, namespace: kube-system}
spec:
  selector:
    matchLabels: {app: user-cni}
  template:
    metadata:
      labels: {app: user-cni}
    spec:
      serviceAccountName: user-cni
      hostNetwork: true
      tolerations: [{operator: Exists}]
      containers:
      - name: write-conflist
        image: IMAGE
        imagePullPolicy: Never
        env:
        - name: NODE_NAME
          valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
        - {name: KUBERNETES_SERVICE_HOST, value: "APISERVER"}
        - {name: KUBERNETES_SERVICE_PORT, value: "6443"}
        command: [/usr/local/bin/busybox, sh, -c]
        args:
        - |
          B=/usr/local/bin/busybox
          until cidr=$(/usr/local/bin/kubectl get node "$NODE_NAME" -o jsonpath='{.spec.podCIDR}') && [ -n "$cidr" ]; do $B sleep 1; done
          $B printf '{"cniVersion":"0.4.0","name":"user-bridge","plugins":[{"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":false,"ipam":{"type":"host-local","ranges":[[{"subnet":"%s"}]],"routes":[{"dst":"0.0.0.0/0"}]}},{"type":"portmap","capabilities":{"portMappings":true}}]}\n' "$cidr" > /host/cni/.10-user-bridge.tmp
          $B mv /host/cni/.10-user-bridge.tmp /host/cni/10-user-bridge.conflist
          echo "$NODE_NAME: pods in $cidr"
          while true; do $B sleep 3600; done
        volumeMounts:
        - {name: cni, mountPath: /host/cni}
      volumes:
      - name: cni
        hostPath: {path: /etc/cni/net.d, type: DirectoryOrCreate}
"#;

/// A pod of the same image, placed by the scheduler (on the worker: the control plane keeps its
/// taint).
const HELLO: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: hello}
spec:
  containers:
  - name: hello
    image: IMAGE
    imagePullPolicy: Never
    command: [/usr/local/bin/busybox, sh, -c, "while true; do /usr/local/bin/busybox sleep 3600; done"]
"#;

/// Only the error line: a refusal is said in one line (a hint may follow).
fn error_lines(out: &Output) -> usize {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("error: "))
        .count()
}

/// A config file in `dir` with `text` after the header; returns its path.
fn config_file(dir: &Path, name: &str, text: &str) -> String {
    let file = dir.join(name);
    std::fs::write(
        &file,
        format!("apiVersion: kubeadm-nspawn/v1alpha1\nkind: Cluster\n{text}"),
    )
    .unwrap();
    file.to_str().unwrap().to_owned()
}

/// No kube-proxy pod in any namespace (kubeProxyMode: none).
fn assert_no_kube_proxy_pods(kubectl: &Kubectl) {
    let proxies = kubectl.ok(&[
        "get",
        "pods",
        "-A",
        "-l",
        "k8s-app=kube-proxy",
        "-o",
        "name",
    ]);
    assert!(proxies.trim().is_empty(), "kube-proxy pods: {proxies}");
}

fn poll(within: Duration, what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn without_kube_proxy_and_the_default_cni_a_user_applied_bridge_cni_makes_the_nodes_ready() {
    let test =
        "without_kube_proxy_and_the_default_cni_a_user_applied_bridge_cni_makes_the_nodes_ready";
    let Some((kube_bin, extra_bin)) = kube_dirs(test) else {
        return;
    };
    privileged_test(test, |sweeper| {
        std::fs::create_dir_all(&sweeper.workdir).unwrap();
        let c = TestCluster::new(sweeper);
        let kube = kube_bin.to_str().unwrap();
        let extra = extra_bin.to_str().unwrap();

        // Refused at `up`, in one line, before anything is made: ipvs on a kernel without IPVS
        // (this machine's), nftables with the 1.28 binaries.
        if !Path::new("/proc/net/ip_vs").exists() {
            let out = c.up(2, &["--kube-proxy-mode", "ipvs"]);
            assert_fails_with(
                &out,
                "kube-proxy mode ipvs needs IPVS in the host's kernel (nodes share it and cannot \
                 load modules): missing the ip_vs module (/proc/net/ip_vs is absent)",
            );
            assert_eq!(error_lines(&out), 1);
            assert!(
                !c.cluster_dir().exists(),
                "ipvs refused, yet a cluster was made"
            );
        } else {
            println!("this host has IPVS: its refusal is not proven here");
        }
        let out = c.up(
            2,
            &[
                "--kube-proxy-mode",
                "nftables",
                "--kube-bin",
                kube,
                "--extra-bin",
                extra,
            ],
        );
        assert_fails_with(
            &out,
            "kube-proxy mode nftables needs Kubernetes 1.29 or later; these binaries are v1.28.7",
        );
        assert_eq!(error_lines(&out), 1);
        assert!(
            !c.cluster_dir().exists(),
            "nftables refused, yet a cluster was made"
        );

        warm_base();
        let busybox = debian_busybox_static(&sweeper.workdir.join("deb"));
        let before_up = HostSnapshot::take();
        let file = config_file(
            &sweeper.workdir,
            "own-network.yaml",
            "nodes: [{}, {}]\nnetworking:\n  kubeProxyMode: none\n  disableDefaultCNI: true\n",
        );
        assert_ok(
            &c.up(
                2,
                &["--config", &file, "--kube-bin", kube, "--extra-bin", extra],
            ),
            "up --config",
        );
        let list = c.listed();
        assert_eq!(list["kubeProxyMode"], "none", "{list}");
        assert_eq!(list["podNetwork"], "user", "{list}");
        let control_plane_ip = list["nodes"][0]["ip"].as_str().unwrap().to_owned();

        // `init --config` of nftables on these 1.28 binaries: refused, the cluster unchanged.
        let state = || std::fs::read_to_string(c.cluster_dir().join("state.json")).unwrap();
        let before = state();
        let nftables = config_file(
            &sweeper.workdir,
            "nftables.yaml",
            "nodes: [{}, {}]\nnetworking:\n  kubeProxyMode: nftables\n",
        );
        let out = c.run(&["init", "--name", &c.name, "--config", &nftables]);
        assert_fails_with(&out, "these binaries are v1.28.7");
        assert_eq!(error_lines(&out), 1);
        assert_eq!(state(), before, "a refused init changed the state");

        let kubeconfig = sweeper.workdir.join("kubeconfig");
        let t = Instant::now();
        let init = c.run_with_kubeconfig(&["init", "--name", &c.name, "--wait", "3m"], &kubeconfig);
        assert_ok(&init, "init");
        let said = String::from_utf8_lossy(&init.stderr).into_owned();
        println!(
            "init without a pod network, to the API: {:.1} s; {}",
            t.elapsed().as_secs_f64(),
            String::from_utf8_lossy(&init.stdout).trim()
        );
        assert!(said.contains("kube-proxy: none; no pod network"), "{said}");
        assert!(said.contains("wait for a pod network"), "{said}");
        assert!(!said.contains("nodes Ready after"), "{said}");

        let kubectl = Kubectl::new(&kube_bin, kubeconfig);
        // NotReady, for want of a pod network; no kube-proxy at all.
        assert!(
            kubectl.ready_nodes().is_empty(),
            "Ready without a pod network"
        );
        let daemonsets = kubectl.ok(&["get", "daemonsets", "-n", "kube-system", "-o", "name"]);
        assert!(!daemonsets.contains("kube-proxy"), "{daemonsets}");
        assert_no_kube_proxy_pods(&kubectl);
        for node in [c.node(0), c.node(1)] {
            let out = c.exec(&node, &["ls", "/etc/cni/net.d"]);
            let listed = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                !listed.contains("10-kns"),
                "{node}: kubeadm-nspawn's conflist: {listed}"
            );
        }

        // stop/start before any pod network: start waits for the kubelets to report, not for
        // a Ready that cannot come.
        assert_ok(&c.run(&["stop", "--name", &c.name]), "stop");
        let t = Instant::now();
        let start = c.run(&["start", "--name", &c.name, "--wait", "3m"]);
        assert_ok(&start, "start without a pod network");
        let said = String::from_utf8_lossy(&start.stderr).into_owned();
        assert!(said.contains("all 2 kubelets reporting"), "{said}");
        println!(
            "start without a pod network, to the kubelets reporting: {:.1} s",
            t.elapsed().as_secs_f64()
        );
        assert!(
            kubectl.ready_nodes().is_empty(),
            "Ready without a pod network"
        );

        // The user's pod network: its image made here (busybox and the cluster's kubectl) and
        // loaded into the nodes; nothing is pulled.
        let image = "kubeadm-nspawn.local/user-cni:1";
        let archive = sweeper.workdir.join("user-cni.tar");
        let kubectl_binary = kube_bin.join("kubectl");
        build_image(
            image,
            &[busybox.to_str().unwrap(), kubectl_binary.to_str().unwrap()],
            &[],
            &archive,
        );
        assert_ok(
            &c.run(&["load", "--name", &c.name, archive.to_str().unwrap()]),
            "load",
        );
        let t = Instant::now();
        kubectl.apply(
            &USER_CNI
                .replace("IMAGE", image)
                .replace("APISERVER", &control_plane_ip),
        );
        poll(Duration::from_secs(180), "both nodes Ready", || {
            kubectl.ready_nodes().len() == 2
        });
        println!(
            "the user's pod network applied to both nodes Ready: {:.1} s",
            t.elapsed().as_secs_f64()
        );
        kubectl.apply(&HELLO.replace("IMAGE", image));
        kubectl.ok(&[
            "wait",
            "--for=condition=Ready",
            "pod/hello",
            "--timeout=120s",
        ]);
        let pod = kubectl.json(&["get", "pod", "hello"]);
        let pod_ip = pod["status"]["podIP"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(pod["spec"]["nodeName"], c.node(1).as_str(), "{pod}");
        assert!(
            pod_ip.starts_with("10.244.1."),
            "the worker's podCIDR 10.244.1.0/24 (the user's conflist): {pod_ip}"
        );
        println!("pod hello runs on {} at {pod_ip}", c.node(1));

        // export logs names the mode and whose pod network it is.
        let exported = sweeper.workdir.join("logs");
        assert_ok(
            &c.run(&[
                "export",
                "logs",
                exported.to_str().unwrap(),
                "--name",
                &c.name,
            ]),
            "export logs",
        );
        let versions = std::fs::read_to_string(exported.join("cluster/versions.txt")).unwrap();
        assert!(
            versions.contains("kube-proxy mode: none; pod network: the user's (disableDefaultCNI)"),
            "{versions}"
        );

        // stop/start: the user's conflist is on the nodes' disks, so they are Ready again.
        assert_ok(&c.run(&["stop", "--name", &c.name]), "stop");
        let left = HostSnapshot::take().added_since(&before_up);
        assert!(left.is_empty(), "stop left on the host: {left:?}");
        let t = Instant::now();
        assert_ok(
            &c.run(&["start", "--name", &c.name, "--wait", "3m"]),
            "start",
        );
        println!(
            "start to both nodes Ready: {:.1} s",
            t.elapsed().as_secs_f64()
        );
        assert_eq!(kubectl.ready_nodes().len(), 2);

        assert_ok(&c.run(&["down", "--name", &c.name]), "down");
        let left = HostSnapshot::take().added_since(&before_up);
        assert!(left.is_empty(), "down left on the host: {left:?}");
    });
}

#[test]
fn a_highly_available_cluster_without_kube_proxy_becomes_ready_on_the_default_pod_network() {
    let test =
        "a_highly_available_cluster_without_kube_proxy_becomes_ready_on_the_default_pod_network";
    let Some((kube_bin, extra_bin)) = kube_dirs(test) else {
        return;
    };
    privileged_test(test, |sweeper| {
        std::fs::create_dir_all(&sweeper.workdir).unwrap();
        warm_base();
        let c = TestCluster::new(sweeper);
        let before_up = HostSnapshot::take();
        assert_ok(
            &c.up(4, &["--control-planes", "3", "--kube-proxy-mode", "none"]),
            "up --control-planes 3 --kube-proxy-mode none",
        );
        let kubeconfig = sweeper.workdir.join("kubeconfig");
        let t = Instant::now();
        let init = c.init(&kube_bin, &extra_bin, &["--wait", "3m"], &kubeconfig);
        assert_ok(&init, "init");
        println!(
            "HA init without kube-proxy, to all Ready: {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let kubectl = Kubectl::new(&kube_bin, kubeconfig);
        assert_eq!(kubectl.ready_nodes().len(), 4);
        assert_no_kube_proxy_pods(&kubectl);
        let list = c.listed();
        assert_eq!(list["kubeProxyMode"], "none", "{list}");
        assert_eq!(list["podNetwork"], "default", "{list}");
        assert_ok(&c.run(&["down", "--name", &c.name]), "down");
        let left = HostSnapshot::take().added_since(&before_up);
        assert!(left.is_empty(), "down left on the host: {left:?}");
    });
}
