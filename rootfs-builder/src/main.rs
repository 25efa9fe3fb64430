use clap::Parser;

#[derive(Parser)]
#[command(
    name = "rootfs-builder",
    version,
    about = "rootfs-builder (not implemented yet)"
)]
struct Cli {}

fn main() {
    let _ = Cli::parse();
}
