//! The user's kubeconfig: a cluster's admin credentials merged in as context
//! `kubeadm-nspawn-<cluster>` (cluster and user entries of the same name, so clusters never collide
//! on kubeadm's default `kubernetes`/`kubernetes-admin` names), made the current context, and taken
//! out again by `down`. Merging and removing go through the cluster's own kubectl, holding a lock
//! on the kubeconfig's directory; the file stays mode 0600.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::fcntl::{Flock, FlockArg};

use crate::kube::error::{Error, Result};

pub fn context_name(cluster: &str) -> String {
    format!("kubeadm-nspawn-{cluster}")
}

/// The kubeconfig `init` merges into, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub path: PathBuf,
    /// Under `sudo`: the invoking user's uid and gid, who must own the file (and a `.kube` made for
    /// it). None: whoever runs this.
    pub owner: Option<(u32, u32)>,
}

/// `$KUBECONFIG`'s first file, else `~/.kube/config` of the person at the keyboard: under `sudo`
/// (`SUDO_UID`/`SUDO_GID`), the invoking user's home from the password database, not root's.
pub fn default_target() -> Target {
    target_from(
        |name| std::env::var_os(name),
        |uid| {
            nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                .ok()
                .flatten()
                .map(|u| u.dir)
        },
    )
}

fn target_from(
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
    home_of: impl Fn(u32) -> Option<PathBuf>,
) -> Target {
    let id = |name: &str| env(name).and_then(|v| v.to_str().and_then(|s| s.parse::<u32>().ok()));
    let owner = match (id("SUDO_UID"), id("SUDO_GID")) {
        (Some(uid), Some(gid)) if uid != 0 && nix::unistd::geteuid().is_root() => Some((uid, gid)),
        _ => None,
    };
    let path = env("KUBECONFIG")
        .as_ref()
        .and_then(|v| std::env::split_paths(v).next())
        .filter(|p| !p.as_os_str().is_empty())
        .or_else(|| {
            owner
                .and_then(|(uid, _)| home_of(uid))
                .filter(|home| home.is_dir())
                .map(|home| home.join(".kube/config"))
        })
        .unwrap_or_else(|| {
            let home = env("HOME").unwrap_or_else(|| "/root".into());
            PathBuf::from(home).join(".kube").join("config")
        });
    Target { path, owner }
}

/// A kubeconfig for `cluster` from kubeadm's admin.conf, pointing at `server`.
pub fn from_admin_conf(admin_conf: &str, cluster: &str, server: &str) -> Result<String> {
    let field = |name: &'static str| {
        admin_conf
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}: ")))
            .map(str::to_owned)
            .ok_or(Error::AdminConf(name))
    };
    let name = context_name(cluster);
    Ok(format!(
        r#"apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: {ca}
    server: {server}
  name: {name}
contexts:
- context:
    cluster: {name}
    user: {name}
  name: {name}
current-context: {name}
users:
- name: {name}
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
preferences: {{}}
"#,
        ca = field("certificate-authority-data")?,
        cert = field("client-certificate-data")?,
        key = field("client-key-data")?,
    ))
}

/// Holds an exclusive lock on the kubeconfig's directory while `f` runs; a directory made for it
/// belongs to `owner`.
fn locked<T>(target: &Path, owner: Option<(u32, u32)>, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let dir = target.parent().unwrap_or(Path::new("/"));
    create_dirs(dir, owner)?;
    let handle = File::open(dir).map_err(|e| Error::io("open", dir, e))?;
    let _lock = Flock::lock(handle, FlockArg::LockExclusive)
        .map_err(|(_, e)| Error::io("lock", dir, e.into()))?;
    f()
}

/// Creates `dir` and its missing parents (mode 0750, as kubectl makes ~/.kube), owned by `owner`.
fn create_dirs(dir: &Path, owner: Option<(u32, u32)>) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(parent, owner)?;
    }
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().mode(0o750).create(dir) {
        Ok(()) => chown(dir, owner),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io("create", dir, e)),
    }
}

fn chown(path: &Path, owner: Option<(u32, u32)>) -> Result<()> {
    match owner {
        Some((uid, gid)) => std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .map_err(|e| Error::io("chown", path, e)),
        None => Ok(()),
    }
}

/// Writes `bytes` to `path` with mode 0600 (temp file + rename).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    kns_plumbing::atomic_file::write(path, bytes, 0o600).map_err(|e| Error::io("write", path, e))
}

