//! Command line of image-pusher.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use image_pusher::archive::Archive;
use image_pusher::docker::{self, Daemon};
use image_pusher::image::{write_atomically, Format, Image, ImageRef, RunConfig};
use image_pusher::install::BinaryCopy;
use image_pusher::layer::{self, BinarySpec};
use image_pusher::node::Node;
use image_pusher::pause;
use image_pusher::push::{self, Source};
use image_pusher::store::Runtime;

#[derive(Parser)]
#[command(
    name = "image-pusher",
    version,
    about = "Build container images from binaries and push images and binaries into running nodes",
    long_about = "Build container images from binaries and push images and binaries into running \
        nodes, offline.\n\n\
        `build` writes a docker-archive (readable by `ctr images import` and `docker load`) or an OCI \
        image layout tarball: one layer with the binaries and, with --base, one more layer made from a \
        directory below it. Layers are deterministic (sorted entries, root owners, fixed mtimes), so the \
        same input gives the same digests and containerd stores a shared base layer once.\n\n\
        `push` puts archives, or images of the host's Docker (--docker-image), into running \
        systemd-nspawn nodes: into each node's containerd (`ctr -n k8s.io images import` inside the \
        node) or, in a node that runs Docker, into its Docker; all nodes at once, the archive read \
        once. Into containerd, a docker-archive's plain layers are copied straight into the node's \
        content store and only manifests and configs go through ctr, whose unpack checks each \
        layer against its diff ID; other archives are verified on the host and streamed. Nodes \
        that already hold an image with the same config digest are skipped; binaries are \
        installed atomically.\n\n\
        `pause` writes the project's own static pause binary, or an image of it.\n\n\
        Each command prints one JSON line on stdout; progress goes to stderr."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Synthesize an image archive from binaries (and an optional base directory).
    /// Prints {"name","format","output","configDigest","layers","bytes"}.
    Build {
        /// Image reference, repository[:tag].
        #[arg(long, value_name = "REF")]
        name: String,
        /// A binary to put in the image: PATH or PATH:/in/image/path (default /usr/local/bin/NAME).
        #[arg(long, value_name = "PATH[:DEST]", required = true)]
        binary: Vec<String>,
        /// A directory to add as a base layer below the binaries (e.g. a node rootfs for libc).
        #[arg(long, value_name = "DIR")]
        base: Option<PathBuf>,
        /// The entrypoint (repeat for arguments: --entrypoint /bin/x --entrypoint -v).
        #[arg(long, value_name = "ARG")]
        entrypoint: Vec<String>,
        /// Default arguments (repeatable).
        #[arg(long, value_name = "ARG")]
        cmd: Vec<String>,
        /// Environment, KEY=VALUE (repeatable).
        #[arg(long, value_name = "K=V")]
        env: Vec<String>,
        #[arg(long, value_enum, default_value = "docker-archive")]
        format: FormatArg,
        /// Where to write the tarball.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Put image archives and binaries into running nodes.
    /// Prints {"nodes":[{"node","pid","runtime","loaded","skipped","binaries","bytes","seconds"[,"error"]}],"seconds"}.
    Push {
        /// A node: its machine name (systemd-nspawn --machine, the kubeadm-nspawn node name) or the
        /// PID of its systemd-nspawn or of its init. Repeat for several nodes.
        #[arg(long, value_name = "NAME|PID", required = true)]
        node: Vec<String>,
        /// An image archive (docker-archive or OCI layout tarball, plain or gzip). Repeatable.
        #[arg(long, value_name = "FILE")]
        archive: Vec<PathBuf>,
        /// An image in the host's Docker, by name (repository[:tag]); saved (`docker save`) only
        /// when some node lacks it. Repeatable.
        #[arg(long, value_name = "REF")]
        docker_image: Vec<String>,
        /// The host's Docker for --docker-image.
        #[arg(long, value_name = "unix:///PATH", env = "DOCKER_HOST", default_value = docker::DEFAULT_HOST)]
        docker_host: String,
        /// Which image store of each node receives images: `auto` is the node's Docker when
        /// /run/docker.sock exists in the node, else its containerd (namespace k8s.io, the one
        /// kubelet uses).
        #[arg(long, value_enum, default_value = "auto")]
        runtime: RuntimeArg,
        /// A binary to install in each node: HOST_PATH[:NODE_PATH] (default
        /// /usr/local/bin/NAME), written atomically with mode 0755. Repeatable.
        #[arg(long, value_name = "PATH[:DEST]")]
        binary: Vec<String>,
    },
    /// Write the project's static pause binary, or with --image an image that runs it.
    Pause {
        /// Write an image archive named REF (entrypoint /pause) instead of the bare binary.
        #[arg(long, value_name = "REF")]
        image: Option<String>,
        #[arg(long, value_enum, default_value = "docker-archive")]
        format: FormatArg,
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RuntimeArg {
    Auto,
    Containerd,
    Docker,
}

impl From<RuntimeArg> for Runtime {
    fn from(r: RuntimeArg) -> Self {
        match r {
            RuntimeArg::Auto => Runtime::Auto,
            RuntimeArg::Containerd => Runtime::Containerd,
            RuntimeArg::Docker => Runtime::Docker,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    DockerArchive,
    Oci,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::DockerArchive => Format::DockerArchive,
            FormatArg::Oci => Format::Oci,
        }
    }
}

fn write_image(image: &Image, format: Format, output: &std::path::Path) -> anyhow::Result<()> {
    let bytes = image.archive(format)?;
    write_atomically(output, &bytes, 0o644)?;
    println!(
        "{}",
        image.summary(format, &output.display().to_string(), bytes.len())
    );
    Ok(())
}

fn main_result(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Build {
            name,
            binary,
            base,
            entrypoint,
            cmd,
            env,
            format,
            output,
        } => {
            let reference = ImageRef::parse(&name)?;
            if let Some(bad) = env.iter().find(|e| !e.contains('=')) {
                anyhow::bail!("--env \"{bad}\": expected KEY=VALUE");
            }
            let binaries = binary
                .iter()
                .map(|b| BinarySpec::parse(b))
                .collect::<Result<Vec<_>, _>>()?;
            let mut layers = vec![];
            if let Some(base) = &base {
                layers.push(layer::from_directory(base)?);
            }
            layers.push(layer::from_binaries(&binaries)?);
            let run = RunConfig {
                entrypoint,
                cmd,
                env,
            };
            write_image(&Image::new(reference, &run, layers), format.into(), &output)
        }
        Command::Push {
            node,
            archive,
            docker_image,
            docker_host,
            runtime,
            binary,
        } => {
            if archive.is_empty() && docker_image.is_empty() && binary.is_empty() {
                anyhow::bail!(
                    "nothing to push: give --archive FILE, --docker-image REF or --binary PATH[:DEST]"
                );
            }
            // Everything is checked before any node is touched.
            let binaries = binary
                .iter()
                .map(|b| BinaryCopy::parse(b))
                .collect::<Result<Vec<_>, _>>()?;
            let mut sources = archive
                .iter()
                .map(|a| Archive::open(a).map(Source::Archive))
                .collect::<Result<Vec<_>, _>>()?;
            if !docker_image.is_empty() {
                let daemon =
                    Daemon::connect(&docker_host, format!("the host's Docker ({docker_host})"))?;
                for reference in &docker_image {
                    let image = daemon.image(reference)?;
                    sources.push(Source::Docker {
                        daemon: daemon.clone(),
                        image,
                    });
                }
            }
            let nodes = node
                .iter()
                .map(|n| Node::resolve(n))
                .collect::<Result<Vec<_>, _>>()?;
            let summary = push::push(&nodes, runtime.into(), &sources, &binaries, &|line| {
                eprintln!("{line}")
            })?;
            println!("{}", serde_json::to_string(&summary)?);
            let failed = summary.failed();
            if let Some(first) = failed.first() {
                let error = first.error.as_deref().unwrap_or_default();
                // Most node errors name their node already.
                let node = format!("node \"{}\"", first.node);
                anyhow::bail!(
                    "{} of {} node(s) failed; {}{}",
                    failed.len(),
                    summary.nodes.len(),
                    if error.starts_with(&node) {
                        String::new()
                    } else {
                        format!("{node}: ")
                    },
                    error
                );
            }
            Ok(())
        }
        Command::Pause {
            image,
            format,
            output,
        } => match image {
            None => {
                pause::write_binary(&output)?;
                println!(
                    "{}",
                    serde_json::json!({"output": output.display().to_string(), "bytes": pause::BINARY.len()})
                );
                Ok(())
            }
            Some(reference) => {
                let reference = ImageRef::parse(&reference)?;
                let layer = layer::from_bytes(pause::IMAGE_PATH, pause::BINARY)?;
                let run = RunConfig {
                    entrypoint: vec![pause::IMAGE_PATH.into()],
                    ..Default::default()
                };
                write_image(
                    &Image::new(reference, &run, vec![layer]),
                    format.into(),
                    &output,
                )
            }
        },
    }
}

fn main() -> ExitCode {
    let result = main_result(Cli::parse()).map(|()| ExitCode::SUCCESS);
    kns_plumbing::report::exit(result, kns_plumbing::report::hint_of::<image_pusher::Error>)
}
