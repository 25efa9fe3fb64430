//! kubetest2's lifecycle (pkg/app/app.go's RealMain), run by this deployer itself as every
//! kubetest2 deployer binary runs it: the run directory and ARTIFACTS made, metadata.json
//! written, then Build → Up → PreTestCmd → Test → PostTestCmd, each phase a `<testcase>` of
//! junit_runner.xml, and Down last when asked for: also after a failed or interrupted Up or Test
//! (not after a failed Build: kubetest2 stops before it arms Down). A failed Up skips the test;
//! a failed test still gets PostTestCmd. The first error is the run's.
//!
//! A Ctrl-C (SIGINT, SIGTERM, SIGHUP) is passed on to what runs (kubeadm-nspawn undoes an
//! interrupted up or init; the tester writes its reports), then the phases after it are skipped
//! but Down, which kubetest2 also runs on an interrupt when Up or a test was asked for.

use std::path::{Path, PathBuf};

use crate::commands;
use crate::error::{Error, Result};
use crate::metadata::{self, Case, Suite};
use crate::request::Request;
use crate::runner::{Invocation, Runner, User};

/// A phase of the run, by its name in junit_runner.xml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Build,
    Up,
    PreTestCmd,
    Test,
    PostTestCmd,
    Down,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Build => "Build",
            Phase::Up => "Up",
            Phase::PreTestCmd => "PreTestCmd",
            Phase::Test => "Test",
            Phase::PostTestCmd => "PostTestCmd",
            Phase::Down => "Down",
        })
    }
}

/// What the phases run with besides the request.
pub struct Context<'a> {
    pub runner: &'a mut dyn Runner,
    /// This process's environment, for the `$VAR`s of --pre-test-cmd and --post-test-cmd.
    pub var: &'a dyn Fn(&str) -> Option<String>,
    /// Who runs Build's make (the tree's owner, when this runs as root).
    pub builder: Option<User>,
}

/// A phase's failure: its error, and the end of the output of what failed (system-out).
struct Failure {
    error: Error,
    output: String,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure {
            error,
            output: String::new(),
        }
    }
}

/// The deployer's version, as metadata.json's `deployer-version`.
pub const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));

/// The whole run. Asks the tester its usage first (kubetest2 does, before anything), so a
/// tester that cannot answer is refused with nothing created.
pub fn run(request: &Request, ctx: &mut Context) -> Result<()> {
    if let Some(help) = commands::tester_help(request) {
        check_tester(request, &help, ctx.runner)?;
    }
    for dir in [&request.run_dir, &request.artifacts] {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    let metadata = request.artifacts.join("metadata.json");
    std::fs::write(
        &metadata,
        metadata::metadata_json(&request.kubetest2_version, VERSION),
    )
    .map_err(|e| Error::io("write", &metadata, e))?;
    let mut suite = Suite::new("kubetest2");
    let result = phases(request, ctx, &mut suite);
    let junit = request.artifacts.join("junit_runner.xml");
    let written = std::fs::write(&junit, suite.render()).map_err(|e| Error::io("write", &junit, e));
    eprintln!(
        "kubetest2-nspawn: {} in {}",
        summary(&suite),
        request.artifacts.display()
    );
    result.and(written)
}

fn summary(suite: &Suite) -> String {
    let said: Vec<String> = suite
        .cases
        .iter()
        .map(|c| {
            let outcome = if c.failure.is_some() { "failed" } else { "ok" };
            format!("{} {outcome} ({:.1} s)", c.name, c.seconds)
        })
        .collect();
    if said.is_empty() {
        "no phase run; metadata.json and junit_runner.xml".to_owned()
    } else {
        format!("{}; metadata.json and junit_runner.xml", said.join(", "))
    }
}

fn check_tester(request: &Request, help: &Invocation, runner: &mut dyn Runner) -> Result<()> {
    let Some(tester) = &request.test else {
        return Ok(());
    };
    let refused = |status: String, said: String| Error::TesterHelp {
        name: tester.name.clone(),
        program: help.name(),
        status,
        said,
    };
    let captured = runner
        .capture(help)
        .map_err(|e| refused(format!("cannot run it: {e}"), String::new()))?;
    if captured.success {
        return Ok(());
    }
    let said = captured
        .stderr
        .lines()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!(": {}", l.trim()))
        .unwrap_or_default();
    Err(refused(captured.status, said))
}