/// Merges the kubeconfig at `ours` into `target`, ours winning where names clash, and makes its
/// context the current one. The file keeps its owner (a new one gets `target.owner`'s).
pub fn merge(target: &Target, ours: &Path, kubectl: &Path) -> Result<()> {
    let owner = target.owner;
    let target = target.path.as_path();
    locked(target, owner, || {
        use std::os::unix::fs::MetadataExt;
        let owner = owner.or_else(|| std::fs::metadata(target).ok().map(|m| (m.uid(), m.gid())));
        let has_content = std::fs::metadata(target).is_ok_and(|m| m.len() > 0);
        let merged = if has_content {
            let mut paths = std::ffi::OsString::from(ours);
            paths.push(":");
            paths.push(target);
            let out = Command::new(kubectl)
                .args(["config", "view", "--flatten"])
                .env("KUBECONFIG", paths)
                .stdin(Stdio::null())
                .output()
                .map_err(|e| Error::io("run", kubectl, e))?;
            if !out.status.success() {
                return Err(Error::tool(
                    "kubectl config view",
                    format!(
                        "cannot merge into {}: {}",
                        target.display(),
                        String::from_utf8_lossy(&out.stderr).trim()
                    ),
                ));
            }
            out.stdout
        } else {
            std::fs::read(ours).map_err(|e| Error::io("read", ours, e))?
        };
        write_private(target, &merged)?;
        chown(target, owner)
    })
}

/// Takes `cluster`'s context, cluster and user out of `target` (what is not there is skipped).
pub fn remove(target: &Path, cluster: &str, kubectl: &Path) -> Result<()> {
    if !target.exists() {
        return Ok(());
    }
    let name = context_name(cluster);
    // kubectl rewrites the file in place: its owner and mode stay.
    locked(target, None, || {
        let kubectl_config = |args: &[&str]| {
            Command::new(kubectl)
                .arg("--kubeconfig")
                .arg(target)
                .arg("config")
                .args(args)
                .stdin(Stdio::null())
                .output()
        };
        let current = kubectl_config(&["current-context"])
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        if current == name {
            let _ = kubectl_config(&["unset", "current-context"]);
        }
        let user = format!("users.{name}");
        for args in [
            ["delete-context", name.as_str()],
            ["delete-cluster", name.as_str()],
            ["unset", user.as_str()],
        ] {
            let out = kubectl_config(&args).map_err(|e| Error::io("run", kubectl, e))?;
            let stderr = String::from_utf8_lossy(&out.stderr);
            // What is not there (taken out by hand, or never merged) is no failure.
            if !out.status.success() && !stderr.contains("not in") {
                return Err(Error::tool(
                    &format!("kubectl config {}", args.join(" ")),
                    format!("in {}: {}", target.display(), stderr.trim()),
                ));
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_sudo_the_kubeconfig_is_the_invoking_users() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        let homes = |uid: u32| (uid == 1000).then(|| PathBuf::from("/"));
        // As root without sudo: root's home, no owner change.
        let plain = target_from(env(&[("HOME", "/root")]), homes);
        assert_eq!(plain.path, PathBuf::from("/root/.kube/config"));
        assert_eq!(plain.owner, None);
        if !nix::unistd::geteuid().is_root() {
            return; // SUDO_* only counts when this runs as root.
        }
        let sudo = &[
            ("HOME", "/root"),
            ("SUDO_UID", "1000"),
            ("SUDO_GID", "1001"),
            ("SUDO_USER", "dev"),
        ];
        let t = target_from(env(sudo), homes);
        assert_eq!(
            t.path,
            PathBuf::from("/.kube/config"),
            "the user's home, not HOME"
        );
        assert_eq!(t.owner, Some((1000, 1001)));
        let kept = &[
            ("KUBECONFIG", "/tmp/k:/tmp/other"),
            ("SUDO_UID", "1000"),
            ("SUDO_GID", "1001"),
        ];
        let t = target_from(env(kept), homes);
        assert_eq!(
            (t.path, t.owner),
            (PathBuf::from("/tmp/k"), Some((1000, 1001)))
        );
        // A uid without a home falls back to HOME; sudo from root changes nothing.
        let t = target_from(
            env(&[("HOME", "/h"), ("SUDO_UID", "4242"), ("SUDO_GID", "4242")]),
            homes,
        );
        assert_eq!(t.path, PathBuf::from("/h/.kube/config"));
        let t = target_from(
            env(&[("HOME", "/h"), ("SUDO_UID", "0"), ("SUDO_GID", "0")]),
            homes,
        );
        assert_eq!(t.owner, None);
    }

    #[test]
    fn admin_conf_becomes_a_config_with_the_clusters_own_names() {
        let admin = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: Q0E=\n    server: https://10.22.0.10:6443\n  name: kubernetes\nusers:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: Q0VSVA==\n    client-key-data: S0VZ\n";
        let config = from_admin_conf(admin, "dev", "https://10.22.0.10:6443").unwrap();
        assert!(config.contains("certificate-authority-data: Q0E="));
        assert!(config.contains("client-key-data: S0VZ"));
        assert!(config.contains("current-context: kubeadm-nspawn-dev"));
        assert!(!config.contains("kubernetes-admin"));
        assert!(from_admin_conf("apiVersion: v1\n", "dev", "https://x").is_err());
    }
}
