use clap::Parser;

#[derive(Parser)]
#[command(
    name = "kubeadm-nspawn",
    version,
    about = "kubeadm-nspawn (not implemented yet)"
)]
struct Cli {}

fn main() {
    let _ = Cli::parse();
}
