//! Step: what someone needs to see why a cluster broke, in one directory (and a `.tar.gz`), from
//! a running cluster, a stopped one (journals from the nodes' disks) or one whose `init` failed:
//! `export logs` writes it where it is told, `e2e` into its artifacts after a failed suite.
//! Secrets stay behind: no `*.key` file, no PKI directory, no admin or kubelet kubeconfig is read,
//! and every text file written goes through [`redact`] (bootstrap tokens, private keys,
//! credentials).
//!
//! ```text
//! DIR/cluster/  state.json versions.txt network.txt kubeadm-init.log kubeadm-join-*.log kubectl-*.txt
//! DIR/<node>/   journal.log nspawn.log cni-result.json cni.conflist systemctl-status.txt ip.txt
//!               crictl-ps-a.txt crictl-pods.txt var/log/pods/... var/log/containers/...
//!               etc/kubernetes/manifests/*.yaml var/lib/kubelet/{config.yaml,kubeadm-flags.env}
//!               etc/kubeadm-nspawn/*.yaml
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Serialize;

pub mod redact;

use kns_node::Exec;

use crate::cluster::{Cluster, ClusterNode};
use crate::error::{Error, Result};
use crate::host::error::Io;
use crate::host::load_balancer;
use crate::kube::kubeadm::admin_kubectl;
use crate::model::layout::ClusterPaths;
use crate::model::names::ClusterName;
use redact::redact;

/// What an export wrote.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exported {
    pub name: String,
    pub dir: PathBuf,
    pub archive: Option<PathBuf>,
    pub files: usize,
    /// What could not be collected, and why.
    pub missing: Vec<String>,
    pub seconds: f64,
}

/// Where an export goes, and for whom.
#[derive(Debug, Clone)]
pub struct Destination {
    /// Must not exist or be empty.
    pub dir: PathBuf,
    /// Also write `DIR.tar.gz`.
    pub archive: bool,
    /// Who is to own what is written (the user behind `sudo`); None: whoever runs this.
    pub owner: Option<(u32, u32)>,
}

/// Fails unless `dir` is missing or empty: an export never mixes with other files.
pub fn check_empty(dir: &Path) -> Result<()> {
    if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Error::Request(format!(
            "{} is not empty: give a new directory",
            dir.display()
        )));
    }
    Ok(())
}

/// Everything needed to see why cluster `name` broke (its directory `paths`; `cluster` None when
/// its state is not readable) into `to`. Reads only: never waits for a busy cluster.
pub fn export(
    name: &ClusterName,
    paths: &ClusterPaths,
    cluster: Option<&Cluster>,
    to: &Destination,
) -> Result<Exported> {
    let started = Instant::now();
    let dir = to.dir.clone();
    check_empty(&dir)?;
    let mut out = Export {
        dir: dir.clone(),
        files: 0,
        missing: vec![],
    };
    out.copy_file(&paths.state_file(), "cluster/state.json")?;
    for entry in std::fs::read_dir(&paths.dir)
        .map_err(|e| Io::new("read", &paths.dir, e))?
        .flatten()
    {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with("kubeadm-") && file_name.ends_with(".log") {
            out.copy_file(&entry.path(), &format!("cluster/{file_name}"))?;
        }
    }
    out.write("cluster/versions.txt", &versions(cluster))?;
    if let Some(cluster) = cluster {
        out.write("cluster/network.txt", &network(&cluster.state))?;
        for n in cluster.nodes() {
            kns_plumbing::say!("   {}: collecting", n.name());
            out.node(&n)?;
        }
        out.cluster_view(cluster)?;
    } else {
        out.missing
            .push("the nodes: state.json is not readable".to_owned());
    }
    let archive = if to.archive {
        let file = PathBuf::from(format!("{}.tar.gz", dir.display()));
        write_archive(&dir, &file)?;
        Some(file)
    } else {
        None
    };
    if let Some(owner) = to.owner {
        chown_tree(&dir, owner);
        if let Some(a) = &archive {
            let _ = std::os::unix::fs::lchown(a, Some(owner.0), Some(owner.1));
        }
    }
    Ok(Exported {
        name: name.to_string(),
        dir,
        archive,
        files: out.files,
        missing: out.missing,
        seconds: started.elapsed().as_secs_f64(),
    })
}

struct Export {
    dir: PathBuf,
    files: usize,
    missing: Vec<String>,
}

