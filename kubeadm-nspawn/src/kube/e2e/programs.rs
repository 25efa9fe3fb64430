//! Where the suite's programs are: `e2e.test` and `ginkgo` in one directory (`--e2e-bin DIR`, a
//! source tree's build output, or the directory of the cluster's own binaries), `kubectl` beside
//! them or the cluster's; and the `make` that builds all three in a tree.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::kube::error::{Error, Result};

/// What `--build` makes in the tree (ginkgo from the tree's vendor directory: the version the
/// suite was written for).
pub const MAKE_WHAT: &str = "test/e2e/e2e.test vendor/github.com/onsi/ginkgo/v2/ginkgo cmd/kubectl";

/// Where a tree's `make` puts them, in the order looked.
pub const TREE_OUTPUTS: &[&str] = &["_output/bin", "_output/local/bin/linux/amd64"];

/// The two the suite cannot run without, wherever they are.
const SUITE: [&str; 2] = ["e2e.test", "ginkgo"];

/// Where to look for the programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// `--e2e-bin DIR`.
    Dir(PathBuf),
    /// `--kube-root TREE`: its build output.
    Tree(PathBuf),
    /// Neither: the directory of the cluster's own binaries (a tree's output when the cluster
    /// was made from one).
    Cluster(PathBuf),
}

impl Place {
    fn dirs(&self) -> Vec<PathBuf> {
        match self {
            Place::Dir(dir) | Place::Cluster(dir) => vec![dir.clone()],
            Place::Tree(root) => TREE_OUTPUTS.iter().map(|o| root.join(o)).collect(),
        }
    }

    fn said(&self) -> String {
        match self {
            Place::Dir(dir) => format!("--e2e-bin {}", dir.display()),
            Place::Tree(root) => format!("--kube-root {}", root.display()),
            Place::Cluster(_) => "the directory of the cluster's binaries".to_owned(),
        }
    }

    /// The source tree the programs come from, if any.
    pub fn tree(&self) -> Option<PathBuf> {
        match self {
            Place::Tree(root) => Some(root.clone()),
            Place::Cluster(dir) => tree_of(dir),
            Place::Dir(_) => None,
        }
    }
}

/// The programs found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programs {
    pub e2e_test: PathBuf,
    pub ginkgo: PathBuf,
    pub kubectl: PathBuf,
    /// kubectl is the cluster's own (none beside the others).
    pub clusters_kubectl: bool,
}

/// Whether `root` is a Kubernetes source tree the suite can be built in.
pub fn is_tree(root: &Path) -> bool {
    root.join("test/e2e").is_dir()
}

/// The source tree whose build output `dir` is, if it is one.
pub fn tree_of(dir: &Path) -> Option<PathBuf> {
    TREE_OUTPUTS.iter().find_map(|output| {
        let output = Path::new(output);
        if !dir.ends_with(output) {
            return None;
        }
        let mut root = dir.to_path_buf();
        for _ in output.components() {
            root.pop();
        }
        is_tree(&root).then_some(root)
    })
}

fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// e2e.test and ginkgo from the first directory of `place` holding both; kubectl beside them,
/// else `clusters_kubectl`.
pub fn find(place: &Place, clusters_kubectl: &Path) -> Result<Programs> {
    let dirs = place.dirs();
    let missing_in = |dir: &Path| -> Vec<&'static str> {
        SUITE
            .into_iter()
            .filter(|p| !executable(&dir.join(p)))
            .collect()
    };
    let Some(dir) = dirs.iter().find(|d| missing_in(d).is_empty()) else {
        let missing = dirs
            .iter()
            .map(|d| missing_in(d))
            .min_by_key(Vec::len)
            .unwrap_or_else(|| SUITE.to_vec());
        return Err(Error::NoE2ePrograms {
            missing,
            place: place.said(),
            looked: dirs,
            hint: hint(place),
        });
    };
    let beside = dir.join("kubectl");
    let (kubectl, clusters_kubectl) = if executable(&beside) {
        (beside, false)
    } else if executable(clusters_kubectl) {
        (clusters_kubectl.to_path_buf(), true)
    } else {
        return Err(Error::NoE2ePrograms {
            missing: vec!["kubectl"],
            place: place.said(),
            looked: vec![dir.clone(), clusters_kubectl.to_path_buf()],
            hint: hint(place),
        });
    };
    Ok(Programs {
        e2e_test: dir.join("e2e.test"),
        ginkgo: dir.join("ginkgo"),
        kubectl,
        clusters_kubectl,
    })
}

fn hint(place: &Place) -> String {
    let make = format!("make WHAT=\"{MAKE_WHAT}\"");
    match (place, place.tree()) {
        (Place::Dir(_), _) => {
            "give a directory holding e2e.test and ginkgo (a build's _output/bin, \
            or kubernetes/test/bin of a release's kubernetes-test-linux-amd64.tar.gz)"
                .to_owned()
        }
        (_, Some(tree)) => format!(
            "build them: add --build, or run `{make}` in {}",
            tree.display()
        ),
        (_, None) => format!(
            "give --kube-root TREE (with --build, or after `{make}` there) or --e2e-bin DIR"
        ),
    }
}

