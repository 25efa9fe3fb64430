//! `kubetest2-nspawn` (#30 part 3), kubetest2's deployer, run as kubetest2's shim runs it (the
//! deployer binary with every argument; kubetest2 itself is not on these machines) against a real
//! cluster: `--up --down --test=exec` with a stand-in of kubetest2's exec tester that records its
//! arguments and environment and asks the cluster for its nodes; metadata.json, junit_runner.xml
//! and the cluster's logs in ARTIFACTS; nothing left after Down. A Ctrl-C during the test is passed
//! on to the tester and Down still runs; one during init, delivered twice as kubetest2's shim
//! delivers it (the terminal's and the forwarded copy), lets init undo itself, then Down runs. A tester not on PATH is refused in one line with nothing
//! made. Needs KUBE_BIN and KUBE_EXTRA_BIN.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use kns_integration_tests::cluster::{kubernetes_test, TestCluster, NO_MIRROR};
use kns_integration_tests::{bin, HostSnapshot, PrefixSweeper};
use kns_upstream_api::kubetest2::{parse_junit, TestSuite};

/// A stand-in of kubetest2's exec tester (pkg/testers/exec: `--help` as its only or first
/// argument prints its usage; otherwise it runs its arguments): it records its arguments and
/// the environment kubetest2 gives testers into RECORD, then asks the cluster for its nodes
/// with the KUBECONFIG it got. With KT2_STANDIN_WAIT set it then waits for a Ctrl-C, and
/// records that it got one.
fn stand_in_tester(dir: &Path, kubectl: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let record = dir.join("record");
    let script = format!(
        r#"#!/bin/sh
case "$1" in
-h|--help) echo "$*" >> '{help}'; echo 'kubetest2 --test=exec -- [TestCommand] [TestArgs]'; exit 0;;
esac
for a in "$@"; do echo "arg=$a"; done > '{record}'
for v in KUBECONFIG ARTIFACTS KUBETEST2_RUN_DIR KUBETEST2_RUN_ID PATH; do
  eval "echo \"env $v=\${{$v}}\""
done >> '{record}'
'{kubectl}' --kubeconfig "$KUBECONFIG" get nodes --no-headers > '{nodes}' 2>&1 || exit 3
if [ -n "$KT2_STANDIN_WAIT" ]; then
  trap 'echo interrupted >> "{record}"; exit 130' INT
  echo waiting >> '{record}'
  while :; do sleep 0.1; done
fi
"#,
        help = dir.join("help").display(),
        record = record.display(),
        kubectl = kubectl.display(),
        nodes = dir.join("nodes").display(),
    );
    let path = bin.join("kubetest2-tester-exec");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `kubetest2-nspawn` for the test's cluster, with the stand-in tester first on PATH: the
/// common flags and the cluster's, then `extra`.
fn deployer(
    c: &TestCluster,
    sweeper: &PrefixSweeper,
    kube: (&Path, &Path),
    extra: &[&str],
) -> Command {
    let work = &sweeper.workdir;
    let mut path = std::ffi::OsString::from(work.join("bin"));
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    let mut cmd = Command::new(bin("kubetest2-nspawn"));
    cmd.args([
        "--cluster-name",
        &c.name,
        "--nodes",
        "2",
        "--subnet",
        &c.subnet,
    ])
    .arg("--no-masquerade")
    .arg("--kube-bin")
    .arg(kube.0)
    .arg("--extra-bin")
    .arg(kube.1)
    .arg("--state-dir")
    .arg(&c.state_dir)
    .arg("--artifacts")
    .arg(work.join("artifacts"))
    .arg("--rundir")
    .arg(work.join("rundir"))
    .args(extra)
    .env("PATH", path)
    .env("KUBEADM_NSPAWN_RELEASE_MIRROR", NO_MIRROR)
    .env_remove("ARTIFACTS")
    .env_remove("KUBETEST2_RUN_DIR")
    .stdin(Stdio::null());
    cmd
}

