use super::*;

const DEBIAN_1_6_20: &str = include_str!("../../testdata/containerd/1.6.20-config-default.toml");
const UPSTREAM_1_7: &str =
    include_str!("../../testdata/containerd/upstream-testdata-default-1.7.toml");
const DOCS_1_7_V2: &str = include_str!("../../testdata/containerd/docs-v1.7.28-full-v2.toml");
const DOCS_V3: [(Release, &str); 4] = [
    (
        Release(2, 0, 0),
        include_str!("../../testdata/containerd/docs-v2.0.0-full-v3.toml"),
    ),
    (
        Release(2, 1, 0),
        include_str!("../../testdata/containerd/docs-v2.1.0-full-v3.toml"),
    ),
    (
        Release(2, 2, 0),
        include_str!("../../testdata/containerd/docs-v2.2.0-full-v3.toml"),
    ),
    (
        Release(2, 3, 0),
        include_str!("../../testdata/containerd/docs-v2.3.0-full-v3.toml"),
    ),
];

/// What kubeadm-nspawn's nodes want of containerd 1.x, in version 2.
const NODE_V2: &str = r#"
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
oom_score = -999
imports = ["/etc/containerd/conf.d/*.toml"]
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs"]

[grpc]
  address = "/run/containerd/containerd.sock"

[debug]
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.9"
  restrict_oom_score_adj = true
  enable_unprivileged_ports = true

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = true
        BinaryName = "/usr/bin/runc"

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/opt/cni/bin"
    conf_dir = "/etc/cni/net.d"

  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "/etc/containerd/certs.d"
"#;

/// The same for containerd 2.x, in version 3.
const NODE_V3: &str = r#"
version = 3
root = "/var/lib/containerd"
state = "/run/containerd"
oom_score = -999

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true
  enable_unprivileged_ports = true

  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = 'runc'

    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = 'io.containerd.runc.v2'

      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        SystemdCgroup = true

  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dir = '/opt/cni/bin'
    conf_dir = '/etc/cni/net.d'

[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'native'

  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = 'registry.k8s.io/pause:3.10'

  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = '/etc/containerd/certs.d'

[plugins.'io.containerd.grpc.v1.cri']
  disable_tcp_service = true
  stream_server_address = '127.0.0.1'
"#;

/// `text` with the `[...x509_key_pair_streaming]` table (to its `tls_key_file`) moved to the end.
fn move_streaming_table_last(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| {
            l.trim() == r#"[plugins."io.containerd.grpc.v1.cri".x509_key_pair_streaming]"#
        })
        .unwrap();
    let end = at
        + lines[at..]
            .iter()
            .position(|l| l.trim_start().starts_with("tls_key_file ="))
            .unwrap()
        + 1;
    let table = &lines[at..end];
    let mut out: Vec<&str> = lines[..at].to_vec();
    out.extend_from_slice(&lines[end..]);
    out.extend_from_slice(table);
    out.join("\n")
}

fn without_line(text: &str, line: &str) -> String {
    let kept: Vec<&str> = text.lines().filter(|l| l.trim() != line).collect();
    assert!(kept.len() < text.lines().count(), "no line {line:?}");
    kept.join("\n")
}

/// Asserts that `parsed` is an error naming each of `needles`.
fn assert_refused(parsed: Result<ContainerdConfig>, needles: &[&str]) {
    let err = parsed.expect_err("accepted");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in: {err}");
    }
}

#[test]
fn debian_1_6_20_default_parses_as_1_6() {
    let config = parse_release(DEBIAN_1_6_20, Release(1, 6, 20)).unwrap();
    assert_eq!(config.top.version, Some(2));
    assert_eq!(config.sandbox_image(), Some("registry.k8s.io/pause:3.6"));
    let CriPlugins::V2(Some(cri)) = &config.cri else {
        panic!("{:?}", config.cri)
    };
    assert_eq!(cri.containerd.snapshotter.as_deref(), Some("overlayfs"));
    assert_eq!(
        cri.containerd.runtimes["runc"].runtime_type,
        "io.containerd.runc.v2"
    );
    assert!(config
        .other_plugins
        .contains_key("io.containerd.snapshotter.v1.overlayfs"));
    assert!(parse(DEBIAN_1_6_20, (1, 6)).is_ok());
    assert!(parse(DEBIAN_1_6_20, (1, 7)).is_ok());
    assert!(migration_warning(&config, Release(1, 6, 20)).is_none());
}

#[test]
fn the_1_6_default_keeps_fields_that_later_releases_drop() {
    // 1.7.25 replaced the runc options type: CriuPath is no longer read.
    assert_refused(
        parse_release(DEBIAN_1_6_20, Release(1, 7, 25)),
        &["CriuPath"],
    );
    // containerd 2.x migrates a version-2 file but drops systemd_cgroup & co.
    assert_refused(
        parse_release(DEBIAN_1_6_20, Release(2, 0, 0)),
        &["is not read by containerd 2.0.0"],
    );
}

