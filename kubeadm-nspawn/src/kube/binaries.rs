//! The Kubernetes binaries a cluster runs: found in a `--kube-bin` directory or in a Kubernetes
//! source tree's build output (`--kube-root`), plus the extras (`--extra-bin`: crictl, etcd,
//! coredns, pause). All must report the same version, which comes from `kubeadm version`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What `make` builds for a cluster, by binary name.
pub const KUBE_BINARIES: &[&str] = &[
    "kubeadm",
    "kubelet",
    "kubectl",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-proxy",
];

/// Installed into every node's /usr/local/bin (the rest run from images).
pub const NODE_BINARIES: &[&str] = &["kubeadm", "kubelet", "kubectl"];

/// Where a Kubernetes tree puts `make` output, newest layout first.
const KUBE_ROOT_OUTPUTS: &[&str] = &["_output/local/bin/linux/amd64", "_output/bin"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KubeBinaries {
    /// The directory holding the seven Kubernetes binaries.
    pub dir: PathBuf,
    /// crictl, etcd, coredns (and optionally pause), when given.
    pub extra_dir: Option<PathBuf>,
    /// `kubeadm version -o short`, e.g. `v1.28.7`.
    pub version: String,
}

impl KubeBinaries {
    /// From `--kube-bin DIR` or `--kube-root DIR` (exactly one) and `--extra-bin DIR`.
    pub fn find(
        kube_bin: Option<&Path>,
        kube_root: Option<&Path>,
        extra_bin: Option<&Path>,
    ) -> Result<Self> {
        let dir = match (kube_bin, kube_root) {
            (Some(_), Some(_)) => {
                return Err(Error::InvalidArgument(
                    "give --kube-bin or --kube-root, not both".into(),
                ))
            }
            (None, None) => {
                return Err(Error::InvalidArgument(
                    "no Kubernetes binaries: give --kube-bin DIR (kubeadm, kubelet, kubectl, \
                     kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy) or \
                     --kube-root DIR (a built Kubernetes source tree)"
                        .into(),
                ))
            }
            (Some(dir), None) => {
                let missing = missing_in(dir);
                if !missing.is_empty() {
                    return Err(Error::InvalidArgument(format!(
                        "--kube-bin {}: missing {}",
                        dir.display(),
                        missing.join(", ")
                    )));
                }
                dir.to_owned()
            }
            (None, Some(root)) => from_kube_root(root)?,
        };
        if let Some(extra) = extra_bin {
            if !extra.is_dir() {
                return Err(Error::InvalidArgument(format!(
                    "--extra-bin {}: not a directory",
                    extra.display()
                )));
            }
        }
        let version = version_of(&dir.join("kubeadm"), &["version", "-o", "short"])?;
        if crate::kube::releases::version::Version::minor_of(&version).is_none() {
            return Err(Error::InvalidArgument(format!(
                "{}: `kubeadm version -o short` says {version:?}, not a version: is it kubeadm?",
                dir.join("kubeadm").display()
            )));
        }
        let binaries = KubeBinaries {
            dir: absolute(&dir)?,
            extra_dir: extra_bin.map(absolute).transpose()?,
            version,
        };
        binaries.check_versions()?;
        Ok(binaries)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// An extra binary (crictl, etcd, coredns, pause), if `--extra-bin` has it.
    pub fn extra(&self, name: &str) -> Option<PathBuf> {
        self.extra_dir
            .as_ref()
            .map(|d| d.join(name))
            .filter(|p| p.is_file())
    }

    /// Every server binary answers `--version` with `Kubernetes vX.Y.Z`; a mix of builds is refused
    /// before it can fail in a confusing way inside a node.
    fn check_versions(&self) -> Result<()> {
        let mut mismatched = vec![];
        for b in KUBE_BINARIES
            .iter()
            .filter(|b| **b != "kubeadm" && **b != "kubectl")
        {
            let v = version_of(&self.path(b), &["--version"])?;
            let v = v.trim_start_matches("Kubernetes ").to_owned();
            if v != self.version {
                mismatched.push(format!("{b} is {v}"));
            }
        }
        if mismatched.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "the Kubernetes binaries in {} are not one build: kubeadm is {}, {}",
                self.dir.display(),
                self.version,
                mismatched.join(", ")
            )))
        }
    }
}