fn phases(request: &Request, ctx: &mut Context, suite: &mut Suite) -> Result<()> {
    if request.build {
        let built = step(suite, Phase::Build, ctx, |ctx| build(request, ctx));
        match built {
            Err(Error::Interrupted { .. })
                if request.down && (request.up || request.test.is_some()) =>
            {
                ctx.runner.begin_cleanup();
                let down = step(suite, Phase::Down, ctx, |ctx| down(request, ctx));
                return built.and(down);
            }
            Err(e) => return Err(e),
            Ok(()) => {}
        }
    }
    let main = up_and_test(request, ctx, suite);
    if !request.down {
        return main;
    }
    if matches!(main, Err(Error::Interrupted { .. })) {
        ctx.runner.begin_cleanup();
    }
    let down = step(suite, Phase::Down, ctx, |ctx| down(request, ctx));
    main.and(down)
}

fn up_and_test(request: &Request, ctx: &mut Context, suite: &mut Suite) -> Result<()> {
    if request.up {
        step(suite, Phase::Up, ctx, |ctx| up(request, ctx))?;
    }
    let kubeconfig = if request.needs_kubeconfig() {
        kubeconfig(request, ctx)
    } else {
        None
    };
    let kubeconfig = kubeconfig.as_deref();
    if let Some(pre) = commands::test_command(&request.pre_test_cmd, request, kubeconfig, ctx.var) {
        step(suite, Phase::PreTestCmd, ctx, |ctx| {
            program(Phase::PreTestCmd, &pre, ctx.runner)
        })?;
    }
    let tested = match commands::tester(request, kubeconfig) {
        Some(tester) if request.skip_test_junit_report => unrecorded(Phase::Test, ctx, |ctx| {
            program(Phase::Test, &tester, ctx.runner)
        }),
        Some(tester) => step(suite, Phase::Test, ctx, |ctx| {
            program(Phase::Test, &tester, ctx.runner)
        }),
        None => Ok(()),
    };
    if matches!(tested, Err(Error::Interrupted { .. })) {
        return tested;
    }
    let post = match commands::test_command(&request.post_test_cmd, request, kubeconfig, ctx.var) {
        Some(post) => step(suite, Phase::PostTestCmd, ctx, |ctx| {
            program(Phase::PostTestCmd, &post, ctx.runner)
        }),
        None => Ok(()),
    };
    tested.and(post)
}

/// Runs one phase as a `<testcase>`: its time, its failure. A phase during which a signal
/// arrived is an interruption, whatever its programs did.
fn step(
    suite: &mut Suite,
    phase: Phase,
    ctx: &mut Context,
    body: impl FnOnce(&mut Context) -> std::result::Result<(), Failure>,
) -> Result<()> {
    eprintln!("kubetest2-nspawn: {phase}");
    let started = std::time::Instant::now();
    let outcome = body(ctx);
    let mut case = Case {
        name: phase.to_string(),
        seconds: started.elapsed().as_secs_f64(),
        failure: None,
        system_out: None,
    };
    let result = match outcome {
        Ok(()) => Ok(()),
        Err(failure) => {
            case.failure = Some(failure.error.to_string());
            case.system_out = Some(failure.output).filter(|o| !o.is_empty());
            Err(failure.error)
        }
    };
    if ctx.runner.interrupted() && phase != Phase::Down {
        if case.failure.is_none() {
            case.failure = Some(Error::Interrupted { phase }.to_string());
        }
        suite.cases.push(case);
        return Err(Error::Interrupted { phase });
    }
    suite.cases.push(case);
    result
}

/// A phase kept out of junit_runner.xml (--skip-test-junit-report).
fn unrecorded(
    phase: Phase,
    ctx: &mut Context,
    body: impl FnOnce(&mut Context) -> std::result::Result<(), Failure>,
) -> Result<()> {
    eprintln!("kubetest2-nspawn: {phase}");
    let result = body(ctx).map_err(|f| f.error);
    if ctx.runner.interrupted() {
        return Err(Error::Interrupted { phase });
    }
    result
}

