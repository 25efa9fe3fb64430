//! `image-pusher build` without privileges: determinism of the whole archive and bad input.

use std::process::{Command, Output, Stdio};

fn image_pusher(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_image-pusher"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn the_same_input_gives_the_same_archive() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("tool");
    std::fs::write(&binary, b"\x7fELF not really").unwrap();
    let outputs: Vec<Vec<u8>> = ["a.tar", "b.tar"]
        .iter()
        .map(|name| {
            let out = dir.path().join(name);
            let run = image_pusher(&[
                "build",
                "--name",
                "x/tool:1",
                "--binary",
                binary.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ]);
            assert!(
                run.status.success(),
                "{}",
                String::from_utf8_lossy(&run.stderr)
            );
            let line: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
            assert_eq!(line["name"], "x/tool:1");
            std::fs::read(out).unwrap()
        })
        .collect();
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn bad_input_fails_with_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("tool");
    std::fs::write(&binary, b"x").unwrap();
    let out = dir.path().join("out.tar");
    let (b, o) = (binary.to_str().unwrap(), out.to_str().unwrap());
    let outside = format!("{b}:../../etc/evil");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--name",
                "x:1",
                "--binary",
                "/nonexistent/knst-tool",
                "-o",
                o,
            ],
            "no such file",
        ),
        (
            vec!["--name", "x:1", "--binary", &outside, "-o", o],
            "inside the image",
        ),
        (
            vec!["--name", "Not A Ref", "--binary", b, "-o", o],
            "not an image reference",
        ),
        (
            vec!["--name", "x:1", "--binary", b, "--env", "NOEQUALS", "-o", o],
            "expected KEY=VALUE",
        ),
        (
            vec![
                "--name",
                "x:1",
                "--binary",
                b,
                "--base",
                "/nonexistent/knst-base",
                "-o",
                o,
            ],
            "not a directory",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["build"];
        all.extend(args);
        let run = image_pusher(&all);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success());
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(expected),
            "expected {expected:?}: {stderr}"
        );
        assert!(!out.exists(), "an archive was written for bad input");
    }
}

#[test]
fn pause_writes_a_static_binary_that_runs_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pause");
    let run = image_pusher(&["pause", "-o", out.to_str().unwrap()]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let version = Command::new(&out).arg("-v").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        "kubeadm-nspawn-pause 1"
    );
    let image = dir.path().join("pause.tar");
    let run = image_pusher(&[
        "pause",
        "--image",
        "kubeadm-nspawn.local/pause:3.9",
        "-o",
        image.to_str().unwrap(),
    ]);
    let line: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(line["name"], "kubeadm-nspawn.local/pause:3.9");
    assert_eq!(line["layers"].as_array().unwrap().len(), 1);
}