#[test]
fn upstream_1_7_default_and_docs_parse_as_1_7() {
    assert!(parse_release(UPSTREAM_1_7, Release(1, 7, 28)).is_ok());
    // The 1.7 docs' full example puts `max_container_log_line_size`, `cdi_spec_dirs` and the other keys that follow it after the
    // `[...cri.x509_key_pair_streaming]` header, so TOML files them under that table, where
    // containerd 1.7 ignores them: refused here.
    assert_refused(
        parse_release(DOCS_1_7_V2, Release(1, 7, 28)),
        &["x509_key_pair_streaming.cdi_spec_dirs"],
    );
    // Moved back where they were meant to be, the example parses, as 1.7 only.
    let fixed = move_streaming_table_last(DOCS_1_7_V2);
    // Its runc options still have CriuPath, which 1.7.25+ no longer read.
    assert_refused(parse_release(&fixed, Release(1, 7, 28)), &["CriuPath"]);
    let config = parse_release(&fixed, Release(1, 7, 24)).unwrap();
    assert_eq!(config.sandbox_image(), Some("registry.k8s.io/pause:3.7"));
    let CriPlugins::V2(Some(cri)) = &config.cri else {
        panic!("{:?}", config.cri)
    };
    assert_eq!(cri.max_container_log_line_size, Some(16384));
    assert_refused(parse_release(&fixed, Release(1, 6, 39)), &["1.7.0"]);
}

#[test]
fn the_2x_docs_full_configs_parse_but_for_their_stale_disable_cgroup() {
    for (release, text) in DOCS_V3 {
        let err = parse_release(text, release).unwrap_err();
        assert!(err.contains("disable_cgroup"), "{release}: {err}");
        let fixed = without_line(text, "disable_cgroup = false");
        let config = parse_release(&fixed, release).unwrap_or_else(|e| panic!("{release}: {e}"));
        assert!(config
            .sandbox_image()
            .unwrap()
            .starts_with("registry.k8s.io/pause:3.10"));
        let Some(options) = config.runtime_options("runc") else {
            panic!("{release}: no runc options")
        };
        assert!(options.contains_key("BinaryName"));
        assert!(migration_warning(&config, release).is_none());
    }
}

#[test]
fn the_2x_docs_configs_use_fields_of_their_own_release() {
    let fixed = |i: usize| without_line(DOCS_V3[i].1, "disable_cgroup = false");
    // 2.1's docs have bin_dirs, cgroup_writable, use_local_image_pull…
    assert_refused(parse_release(&fixed(1), Release(2, 0, 11)), &["2.1.0"]);
    // 2.3's have the runtime plugin's stats_collect_period (a duration there).
    assert_refused(
        parse_release(&fixed(3), Release(2, 2, 7)),
        &["stats_collect_period"],
    );
    assert!(parse_release(&fixed(0), Release(2, 3, 4)).is_ok());
}

#[test]
fn node_configs_parse_in_their_layout() {
    for minor in [6, 7] {
        let config = parse(NODE_V2, (1, minor)).unwrap();
        assert_eq!(config.sandbox_image(), Some("registry.k8s.io/pause:3.9"));
        let options = config.runtime_options("runc").unwrap();
        assert_eq!(options["SystemdCgroup"].as_bool(), Some(true));
    }
    for minor in [0, 1, 2, 3] {
        let config = parse(NODE_V3, (2, minor)).unwrap();
        assert_eq!(config.sandbox_image(), Some("registry.k8s.io/pause:3.10"));
        let CriPlugins::V3 {
            runtime: Some(runtime),
            images: Some(images),
            server: Some(server),
        } = &config.cri
        else {
            panic!("{:?}", config.cri)
        };
        assert_eq!(runtime.restrict_oom_score_adj, Some(true));
        assert_eq!(images.snapshotter.as_deref(), Some("native"));
        assert_eq!(server.disable_tcp_service, Some(true));
    }
}

#[test]
fn a_version_2_file_on_containerd_2_is_migrated_with_a_warning() {
    let config = parse(NODE_V2, (2, 1)).unwrap();
    assert!(migration_warning(&config, Release(2, 1, 0))
        .unwrap()
        .contains("containerd config migrate"));
}

#[test]
fn version_3_needs_containerd_2() {
    assert_refused(parse(NODE_V3, (1, 7)), &["version 3 needs containerd 2.0"]);
    assert_refused(parse("version = 4\n", (2, 2)), &["version 4"]);
    assert_refused(
        parse("root = \"/var/lib/containerd\"\n", (1, 6)),
        &["no `version`"],
    );
}