/// Runs one program of a phase; its failure names it.
fn program(
    phase: Phase,
    invocation: &Invocation,
    runner: &mut dyn Runner,
) -> std::result::Result<(), Failure> {
    eprintln!("kubetest2-nspawn: {phase}: {}", invocation.said());
    let ran = runner.run(invocation).map_err(|source| Error::Spawn {
        phase,
        program: invocation.name(),
        source,
    })?;
    if ran.success {
        Ok(())
    } else {
        Err(Failure {
            error: Error::Failed {
                phase,
                program: invocation.name(),
                status: ran.status,
            },
            output: ran.output,
        })
    }
}

/// Up: `kubeadm-nspawn up`, then `init` (every node Ready).
fn up(request: &Request, ctx: &mut Context) -> std::result::Result<(), Failure> {
    program(Phase::Up, &commands::up(&request.cluster), ctx.runner)?;
    if ctx.runner.interrupted() {
        return Ok(());
    }
    program(Phase::Up, &commands::init(&request.cluster), ctx.runner)
}

/// Down: the cluster's logs into ARTIFACTS/logs first (a failure there is a warning, as kind's
/// deployer has it), then `kubeadm-nspawn down`.
fn down(request: &Request, ctx: &mut Context) -> std::result::Result<(), Failure> {
    let logs = commands::logs_dir(&request.artifacts);
    let exported = program(
        Phase::Down,
        &commands::export_logs(&request.cluster, &request.artifacts),
        ctx.runner,
    );
    if let Err(failure) = exported {
        eprintln!(
            "kubetest2-nspawn: warning: the cluster's logs were not exported into {}: {}",
            logs.display(),
            failure.error
        );
    }
    program(Phase::Down, &commands::down(&request.cluster), ctx.runner)
}

/// Build: make in --kube-root, then kubectl, e2e.test and ginkgo copied into the run directory,
/// where kubetest2's ginkgo tester looks for them (a missing one is a warning, as in
/// kubetest2's pkg/build).
fn build(request: &Request, ctx: &mut Context) -> std::result::Result<(), Failure> {
    let tree = request
        .cluster
        .flags
        .kube_root
        .as_ref()
        .ok_or(Error::BuildWithoutKubeRoot)?;
    let make = commands::make(tree, ctx.builder.clone(), &request.path);
    program(Phase::Build, &make, ctx.runner)?;
    for binary in commands::TEST_BINARIES {
        let found = commands::tree_outputs(tree)
            .into_iter()
            .map(|dir| dir.join(binary))
            .find(|p| p.is_file());
        match found {
            Some(from) => copy_binary(&from, &request.run_dir.join(binary))?,
            None => eprintln!(
                "kubetest2-nspawn: warning: no {binary} in {}'s _output after the build",
                tree.display()
            ),
        }
    }
    Ok(())
}

fn copy_binary(from: &Path, to: &PathBuf) -> Result<()> {
    // A copy beside, renamed over: a tester still running an old one keeps its file.
    let partial = to.with_extension("partial");
    std::fs::copy(from, &partial)
        .and_then(|_| std::fs::rename(&partial, to))
        .map_err(|e| Error::io("copy into", to.clone(), e))
}

/// The cluster's kubeconfig for the tester: the file init wrote, else what `kubeadm-nspawn
/// kubeconfig` prints (a run with --test and no --up: a cluster made before). None, with a
/// warning, when there is no such cluster: the tester then runs without KUBECONFIG, as
/// kubetest2 runs it when the deployer has none.
fn kubeconfig(request: &Request, ctx: &mut Context) -> Option<PathBuf> {
    let path = &request.cluster.kubeconfig;
    if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
        return Some(path.clone());
    }
    let asked = commands::kubeconfig(&request.cluster);
    let warn = |why: String| {
        eprintln!(
            "kubetest2-nspawn: warning: no kubeconfig for cluster \"{}\" ({why}): the tester runs without KUBECONFIG",
            request.cluster.name
        );
        None
    };
    match ctx.runner.capture(&asked) {
        Ok(out) if out.success => {
            match kns_plumbing::atomic_file::write(path, &out.stdout, 0o600) {
                Ok(()) => Some(path.clone()),
                Err(e) => warn(format!("cannot write {}: {e}", path.display())),
            }
        }
        Ok(out) => warn(
            out.stderr
                .lines()
                .find(|l| l.starts_with("error: "))
                .map_or(out.status, |l| l["error: ".len()..].to_owned()),
        ),
        Err(e) => warn(format!("cannot run kubeadm-nspawn: {e}")),
    }
}
