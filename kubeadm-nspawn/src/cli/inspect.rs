//! The command line of the verbs that look and reach in: `list`, `kubeconfig`, `exec`, `shell`,
//! `load`, `export logs`. None of them waits for a busy cluster except `load`, which changes it.

use std::path::PathBuf;

use super::Global;
use crate::model::names::ClusterName;

pub fn list(json: bool, global: &Global) -> crate::Result<i32> {
    let (clusters, unreadable) = crate::verbs::list::run(&global.state_dir)?;
    for (name, e) in &unreadable {
        eprintln!("cluster \"{name}\": UNREADABLE: {e}\n  `kubeadm-nspawn down --name {name}` still removes it");
    }
    if json {
        println!("{}", serde_json::to_value(&clusters).unwrap_or_default());
    } else if clusters.is_empty() && unreadable.is_empty() {
        eprintln!("no clusters");
    } else {
        for c in &clusters {
            let version = c
                .version
                .as_deref()
                .map(|v| format!(", kubernetes {v} {}", c.kubernetes))
                .unwrap_or_default();
            println!(
                "cluster {} [{}] ({}: subnet {}, pods {}, services {}, bridge {}{version}, \
                 kube-proxy {}, pod network {})",
                c.name,
                c.state,
                c.ip_family,
                c.subnet,
                c.pod_subnet,
                c.service_subnet,
                c.bridge,
                c.kube_proxy_mode,
                c.pod_network
            );
            if let Some(step) = &c.init_step {
                println!(
                    "  init stopped at \"{step}\" (or is there now): `init` again begins again"
                );
            }
            if let Some(holder) = &c.busy {
                println!("  busy: {holder} is changing it");
            }
            print_nodes_of(c);
        }
    }
    Ok(0)
}

fn print_nodes_of(c: &crate::verbs::list::ClusterView) {
    println!(
        "  {:<24} {:<14} {:<10} {:<16} {:>8}",
        "NODE", "ROLE", "STATE", "IP", "PID"
    );
    for n in &c.nodes {
        let pid = n
            .node
            .pid
            .map(|p| p.to_string())
            .unwrap_or_else(|| "-".into());
        println!(
            "  {:<24} {:<14} {:<10} {:<16} {:>8}",
            n.node.name,
            n.node.role.as_str(),
            if n.running { "running" } else { "stopped" },
            node_ips(n.node.ip, n.ip6),
            pid
        );
    }
}

/// A node's addresses as the tables show them: IPv4, then IPv6 when it has one.
pub fn node_ips(ip: std::net::Ipv4Addr, ip6: Option<std::net::Ipv6Addr>) -> String {
    match ip6 {
        Some(ip6) => format!("{ip},{ip6}"),
        None => ip.to_string(),
    }
}

pub fn kubeconfig(name: &str, global: &Global) -> crate::Result<i32> {
    print!(
        "{}",
        crate::verbs::kubeconfig::run(&global.state_dir, &ClusterName::new(name)?)?
    );
    Ok(0)
}

pub fn exec(node: &str, command: &[String], global: &Global) -> crate::Result<i32> {
    crate::verbs::exec::run(&global.state_dir, node, command)
}

pub fn load(
    archives: &[PathBuf],
    docker_images: &[String],
    name: &str,
    global: &Global,
) -> crate::Result<i32> {
    let summary = crate::verbs::load::run(
        &global.state_dir,
        &ClusterName::new(name)?,
        global.access("load"),
        archives,
        docker_images,
    )?;
    println!("{summary}");
    Ok(0)
}

pub fn export_logs(
    dir: Option<PathBuf>,
    name: &str,
    archive: bool,
    global: &Global,
) -> crate::Result<i32> {
    let name = ClusterName::new(name)?;
    let owner = crate::kube::kubeconfig::default_target().owner;
    let exported = crate::verbs::export::run(&global.state_dir, &name, dir, archive, owner)?;
    for m in &exported.missing {
        eprintln!("   not collected: {m}");
    }
    eprintln!(
        "logs of cluster \"{name}\" in {} ({} files, {:.1} s){}",
        exported.dir.display(),
        exported.files,
        exported.seconds,
        exported
            .archive
            .as_ref()
            .map(|a| format!(", and {}", a.display()))
            .unwrap_or_default()
    );
    println!("{}", serde_json::to_value(&exported).unwrap_or_default());
    Ok(0)
}
