//! The user's kubeconfig: a cluster's admin credentials merged in as context
//! `kubeadm-nspawn-<cluster>` (cluster and user entries of the same name, so clusters never collide
//! on kubeadm's default `kubernetes`/`kubernetes-admin` names), made the current context, and taken
//! out again by `down`. Merging and removing go through the cluster's own kubectl, holding a lock
//! on the kubeconfig's directory; the file stays mode 0600.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Result};

pub fn context_name(cluster: &str) -> String {
    format!("kubeadm-nspawn-{cluster}")
}

/// `$KUBECONFIG`'s first file, else `~/.kube/config`.
pub fn default_path() -> PathBuf {
    if let Some(first) = std::env::var_os("KUBECONFIG")
        .as_ref()
        .and_then(|v| std::env::split_paths(v).next())
        .filter(|p| !p.as_os_str().is_empty())
    {
        return first;
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".kube").join("config")
}

/// A kubeconfig for `cluster` from kubeadm's admin.conf, pointing at `server`.
pub fn from_admin_conf(admin_conf: &str, cluster: &str, server: &str) -> Result<String> {
    let field = |name: &str| {
        admin_conf
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}: ")))
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "admin.conf has no {name}: kubeadm init did not finish"
                ))
            })
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

/// Holds an exclusive lock on the kubeconfig's directory while `f` runs.
fn locked<T>(target: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let dir = target.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let handle = File::open(dir).map_err(|e| Error::io("open", dir, e))?;
    let _lock = Flock::lock(handle, FlockArg::LockExclusive)
        .map_err(|(_, e)| Error::io("lock", dir, e.into()))?;
    f()
}

/// Writes `bytes` to `path` with mode 0600 (temp file + rename).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    kns_plumbing::atomic_file::write(path, bytes, 0o600).map_err(|e| Error::io("write", path, e))
}

/// Merges the kubeconfig at `ours` into `target`, ours winning where names clash, and makes its
/// context the current one.
pub fn merge(target: &Path, ours: &Path, kubectl: &Path) -> Result<()> {
    locked(target, || {
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
        write_private(target, &merged)
    })
}

/// Takes `cluster`'s context, cluster and user out of `target` (what is not there is skipped).
pub fn remove(target: &Path, cluster: &str, kubectl: &Path) -> Result<()> {
    if !target.exists() {
        return Ok(());
    }
    let name = context_name(cluster);
    locked(target, || {
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
        for args in [
            ["delete-context", name.as_str()],
            ["delete-cluster", name.as_str()],
            ["unset", &format!("users.{name}")],
        ] {
            let _ = kubectl_config(&args);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
