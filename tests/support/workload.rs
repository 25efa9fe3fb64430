//! The workload the Kubernetes tests run: the `web` Deployment (busybox httpd, one replica per
//! node) and its Service, and the commands that reach it from a pod.

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
