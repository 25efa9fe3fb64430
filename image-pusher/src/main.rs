use clap::Parser;

#[derive(Parser)]
#[command(
    name = "image-pusher",
    version,
    about = "image-pusher (not implemented yet)"
)]
struct Cli {}

fn main() {
    let _ = Cli::parse();
}
