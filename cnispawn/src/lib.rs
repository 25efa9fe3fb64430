//! cnispawn: a named network namespace wired by a CNI plugin chain, then a command run inside it.
//!
//! `add` creates `/run/netns/<name>` and runs CNI ADD; `del` runs CNI DEL from the cached result and
//! removes the namespace; `run` does `add`, hands the result to the caller (who prints it), then
//! `setns` + `execvp`. Every failure after the namespace exists undoes all of it.

pub mod cache;
pub mod chain;
pub mod config;
pub mod error;
pub mod netns;
pub mod plugin;
pub mod privileges;
pub mod result;

use kns_plumbing::undo::WithCleanup;
use std::convert::Infallible;
use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::cache::{CacheEntry, ResultCache};
use crate::config::{ConfSource, NetworkConfigList};
pub use crate::error::{Error, Result};
use crate::netns::NetnsName;
use crate::plugin::{ExecRunner, RuntimeParams};
use kns_plumbing::signals;

pub const DEFAULT_CONF_DIR: &str = "/etc/cni/net.d";
/// Debian's containernetworking-plugins first, then the upstream location.
pub const DEFAULT_CNI_PATH: &str = "/usr/lib/cni:/opt/cni/bin";

/// What one attachment is made of.
#[derive(Debug, Clone)]
pub struct Options {
    pub netns: NetnsName,
    pub conf: ConfSource,
    pub cni_path: Vec<PathBuf>,
    pub ifname: String,
    pub cni_args: Option<String>,
    /// Defaults to the namespace name.
    pub container_id: Option<String>,
    pub cache_dir: PathBuf,
}

impl Options {
    /// Options with the defaults for everything but the namespace name.
    pub fn new(netns: NetnsName) -> Self {
        Options {
            netns,
            conf: ConfSource::Dir(DEFAULT_CONF_DIR.into()),
            cni_path: std::env::split_paths(DEFAULT_CNI_PATH).collect(),
            ifname: "eth0".into(),
            cni_args: None,
            container_id: None,
            cache_dir: cache::DEFAULT_CACHE_DIR.into(),
        }
    }

    /// Checks the arguments that become plugin environment or file names.
    pub fn validate(&self) -> Result<()> {
        let invalid = |msg: String| Err(Error::InvalidArgument(msg));
        let ifname = &self.ifname;
        if ifname.is_empty()
            || ifname.len() > 15
            || ifname == "."
            || ifname == ".."
            || ifname.contains(['/', ':'])
            || ifname.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return invalid(format!(
                "invalid --ifname \"{ifname}\": an interface name has 1 to 15 characters, without '/', ':' or spaces"
            ));
        }
        if let Some(id) = &self.container_id {
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            {
                return invalid(format!(
                    "invalid --container-id \"{id}\": use letters, digits, '_', '.', '-'"
                ));
            }
        }
        if let Some(args) = &self.cni_args {
            for pair in args.split(';') {
                match pair.split_once('=') {
                    Some((key, _)) if !key.is_empty() => {}
                    _ => {
                        return invalid(format!(
                            "invalid --cni-args \"{args}\": expected KEY=VALUE pairs separated by ';', got \"{pair}\""
                        ))
                    }
                }
            }
        }
        if self.cni_path.is_empty() {
            return invalid("--cni-path is empty".into());
        }
        Ok(())
    }

    fn container_id(&self) -> &str {
        self.container_id.as_deref().unwrap_or(self.netns.as_str())
    }

    fn runtime_params(&self, container_id: &str, cni_args: Option<&str>) -> RuntimeParams {
        RuntimeParams {
            container_id: container_id.to_owned(),
            netns_path: self.netns.path(),
            ifname: self.ifname.clone(),
            cni_args: cni_args.map(str::to_owned),
            cni_path: self.cni_path.clone(),
        }
    }

    fn cache(&self) -> ResultCache {
        ResultCache::new(&self.cache_dir)
    }
}

/// A wired namespace: what `add` prints as its one JSON line.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub netns: NetnsName,
    pub container_id: String,
    pub ifname: String,
    pub network: String,
    pub cni_version: String,
    /// The chain's final CNI result, untouched.
    pub result: Value,
}

impl Attachment {
    /// The address of `ifname` inside the namespace, in CIDR notation, if the result has one.
    pub fn address(&self) -> Option<String> {
        let parsed = result::CniResult::from_value(&self.result).ok()?;
        let (ip, prefix) = parsed.sandbox_address(&self.ifname)?;
        Some(format!("{ip}/{prefix}"))
    }