fn missing_in(dir: &Path) -> Vec<&'static str> {
    KUBE_BINARIES
        .iter()
        .copied()
        .filter(|b| !dir.join(b).is_file())
        .collect()
}

fn from_kube_root(root: &Path) -> Result<PathBuf> {
    if !root.join("cmd/kubeadm").is_dir() {
        return Err(Error::InvalidArgument(format!(
            "--kube-root {}: not a Kubernetes source tree (no cmd/kubeadm)",
            root.display()
        )));
    }
    for output in KUBE_ROOT_OUTPUTS {
        let dir = root.join(output);
        let missing = missing_in(&dir);
        if missing.is_empty() {
            return Ok(dir);
        }
        if dir.is_dir() {
            let what: Vec<String> = missing.iter().map(|b| format!("cmd/{b}")).collect();
            return Err(Error::InvalidArgument(format!(
                "--kube-root {}: {} lacks {}: run `make WHAT=\"{}\"` in the tree",
                root.display(),
                output,
                missing.join(", "),
                what.join(" ")
            )));
        }
    }
    let what: Vec<String> = KUBE_BINARIES.iter().map(|b| format!("cmd/{b}")).collect();
    Err(Error::InvalidArgument(format!(
        "--kube-root {}: nothing built yet: run `make WHAT=\"{}\"` in the tree",
        root.display(),
        what.join(" ")
    )))
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(|e| Error::io("resolve", path, e))
}

/// First line of `binary args` (a version string).
pub fn version_of(binary: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io("run", binary, e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next().unwrap_or_default().trim().to_owned();
    if !out.status.success() || line.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "{} {}: no version ({}): is it a Kubernetes binary for this machine?",
            binary.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_without_a_build_says_which_make_to_run() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("cmd/kubeadm")).unwrap();
        let err = KubeBinaries::find(None, Some(root.path()), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("make WHAT=\"cmd/kubeadm cmd/kubelet"), "{err}");
        let out = root.path().join("_output/local/bin/linux/amd64");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("kubeadm"), "").unwrap();
        let err = KubeBinaries::find(None, Some(root.path()), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("lacks kubelet, kubectl"), "{err}");
        assert!(!err.contains("cmd/kubeadm"), "{err}");
    }

    /// Stand-ins that only print a version: this tests the comparison, not Kubernetes.
    fn version_stubs(dir: &Path, kubelet_version: &str) {
        use std::os::unix::fs::PermissionsExt;
        for b in KUBE_BINARIES {
            let version = match *b {
                "kubeadm" => "v1.28.7".to_string(),
                "kubelet" => format!("Kubernetes {kubelet_version}"),
                _ => "Kubernetes v1.28.7".to_string(),
            };
            let path = dir.join(b);
            std::fs::write(&path, format!("#!/bin/sh\necho '{version}'\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    #[test]
    fn binaries_of_different_builds_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        version_stubs(dir.path(), "v1.29.0");
        let err = KubeBinaries::find(Some(dir.path()), None, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not one build: kubeadm is v1.28.7, kubelet is v1.29.0"),
            "{err}"
        );
        version_stubs(dir.path(), "v1.28.7");
        let found = KubeBinaries::find(Some(dir.path()), None, None).unwrap();
        assert_eq!(found.version, "v1.28.7");
    }

    #[test]
    fn missing_binaries_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kubelet"), "").unwrap();
        let err = KubeBinaries::find(Some(dir.path()), None, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("missing kubeadm, kubectl, kube-apiserver"),
            "{err}"
        );
        let err = KubeBinaries::find(None, None, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--kube-bin"), "{err}");
    }
}