fn clusters(c: &TestCluster) -> String {
    let out = c.run(&["list", "--json"]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The test's cluster, its work directory with the stand-in tester (asking the cluster with
/// `kube_bin`'s kubectl) and the ARTIFACTS directory the deployer is given.
fn set_up(sweeper: &PrefixSweeper, kube_bin: &Path) -> (TestCluster, PathBuf, PathBuf) {
    let c = TestCluster::new(sweeper);
    let work = sweeper.workdir.clone();
    stand_in_tester(&work, &kube_bin.join("kubectl"));
    let artifacts = work.join("artifacts");
    (c, work, artifacts)
}

/// The `error:` lines of what the deployer said.
fn error_lines(said: &str) -> Vec<&str> {
    said.lines().filter(|l| l.starts_with("error:")).collect()
}

/// Down ran: the cluster is no longer listed and nothing the run made is left on the host.
fn assert_down_left_nothing(c: &TestCluster, before: &HostSnapshot) {
    assert!(!clusters(c).contains(&c.name), "{}", clusters(c));
    let left = HostSnapshot::take().added_since(before);
    assert!(left.is_empty(), "left on the host: {left:?}");
}

fn junit(artifacts: &Path) -> TestSuite {
    let text = std::fs::read_to_string(artifacts.join("junit_runner.xml")).unwrap();
    parse_junit(&text).unwrap_or_else(|e| panic!("junit_runner.xml: {e}\n{text}"))
}

#[test]
fn kubetest2_up_test_down_against_a_real_cluster() {
    let test = "kubetest2_up_test_down_against_a_real_cluster";
    kubernetes_test(test, |sweeper, kube_bin, extra_bin| {
        let (c, work, artifacts) = set_up(sweeper, kube_bin);
        let kube = (kube_bin, extra_bin);

        // A tester not on PATH: one line, nothing made.
        let before = HostSnapshot::take();
        let refused = deployer(&c, sweeper, kube, &["--up", "--down", "--test=nosuch"])
            .output()
            .unwrap();
        let said = text(&refused);
        assert!(!refused.status.success(), "{said}");
        let errors = error_lines(&said);
        assert_eq!(
            errors,
            ["error: --test=nosuch: kubetest2-tester-nosuch is not on PATH"],
            "{said}"
        );
        assert!(!artifacts.exists() && !work.join("rundir").exists());
        assert!(!clusters(&c).contains(&c.name));

        let id = format!("{}-run", sweeper.prefix);
        let started = Instant::now();
        let out = deployer(
            &c,
            sweeper,
            kube,
            &[
                "--up",
                "--down",
                "--test=exec",
                "--run-id",
                &id,
                "--",
                "arg1",
                "--flag=x",
            ],
        )
        .output()
        .unwrap();
        let seconds = started.elapsed().as_secs_f64();
        let said = text(&out);
        println!("kubetest2-nspawn --up --down --test=exec, 2 nodes: {seconds:.1} s\n{said}");
        assert!(out.status.success(), "{said}");

        // The tester was asked its usage first, then run with its arguments and kubetest2's
        // environment.
        let help = std::fs::read_to_string(work.join("help")).unwrap();
        assert_eq!(help, "--help arg1 --flag=x\n");
        let record = std::fs::read_to_string(work.join("record")).unwrap();
        let run_dir = work.join("rundir").join(&id);
        let env: BTreeMap<&str, &str> = record
            .lines()
            .filter_map(|l| l.strip_prefix("env "))
            .filter_map(|l| l.split_once('='))
            .collect();
        let args: Vec<&str> = record
            .lines()
            .filter_map(|l| l.strip_prefix("arg="))
            .collect();
        assert_eq!(args, ["arg1", "--flag=x"], "{record}");
        let kubeconfig = run_dir.join("kubeconfig");
        assert_eq!(env["KUBECONFIG"], kubeconfig.to_str().unwrap());
        assert_eq!(env["ARTIFACTS"], artifacts.to_str().unwrap());
        assert_eq!(env["KUBETEST2_RUN_DIR"], run_dir.to_str().unwrap());
        assert_eq!(env["KUBETEST2_RUN_ID"], id);
        assert!(
            env["PATH"].starts_with(&format!(
                "{}:{}:",
                run_dir.display(),
                work.join("bin").display()
            )),
            "{record}"
        );
        // The tester reached the cluster with it: both nodes, Ready.
        let nodes = std::fs::read_to_string(work.join("nodes")).unwrap();
        for i in 0..2 {
            let line = nodes
                .lines()
                .find(|l| l.starts_with(&c.node(i)))
                .unwrap_or_else(|| panic!("{} not listed: {nodes}", c.node(i)));
            assert!(line.split_whitespace().nth(1) == Some("Ready"), "{nodes}");
        }

        let metadata: BTreeMap<String, String> = serde_json::from_str(
            &std::fs::read_to_string(artifacts.join("metadata.json")).unwrap(),
        )
        .unwrap();
        assert!(
            metadata["deployer-version"].starts_with('v'),
            "{metadata:?}"
        );
        assert_eq!(metadata["kubetest-version"], "");
        let suite = junit(&artifacts);
        assert_eq!(
            (suite.name.as_str(), suite.tests, suite.failures),
            ("kubetest2", 3, 0)
        );
        let names: Vec<&str> = suite.cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Up", "Test", "Down"]);
        assert!(suite.time >= suite.cases.iter().map(|c| c.time).sum::<f64>() - 1.0);
        for case in &suite.cases {
            assert_eq!(case.classname, "kubetest2");
            assert!(case.failure.is_none() && case.skipped.is_none() && case.system_out.is_none());
        }
        println!(
            "phases: {}",
            suite
                .cases
                .iter()
                .map(|c| format!("{} {:.1} s", c.name, c.time))
                .collect::<Vec<_>>()
                .join(", ")
        );
        // Down exported the cluster's logs first.
        let logs = artifacts.join("logs");
        assert!(
            logs.join("cluster/state.json").is_file(),
            "no logs in {}",
            logs.display()
        );
        assert!(logs.join(c.node(1)).is_dir());

        // Down left nothing: no cluster, no host object.
        assert!(!c.cluster_dir().exists());
        assert_down_left_nothing(&c, &before);
    });
}

#[test]
fn kubetest2_a_ctrl_c_during_the_test_reaches_the_tester_and_down_still_runs() {
    let test = "kubetest2_a_ctrl_c_during_the_test_reaches_the_tester_and_down_still_runs";
    kubernetes_test(test, |sweeper, kube_bin, extra_bin| {
        let (c, work, artifacts) = set_up(sweeper, kube_bin);
        let before = HostSnapshot::take();
        let mut child = deployer(
            &c,
            sweeper,
            (kube_bin, extra_bin),
            &["--up", "--down", "--test=exec", "--", "wait"],
        )
        .env("KT2_STANDIN_WAIT", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        let record = work.join("record");
        let deadline = Instant::now() + Duration::from_secs(300);
        while !std::fs::read_to_string(&record).is_ok_and(|r| r.contains("waiting")) {
            if let Some(status) = child.try_wait().unwrap() {
                let out = child.wait_with_output().unwrap();
                panic!("ended before the tester waited ({status}): {}", text(&out));
            }
            assert!(Instant::now() < deadline, "the tester never started");
            std::thread::sleep(Duration::from_millis(200));
        }
        let interrupted = Instant::now();
        // SAFETY: kill(2) of the deployer this test started, by its PID.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let out = child.wait_with_output().unwrap();
        let said = text(&out);
        println!(
            "from the Ctrl-C to the end of Down: {:.1} s\n{said}",
            interrupted.elapsed().as_secs_f64()
        );
        assert!(!out.status.success(), "{said}");
        let errors = error_lines(&said);
        assert_eq!(errors, ["error: interrupted during Test"], "{said}");
        let record = std::fs::read_to_string(&record).unwrap();
        assert!(
            record.ends_with("waiting\ninterrupted\n"),
            "the tester got the Ctrl-C: {record}"
        );
        let suite = junit(&artifacts);
        let cases: Vec<(&str, bool)> = suite
            .cases
            .iter()
            .map(|c| (c.name.as_str(), c.failure.is_some()))
            .collect();
        assert_eq!(cases, [("Up", false), ("Test", true), ("Down", false)]);
        assert_down_left_nothing(&c, &before);
    });
}

#[test]
fn kubetest2_a_ctrl_c_delivered_twice_during_init_lets_init_undo_itself_then_down_runs() {
    let test =
        "kubetest2_a_ctrl_c_delivered_twice_during_init_lets_init_undo_itself_then_down_runs";
    kubernetes_test(test, |sweeper, kube_bin, extra_bin| {
        let (c, work, artifacts) = set_up(sweeper, kube_bin);
        let before = HostSnapshot::take();
        let mut child = deployer(
            &c,
            sweeper,
            (kube_bin, extra_bin),
            &["--up", "--down", "--test=exec", "--", "never"],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        // stderr read as it comes; the Ctrl-C once init has prepared its images.
        let stderr = child.stderr.take().unwrap();
        let (lines, seen) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            let mut all = String::new();
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let _ = lines.send(line.clone());
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let line = seen
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("init never prepared its images");
            if line.contains("Preparing images") {
                break;
            }
        }
        let interrupted = Instant::now();
        for _ in 0..2 {
            // SAFETY: kill(2) of the deployer this test started, by its PID.
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
            std::thread::sleep(Duration::from_millis(20));
        }
        let status = child.wait().unwrap();
        let said = reader.join().unwrap();
        println!(
            "from the Ctrl-C in init to the end of Down: {:.1} s\n{said}",
            interrupted.elapsed().as_secs_f64()
        );
        assert!(!status.success(), "{said}");
        let errors = error_lines(&said);
        assert_eq!(
            errors.last(),
            Some(&"error: interrupted during Up"),
            "{said}"
        );
        assert!(
            !work.join("record").exists(),
            "no test after an interrupted Up"
        );
        let suite = junit(&artifacts);
        let names: Vec<&str> = suite.cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Up", "Down"]);
        let up = suite.cases[0].failure.as_deref().unwrap_or_default();
        // One press: init got SIGINT and its grace, not SIGKILL.
        assert!(!up.contains("SIGKILL"), "init was killed: {up}");
        assert!(suite.cases[1].failure.is_none(), "{:?}", suite.cases[1]);
        assert_down_left_nothing(&c, &before);
    });
}