#[test]
fn a_version_3_table_in_a_version_2_file_is_refused() {
    let text = "version = 2\n[plugins.'io.containerd.cri.v1.images']\nsnapshotter = 'native'\n";
    assert_refused(
        parse(text, (1, 7)),
        &[
            "io.containerd.cri.v1.images",
            "version-3 table in a version-2 file",
        ],
    );
}

#[test]
fn version_2_fields_in_a_version_3_file_are_refused() {
    // The sandbox image moved to the images plugin's pinned_images.sandbox in 2.0.
    let text = "version = 3\n[plugins.'io.containerd.grpc.v1.cri']\nsandbox_image = 'registry.k8s.io/pause:3.10'\n";
    assert_refused(
        parse(text, (2, 0)),
        &["io.containerd.grpc.v1.cri", "sandbox_image"],
    );
    let text = "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd]\nsnapshotter = 'native'\n";
    assert_refused(parse(text, (2, 0)), &["containerd", "snapshotter"]);
}

#[test]
fn unknown_keys_are_refused_by_path() {
    assert_refused(
        parse("version = 2\nroot_dir = '/x'\n", (1, 6)),
        &["root_dir"],
    );
    let text = "version = 2\n[plugins.'io.containerd.grpc.v1.cri'.cni]\nbin_dir = '/opt/cni/bin'\nconfdir = '/x'\n";
    assert_refused(parse(text, (1, 7)), &["cni", "confdir"]);
    let text = "version = 2\n[plugins.'io.containerd.grpc.v1.cri'.containerd.runtimes.runc]\nruntime_type = 'io.containerd.runc.v2'\n[plugins.'io.containerd.grpc.v1.cri'.containerd.runtimes.runc.options]\nsystemd_cgroup = true\n";
    assert_refused(
        parse(text, (1, 7)),
        &["runtimes.runc.options", "systemd_cgroup"],
    );
    assert_refused(
        parse(
            "version = 3\n[plugins.'io.containerd.foo.v1.bar']\nx = 1\n",
            (2, 0),
        ),
        &["io.containerd.foo.v1.bar"],
    );
}

#[test]
fn fields_of_a_later_release_are_refused() {
    let text = "version = 2\n[plugins.'io.containerd.grpc.v1.cri']\nenable_cdi = true\n";
    assert_refused(parse(text, (1, 6)), &["enable_cdi"]);
    assert!(parse(text, (1, 7)).is_ok());
    let text =
        "version = 2\n[plugins.'io.containerd.grpc.v1.cri']\ndrain_exec_sync_io_timeout = '0s'\n";
    assert!(parse_release(text, Release(1, 6, 20)).is_err());
    assert!(parse_release(text, Release(1, 6, 29)).is_ok());
    let text =
        "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.cni]\nbin_dirs = ['/opt/cni/bin']\n";
    assert_refused(parse(text, (2, 0)), &["bin_dirs"]);
    assert!(parse(text, (2, 1)).is_ok());
    let text = "version = 3\n[plugins.'io.containerd.cri.v1.runtime']\nenable_criu = true\n";
    assert!(parse_release(text, Release(2, 2, 6)).is_err());
    assert!(parse_release(text, Release(2, 2, 7)).is_ok());
    assert!(parse_release(text, Release(2, 3, 0)).is_err());
    assert!(parse_release(text, Release(2, 3, 4)).is_ok());
    let text = "version = 2\nplugin_dir = ''\n";
    assert!(parse(text, (2, 0)).is_ok());
    assert_refused(parse(text, (2, 1)), &["plugin_dir"]);
}

#[test]
fn values_are_typed() {
    let text =
        "version = 2\n[plugins.'io.containerd.grpc.v1.cri']\nrestrict_oom_score_adj = 'true'\n";
    assert_refused(parse(text, (1, 7)), &["restrict_oom_score_adj"]);
    let text =
        "version = 3\n[plugins.'io.containerd.grpc.v1.cri']\nstream_idle_timeout = '4 hours'\n";
    assert_refused(parse(text, (2, 0)), &["stream_idle_timeout"]);
    assert_refused(
        parse("version = 2\ndisabled_plugins = ['cri']\n", (1, 7)),
        &["disabled_plugins"],
    );
    assert_refused(parse("version = 2\nroot = [\n", (1, 7)), &["not TOML"]);
}

#[test]
fn cni_bin_dirs_in_a_version_2_file_needs_containerd_2_1() {
    let text =
        "version = 2\n[plugins.'io.containerd.grpc.v1.cri'.cni]\nbin_dirs = ['/opt/cni/bin']\n";
    assert_refused(parse(text, (1, 7)), &["cni.bin_dirs"]);
    assert!(parse(text, (2, 0)).is_err());
    // containerd 2.1+ migrates it into the runtime plugin's cni table.
    assert!(parse(text, (2, 1)).is_ok());
}