impl Export {
    /// The path of `relative` in the export, its directory created; counted as a file written.
    fn place(&mut self, relative: &str) -> Result<PathBuf> {
        let path = self.dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Io::new("create", parent, e))?;
        }
        self.files += 1;
        Ok(path)
    }

    /// Writes text, redacted.
    fn write(&mut self, relative: &str, text: &str) -> Result<()> {
        let path = self.place(relative)?;
        std::fs::write(&path, redact(text)).map_err(|e| Io::new("write", &path, e))?;
        Ok(())
    }

    /// Copies a file (text redacted, anything else as it is); a missing one is noted.
    fn copy_file(&mut self, from: &Path, relative: &str) -> Result<()> {
        if is_secret(from) {
            return Ok(());
        }
        match std::fs::read(from) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => self.write(relative, &text),
                Err(raw) => {
                    let path = self.place(relative)?;
                    std::fs::write(&path, raw.into_bytes())
                        .map_err(|e| Io::new("write", &path, e).into())
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.missing.push(format!("{}: not there", from.display()));
                Ok(())
            }
            Err(e) => Err(Io::new("read", from, e).into()),
        }
    }

    /// Copies a directory tree of regular files and symlinks (symlinks as they are: the
    /// /var/log/containers links point into /var/log/pods, which is copied beside them).
    fn copy_tree(&mut self, from: &Path, relative: &str) -> Result<()> {
        let Ok(entries) = std::fs::read_dir(from) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let target = format!("{relative}/{name}");
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                self.copy_tree(&entry.path(), &target)?;
            } else if kind.is_symlink() {
                if let Ok(link) = std::fs::read_link(entry.path()) {
                    // /var/log/pods/... inside the node → the copy beside it.
                    let link = match link.strip_prefix("/var/log/") {
                        Ok(rest) => Path::new("..").join(rest),
                        Err(_) => link,
                    };
                    let path = self.place(&target)?;
                    std::os::unix::fs::symlink(&link, &path)
                        .map_err(|e| Io::new("link", &path, e))?;
                }
            } else if kind.is_file() {
                self.copy_file(&entry.path(), &target)?;
            }
        }
        Ok(())
    }

    fn node(&mut self, n: &ClusterNode) -> Result<()> {
        let dirs = &n.dirs;
        let name = n.name();
        // The node's log: cnispawn's JSON line (the CNI result), then nspawn's and the boot's.
        let log = std::fs::read_to_string(dirs.log()).unwrap_or_default();
        if let Some(first) = log.lines().next().filter(|l| l.starts_with('{')) {
            self.write(&format!("{name}/cni-result.json"), &format!("{first}\n"))?;
        }
        self.copy_file(&dirs.log(), &format!("{name}/nspawn.log"))?;
        self.copy_file(&dirs.conflist(), &format!("{name}/cni.conflist"))?;
        let running = n.is_running();
        // Files from the node's disk: its merged root while it runs, its upper dir (everything
        // the node wrote) when stopped; /var/lib/kubelet is a directory of its own either way.
        let root = if running { dirs.rootfs() } else { dirs.upper() };
        self.copy_tree(&root.join("var/log/pods"), &format!("{name}/var/log/pods"))?;
        self.copy_tree(
            &root.join("var/log/containers"),
            &format!("{name}/var/log/containers"),
        )?;
        self.copy_tree(
            &root.join("etc/kubernetes/manifests"),
            &format!("{name}/etc/kubernetes/manifests"),
        )?;
        self.copy_tree(
            &root.join("etc/kubeadm-nspawn"),
            &format!("{name}/etc/kubeadm-nspawn"),
        )?;
        for file in ["config.yaml", "kubeadm-flags.env"] {
            let from = dirs.kubelet().join(file);
            if from.exists() {
                self.copy_file(&from, &format!("{name}/var/lib/kubelet/{file}"))?;
            }
        }
        if running {
            let handle = n.live()?;
            let show_servers = format!(
                "echo 'show servers state' | socat stdio {}",
                load_balancer::ADMIN_SOCKET
            );
            let mut status = vec!["systemctl", "status", "--no-pager", "--full"];
            let mut commands: Vec<(&str, Vec<&str>)> = vec![
                (
                    "journal.log",
                    vec!["journalctl", "--no-pager", "-o", "short-precise"],
                ),
                // The node's addresses and routes of both families (#31).
                ("ip.txt", vec!["sh", "-c", NODE_NETWORK]),
            ];
            if n.state.is_kubernetes() {
                status.extend(["kubelet", "containerd"]);
                commands.push(("systemctl-status.txt", status));
                commands.push(("crictl-ps-a.txt", vec!["crictl", "ps", "-a"]));
                commands.push(("crictl-pods.txt", vec!["crictl", "pods"]));
            } else {
                status.push("kns-load-balancer");
                commands.push(("systemctl-status.txt", status));
                // What haproxy thinks of each API server (up, down, since when).
                commands.push(("haproxy-servers.txt", vec!["sh", "-c", &show_servers]));
            }
            for (file, argv) in &commands {
                // systemctl status exits 3 for a stopped unit: its output is what is wanted.
                match handle.output(argv, None) {
                    Ok(o) => self.write(
                        &format!("{name}/{file}"),
                        &format!(
                            "{}{}",
                            String::from_utf8_lossy(&o.stdout),
                            String::from_utf8_lossy(&o.stderr)
                        ),
                    )?,
                    Err(e) => self
                        .missing
                        .push(format!("{name}: {}: {e}", argv.join(" "))),
                }
            }
        } else {
            // The journal from the node's disk, read with the host's journalctl.
            let journal = root.join("var/log/journal");
            let out = Command::new("journalctl")
                .arg("--directory")
                .arg(&journal)
                .args(["--no-pager", "-o", "short-precise"])
                .stdin(Stdio::null())
                .output();
            match out {
                Ok(o) if o.status.success() => self.write(
                    &format!("{name}/journal.log"),
                    &String::from_utf8_lossy(&o.stdout),
                )?,
                Ok(o) => self.missing.push(format!(
                    "{name}: journal in {}: {}",
                    journal.display(),
                    String::from_utf8_lossy(&o.stderr).trim()
                )),
                Err(e) => self
                    .missing
                    .push(format!("{name}: journalctl on the host: {e}")),
            }
            self.missing.push(format!(
                "{name}: stopped: no systemctl status, crictl ps or pods"
            ));
        }
        Ok(())
    }

    /// The API server's view, when it answers.
    fn cluster_view(&mut self, cluster: &Cluster) -> Result<()> {
        let Ok(first) = cluster.first_control_plane() else {
            self.missing
                .push("kubectl: the cluster has no nodes".to_owned());
            return Ok(());
        };
        if !first.is_running() {
            self.missing
                .push("kubectl: the first control-plane node is not running".to_owned());
            return Ok(());
        }
        if !first
            .root()?
            .exists(Path::new("/etc/kubernetes/admin.conf"))
        {
            self.missing
                .push("kubectl: no admin.conf (kubeadm init did not get that far)".to_owned());
            return Ok(());
        }
        for (file, args) in [
            (
                "cluster/kubectl-get-nodes-pods.txt",
                &["get", "nodes,pods", "-A", "-o", "wide"][..],
            ),
            (
                "cluster/kubectl-get-events.txt",
                &["get", "events", "-A", "--sort-by=.lastTimestamp"][..],
            ),
            ("cluster/kubectl-version.txt", &["version"][..]),
        ] {
            let mut all = vec!["--request-timeout=10s"];
            all.extend_from_slice(args);
            match admin_kubectl(&first, &all) {
                Ok(text) => self.write(file, &text)?,
                // Its last line says why (the API server refused, or timed out).
                Err(e) => self.missing.push(format!(
                    "kubectl {}: {}",
                    args.join(" "),
                    e.to_string().lines().last().unwrap_or_default()
                )),
            }
        }
        Ok(())
    }
}