/// Who runs `make` in a tree under `sudo`: the person whose tree it is, not root (root-owned
/// build output in someone's tree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Builder {
    pub uid: u32,
    pub gid: u32,
    pub home: Option<PathBuf>,
}

/// `make WHAT="..."` in `tree`, as `builder` when given (its home as HOME, for Go's caches; the
/// official Go's `/usr/local/go/bin` on PATH when there, as `sudo` resets PATH).
pub fn build_command(tree: &Path, builder: Option<&Builder>) -> Command {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new("make");
    command.arg(format!("WHAT={MAKE_WHAT}")).current_dir(tree);
    let go = Path::new("/usr/local/go/bin");
    if go.is_dir() {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
        if !dirs.iter().any(|d| d == go) {
            dirs.push(go.to_path_buf());
        }
        if let Ok(joined) = std::env::join_paths(dirs) {
            command.env("PATH", joined);
        }
    }
    if let Some(builder) = builder {
        command.uid(builder.uid).gid(builder.gid);
        if let Some(home) = &builder.home {
            command.env("HOME", home);
        }
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(dir: &Path, name: &str) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn tree() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("test/e2e")).unwrap();
        root
    }

    #[test]
    fn a_tree_is_looked_in_where_make_puts_its_output() {
        let root = tree();
        let clusters = root.path().join("cluster-bin/kubectl");
        let err = find(&Place::Tree(root.path().into()), &clusters).unwrap_err();
        let said = err.to_string();
        assert_eq!(
            said,
            format!(
                "e2e.test and ginkgo not found in --kube-root {0} (looked in {0}/_output/bin, \
                 {0}/_output/local/bin/linux/amd64)",
                root.path().display()
            )
        );
        use kns_plumbing::report::Hint;
        assert!(err.hint().unwrap().contains("add --build"), "{err:?}");
        let out = root.path().join("_output/local/bin/linux/amd64");
        program(&out, "e2e.test");
        let err = find(&Place::Tree(root.path().into()), &clusters).unwrap_err();
        assert!(err.to_string().starts_with("ginkgo not found"), "{err}");
        program(&out, "ginkgo");
        // No kubectl beside them, none in the cluster either.
        let err = find(&Place::Tree(root.path().into()), &clusters).unwrap_err();
        assert!(err.to_string().starts_with("kubectl not found"), "{err}");
        program(clusters.parent().unwrap(), "kubectl");
        let found = find(&Place::Tree(root.path().into()), &clusters).unwrap();
        assert_eq!(found.e2e_test, out.join("e2e.test"));
        assert_eq!(found.kubectl, clusters);
        assert!(found.clusters_kubectl);
        program(&out, "kubectl");
        let found = find(&Place::Tree(root.path().into()), &clusters).unwrap();
        assert_eq!(found.kubectl, out.join("kubectl"));
        assert!(!found.clusters_kubectl);
    }

    #[test]
    fn the_clusters_binaries_of_a_tree_lead_back_to_it() {
        let root = tree();
        let out = root.path().join("_output/local/bin/linux/amd64");
        assert_eq!(tree_of(&out), Some(root.path().to_path_buf()));
        assert_eq!(
            tree_of(&root.path().join("_output/bin")),
            Some(root.path().into())
        );
        assert_eq!(
            tree_of(Path::new("/var/cache/releases/v1.28.7-linux-amd64")),
            None
        );
        let place = Place::Cluster(out.clone());
        assert_eq!(place.tree(), Some(root.path().to_path_buf()));
        let err = find(&place, &out.join("kubectl")).unwrap_err();
        use kns_plumbing::report::Hint;
        assert!(err.hint().unwrap().contains("add --build"), "{err:?}");
        let release = Place::Cluster("/var/cache/releases/v1.28.7".into());
        let err = find(&release, Path::new("/nowhere/kubectl")).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "e2e.test and ginkgo not found in the directory of the cluster's binaries"
            ),
            "{err}"
        );
        assert!(
            err.hint().unwrap().starts_with("give --kube-root TREE"),
            "{err:?}"
        );
    }

    #[test]
    fn a_program_that_cannot_run_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        program(dir.path(), "ginkgo");
        std::fs::write(dir.path().join("e2e.test"), "not executable").unwrap();
        let err = find(&Place::Dir(dir.path().into()), Path::new("/nowhere")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("e2e.test not found in --e2e-bin"),
            "{err}"
        );
    }

    #[test]
    fn make_builds_the_three_in_the_tree_as_the_trees_owner() {
        let builder = Builder {
            uid: 1000,
            gid: 1000,
            home: Some("/home/dev".into()),
        };
        let command = build_command(Path::new("/home/dev/k"), Some(&builder));
        assert_eq!(command.get_program(), "make");
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(
            args,
            ["WHAT=test/e2e/e2e.test vendor/github.com/onsi/ginkgo/v2/ginkgo cmd/kubectl"]
        );
        assert_eq!(command.get_current_dir(), Some(Path::new("/home/dev/k")));
        assert!(command
            .get_envs()
            .any(|(k, v)| k == "HOME" && v == Some("/home/dev".as_ref())));
    }
}
