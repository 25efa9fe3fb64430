//! Command line of rootfs-builder.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use rootfs_builder::cache::{Cache, DEFAULT_CACHE_DIR, DEFAULT_CLUSTERS_DIR};
use rootfs_builder::{BuildOptions, Method, DEFAULT_MIRROR, DEFAULT_SUITE};

#[derive(Parser)]
#[command(
    name = "rootfs-builder",
    version,
    about = "Build the kubeadm-nspawn node base root filesystem, cached by content",
    long_about = "Build the kubeadm-nspawn node base root filesystem, cached by content.\n\n\
        The base is Debian with systemd, containerd, runc, the CNI plugins and the node configuration \
        kubeadm needs; Kubernetes binaries are not in it (they are pushed per cluster). It is built once \
        per set of inputs into CACHE/<key>/rootfs and shared read-only by every node through overlayfs. \
        `build` prints one JSON line: {\"path\",\"key\",\"method\",\"bytes\",\"cached\",\"seconds\"}; \
        progress goes to stderr. Needs root.\n\n\
        Without a subcommand, `build` is meant: `rootfs-builder --method download --url URL --sha256 HEX`.",
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  sudo rootfs-builder                                   # build (debootstrap) or find the base\n  \
        sudo rootfs-builder --method mkosi\n  \
        sudo rootfs-builder --method download --url https://example.org/base.tar.gz --sha256 HEX\n  \
        sudo rootfs-builder list\n  sudo rootfs-builder gc --dry-run"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// `build`'s arguments, for the form without a subcommand.
    #[command(flatten)]
    build: BuildArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Build the base image (or find it in the cache) and print its path as JSON.
    Build(BuildArgs),
    /// List the cached images.
    List {
        #[arg(long, value_name = "DIR", default_value = DEFAULT_CACHE_DIR)]
        cache_dir: PathBuf,
        /// One JSON line (an array) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove cached images that no cluster uses.
    Gc {
        #[arg(long, value_name = "DIR", default_value = DEFAULT_CACHE_DIR)]
        cache_dir: PathBuf,
        /// Where kubeadm-nspawn keeps its clusters (their state.json names the image they use).
        #[arg(long, value_name = "DIR", default_value = DEFAULT_CLUSTERS_DIR)]
        clusters_dir: PathBuf,
        /// Only say what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum MethodArg {
    /// Debian's debootstrap (fast, everywhere).
    Debootstrap,
    /// Debian's mkosi.
    Mkosi,
    /// A rootfs tarball (gzip or plain) from --url, checked against --sha256.
    Download,
}

#[derive(clap::Args)]
struct BuildArgs {
    #[arg(long, value_enum, default_value = "debootstrap")]
    method: MethodArg,
    /// Debian suite (debootstrap, mkosi).
    #[arg(long, default_value = DEFAULT_SUITE)]
    suite: String,
    /// Debian mirror (debootstrap, mkosi).
    #[arg(long, value_name = "URL", default_value = DEFAULT_MIRROR)]
    mirror: String,
    /// Tarball to download: http://, https:// or file:// (download).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Expected sha256 of the tarball, checked before unpacking (download).
    #[arg(long, value_name = "HEX")]
    sha256: Option<String>,
    /// Allow a download without --sha256.
    #[arg(long)]
    insecure: bool,
    #[arg(long, value_name = "DIR", default_value = DEFAULT_CACHE_DIR)]
    cache_dir: PathBuf,
    /// Rebuild even if the cache has this image.
    #[arg(long)]
    force: bool,
}

fn main_result(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Build(cli.build)) {
        Command::Build(args) => {
            let mut opts = BuildOptions::new(match args.method {
                MethodArg::Debootstrap => Method::Debootstrap,
                MethodArg::Mkosi => Method::Mkosi,
                MethodArg::Download => Method::Download,
            });
            opts.suite = args.suite;
            opts.mirror = args.mirror;
            opts.url = args.url;
            opts.sha256 = args.sha256;
            opts.insecure = args.insecure;
            opts.cache_dir = args.cache_dir;
            opts.force = args.force;
            let built = rootfs_builder::build(&opts)?;
            println!("{}", built.to_json());
        }
        Command::List { cache_dir, json } => {
            let images = Cache::new(&cache_dir).list()?;
            if json {
                println!("{}", serde_json::to_string(&images)?);
            } else if images.is_empty() {
                eprintln!("no images in {}", cache_dir.display());
            } else {
                println!("{:<14} {:<12} {:>9} PATH", "KEY", "METHOD", "MIB");
                for image in images {
                    println!(
                        "{:<14} {:<12} {:>9} {}",
                        &image.key[..12],
                        image.method,
                        image.bytes >> 20,
                        image.path.display()
                    );
                }
            }
        }
        Command::Gc {
            cache_dir,
            clusters_dir,
            dry_run,
        } => {
            let report = Cache::new(&cache_dir).gc(&clusters_dir, dry_run)?;
            println!("{}", serde_json::to_string(&report)?);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let result = main_result(Cli::parse()).map(|()| ExitCode::SUCCESS);
    kns_plumbing::report::exit(
        result,
        kns_plumbing::report::hint_of::<rootfs_builder::Error>,
    )
}