    /// The JSON document documented in cnispawn's README.
    pub fn to_json(&self) -> Value {
        json!({
            "netns": self.netns.as_str(),
            "netnsPath": self.netns.path(),
            "containerId": self.container_id,
            "ifname": self.ifname,
            "network": self.network,
            "cniVersion": self.cni_version,
            "address": self.address(),
            "result": self.result,
        })
    }
}

/// Creates the namespace and runs CNI ADD. Nothing is created when the config, the plugins or the
/// arguments are wrong; anything created is removed again when a later step fails.
pub fn add(opts: &Options) -> Result<Attachment> {
    privileges::require(privileges::REQUIRED)?;
    opts.validate()?;
    let list = NetworkConfigList::load(&opts.conf)?;
    let params = opts.runtime_params(opts.container_id(), opts.cni_args.as_deref());
    // Every plugin must exist before the namespace does.
    for plugin in &list.plugins {
        params.find_plugin(&plugin.plugin_type)?;
    }
    signals::install()
        .map_err(|(signal, e)| Error::sys(format!("install a {signal} handler"), e))?;
    netns::create(&opts.netns)?;

    let cache = opts.cache();
    let mut entry = CacheEntry::new(
        opts.netns.as_str(),
        &params.container_id,
        &opts.ifname,
        opts.cni_args.as_deref(),
        list.to_list_value(),
    );
    if let Err(e) = cache.store(&entry) {
        return Err(e.with_cleanup(netns::delete(&opts.netns).map(drop)));
    }
    let result = match chain::add(&list, &params, &ExecRunner) {
        Ok(result) => result,
        Err(e) => {
            let undo = netns::delete(&opts.netns)
                .map(drop)
                .and(cache.remove(opts.netns.as_str(), &opts.ifname));
            return Err(e.with_cleanup(undo));
        }
    };
    entry.result = Some(result.clone());
    let stored = cache.store(&entry);
    let failure = match stored {
        Err(e) => Some(e),
        Ok(()) if signals::interrupted() => Some(Error::Interrupted),
        Ok(()) => None,
    };
    if let Some(failure) = failure {
        return Err(failure.with_cleanup(del(opts).map(drop)));
    }
    Ok(Attachment {
        netns: opts.netns.clone(),
        container_id: params.container_id,
        ifname: opts.ifname.clone(),
        network: list.name,
        cni_version: list.cni_version,
        result,
    })
}

/// What `del` did: printed as its JSON line.
#[derive(Debug, Clone, PartialEq)]
pub struct Deletion {
    pub netns: String,
    /// CNI DEL ran (from the cache or from the config).
    pub cni_deleted: bool,
    /// `/run/netns/<name>` was there and is gone.
    pub netns_removed: bool,
}

impl Deletion {
    pub fn to_json(&self) -> Value {
        json!({
            "netns": self.netns,
            "cniDeleted": self.cni_deleted,
            "netnsRemoved": self.netns_removed,
        })
    }
}

/// Runs CNI DEL (with the cached config and result when there are any) and removes the namespace.
/// Idempotent: deleting what is not there succeeds. If a plugin's DEL fails, the namespace and the
/// cache entry stay, so a second `del` can retry it.
pub fn del(opts: &Options) -> Result<Deletion> {
    privileges::require(privileges::REQUIRED)?;
    opts.validate()?;
    let cache = opts.cache();
    let cached = cache.load(opts.netns.as_str(), &opts.ifname)?;
    let cni_deleted = match &cached {
        Some(entry) => {
            let list = NetworkConfigList::from_list_value(
                entry.config.clone(),
                &opts.cache_dir.join("results"),
            )?;
            let params = opts.runtime_params(&entry.container_id, entry.cni_args.as_deref());
            chain::del(&list, &params, &ExecRunner, entry.result.as_ref())?;
            true
        }
        // No cache entry (made by another tool, or the cache was lost): DEL with today's config if
        // it loads; the namespace goes in any case, and its interfaces with it.
        None if netns::exists(&opts.netns) => match NetworkConfigList::load(&opts.conf) {
            Ok(list) => {
                let params = opts.runtime_params(opts.container_id(), opts.cni_args.as_deref());
                chain::del(&list, &params, &ExecRunner, None)?;
                true
            }
            Err(e) => {
                eprintln!(
                    "warning: no cached CNI result for {} and the config does not load ({e}); removing the namespace without CNI DEL",
                    opts.netns
                );
                false
            }
        },
        None => false,
    };
    let netns_removed = netns::delete(&opts.netns)?;
    cache.remove(opts.netns.as_str(), &opts.ifname)?;
    Ok(Deletion {
        netns: opts.netns.to_string(),
        cni_deleted,
        netns_removed,
    })
}

