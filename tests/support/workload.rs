//! The workload the Kubernetes tests run: the `web` Deployment (busybox httpd, one replica per
//! node) and its Service, its image, and the commands that reach it from a pod and from a node.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cluster::{assert_ok, TestCluster};
use crate::kubectl::{is_ready, Kubectl};
use crate::{bin, run_ok};

pub const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      # One replica per node, the control-plane node included.
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: kubernetes.io/hostname
        whenUnsatisfiable: DoNotSchedule
        labelSelector:
          matchLabels: {app: web}
      tolerations:
      - key: node-role.kubernetes.io/control-plane
        effect: NoSchedule
      containers:
      - name: web
        image: IMAGE
        imagePullPolicy: Never
        command:
        - /usr/local/bin/busybox
        - sh
        - -c
        - mkdir -p /www && hostname > /www/index.html && exec /usr/local/bin/busybox httpd -f -p 8080 -h /www
        ports:
        - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
"#;

/// From a pod: the Service `web` by its DNS name (busybox's own resolver: a static glibc's NSS
/// cannot resolve in a bare image), then HTTP to the address it resolved to.
pub const WEB_BY_NAME: &str = "ip=$(/usr/local/bin/busybox nslookup web.default.svc.cluster.local \
    | /usr/local/bin/busybox awk '/^Address/ {a=$NF} END {print a}'); \
    printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /usr/local/bin/busybox nc -w 3 $ip 80";

/// A shell command that GETs `/` from `ip:port` with busybox's nc.
pub fn http_get(ip: &str, port: u16) -> String {
    format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /usr/local/bin/busybox nc -w 3 {ip} {port}")
}

/// `image-pusher build --name IMAGE --binary B.. EXTRA.. -o ARCHIVE`: an image of `binaries` (each
/// `PATH` or `PATH:/IN/IMAGE`) written to `archive`; must succeed. Returns its stdout (the
/// build's JSON summary).
pub fn build_image(image: &str, binaries: &[&str], extra: &[&str], archive: &Path) -> String {
    let mut args = vec!["build", "--name", image];
    for binary in binaries {
        args.extend(["--binary", binary]);
    }
    args.extend(extra);
    args.extend(["-o", archive.to_str().unwrap()]);
    run_ok(bin("image-pusher"), &args)
}

/// An image of Debian's static busybox (as /usr/local/bin/busybox) made by image-pusher into
/// `archive` (once) and loaded into every node of `c`: nothing is pulled.
pub fn load_busybox_image(c: &TestCluster, busybox: &Path, archive: &Path, image: &str) {
    if !archive.exists() {
        build_image(image, &[busybox.to_str().unwrap()], &[], archive);
    }
    assert_ok(
        &c.run(&["load", "--name", &c.name, archive.to_str().unwrap()]),
        "load",
    );
}

/// Waits until the 3 `web` pods run containers started at or after `since` and have the
/// addresses `addressed` asks of their status: a started node's pods still show their status
/// from before the stop for a moment.
pub fn wait_for_restarted_web_pods(
    kubectl: &Kubectl,
    since: &str,
    addressed: impl Fn(&Value) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let pods = kubectl.json(&["get", "pods", "-l", "app=web"]);
        let items = pods["items"].as_array().cloned().unwrap_or_default();
        let fresh = items
            .iter()
            .filter(|p| {
                addressed(&p["status"])
                    && is_ready(p)
                    && p["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
                        .as_str()
                        .is_some_and(|t| t >= since)
            })
            .count();
        if items.len() == 3 && fresh == 3 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pods not restarted since {since}: {pods}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// `GET /` of `cluster_ip`:80 from node `node` of `c` (bash's /dev/tcp: the node has no nc),
/// retried for 60 s until `answered` (a started node's kube-proxy takes a moment to write its
/// rules); returns the last page.
pub fn service_from_node(
    c: &TestCluster,
    node: &str,
    cluster_ip: &str,
    answered: impl Fn(&str) -> bool,
) -> String {
    let from_node = || {
        let script = format!(
            "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 5 bash -c 'exec 3<>/dev/tcp/{cluster_ip}/80; cat >&3; cat <&3'"
        );
        let out = c.exec(node, &["sh", "-c", &script]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut page = from_node();
    while !answered(&page) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(1));
        page = from_node();
    }
    page
}

/// The Service's `cluster_ip` answers (`answered` says when) asked from pod `from_pod` and, by
/// [`service_from_node`], from node 2 (a node other than the first): both retried while a new
/// Service's rules settle.
pub fn cluster_ip_answers(
    c: &TestCluster,
    kubectl: &Kubectl,
    from_pod: &str,
    cluster_ip: &str,
    answered: impl Fn(&str) -> bool,
) {
    let page = kubectl.exec_until(from_pod, &http_get(cluster_ip, 80), &answered);
    assert!(answered(&page), "ClusterIP {cluster_ip} from a pod: {page}");
    let page = service_from_node(c, &c.node(2), cluster_ip, &answered);
    assert!(
        answered(&page),
        "ClusterIP {cluster_ip} from node 2: {page}"
    );
}
