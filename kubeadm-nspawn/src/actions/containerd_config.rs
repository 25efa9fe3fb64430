//! Step: every Kubernetes node's containerd configured for this cluster before anything is loaded
//! into it: `/etc/containerd/config.toml` in the layout the node's containerd reads (asked of
//! `containerd --version` in the node), with the host's cgroup driver (the kubelet is given the
//! same one) and the pause image of the cluster's minor (the one pushed) as sandbox image. Written
//! whole, every path resolved in the node's root, and containerd restarted and waited for (bounded)
//! only where the file differs from what is there: a node base's default is already right for
//! the default release on a cgroup v1 host. All nodes at once; the load balancer runs no
//! containerd workload and is left as it is.

use std::path::Path;
use std::time::Duration;

use kns_node::containerd::{self, containerd_config, CgroupDriver, CONFIG_PATH};
use kns_node::Exec;

use crate::cluster::ClusterNode;
use crate::error::Result;
use crate::kube::images::ImageSet;

use super::InitContext;

/// How long a restarted containerd has to answer `ctr version` (it answers within a second).
pub const RESTART_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_EVERY: Duration = Duration::from_millis(200);

/// What configuring a node's containerd needs of it: commands in it and its files, every path
/// resolved in its root. [`ClusterNode`]'s own; a unit test's double answers from a script and a
/// directory.
pub trait RuntimeNode: Exec {
    fn read_file(&self, path: &Path) -> Result<Vec<u8>>;
    fn write_file(&self, path: &Path, contents: &[u8], mode: u32) -> Result<()>;
}

impl RuntimeNode for ClusterNode {
    fn read_file(&self, path: &Path) -> Result<Vec<u8>> {
        Ok(ClusterNode::read_file(self, path)?)
    }
    fn write_file(&self, path: &Path, contents: &[u8], mode: u32) -> Result<()> {
        Ok(ClusterNode::write_file(self, path, contents, mode)?)
    }
}

/// What one node's containerd is to be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted<'a> {
    pub driver: CgroupDriver,
    pub sandbox_image: &'a str,
}

/// What was done to one node's containerd (`version`: what `containerd --version` said).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its configuration was already this one: nothing written, nothing restarted.
    Unchanged { version: String },
    /// Written and restarted, and it answered.
    Restarted { version: String },
}

/// Configures every Kubernetes node's containerd; returns the cgroup driver they run, which the
/// kubelets must be given.
pub fn run(ctx: &InitContext, images: &ImageSet) -> Result<CgroupDriver> {
    let wanted = Wanted {
        driver: ctx.host.cgroups().layout().cgroup_driver(),
        sandbox_image: &images.sandbox_image,
    };
    let nodes = ctx.cluster.kubernetes_nodes();
    let outcomes = kns_plumbing::parallel::each(
        &nodes,
        |n| n.name(),
        |n| configure(n, wanted, RESTART_TIMEOUT, POLL_EVERY),
    )?;
    kns_plumbing::say!("   {}", summary(&nodes, &outcomes, wanted));
    Ok(wanted.driver)
}

/// Writes `node`'s containerd configuration for `wanted` where it differs from what is there,
/// then restarts containerd and waits up to `timeout` (looking every `every`) for it to answer.
pub fn configure(
    node: &impl RuntimeNode,
    wanted: Wanted,
    timeout: Duration,
    every: Duration,
) -> Result<Outcome> {
    let (version, layout) = containerd::installed(node)?;
    let config = containerd_config(layout, wanted.driver, wanted.sandbox_image);
    let path = Path::new(CONFIG_PATH);
    // A file that cannot be read is not this one: written anew (a real problem shows there).
    if node.read_file(path).ok().as_deref() == Some(config.as_bytes()) {
        return Ok(Outcome::Unchanged { version });
    }
    node.write_file(path, config.as_bytes(), 0o644)?;
    containerd::restart(node, timeout, every)?;
    Ok(Outcome::Restarted { version })
}

/// The step's one line: the driver and sandbox image, and which nodes were restarted.
fn summary(nodes: &[ClusterNode], outcomes: &[Outcome], wanted: Wanted) -> String {
    let restarted: Vec<&str> = nodes
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| matches!(o, Outcome::Restarted { .. }))
        .map(|(n, _)| n.name())
        .collect();
    let mut versions: Vec<&str> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Unchanged { version } | Outcome::Restarted { version } => version.as_str(),
        })
        .collect();
    versions.sort_unstable();
    versions.dedup();
    let done = if restarted.is_empty() {
        "already so in every node".to_owned()
    } else {
        format!("rewritten and restarted in {}", restarted.join(", "))
    };
    format!(
        "containerd {}: {} cgroup driver, sandbox image {}; {done}",
        versions.join(", "),
        wanted.driver,
        wanted.sandbox_image
    )
}

#[cfg(test)]
mod tests {
    use kns_node::exec::Script;
    use kns_node::root::NodeRoot;
    use kns_upstream_api::containerd::{self as upstream, Release, RuncOptions};

    use super::*;
    use crate::kube::images::sandbox_image;
    use crate::kube::minor::Minor;

    /// A node answering from a script, its root a directory.
    struct TestNode {
        script: Script,
        root: NodeRoot,
    }

    impl Exec for TestNode {
        fn name(&self) -> &str {
            self.script.name()
        }
        fn output(
            &self,
            argv: &[&str],
            input: Option<&[u8]>,
        ) -> kns_node::Result<std::process::Output> {
            self.script.output(argv, input)
        }
    }

