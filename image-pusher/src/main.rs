//! Command line of image-pusher.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use image_pusher::image::{Format, Image, ImageRef, RunConfig};
use image_pusher::layer::{self, BinarySpec};

#[derive(Parser)]
#[command(
    name = "image-pusher",
    version,
    about = "Build container images from static binaries (push into nodes comes next)",
    long_about = "Build container images from static binaries, offline.\n\n\
        `build` writes a docker-archive (readable by `ctr images import` and `docker load`) or an OCI \
        image layout tarball: one layer with the binaries and, with --base, one more layer made from a \
        directory below it. Layers are deterministic (sorted entries, root owners, fixed mtimes), so the \
        same input gives the same digests and containerd stores a shared base layer once. Prints one \
        JSON line: {\"name\",\"format\",\"output\",\"configDigest\",\"layers\",\"bytes\"}."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Synthesize an image archive from binaries (and an optional base directory).
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
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    DockerArchive,
    Oci,
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
                anyhow::bail!("--env {bad:?}: expected KEY=VALUE");
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
            let image = Image::new(
                reference,
                &RunConfig {
                    entrypoint,
                    cmd,
                    env,
                },
                layers,
            );
            let format = match format {
                FormatArg::DockerArchive => Format::DockerArchive,
                FormatArg::Oci => Format::Oci,
            };
            let bytes = image.archive(format)?;
            // Written next to the target and renamed: a reader never sees half an archive.
            let tmp = output.with_extension("tmp-image-pusher");
            std::fs::File::create(&tmp)
                .and_then(|mut f| f.write_all(&bytes).and_then(|()| f.sync_all()))
                .and_then(|()| std::fs::rename(&tmp, &output))
                .map_err(|e| {
                    let _ = std::fs::remove_file(&tmp);
                    anyhow::anyhow!("write {}: {e}", output.display())
                })?;
            println!(
                "{}",
                image.summary(format, &output.display().to_string(), bytes.len())
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match main_result(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
