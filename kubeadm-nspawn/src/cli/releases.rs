//! `releases`' command line: the cache of released versions.

use super::binaries::ReleaseSource;
use super::Global;
use crate::kube::releases;

#[derive(clap::Subcommand, Debug, Clone)]
pub enum ReleasesCommand {
    /// The cached versions: size, etcd and CoreDNS versions, the clusters using them.
    #[command(
        after_help = "Examples:\n  sudo kubeadm-nspawn releases list\n  sudo kubeadm-nspawn releases list --json"
    )]
    List {
        /// One JSON line instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        source: ReleaseSource,
    },
    /// Download a version into the cache now (before going offline, or to time it).
    #[command(
        after_help = "Examples:\n  sudo kubeadm-nspawn releases get v1.28.7\n  \
        sudo kubeadm-nspawn releases get stable-1.28 --release-mirror http://mirror.example:8080"
    )]
    Get {
        /// v1.28.7, 1.28.7, stable or stable-1.28.
        version: String,
        #[command(flatten)]
        source: ReleaseSource,
    },
    /// Remove the cached versions no cluster uses, and what interrupted downloads left.
    #[command(after_help = "Example:\n  sudo kubeadm-nspawn releases gc")]
    Gc {
        #[command(flatten)]
        source: ReleaseSource,
    },
}

pub fn run(command: &ReleasesCommand, global: &Global) -> crate::Result<i32> {
    match command {
        ReleasesCommand::List { json, source } => {
            let cached = crate::verbs::releases::list(&global.state_dir, &source.release_cache)?;
            if *json {
                println!("{}", serde_json::to_value(&cached).unwrap_or_default());
            } else if cached.is_empty() {
                eprintln!(
                    "no releases in {} (`kubeadm-nspawn releases get VERSION`, or `--kube-version` on up/init)",
                    source.release_cache.display()
                );
            } else {
                println!(
                    "{:<24} {:>8}  {:<8} {:<8} CLUSTERS",
                    "VERSION", "SIZE", "ETCD", "COREDNS"
                );
                for c in &cached {
                    let r = &c.cached.record;
                    println!(
                        "{:<24} {:>5} MB  {:<8} {:<8} {}",
                        format!("{}-linux-{}", r.version, r.arch),
                        c.cached.bytes / 1_000_000,
                        r.etcd,
                        r.coredns.as_deref().unwrap_or("-"),
                        if c.clusters.is_empty() {
                            "-".to_owned()
                        } else {
                            c.clusters.join(",")
                        }
                    );
                }
            }
        }
        ReleasesCommand::Get { version, source } => {
            let started = std::time::Instant::now();
            let binaries = releases::fetch(&source.request(version)?)?;
            println!(
                "{}",
                serde_json::json!({
                    "version": binaries.version,
                    "kubeBin": binaries.dir,
                    "extraBin": binaries.extra_dir,
                    "seconds": started.elapsed().as_secs_f64(),
                })
            );
        }
        ReleasesCommand::Gc { source } => {
            let (removed, bytes) =
                crate::verbs::releases::gc(&global.state_dir, &source.release_cache)?;
            for c in &removed {
                eprintln!("removed {}", c.dir.display());
            }
            eprintln!(
                "{} version(s) removed, {} MB freed",
                removed.len(),
                bytes / 1_000_000
            );
        }
    }
    Ok(0)
}
