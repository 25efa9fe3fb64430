use kns_upstream_api::containerd::{
    self as upstream, ContainerdConfig, CriPlugins, Release, RuncOptions,
};

use super::*;
use crate::exec::Script;

/// The containerd releases of the node bases: Debian 12's, Debian 13's, and the one the trixie
/// base pins from testing (rootfs-builder recipe 6), each with its Debian version.
const RELEASES: &[(Release, &str)] = &[
    (Release(1, 6, 20), "1.6.20~ds1-1+b1"),
    (Release(1, 7, 24), "1.7.24~ds1-6+deb13u1"),
    (Release(2, 1, 9), "2.1.9+ds1-5"),
];

const DRIVERS: [CgroupDriver; 2] = [CgroupDriver::Cgroupfs, CgroupDriver::Systemd];

const SANDBOXES: [&str; 2] = [
    "kubeadm-nspawn.local/pause:3.9",
    "kubeadm-nspawn.local/pause:3.10.2",
];

/// `config` as containerd `release` reads it, strictly.
fn parse(config: &str, release: Release) -> ContainerdConfig {
    let parsed = upstream::parse_release(config, release)
        .unwrap_or_else(|e| panic!("containerd {release}: {e}\n{config}"));
    // Written in the layout the release reads natively: containerd 2 migrates nothing.
    assert_eq!(upstream::migration_warning(&parsed, release), None);
    parsed
}

fn runc_options(config: &ContainerdConfig) -> RuncOptions {
    let options = config.runtime_options("runc").expect("runc has options");
    toml::Value::Table(options.clone())
        .try_into()
        .unwrap_or_else(|e| panic!("runc options: {e}"))
}

#[test]
fn each_release_reads_its_layout_with_the_driver_and_sandbox_given() {
    for &(release, debian) in RELEASES {
        let layout = ContainerdLayout::of_version(debian);
        for driver in DRIVERS {
            for sandbox in SANDBOXES {
                let text = containerd_config(layout, driver, sandbox);
                let config = parse(&text, release);
                let what = format!("containerd {release}, {driver}, {sandbox}");
                assert_eq!(config.sandbox_image(), Some(sandbox), "{what}");
                assert_eq!(
                    runc_options(&config).systemd_cgroup,
                    Some(driver == CgroupDriver::Systemd),
                    "{what}"
                );
                match (&config.cri, layout) {
                    (CriPlugins::V2(Some(cri)), ContainerdLayout::V2) => {
                        assert!(release < Release(2, 0, 0), "{what}");
                        assert_eq!(cri.restrict_oom_score_adj, Some(true), "{what}");
                        assert_eq!(cri.containerd.default_runtime_name.as_deref(), Some("runc"));
                        let runc = &cri.containerd.runtimes["runc"];
                        assert_eq!(runc.runtime_type, "io.containerd.runc.v2");
                        assert_eq!(cri.cni.bin_dir.as_deref(), Some("/usr/lib/cni"));
                        assert_eq!(cri.cni.conf_dir.as_deref(), Some("/etc/cni/net.d"));
                        // Nothing points containerd at a registry: the private repository
                        // resolves nowhere.
                        assert_eq!(cri.registry, Default::default(), "{what}");
                    }
                    (
                        CriPlugins::V3 {
                            runtime: Some(runtime),
                            images: Some(images),
                            server: None,
                        },
                        ContainerdLayout::V3,
                    ) => {
                        assert!(release >= Release(2, 0, 0), "{what}");
                        assert_eq!(runtime.restrict_oom_score_adj, Some(true), "{what}");
                        assert_eq!(
                            runtime.containerd.default_runtime_name.as_deref(),
                            Some("runc")
                        );
                        let runc = &runtime.containerd.runtimes["runc"];
                        assert_eq!(runc.runtime_type, "io.containerd.runc.v2");
                        assert_eq!(
                            runtime.cni.bin_dirs.as_deref(),
                            Some(&["/usr/lib/cni".to_string()][..])
                        );
                        assert_eq!(runtime.cni.conf_dir.as_deref(), Some("/etc/cni/net.d"));
                        assert_eq!(images.snapshotter.as_deref(), Some("overlayfs"));
                        assert_eq!(images.registry, Default::default(), "{what}");
                    }
                    (cri, layout) => panic!("{what}: {layout:?} parsed as {cri:?}"),
                }
                assert!(config.other_plugins.is_empty(), "{what}");
            }
        }
    }
}

