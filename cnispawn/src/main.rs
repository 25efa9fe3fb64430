//! Command line of cnispawn: parses arguments, calls the library, prints one JSON line or one
//! `error: ...` line.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use cnispawn::config::ConfSource;
use cnispawn::netns::NetnsName;
use cnispawn::{Options, DEFAULT_CNI_PATH, DEFAULT_CONF_DIR};

#[derive(Parser)]
#[command(
    name = "cnispawn",
    version,
    about = "Create a named network namespace, wire it with a CNI plugin chain, then run a command in it",
    long_about = "Create a named network namespace, wire it with a CNI plugin chain, then run a command in it.\n\n\
        `cnispawn [OPTIONS] -- COMMAND [ARGS...]` creates /run/netns/NAME (the same place `ip netns` uses), \
        runs CNI ADD for every plugin of the network config, prints the result as one JSON line on stdout, \
        then executes COMMAND inside the namespace with the environment passed through. \
        `cnispawn add` stops after printing; `cnispawn del` runs CNI DEL from the cached result and removes \
        the namespace. If any step fails, everything created so far is removed again.",
    after_help = "Examples:\n  \
        cnispawn --netns web -- systemd-nspawn -D /srv/web -b\n  \
        cnispawn add --netns web --cni-conf ./10-bridge.conflist\n  \
        cnispawn del --netns web\n\n\
        Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN).",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    action: Option<Action>,

    #[command(flatten)]
    net: NetArgs,

    /// The command to run inside the namespace (after `--`).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

#[derive(Subcommand)]
enum Action {
    /// Create the namespace and run CNI ADD; print the result and exit.
    Add(NetArgs),
    /// Run CNI DEL from the cached result and remove the namespace. Deleting what is not there succeeds.
    Del(NetArgs),
}

#[derive(Args)]
struct NetArgs {
    /// Network namespace name (/run/netns/NAME). Default for the run form: cni-<pid>.
    #[arg(long, value_name = "NAME")]
    netns: Option<String>,

    /// A network config file (.conflist, or a single-plugin .conf/.json).
    #[arg(long, value_name = "FILE", conflicts_with = "cni_conf_dir")]
    cni_conf: Option<PathBuf>,

    /// Directory whose lexically first .conf/.conflist/.json file is the network config.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_CONF_DIR)]
    cni_conf_dir: PathBuf,

    /// Where to look for plugin binaries (colon-separated).
    #[arg(long, value_name = "DIRS", default_value = DEFAULT_CNI_PATH)]
    cni_path: OsString,

    /// Interface name inside the namespace (CNI_IFNAME).
    #[arg(long, value_name = "NAME", default_value = "eth0")]
    ifname: String,

    /// Extra plugin arguments, KEY=VALUE pairs separated by ';' (CNI_ARGS).
    #[arg(long, value_name = "K=V;...")]
    cni_args: Option<String>,

    /// CNI container ID. Default: the namespace name.
    #[arg(long, value_name = "ID")]
    container_id: Option<String>,

    /// Where ADD results are cached for DEL.
    #[arg(long, value_name = "DIR", default_value = cnispawn::cache::DEFAULT_CACHE_DIR)]
    cache_dir: PathBuf,
}

impl NetArgs {
    fn into_options(self, default_netns: Option<String>) -> anyhow::Result<Options> {
        let name = match (self.netns, default_netns) {
            (Some(name), _) | (None, Some(name)) => name,
            (None, None) => anyhow::bail!("--netns NAME is required"),
        };
        let mut opts = Options::new(NetnsName::new(&name)?);
        opts.conf = match self.cni_conf {
            Some(file) => ConfSource::File(file),
            None => ConfSource::Dir(self.cni_conf_dir),
        };
        opts.cni_path = std::env::split_paths(&self.cni_path)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        opts.ifname = self.ifname;
        opts.cni_args = self.cni_args;
        opts.container_id = self.container_id;
        opts.cache_dir = self.cache_dir;
        Ok(opts)
    }
}

fn print_line(value: &serde_json::Value) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()
}

fn main_result(cli: Cli) -> anyhow::Result<()> {
    match cli.action {
        Some(Action::Add(net)) => {
            let attachment = cnispawn::add(&net.into_options(None)?)?;
            print_line(&attachment.to_json())?;
        }
        Some(Action::Del(net)) => {
            let deletion = cnispawn::del(&net.into_options(None)?)?;
            print_line(&deletion.to_json())?;
        }
        None => {
            let opts = cli
                .net
                .into_options(Some(format!("cni-{}", std::process::id())))?;
            match cnispawn::run(&opts, &cli.command, |a| print_line(&a.to_json()))? {}
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let result = main_result(Cli::parse()).map(|()| ExitCode::SUCCESS);
    kns_plumbing::report::exit(result, kns_plumbing::report::hint_of::<cnispawn::Error>)
}