/// Files never exported, whatever directory they are found in.
fn is_secret(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.ends_with(".key")
        || name == "admin.conf"
        || name == "kubelet.conf"
        || name.ends_with(".pem")
}

/// What a node's `ip.txt` holds.
const NODE_NETWORK: &str = "ip addr show; echo; ip -4 route show table all; echo; \
    ip -6 route show table all; echo; sysctl net.ipv4.ip_forward net.ipv6.conf.all.forwarding \
    net.ipv6.conf.all.accept_ra";

/// The cluster's family and ranges, and each node's addresses, as `list` shows them.
fn network(state: &crate::model::state::ClusterState) -> String {
    let mut text = format!(
        "ip family: {}\nnode subnets: {}\npod subnets: {}\nservice subnets: {}\n",
        state.ip_family,
        state.node_subnets().join(","),
        state.pod_subnets().join(","),
        state.service_subnets().join(",")
    );
    for n in &state.nodes {
        let ips: Vec<String> = std::iter::once(n.ip.to_string())
            .chain(state.node_ip6(n).map(|ip| ip.to_string()))
            .collect();
        let known: Vec<String> = state.kube_ips(n).iter().map(|i| i.to_string()).collect();
        text.push_str(&format!(
            "{}: {} (Kubernetes: {})\n",
            n.name,
            ips.join(","),
            known.join(",")
        ));
    }
    text
}