/// `add`, then `ready` (which prints the result), then exec `command` inside the namespace with the
/// environment passed through. Returns only on failure, after undoing everything.
pub fn run(
    opts: &Options,
    command: &[OsString],
    ready: impl FnOnce(&Attachment) -> std::io::Result<()>,
) -> Result<Infallible> {
    let argv = command
        .iter()
        .map(|arg| CString::new(arg.as_bytes()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| Error::InvalidArgument("the command contains a NUL byte".into()))?;
    let Some(program) = argv.first() else {
        return Err(Error::InvalidArgument(
            "no command given after `--` (use `cnispawn add` to only create the namespace)".into(),
        ));
    };
    let attachment = add(opts)?;
    let undo = |failure: Error| failure.with_cleanup(del(opts).map(drop));

    if let Err(e) = ready(&attachment) {
        return Err(undo(Error::io("write the result to", "stdout", e)));
    }
    let original = netns::CurrentNetns::open().map_err(undo)?;
    netns::enter(&opts.netns).map_err(undo)?;
    let errno = match nix::unistd::execvp(program, &argv) {
        Err(errno) => errno,
        Ok(never) => match never {},
    };
    let failure = Error::Exec {
        command: program.to_string_lossy().into_owned(),
        netns: opts.netns.to_string(),
        source: errno,
    };
    // Plugins must run in the host namespace to find their host-side interfaces.
    match original.restore() {
        Ok(()) => Err(undo(failure)),
        Err(e) => Err(failure.with_cleanup(Err(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options::new(NetnsName::new("t").unwrap())
    }

    #[test]
    fn defaults_follow_debian_and_libcni() {
        let o = opts();
        assert_eq!(
            o.cni_path,
            [PathBuf::from("/usr/lib/cni"), PathBuf::from("/opt/cni/bin")]
        );
        assert!(matches!(&o.conf, ConfSource::Dir(d) if d == &PathBuf::from("/etc/cni/net.d")));
        assert_eq!(o.container_id(), "t");
        o.validate().unwrap();
    }

    #[test]
    fn validates_ifname_container_id_and_cni_args() {
        type Mutation = fn(&mut Options);
        let cases: [(Mutation, &str); 6] = [
            (
                |o| o.ifname = "a-very-long-ifname".into(),
                "invalid --ifname",
            ),
            (|o| o.ifname = "e/0".into(), "invalid --ifname"),
            (
                |o| o.container_id = Some("a b".into()),
                "invalid --container-id",
            ),
            (
                |o| o.cni_args = Some("K=V;novalue".into()),
                "got \"novalue\"",
            ),
            (|o| o.cni_args = Some("=V".into()), "invalid --cni-args"),
            (|o| o.cni_path = vec![], "--cni-path is empty"),
        ];
        for (mutate, expected) in cases {
            let mut o = opts();
            mutate(&mut o);
            let err = o.validate().unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
        let mut o = opts();
        o.cni_args = Some("IgnoreUnknown=1;K8S_POD_NAME=x".into());
        o.validate().unwrap();
    }

    #[test]
    fn the_json_line_has_the_address_and_the_raw_result() {
        let result = json!({
            "cniVersion": "1.0.0",
            "interfaces": [{"name": "br"}, {"name": "eth0", "sandbox": "/run/netns/t"}],
            "ips": [{"address": "10.22.0.10/16", "interface": 1, "gateway": "10.22.0.1"}]
        });
        let a = Attachment {
            netns: NetnsName::new("t").unwrap(),
            container_id: "t".into(),
            ifname: "eth0".into(),
            network: "kns".into(),
            cni_version: "1.0.0".into(),
            result: result.clone(),
        };
        let line = a.to_json();
        assert_eq!(line["address"], "10.22.0.10/16");
        assert_eq!(line["netnsPath"], "/run/netns/t");
        assert_eq!(line["result"], result);
        assert!(!serde_json::to_string(&line).unwrap().contains('\n'));
    }
}

#[cfg(test)]
mod error_messages_tests;