#[test]
fn a_config_of_the_other_layout_is_what_the_parse_back_catches() {
    // Version 3 on containerd 1.7 is refused; version 2 on containerd 2 is migrated with a
    // warning: the layout must follow the installed release.
    let v3 = containerd_config(ContainerdLayout::V3, CgroupDriver::Systemd, SANDBOXES[0]);
    assert!(upstream::parse_release(&v3, Release(1, 7, 24)).is_err());
    let v2 = containerd_config(ContainerdLayout::V2, CgroupDriver::Systemd, SANDBOXES[0]);
    let migrated = upstream::parse_release(&v2, Release(2, 1, 9)).unwrap();
    assert!(upstream::migration_warning(&migrated, Release(2, 1, 9)).is_some());
}

#[test]
fn the_layout_follows_the_version() {
    for (version, layout) in [
        ("1.6.20~ds1-1+b1", ContainerdLayout::V2),
        ("1.7.24~ds1-6+deb13u1", ContainerdLayout::V2),
        ("2.1.9+ds1-5", ContainerdLayout::V3),
        ("1:2.2.0-1", ContainerdLayout::V3),
        ("v2.1.4", ContainerdLayout::V3),
        ("v1.7.24", ContainerdLayout::V2),
    ] {
        assert_eq!(ContainerdLayout::of_version(version), layout, "{version}");
    }
    assert_eq!(upstream_version("1:2.1.9+ds1-5"), [2, 1, 9]);
    assert_eq!(upstream_version("1.3.6+ds1-1"), [1, 3, 6]);
}

#[test]
fn the_version_is_found_in_what_containerd_prints() {
    for (output, version) in [
        (
            "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1\n",
            Some("1.6.20~ds1"),
        ),
        (
            "containerd github.com/containerd/containerd/v2 2.1.9~ds1 2.1.9~ds1-5\n",
            Some("2.1.9~ds1"),
        ),
        (
            "containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc236c0e811ccaba3376",
            Some("v2.1.4"),
        ),
        (
            "containerd containerd.io 1.7.24 88bf19b2105c8b17560993bee28a01ddc2f97182",
            Some("1.7.24"),
        ),
        ("containerd: command not found", None),
        ("", None),
    ] {
        assert_eq!(version_of_output(output), version, "{output}");
    }
}

#[test]
fn the_installed_containerd_is_asked_of_the_node() {
    let node = Script::new("c-n1").answer(
        "containerd --version",
        0,
        "containerd github.com/containerd/containerd/v2 2.1.9~ds1 2.1.9~ds1-5\n",
    );
    assert_eq!(
        installed(&node).unwrap(),
        ("2.1.9~ds1".to_string(), ContainerdLayout::V3)
    );
    let odd = Script::new("c-n1").answer("containerd --version", 0, "containerd dev\n");
    let err = installed(&odd).unwrap_err().to_string();
    assert_eq!(
        err,
        "node \"c-n1\": `containerd --version` printed \"containerd dev\", which names no version"
    );
    // No containerd at all: the node's command error, naming the node and the command.
    let err = installed(&Script::new("c-n1")).unwrap_err().to_string();
    assert!(
        err.starts_with("node \"c-n1\": `containerd --version` failed"),
        "{err}"
    );
}

#[test]
fn a_restart_waits_until_containerd_answers() {
    let node = Script::new("c-n0")
        .answer("systemctl restart containerd", 0, "")
        .answer_times("ctr version", 2, 1, "ctr: failed to dial")
        .answer("ctr version", 0, "Client:\n  Version: 2.1.9~ds1\n");
    restart(&node, Duration::from_secs(5), Duration::ZERO).unwrap();
    assert_eq!(
        node.calls(),
        [
            "systemctl restart containerd",
            "ctr version",
            "ctr version",
            "ctr version"
        ]
    );
}

#[test]
fn a_containerd_that_never_answers_is_named_with_its_node() {
    let node = Script::new("c-n2")
        .answer("systemctl restart containerd", 0, "")
        .answer("ctr version", 1, "ctr: failed to dial");
    let err = restart(&node, Duration::from_millis(30), Duration::from_millis(5)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(
            "node \"c-n2\": containerd did not answer `ctr version` within 0.03 s of its restart; \
             last error: node \"c-n2\": `ctr version` failed"
        ),
        "{text}"
    );
    use kns_plumbing::report::Hint;
    assert!(err.hint().unwrap().contains("journalctl -u containerd"));

    // A restart that fails (a config containerd refuses) is that command's failure.
    let node = Script::new("c-n2").answer("systemctl restart containerd", 1, "Job failed");
    let text = restart(&node, Duration::from_secs(5), Duration::ZERO)
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with("node \"c-n2\": `systemctl restart containerd` failed"),
        "{text}"
    );
    assert_eq!(node.calls(), ["systemctl restart containerd"]);
}
