//! kubeadm-nspawn's entry point: the command line parsed ([`kubeadm_nspawn::cli`]), its verb run,
//! the outcome reported in the one error format of every tool.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // `kubeadm-nspawn list | head` ends quietly, as Unix tools do, instead of panicking on the
    // closed pipe. (Children's pipes are read, never written to after they close.)
    // SAFETY: setting a signal's disposition to the default, before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = kubeadm_nspawn::cli::Cli::parse();
    let result = kubeadm_nspawn::cli::run(cli).map(|code| ExitCode::from(code.clamp(0, 255) as u8));
    kns_plumbing::report::exit(
        result,
        kns_plumbing::report::hint_of::<kubeadm_nspawn::Error>,
    )
}
