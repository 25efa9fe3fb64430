//! Privileged test of `image-pusher build`: archives synthesized from Debian's busybox-static, in both
//! formats, imported by containerd inside a real node and run there.

use std::path::Path;
use std::process::{Command, Stdio};

use kns_integration_tests::{bin, privileged_test, run_ok};
use serde_json::Value;

#[test]
fn built_images_import_into_a_nodes_containerd_and_run() {
    privileged_test(
        "built_images_import_into_a_nodes_containerd_and_run",
        |sweeper| {
            let busybox = Path::new("/bin/busybox");
            assert!(
                busybox.exists(),
                "install busybox-static (scripts/setup-host does)"
            );
            let state = sweeper.workdir.join("state");
            let kns = |args: &[&str]| {
                let mut cmd = Command::new(bin("kubeadm-nspawn"));
                cmd.arg("--state-dir").arg(&state).args(args);
                cmd
            };
            let octet =
                u8::from_str_radix(&sweeper.prefix[sweeper.prefix.len() - 2..], 16).unwrap();
            let subnet = format!("10.253.{octet}.0/24");
            let up = kns(&[
                "up",
                "--nodes",
                "1",
                "--name",
                &sweeper.prefix,
                "--subnet",
                &subnet,
                "--no-masquerade",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
            assert!(
                up.status.success(),
                "up: {}",
                String::from_utf8_lossy(&up.stderr)
            );
            let node = format!("{}-n0", sweeper.prefix);

            let mut digests = vec![];
            for format in ["docker-archive", "oci"] {
                let reference = format!("kubeadm-nspawn.local/busybox:{format}");
                let archive = sweeper.workdir.join(format!("busybox-{format}.tar"));
                let built = run_ok(
                    bin("image-pusher"),
                    &[
                        "build",
                        "--name",
                        &reference,
                        "--binary",
                        "/bin/busybox",
                        "--entrypoint",
                        "/usr/local/bin/busybox",
                        "--format",
                        format,
                        "-o",
                        archive.to_str().unwrap(),
                    ],
                );
                let built: Value = serde_json::from_str(built.trim()).unwrap();
                digests.push(built["configDigest"].clone());

                let import = kns(&[
                    "exec", &node, "--", "ctr", "-n", "k8s.io", "images", "import", "-",
                ])
                .stdin(std::fs::File::open(&archive).unwrap())
                .output()
                .unwrap();
                assert!(
                    import.status.success(),
                    "ctr import ({format}): {}",
                    String::from_utf8_lossy(&import.stderr)
                );
                let container = format!("{}-{format}", sweeper.prefix);
                let ran = kns(&[
                    "exec",
                    &node,
                    "--",
                    "ctr",
                    "-n",
                    "k8s.io",
                    "run",
                    "--rm",
                    &reference,
                    &container,
                    "/usr/local/bin/busybox",
                    "echo",
                    "hello",
                ])
                .stdin(Stdio::null())
                .output()
                .unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&ran.stdout).trim(),
                    "hello",
                    "ctr run ({format}): {}",
                    String::from_utf8_lossy(&ran.stderr)
                );
            }
            assert_eq!(digests[0], digests[1], "both formats carry the same image");
            let down = kns(&["down", "--name", &sweeper.prefix])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert!(
                down.status.success(),
                "down: {}",
                String::from_utf8_lossy(&down.stderr)
            );
        },
    );
}
