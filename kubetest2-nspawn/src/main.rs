//! kubetest2-nspawn's entry point: the command line parsed, the run reported in the one error
//! format of every tool of the workspace (one `error:` line, a `hint:` where there is one).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = kubetest2_nspawn::cli::Args::parse();
    kns_plumbing::report::exit(
        kubetest2_nspawn::run(&args)
            .map(|()| ExitCode::SUCCESS)
            .map_err(anyhow::Error::from),
        kns_plumbing::report::hint_of::<kubetest2_nspawn::Error>,
    )
}