fn versions(cluster: Option<&Cluster>) -> String {
    let mut text = format!("kubeadm-nspawn {}\n", env!("CARGO_PKG_VERSION"));
    if let Some(c) = cluster {
        let components = &c.state.components;
        text.push_str(&format!(
            "kube-proxy mode: {}; pod network: {}\n",
            components.kube_proxy_mode,
            if components.disable_default_cni {
                "the user's (disableDefaultCNI)"
            } else {
                "kubeadm-nspawn's bridge"
            }
        ));
    }
    if let Some(k) = cluster.map(|c| c.phase()) {
        if let Some(b) = k.binaries() {
            text.push_str(&format!(
                "kubernetes {} from {} (init phase {})\n",
                b.version,
                b.dir.display(),
                k.phase_name()
            ));
        }
    }
    for (what, argv) in [
        ("host kernel", &["uname", "-srvm"][..]),
        ("systemd-nspawn", &["systemd-nspawn", "--version"][..]),
    ] {
        let line = Command::new(argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .unwrap_or_else(|e| e.to_string());
        text.push_str(&format!("{what}: {line}\n"));
    }
    text
}

fn write_archive(dir: &Path, file: &Path) -> Result<()> {
    let out = std::fs::File::create(file).map_err(|e| Io::new("create", file, e))?;
    let mut tarball = tar::Builder::new(flate2::write::GzEncoder::new(
        out,
        flate2::Compression::default(),
    ));
    // Symlinks stay symlinks.
    tarball.follow_symlinks(false);
    let top = dir.file_name().unwrap_or_default();
    tarball
        .append_dir_all(top, dir)
        .map_err(|e| Io::new("archive", dir, e))?;
    tarball
        .into_inner()
        .and_then(|gz| gz.finish())
        .map_err(|e| Io::new("archive", file, e))?;
    Ok(())
}

/// Gives `path` and everything under it (symlinks themselves) to `owner`, as far as it can.
pub fn chown_tree(path: &Path, (uid, gid): (u32, u32)) {
    let _ = std::os::unix::fs::lchown(path, Some(uid), Some(gid));
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
            chown_tree(&entry.path(), (uid, gid));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_network_summary_names_the_family_ranges_and_addresses() {
        use crate::model::ranges6::{
            IpFamily, NodeSubnet6, Ranges6, DEFAULT_POD_SUBNET6, DEFAULT_SERVICE_SUBNET6,
        };
        use crate::model::settings::NodeRole;
        use crate::model::state::{ClusterState, NodeState};
        let mut state: ClusterState = serde_json::from_value(serde_json::json!({
            "formatVersion": 2, "name": "dev", "masquerade": false,
            "ranges": {"nodes": "10.22.0.0/16", "pods": "10.244.0.0/16", "services": "10.96.0.0/12"},
            "image": {"key": "k", "path": "/p"}, "nodes": []
        }))
        .unwrap();
        state.nodes = vec![NodeState::for_test(
            "dev-n0",
            0,
            NodeRole::ControlPlane,
            "10.22.0.10",
        )];
        state.ip_family = IpFamily::Dual;
        let subnet6 = NodeSubnet6::derived("dev", 0);
        state.ipv6 = Some(Ranges6 {
            nodes: subnet6,
            pods: DEFAULT_POD_SUBNET6,
            services: DEFAULT_SERVICE_SUBNET6,
        });
        let text = network(&state);
        assert!(
            text.starts_with(&format!(
                "ip family: dual\nnode subnets: 10.22.0.0/16,{subnet6}\n\
             pod subnets: 10.244.0.0/16,fd00:10:244::/56\n\
             service subnets: 10.96.0.0/12,fd00:10:96::/112\n"
            )),
            "{text}"
        );
        let ip6 = subnet6.node_ip(0);
        assert!(
            text.contains(&format!(
                "dev-n0: 10.22.0.10,{ip6} (Kubernetes: 10.22.0.10,{ip6})"
            )),
            "{text}"
        );
    }

    #[test]
    fn secrets_are_never_copied() {
        for secret in [
            "ca.key",
            "sa.key",
            "admin.conf",
            "kubelet.conf",
            "kubelet-client.pem",
        ] {
            assert!(is_secret(Path::new(secret)), "{secret}");
        }
        for fine in ["kube-apiserver.yaml", "config.yaml", "0.log", "ca.crt"] {
            assert!(!is_secret(Path::new(fine)), "{fine}");
        }
    }
}
