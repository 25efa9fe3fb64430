//! The Kubernetes binaries a cluster runs: found in a `--kube-bin` directory or in a Kubernetes
//! source tree's build output (`--kube-root`), plus the extras (`--extra-bin`: crictl, etcd,
//! coredns, pause). All must report the same version, which comes from `kubeadm version`.
//! What they are, once found, is [`crate::model::binaries`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::error::{Error, Result};
use super::minor::Minor;
pub use crate::model::binaries::{KubeBinaries, KUBE_BINARIES, NODE_BINARIES};

/// Where a Kubernetes tree puts `make` output, newest layout first.
const KUBE_ROOT_OUTPUTS: &[&str] = &["_output/local/bin/linux/amd64", "_output/bin"];

/// A build of Kubernetes on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Build {
    /// `--kube-bin DIR`: a directory of the seven binaries.
    Dir(PathBuf),
    /// `--kube-root DIR`: a built source tree.
    Tree(PathBuf),
}

/// The binaries of a build or a tree, checked: the seven are there, run, report one version;
/// `extra_bin` is a directory.
pub fn find(build: &Build, extra_bin: Option<&Path>) -> Result<KubeBinaries> {
    let dir = match build {
        Build::Dir(dir) => {
            let missing = missing_in(dir);
            if !missing.is_empty() {
                return Err(Error::MissingBinaries {
                    dir: dir.clone(),
                    missing,
                });
            }
            dir.clone()
        }
        Build::Tree(root) => from_kube_root(root)?,
    };
    if let Some(extra) = extra_bin.filter(|e| !e.is_dir()) {
        return Err(Error::NotADirectory(extra.to_owned()));
    }
    let kubeadm = dir.join("kubeadm");
    let version = version_of(&kubeadm, &["version", "-o", "short"])?;
    if Minor::of(&version).is_none() {
        return Err(Error::NotKubeadm {
            binary: kubeadm,
            said: version,
        });
    }
    let binaries = KubeBinaries {
        dir: absolute(&dir)?,
        extra_dir: extra_bin.map(absolute).transpose()?,
        version,
    };
    check_versions(&binaries)?;
    Ok(binaries)
}

/// Every server binary answers `--version` with `Kubernetes vX.Y.Z`; a mix of builds is refused
/// before it can fail in a confusing way inside a node.
fn check_versions(binaries: &KubeBinaries) -> Result<()> {
    let mut mismatched = vec![];
    for b in KUBE_BINARIES
        .iter()
        .filter(|b| **b != "kubeadm" && **b != "kubectl")
    {
        let v = version_of(&binaries.path(b), &["--version"])?;
        let v = v.trim_start_matches("Kubernetes ").to_owned();
        if v != binaries.version {
            mismatched.push(format!("{b} is {v}"));
        }
    }
    if mismatched.is_empty() {
        return Ok(());
    }
    Err(Error::NotOneBuild {
        dir: binaries.dir.clone(),
        kubeadm: binaries.version.clone(),
        mismatched,
    })
}

/// The extras kubeadm needs in every cluster, checked before anything is changed: crictl and etcd.
pub fn check_extras(binaries: &KubeBinaries) -> Result<()> {
    for (name, why) in [
        (
            "crictl",
            "kubeadm needs it in every node (cri-tools: `go build ./cmd/crictl`)",
        ),
        (
            "etcd",
            "the control plane's datastore (e.g. Debian's etcd-server package)",
        ),
    ] {
        if binaries.extra(name).is_none() {
            return Err(Error::MissingExtra { name, why });
        }
    }
    Ok(())
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
        return Err(Error::NotATree(root.to_owned()));
    }
    for output in KUBE_ROOT_OUTPUTS {
        let dir = root.join(output);
        let missing = missing_in(&dir);
        if missing.is_empty() {
            return Ok(dir);
        }
        if dir.is_dir() {
            return Err(Error::NotBuilt {
                root: root.to_owned(),
                output: Some(output),
                missing,
            });
        }
    }
    Err(Error::NotBuilt {
        root: root.to_owned(),
        output: None,
        missing: vec![],
    })
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
        return Err(Error::NoVersion {
            binary: binary.to_owned(),
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
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
        use kns_plumbing::report::Hint;
        let tree = Build::Tree(root.path().to_path_buf());
        let err = find(&tree, None).unwrap_err();
        assert!(err.to_string().contains("nothing built yet"), "{err}");
        assert!(
            err.hint()
                .unwrap()
                .contains("make WHAT=\"cmd/kubeadm cmd/kubelet"),
            "{err}"
        );
        let out = root.path().join("_output/local/bin/linux/amd64");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("kubeadm"), "").unwrap();
        let err = find(&tree, None).unwrap_err();
        assert!(err.to_string().contains("lacks kubelet, kubectl"), "{err}");
        assert!(!err.hint().unwrap().contains("cmd/kubeadm"), "{err}");
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
        let build = Build::Dir(dir.path().to_path_buf());
        let err = find(&build, None).unwrap_err().to_string();
        assert!(
            err.contains("not one build: kubeadm is v1.28.7, kubelet is v1.29.0"),
            "{err}"
        );
        version_stubs(dir.path(), "v1.28.7");
        let found = find(&build, None).unwrap();
        assert_eq!(found.version, "v1.28.7");
    }

    #[test]
    fn missing_binaries_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kubelet"), "").unwrap();
        let err = find(&Build::Dir(dir.path().to_path_buf()), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("missing kubeadm, kubectl, kube-apiserver"),
            "{err}"
        );
    }
}
