//! The deployer without root: the command line as kubetest2 gives it, the request made of it,
//! the command lines of the phases, and the lifecycle's order (Down after a failure or an
//! interrupt) through a recording [`Runner`].

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::cli::Args;
use crate::error::Error;
use crate::lifecycle::{self, Context, Phase};
use crate::request::{self, Environment, Request};
use crate::runner::{Captured, Invocation, Ran, Runner, Shown};

fn parse(args: &[&str]) -> Args {
    let mut all = vec!["kubetest2-nspawn"];
    all.extend_from_slice(args);
    Args::try_parse_from(all).unwrap()
}

fn executable(dir: &Path, name: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A machine in a temporary directory: a tester and kubeadm-nspawn on its PATH.
struct Machine {
    root: tempfile::TempDir,
    vars: Vec<(&'static str, OsString)>,
}

impl Machine {
    fn new() -> Machine {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("bin");
        executable(&bin, "kubetest2-tester-exec");
        executable(&root.path().join("tools"), "kubeadm-nspawn");
        std::fs::create_dir_all(root.path().join("work")).unwrap();
        let path = std::env::join_paths([bin, PathBuf::from("/usr/bin")]).unwrap();
        Machine {
            root,
            vars: vec![("PATH", path)],
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    fn with(mut self, name: &'static str, value: &str) -> Machine {
        self.vars.push((name, value.into()));
        self
    }

    fn request(&self, args: &[&str]) -> Result<Request, Error> {
        let var = |name: &str| {
            self.vars
                .iter()
                .rev()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        };
        let env = Environment {
            var: &var,
            cwd: self.path("work"),
            own_dir: Some(self.path("tools")),
            new_id: &|| "0f1e2d3c-aaaa-4bbb-8ccc-123456789abc".to_owned(),
        };
        request::request(&parse(args), &env)
    }
}

fn argv(invocation: &Invocation) -> Vec<String> {
    invocation
        .args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

fn env_of(invocation: &Invocation, name: &str) -> Option<String> {
    invocation
        .env
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.to_string_lossy().into_owned())
}

#[test]
fn kubetest2_s_common_flags_and_the_tester_s_arguments_parse() {
    let args = parse(&[
        "--up",
        "--down=true",
        "--build=false",
        "--test=exec",
        "--artifacts",
        "/a",
        "--run-id=r1",
        "--rundir-in-artifacts",
        "--skip-test-junit-report",
        "--pre-test-cmd=kubectl,apply,-f,x.yaml",
        "--post-test-cmd=sh,-c",
        "--post-test-cmd=true",
        "--cluster-name",
        "c1",
        "--nodes=2",
        "--",
        "arg1",
        "--flag=x",
        "--",
        "-v",
    ]);
    let c = &args.common;
    assert!(c.up && c.down && !c.build && c.rundir_in_artifacts && c.skip_test_junit_report);
    assert_eq!(c.test.as_deref(), Some("exec"));
    assert_eq!(c.artifacts.as_deref(), Some(Path::new("/a")));
    assert_eq!(c.run_id.as_deref(), Some("r1"));
    assert_eq!(c.pre_test_cmd, ["kubectl", "apply", "-f", "x.yaml"]);
    assert_eq!(c.post_test_cmd, ["sh", "-c", "true"]);
    assert_eq!(args.deployer.cluster_name.as_deref(), Some("c1"));
    assert_eq!(args.deployer.nodes, Some(2));
    // Everything after the first bare `--` is the tester's, a later `--` too.
    assert_eq!(args.tester_args, ["arg1", "--flag=x", "--", "-v"]);
    assert_eq!(parse(&["--up"]).tester_args, Vec::<String>::new());
}

#[test]
fn unknown_flags_and_conflicting_binaries_are_refused_by_the_parser() {
    let refused = |args: &[&str]| {
        let mut all = vec!["kubetest2-nspawn"];
        all.extend_from_slice(args);
        Args::try_parse_from(all).unwrap_err().kind()
    };
    use clap::error::ErrorKind;
    assert_eq!(refused(&["--up", "--bogus"]), ErrorKind::UnknownArgument);
    assert_eq!(
        refused(&["--kube-root", "/k", "--kube-bin", "/b"]),
        ErrorKind::ArgumentConflict
    );
    assert_eq!(
        refused(&["--kube-version", "v1.28.7", "--kube-bin", "/b"]),
        ErrorKind::ArgumentConflict
    );
    // pflag's bools take their value only after `=`.
    assert_eq!(refused(&["--up", "true"]), ErrorKind::UnknownArgument);
    use clap::CommandFactory;
    Args::command().debug_assert();
    let help = Args::command().render_long_help().to_string();
    assert!(help.contains("Examples:") && help.contains("kubetest2 nspawn --up --down"));
}

#[test]
fn the_defaults_are_kubetest2_s() {
    let m = Machine::new();
    let r = m.request(&["--up", "--down", "--test=exec"]).unwrap();
    let id = "0f1e2d3c-aaaa-4bbb-8ccc-123456789abc";
    assert_eq!(r.run_id, id);
    assert_eq!(r.artifacts, m.path("work/_artifacts"));
    assert_eq!(r.run_dir, m.path("work/_rundir").join(id));
    assert_eq!(r.cluster.name, "kt2-0f1e2d3c");
    assert_eq!(r.cluster.kubeconfig, r.run_dir.join("kubeconfig"));
    assert_eq!(
        r.cluster.kubeadm_nspawn.as_deref(),
        Some(m.path("tools/kubeadm-nspawn").as_path())
    );
    let tester = r.test.unwrap();
    assert_eq!(tester.program, m.path("bin/kubetest2-tester-exec"));
    assert_eq!(m.request(&["--up", "--test="]).unwrap().test, None);

    let m = Machine::new()
        .with("PROW_JOB_ID", "prow-77")
        .with("ARTIFACTS", "../out")
        .with("KUBETEST2_RUN_DIR", "/runs");
    let r = m.request(&["--up"]).unwrap();
    assert_eq!(r.run_id, "prow-77");
    assert_eq!(r.artifacts, m.path("out"));
    assert_eq!(r.run_dir, PathBuf::from("/runs/prow-77"));
    assert_eq!(r.cluster.name, "kt2-prow77");
    let r = m.request(&["--up", "--rundir-in-artifacts"]).unwrap();
    assert_eq!(r.run_dir, m.path("out/runs/prow-77"));
    let r = m
        .request(&[
            "--up",
            "--run-id",
            "x",
            "--artifacts",
            "/a",
            "--rundir",
            "rd",
        ])
        .unwrap();
    assert_eq!(
        (r.artifacts, r.run_dir),
        (PathBuf::from("/a"), m.path("work/rd/x"))
    );
}

#[test]
fn bad_requests_are_refused_before_anything_exists() {
    let m = Machine::new();
    let err = m.request(&["--test=ginkgo"]).unwrap_err();
    assert!(
        matches!(&err, Error::TesterNotFound { program, .. } if program == "kubetest2-tester-ginkgo")
    );
    assert_eq!(
        err.to_string(),
        "--test=ginkgo: kubetest2-tester-ginkgo is not on PATH"
    );
    assert!(matches!(
        m.request(&["--build", "--up"]).unwrap_err(),
        Error::BuildWithoutKubeRoot
    ));
    assert!(matches!(
        m.request(&["--up", "--cluster-name", "Dev"]).unwrap_err(),
        Error::ClusterName(_)
    ));
    assert!(matches!(
        m.request(&["--up", "--kube-bin", "/nonexistent/kt2"])
            .unwrap_err(),
        Error::BadPath {
            flag: "kube-bin",
            ..
        }
    ));
    assert!(matches!(
        m.request(&["--up", "--nodes", "0"]).unwrap_err(),
        Error::BadValue { flag: "nodes", .. }
    ));
    std::fs::remove_file(m.path("tools/kubeadm-nspawn")).unwrap();
    assert!(matches!(
        m.request(&["--down"]).unwrap_err(),
        Error::KubeadmNspawnNotFound { .. }
    ));
    // --build alone runs no kubeadm-nspawn.
    std::fs::create_dir_all(m.path("k8s")).unwrap();
    let k8s = m.path("k8s");
    let r = m.request(&["--build", "--kube-root", k8s.to_str().unwrap()]);
    assert_eq!(r.unwrap().cluster.kubeadm_nspawn, None);
    assert!(!m.path("work/_artifacts").exists() && !m.path("work/_rundir").exists());
}

#[test]
fn the_cluster_s_command_lines_carry_the_deployer_flags() {
    let m = Machine::new();
    for dir in ["k8s", "extra", "state"] {
        std::fs::create_dir_all(m.path(dir)).unwrap();
    }
    let (k8s, extra) = (m.path("k8s"), m.path("extra"));
    let (k8s, extra) = (k8s.display().to_string(), extra.display().to_string());
    // What `up` is given as it came.
    let shape = [
        "--nodes",
        "2",
        "--control-planes",
        "1",
        "--subnet",
        "10.252.7.0/24",
        "--no-masquerade",
    ];
    let binaries = ["--kube-root", &k8s, "--extra-bin", &extra];
    let r = m
        .request(
            &[
                &["--up", "--cluster-name", "c1"][..],
                &shape,
                &binaries,
                &["--state-dir", "../state", "--kubeconfig", "kc"],
            ]
            .concat(),
        )
        .unwrap();
    let c = &r.cluster;
    let state = m.path("state").display().to_string();
    let up = crate::commands::up(c);
    assert_eq!(up.program, m.path("tools/kubeadm-nspawn"));
    assert_eq!(
        argv(&up),
        [
            &["--state-dir", &state, "up", "--name", "c1"][..],
            &shape,
            &binaries
        ]
        .concat()
    );
    let kubeconfig = m.path("work/kc").display().to_string();
    assert_eq!(
        env_of(&up, "KUBECONFIG").as_deref(),
        Some(kubeconfig.as_str())
    );
    let init = crate::commands::init(c);
    assert_eq!(
        argv(&init),
        [
            &["--state-dir", &state, "init", "--name", "c1"][..],
            &binaries
        ]
        .concat()
    );
    assert_eq!(
        env_of(&init, "KUBECONFIG").as_deref(),
        Some(kubeconfig.as_str())
    );
    let logs = m.path("work/_artifacts/logs").display().to_string();
    assert_eq!(
        argv(&crate::commands::export_logs(c, &r.artifacts)),
        [
            "--state-dir",
            &state,
            "export",
            "logs",
            &logs,
            "--name",
            "c1"
        ]
    );
    assert_eq!(
        argv(&crate::commands::down(c)),
        ["--state-dir", &state, "down", "--name", "c1"]
    );
    assert_eq!(
        argv(&crate::commands::kubeconfig(c)),
        ["--state-dir", &state, "kubeconfig", "--name", "c1"]
    );
    let make = crate::commands::make(Path::new(&k8s), None, &OsString::from("/usr/bin"));
    assert_eq!(make.program, PathBuf::from("make"));
    assert_eq!(
        argv(&make),
        [format!("WHAT={}", crate::commands::MAKE_WHAT)]
    );
    assert!(crate::commands::MAKE_WHAT.contains("cmd/kubeadm "));
    assert!(crate::commands::MAKE_WHAT.contains("test/e2e/e2e.test"));
    assert_eq!(make.dir.as_deref(), Some(Path::new(&k8s)));

    let release = m.request(&["--up", "--kube-version", "v1.28.7"]).unwrap();
    let up = argv(&crate::commands::up(&release.cluster));
    assert_eq!(up[up.len() - 2..], ["--kube-version", "v1.28.7"]);
}

#[test]
fn the_tester_gets_kubetest2_s_environment_and_its_arguments() {
    let m = Machine::new();
    let r = m
        .request(&[
            "--test=exec",
            "--run-id",
            "r9",
            "--",
            "kubectl",
            "get",
            "nodes",
        ])
        .unwrap();
    let kubeconfig = Path::new("/k/kubeconfig");
    let tester = crate::commands::tester(&r, Some(kubeconfig)).unwrap();
    assert_eq!(tester.program, m.path("bin/kubetest2-tester-exec"));
    assert_eq!(argv(&tester), ["kubectl", "get", "nodes"]);
    assert_eq!(tester.shown, Shown::Stdout);
    let run_dir = m.path("work/_rundir/r9");
    let path = env_of(&tester, "PATH").unwrap();
    assert_eq!(
        path,
        format!("{}:{}:/usr/bin", run_dir.display(), m.path("bin").display())
    );
    assert_eq!(
        env_of(&tester, "ARTIFACTS"),
        Some(m.path("work/_artifacts").display().to_string())
    );
    assert_eq!(
        env_of(&tester, "KUBETEST2_RUN_DIR"),
        Some(run_dir.display().to_string())
    );
    assert_eq!(env_of(&tester, "KUBETEST2_RUN_ID").as_deref(), Some("r9"));
    assert_eq!(
        env_of(&tester, "KUBECONFIG").as_deref(),
        Some("/k/kubeconfig")
    );
    let without = crate::commands::tester(&r, None).unwrap();
    assert_eq!(env_of(&without, "KUBECONFIG"), None);
    let help = crate::commands::tester_help(&r).unwrap();
    assert_eq!(argv(&help), ["--help", "kubectl", "get", "nodes"]);
}

/// What the recording runner saw.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Run(Invocation),
    Capture(Invocation),
    Cleanup,
}

/// A runner that records each call and answers from a script: the programs named in `fail`
/// fail (with some output), a run of `interrupt_at` receives a Ctrl-C.
#[derive(Default)]
struct Recording {
    calls: Vec<Call>,
    fail: Vec<&'static str>,
    interrupt_at: Option<&'static str>,
    interrupted: bool,
}

impl Recording {
    /// One whose `commands` (keys, as [`key`] makes them) fail.
    fn failing(commands: &[&'static str]) -> Recording {
        Recording {
            fail: commands.to_vec(),
            ..Recording::default()
        }
    }

    /// One that records a termination signal when `command` runs.
    fn interrupting(command: &'static str) -> Recording {
        Recording {
            interrupt_at: Some(command),
            ..Recording::default()
        }
    }
}

/// `kubeadm-nspawn up`, `kubetest2-tester-exec`, `make`: a program and its verb.
fn key(invocation: &Invocation) -> String {
    let name = invocation.name();
    let args = argv(invocation);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let verb = match args.as_slice() {
        ["--state-dir", _, verb, ..] => Some(*verb),
        [verb, ..] if name == "kubeadm-nspawn" => Some(*verb),
        _ => None,
    };
    match verb {
        Some(verb) => format!("{name} {verb}"),
        None => name,
    }
}

impl Recording {
    fn keys(&self) -> Vec<String> {
        self.calls
            .iter()
            .map(|c| match c {
                Call::Run(i) => key(i),
                Call::Capture(i) => format!("? {}", key(i)),
                Call::Cleanup => "cleanup".to_owned(),
            })
            .collect()
    }
}

impl Runner for Recording {
    fn run(&mut self, invocation: &Invocation) -> std::io::Result<Ran> {
        self.calls.push(Call::Run(invocation.clone()));
        let key = key(invocation);
        if self.interrupt_at == Some(key.as_str()) {
            self.interrupted = true;
        }
        let fails = self.fail.contains(&key.as_str());
        Ok(Ran {
            success: !fails,
            status: if fails {
                "exited with status 1".into()
            } else {
                "exited with status 0".into()
            },
            output: format!("output of {key}\n"),
        })
    }

    fn capture(&mut self, invocation: &Invocation) -> std::io::Result<Captured> {
        self.calls.push(Call::Capture(invocation.clone()));
        let fails = self
            .fail
            .contains(&format!("? {}", key(invocation)).as_str());
        Ok(Captured {
            success: !fails,
            status: "exited with status 1".into(),
            stdout: b"apiVersion: v1\nkind: Config\n".to_vec(),
            stderr: "error: no cluster \"c1\"\n".into(),
        })
    }

    fn interrupted(&self) -> bool {
        self.interrupted
    }

    fn begin_cleanup(&mut self) {
        self.calls.push(Call::Cleanup);
    }
}

struct Run {
    m: Machine,
    runner: Recording,
    result: Result<(), Error>,
}

impl Run {
    fn artifacts(&self) -> PathBuf {
        self.m.path("work/_artifacts")
    }

    fn junit(&self) -> String {
        std::fs::read_to_string(self.artifacts().join("junit_runner.xml")).unwrap()
    }

    /// The names of the junit_runner.xml cases, a failed one marked with `!`.
    fn cases(&self) -> Vec<String> {
        let text = self.junit();
        text.split("<testcase name=\"")
            .skip(1)
            .map(|rest| {
                let name = rest.split('"').next().unwrap().to_owned();
                let case = rest.split("</testcase>").next().unwrap();
                if case.contains("<failure>") {
                    format!("!{name}")
                } else {
                    name
                }
            })
            .collect()
    }
}

fn lifecycle_of(args: &[&str], runner: Recording) -> Run {
    let m = Machine::new();
    let request = m.request(args).unwrap();
    let mut runner = runner;
    let var = |name: &str| (name == "ARTIFACTS").then(|| "/from-env".to_owned());
    let result = {
        let mut ctx = Context {
            runner: &mut runner,
            var: &var,
            builder: None,
        };
        lifecycle::run(&request, &mut ctx)
    };
    Run { m, runner, result }
}

const FULL: &[&str] = &[
    "--up",
    "--down",
    "--test=exec",
    "--run-id=r1",
    "--cluster-name=c1",
    "--pre-test-cmd=kubectl,apply,-f,$ARTIFACTS/x.yaml",
    "--post-test-cmd=post",
    "--",
    "arg1",
];

#[test]
fn the_phases_run_in_kubetest2_s_order() {
    let run = lifecycle_of(FULL, Recording::default());
    run.result.as_ref().unwrap();
    assert_eq!(
        run.runner.keys(),
        [
            "? kubetest2-tester-exec",
            "kubeadm-nspawn up",
            "kubeadm-nspawn init",
            "? kubeadm-nspawn kubeconfig",
            "kubectl",
            "kubetest2-tester-exec",
            "post",
            "kubeadm-nspawn export",
            "kubeadm-nspawn down",
        ]
    );
    assert_eq!(
        run.cases(),
        ["Up", "PreTestCmd", "Test", "PostTestCmd", "Down"]
    );
    let metadata = std::fs::read_to_string(run.artifacts().join("metadata.json")).unwrap();
    let metadata: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&metadata).unwrap();
    assert_eq!(metadata["deployer-version"], lifecycle::VERSION);
    assert_eq!(metadata["kubetest-version"], "");
    // What `kubeadm-nspawn kubeconfig` printed is the tester's KUBECONFIG.
    let kubeconfig = run.m.path("work/_rundir/r1/kubeconfig");
    assert_eq!(
        std::fs::read_to_string(&kubeconfig).unwrap(),
        "apiVersion: v1\nkind: Config\n"
    );
    let runs: Vec<&Invocation> = run
        .runner
        .calls
        .iter()
        .filter_map(|c| match c {
            Call::Run(i) => Some(i),
            _ => None,
        })
        .collect();
    let pre = runs[2];
    assert_eq!(argv(pre), ["apply", "-f", "/from-env/x.yaml"]);
    for tested in [pre, runs[3], runs[4]] {
        assert_eq!(
            env_of(tested, "KUBECONFIG"),
            Some(kubeconfig.display().to_string())
        );
        assert_eq!(env_of(tested, "KUBETEST2_RUN_ID").as_deref(), Some("r1"));
    }
}

#[test]
fn a_failed_up_skips_the_test_and_still_runs_down() {
    let run = lifecycle_of(FULL, Recording::failing(&["kubeadm-nspawn init"]));
    let err = run.result.as_ref().unwrap_err();
    assert_eq!(err.to_string(), "Up: kubeadm-nspawn exited with status 1");
    assert_eq!(
        run.runner.keys()[1..],
        [
            "kubeadm-nspawn up",
            "kubeadm-nspawn init",
            "kubeadm-nspawn export",
            "kubeadm-nspawn down"
        ]
    );
    assert_eq!(run.cases(), ["!Up", "Down"]);
    assert!(run
        .junit()
        .contains("<system-out>output of kubeadm-nspawn init\n</system-out>"));
}

#[test]
fn a_failed_test_still_gets_the_post_test_command_and_down_and_is_the_run_s_error() {
    let run = lifecycle_of(
        FULL,
        Recording::failing(&["kubetest2-tester-exec", "kubeadm-nspawn down"]),
    );
    assert_eq!(
        run.result.as_ref().unwrap_err().to_string(),
        "Test: kubetest2-tester-exec exited with status 1"
    );
    assert_eq!(
        run.cases(),
        ["Up", "PreTestCmd", "!Test", "PostTestCmd", "!Down"]
    );
}

#[test]
fn a_failed_build_runs_nothing_after_it_not_even_down() {
    let m = Machine::new();
    std::fs::create_dir_all(m.path("k8s")).unwrap();
    let k8s = m.path("k8s").display().to_string();
    let request = m
        .request(&["--build", "--up", "--down", "--kube-root", &k8s])
        .unwrap();
    let mut runner = Recording::failing(&["make"]);
    let result = lifecycle::run(
        &request,
        &mut Context {
            runner: &mut runner,
            var: &|_| None,
            builder: None,
        },
    );
    assert!(matches!(
        result,
        Err(Error::Failed {
            phase: Phase::Build,
            ..
        })
    ));
    assert_eq!(runner.keys(), ["make"]);
}

#[test]
fn a_build_copies_the_test_binaries_into_the_run_directory() {
    let m = Machine::new();
    let k8s = m.path("k8s");
    for binary in ["kubectl", "e2e.test", "ginkgo"] {
        executable(&k8s.join("_output/bin"), binary);
    }
    let request = m
        .request(&[
            "--build",
            "--run-id",
            "b1",
            "--kube-root",
            k8s.to_str().unwrap(),
        ])
        .unwrap();
    let mut runner = Recording::default();
    lifecycle::run(
        &request,
        &mut Context {
            runner: &mut runner,
            var: &|_| None,
            builder: None,
        },
    )
    .unwrap();
    for binary in ["kubectl", "e2e.test", "ginkgo"] {
        assert!(m.path("work/_rundir/b1").join(binary).is_file(), "{binary}");
    }
}

/// A full run interrupted while `program`, its `at`-th command, runs: the error names `phase`,
/// and after `program` only the cleanup, the export of the logs and `down` run.
fn interrupted_at(program: &'static str, at: usize, phase: Phase) -> Run {
    let run = lifecycle_of(FULL, Recording::interrupting(program));
    assert!(matches!(run.result, Err(Error::Interrupted { phase: p }) if p == phase));
    assert_eq!(
        run.runner.keys()[at..],
        [
            program,
            "cleanup",
            "kubeadm-nspawn export",
            "kubeadm-nspawn down"
        ]
    );
    run
}

#[test]
fn an_interrupted_test_skips_the_post_test_command_and_down_runs_after_the_cleanup_began() {
    let run = interrupted_at("kubetest2-tester-exec", 5, Phase::Test);
    assert_eq!(run.cases(), ["Up", "PreTestCmd", "!Test", "Down"]);
}

#[test]
fn an_interrupted_up_goes_straight_to_down() {
    interrupted_at("kubeadm-nspawn up", 1, Phase::Up);
}

#[test]
fn without_down_the_cluster_stays_and_a_test_only_run_asks_for_its_kubeconfig() {
    let run = lifecycle_of(
        &["--up", "--test=exec", "--cluster-name=c1"],
        Recording::default(),
    );
    run.result.as_ref().unwrap();
    assert!(!run.runner.keys().iter().any(|k| k.contains("down")));
    let run = lifecycle_of(
        &[
            "--test=exec",
            "--cluster-name=c1",
            "--skip-test-junit-report",
        ],
        Recording::failing(&["? kubeadm-nspawn kubeconfig"]),
    );
    run.result.as_ref().unwrap();
    // No cluster: the tester runs without KUBECONFIG; the test is not a case.
    let tester = run
        .runner
        .calls
        .iter()
        .find_map(|c| match c {
            Call::Run(i) => Some(i.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(env_of(&tester, "KUBECONFIG"), None);
    assert!(run.cases().is_empty());
}

#[test]
fn a_failed_log_export_is_a_warning_and_down_still_runs() {
    let run = lifecycle_of(
        &["--down", "--cluster-name=c1"],
        Recording::failing(&["kubeadm-nspawn export"]),
    );
    run.result.as_ref().unwrap();
    assert_eq!(
        run.runner.keys(),
        ["kubeadm-nspawn export", "kubeadm-nspawn down"]
    );
    assert_eq!(run.cases(), ["Down"]);
}

#[test]
fn a_tester_that_cannot_give_its_usage_is_refused_with_nothing_created() {
    let run = lifecycle_of(FULL, Recording::failing(&["? kubetest2-tester-exec"]));
    let err = run.result.as_ref().unwrap_err();
    assert!(matches!(err, Error::TesterHelp { .. }), "{err}");
    assert_eq!(run.runner.keys(), ["? kubetest2-tester-exec"]);
    assert!(!run.artifacts().exists());
    assert!(!run.m.path("work/_rundir").exists());
}

#[test]
fn every_error_reads_plainly() {
    use kns_plumbing::every_variant;
    let io = || std::io::Error::from_raw_os_error(libc::ENOENT);
    let samples = every_variant!(Error {
        Error::TesterNotFound { .. } => (
            Error::TesterNotFound { name: "ginkgo".into(), program: "kubetest2-tester-ginkgo".into() },
            "kubetest2-tester-ginkgo is not on PATH",
        );
        Error::TesterHelp { .. } => (
            Error::TesterHelp { name: "x".into(), program: "kubetest2-tester-x".into(), status: "exited with status 2".into(), said: ": unknown flag".into() },
            "`kubetest2-tester-x --help` failed (exited with status 2): unknown flag",
        );
        Error::NotRoot => (Error::NotRoot, "--up and --down need root");
        Error::BuildWithoutKubeRoot => (Error::BuildWithoutKubeRoot, "--build needs --kube-root");
        Error::ClusterName(_) => (Error::ClusterName("Dev".into()), "--cluster-name \"Dev\"");
        Error::BadPath { .. } => (
            Error::BadPath { flag: "kube-bin", path: "/x".into(), what: "is not a directory" },
            "--kube-bin /x: is not a directory",
        );
        Error::BadValue { .. } => (Error::BadValue { flag: "nodes", what: "0: a cluster has 1 to 50 nodes".into() }, "--nodes: 0");
        Error::KubeadmNspawnNotFound { .. } => (Error::KubeadmNspawnNotFound { beside: "/opt/bin".into() }, "beside /opt/bin");
        Error::Io(_) => (Error::io("create", "/a/b", io()), "create /a/b: No such file");
        Error::Spawn { .. } => (
            Error::Spawn { phase: Phase::Test, program: "kubetest2-tester-exec".into(), source: io() },
            "Test: cannot run kubetest2-tester-exec",
        );
        Error::Failed { .. } => (
            Error::Failed { phase: Phase::Up, program: "kubeadm-nspawn".into(), status: "exited with status 1".into() },
            "Up: kubeadm-nspawn exited with status 1",
        );
        Error::Interrupted { .. } => (Error::Interrupted { phase: Phase::Test }, "interrupted during Test");
    });
    kns_plumbing::plain::assert_plain(samples);
}