    impl RuntimeNode for TestNode {
        fn read_file(&self, path: &Path) -> Result<Vec<u8>> {
            Ok(self.root.read(path).map_err(crate::cluster::Error::from)?)
        }
        fn write_file(&self, path: &Path, contents: &[u8], mode: u32) -> Result<()> {
            Ok(self
                .root
                .write(path, contents, mode)
                .map_err(crate::cluster::Error::from)?)
        }
    }

    /// The containerd releases of the node bases (Debian 12, 13, the trixie base's pin) as
    /// `containerd --version` prints them.
    const RELEASES: &[(Release, &str)] = &[
        (
            Release(1, 6, 20),
            "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1",
        ),
        (
            Release(1, 7, 24),
            "containerd github.com/containerd/containerd 1.7.24~ds1 1.7.24~ds1-6+deb13u1",
        ),
        (
            Release(2, 1, 9),
            "containerd github.com/containerd/containerd/v2 2.1.9~ds1 2.1.9~ds1-5",
        ),
    ];

    fn node(dir: &Path, version_line: &str) -> TestNode {
        TestNode {
            script: Script::new("c-n1")
                .answer("containerd --version", 0, version_line)
                .answer("systemctl restart containerd", 0, "")
                .answer_times("ctr version", 1, 1, "ctr: failed to dial")
                .answer("ctr version", 0, "Client:\n"),
            root: NodeRoot::open(dir).unwrap(),
        }
    }

    fn wanted(driver: CgroupDriver, image: &str) -> Wanted<'_> {
        Wanted {
            driver,
            sandbox_image: image,
        }
    }

    /// `node` configured for `driver` and `image`, its containerd back within 5 s.
    fn configured(node: &TestNode, driver: CgroupDriver, image: &str) -> Outcome {
        configure(
            node,
            wanted(driver, image),
            Duration::from_secs(5),
            Duration::ZERO,
        )
        .unwrap()
    }

    #[test]
    fn each_nodes_config_is_what_its_containerd_reads_with_the_driver_and_the_minors_pause() {
        for &(release, line) in RELEASES {
            for driver in [CgroupDriver::Cgroupfs, CgroupDriver::Systemd] {
                for minor in [Minor(1, 28), Minor(1, 31), Minor(1, 34), Minor(1, 36)] {
                    let dir = tempfile::tempdir().unwrap();
                    let n = node(dir.path(), line);
                    let image = sandbox_image(minor);
                    let outcome = configured(&n, driver, &image);
                    assert!(matches!(outcome, Outcome::Restarted { .. }), "{outcome:?}");
                    let written =
                        std::fs::read_to_string(dir.path().join("etc/containerd/config.toml"))
                            .unwrap();
                    let what = format!("containerd {release}, {driver}, {minor}");
                    let parsed = upstream::parse_release(&written, release)
                        .unwrap_or_else(|e| panic!("{what}: {e}\n{written}"));
                    assert_eq!(
                        upstream::migration_warning(&parsed, release),
                        None,
                        "{what}"
                    );
                    assert_eq!(
                        parsed.sandbox_image(),
                        Some(format!("kubeadm-nspawn.local/pause:{}", minor.pause_tag()).as_str()),
                        "{what}"
                    );
                    let runc: RuncOptions =
                        toml::Value::Table(parsed.runtime_options("runc").unwrap().clone())
                            .try_into()
                            .unwrap();
                    assert_eq!(
                        runc.systemd_cgroup,
                        Some(driver == CgroupDriver::Systemd),
                        "{what}"
                    );
                    assert_eq!(
                        n.script.calls(),
                        [
                            "containerd --version",
                            "systemctl restart containerd",
                            "ctr version",
                            "ctr version"
                        ],
                        "{what}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_node_already_configured_so_is_neither_rewritten_nor_restarted() {
        let dir = tempfile::tempdir().unwrap();
        let line = RELEASES[2].1;
        let image = sandbox_image(Minor(1, 28));
        let first = node(dir.path(), line);
        configured(&first, CgroupDriver::Cgroupfs, &image);
        let again = node(dir.path(), line);
        let outcome = configured(&again, CgroupDriver::Cgroupfs, &image);
        assert_eq!(
            outcome,
            Outcome::Unchanged {
                version: "2.1.9~ds1".into()
            }
        );
        assert_eq!(again.script.calls(), ["containerd --version"]);
        // Another driver is a change.
        let other = node(dir.path(), line);
        let outcome = configured(&other, CgroupDriver::Systemd, &image);
        assert!(matches!(outcome, Outcome::Restarted { .. }));
    }

    #[test]
    fn a_containerd_that_does_not_come_back_is_named_with_its_node() {
        let dir = tempfile::tempdir().unwrap();
        let n = TestNode {
            script: Script::new("c-n2")
                .answer("containerd --version", 0, RELEASES[2].1)
                .answer("systemctl restart containerd", 0, "")
                .answer("ctr version", 1, "ctr: failed to dial"),
            root: NodeRoot::open(dir.path()).unwrap(),
        };
        let image = sandbox_image(Minor(1, 35));
        let err = configure(
            &n,
            wanted(CgroupDriver::Systemd, &image),
            Duration::from_millis(20),
            Duration::from_millis(5),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(
                "node \"c-n2\": containerd did not answer `ctr version` within 0.02 s"
            ),
            "{text}"
        );
        use kns_plumbing::report::Hint;
        assert_eq!(
            err.hint().as_deref(),
            Some("its log: `kubeadm-nspawn exec c-n2 -- journalctl -u containerd -n 50`")
        );
    }
}
