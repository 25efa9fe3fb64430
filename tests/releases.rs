//! `--kube-version` against a local release mirror: what goes wrong while getting a release (a
//! malformed version, a version the mirror lacks, a wrong checksum, a download cut short, an
//! unreachable mirror) is one error line, and leaves nothing: no cached version, no staging
//! directory, no cluster. (The Kubernetes side, a Ready cluster from a mirrored release, is in
//! tests/kubernetes.rs: it needs real binaries.)

use std::path::Path;

use kns_integration_tests::cluster::{assert_fails_with, assert_ok, TestCluster};
use kns_integration_tests::mirror::{stand_in_release, write_channel, ReleaseMirror};
use kns_integration_tests::privileged_test;

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_bad_release_is_one_error_line_and_leaves_nothing() {
    privileged_test(
        "a_bad_release_is_one_error_line_and_leaves_nothing",
        |sweeper| {
            let root = sweeper.workdir.join("mirror");
            let mut wrong = stand_in_release("v1.28.91");
            wrong.wrong_checksum = vec!["kube-scheduler"];
            wrong.write(&root);
            stand_in_release("v1.28.92").write(&root);
            write_channel(&root, "stable-1.27", "v1.27.banana");
            let mirror = ReleaseMirror::start(
                &root,
                &sweeper.workdir.join("mirror.log"),
                &["v1.28.92/bin/linux/amd64/kubelet"],
            );
            let cache = sweeper.workdir.join("releases");
            std::fs::create_dir_all(&cache).unwrap();
            let c = TestCluster::new(sweeper);
            let up = |version: &str, mirror_url: &str| {
                c.up(
                    2,
                    &[
                        "--kube-version",
                        version,
                        "--release-mirror",
                        mirror_url,
                        "--release-cache",
                        cache.to_str().unwrap(),
                    ],
                )
            };
            let nothing_left = |case: &str, out: &std::process::Output| {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let errors: Vec<&str> =
                    stderr.lines().filter(|l| l.starts_with("error:")).collect();
                assert_eq!(errors.len(), 1, "{case}: one error line: {stderr}");
                assert!(!errors[0].contains('\n'));
                assert!(
                    entries(&cache).is_empty(),
                    "{case}: cache {:?}",
                    entries(&cache)
                );
                assert!(
                    !c.cluster_dir().exists(),
                    "{case}: the cluster directory stayed"
                );
            };

            // Malformed: refused before any request.
            for bad in ["1.28", "v1.28.x", "stable-1", "latest"] {
                let out = up(bad, &mirror.url);
                assert_fails_with(&out, "is not a");
                nothing_left(bad, &out);
            }
            let out = up("v1.28.91", "ftp://127.0.0.1/");
            assert_fails_with(
                &out,
                "--release-mirror \"ftp://127.0.0.1/\": expected an http://",
            );
            assert!(mirror.requests().is_empty(), "{:?}", mirror.requests());

            // A version the mirror does not have.
            let out = up("v1.28.99", &mirror.url);
            assert_fails_with(&out, "of Kubernetes v1.28.99: not found (HTTP 404)");
            assert!(String::from_utf8_lossy(&out.stderr)
                .contains("hint: check that the version is released"));
            nothing_left("404", &out);

            // A file that does not match its published checksum is named.
            let out = up("v1.28.91", &mirror.url);
            assert_fails_with(
                &out,
                "kube-scheduler of Kubernetes v1.28.91: checksum mismatch: sha256 ",
            );
            assert_fails_with(&out, "/release/v1.28.91/bin/linux/amd64/kube-scheduler)");
            nothing_left("checksum", &out);

            // The server closes the connection half-way through a file.
            let out = up("v1.28.92", &mirror.url);
            assert_fails_with(&out, "kubelet of Kubernetes v1.28.92: cut short after");
            nothing_left("cut short", &out);
            assert!(
                mirror
                    .requests()
                    .contains(&"GET /release/v1.28.92/bin/linux/amd64/kubelet 200 cut".to_owned()),
                "{:?}",
                mirror.requests()
            );

            // A channel naming something that is not a version.
            let out = up("stable-1.27", &mirror.url);
            assert_fails_with(&out, "the version of stable-1.27: \"v1.27.banana\" is not");
            nothing_left("channel", &out);

            // Nobody listens: a port taken and given back.
            let closed = {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                listener.local_addr().unwrap().port()
            };
            let out = up("v1.28.91", &format!("http://127.0.0.1:{closed}"));
            assert_fails_with(&out, "cannot reach the server");
            assert!(String::from_utf8_lossy(&out.stderr).contains("--kube-bin DIR --extra-bin DIR"));
            nothing_left("unreachable", &out);

            // Every file there and right, but not binaries this machine runs: refused by the
            // same check as any --kube-bin, before the version enters the cache.
            stand_in_release("v1.28.93").write(&root);
            let get = c.run(&[
                "releases",
                "get",
                "v1.28.93",
                "--release-mirror",
                &format!("{}/", mirror.url),
                "--release-cache",
                cache.to_str().unwrap(),
            ]);
            assert_fails_with(&get, "not a version: is it kubeadm?");
            nothing_left("stand-ins", &get);
            assert!(mirror.requests().contains(
                &"GET /etcd-io/etcd/releases/download/v3.5.10/SHA256SUMS 200".to_owned()
            ));
            let gc = c.run(&["releases", "gc", "--release-cache", cache.to_str().unwrap()]);
            assert_ok(&gc, "releases gc");
        },
    );
}
