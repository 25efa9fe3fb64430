//! Step: one ginkgo run of the suite, supervised (its own process group: a Ctrl-C is passed on
//! to it, and ginkgo writes its reports before it ends), its output into the log and read as it
//! comes into a live line `specs: P passed, F failed, S skipped`, each failure said as it happens.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::Result;
use crate::kube::e2e::args::{self, Run, Suite};
use crate::kube::e2e::progress::{Counts, Event, Failure, Progress, Summary};

/// A Ctrl-C: SIGINT to ginkgo's group (ginkgo's own interrupt: cleanup, then its reports), and
/// SIGKILL if it is not done within this, or at a second Ctrl-C.
const STOP: kns_plumbing::child::Stop = kns_plumbing::child::Stop {
    signal: libc::SIGINT,
    grace: Duration::from_secs(60),
};

/// Without a live line (a log, CI), the counts are said this often, when they changed.
const EVERY: Duration = Duration::from_secs(60);

/// The last lines of output kept, to show when ginkgo ends without its summary.
const TAIL: usize = 10;

/// What one run did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunOutcome {
    pub title: String,
    pub command: Vec<String>,
    /// ginkgo exited 0.
    pub success: bool,
    pub interrupted: bool,
    /// ginkgo's exit code (None: killed by a signal).
    pub exit_code: Option<i32>,
    pub counts: Counts,
    pub summary: Option<Summary>,
    pub failures: Vec<Failure>,
    pub suite_failures: Vec<Failure>,
    pub junit: PathBuf,
    pub report: PathBuf,
    pub seconds: f64,
}

impl RunOutcome {
    /// Why a run with no failed spec failed.
    pub fn why(&self) -> String {
        if let Some(f) = self.suite_failures.first() {
            return format!("{} [{}]", f.spec, f.state);
        }
        if let Some(reason) = self.summary.as_ref().and_then(|s| s.reason.clone()) {
            return reason;
        }
        match self.exit_code {
            Some(code) => format!("ginkgo exited with status {code}"),
            None => "ginkgo was killed".to_owned(),
        }
    }
}

/// Runs `run` of `suite`, its output appended to `log`.
pub fn run(suite: &Suite, run: &Run, log: &mut File) -> Result<RunOutcome> {
    let argv = args::command_line(suite, run);
    let shown = args::shell_words(&argv);
    kns_plumbing::say!("   {shown}");
    let _ = writeln!(log, "# kubeadm-nspawn e2e, {}: {shown}", run.title);
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]).envs(args::environment(suite));
    // kubectl and e2e.test's own directory first, as Kubernetes' hack/ginkgo-e2e.sh does.
    let dirs = [&suite.kubectl, &suite.e2e_test]
        .into_iter()
        .filter_map(|p| p.parent().map(PathBuf::from));
    let path = std::env::var_os("PATH").unwrap_or_default();
    if let Ok(joined) = std::env::join_paths(dirs.chain(std::env::split_paths(&path))) {
        command.env("PATH", joined);
    }
    let processes = if run.processes == 1 {
        "1 process".to_owned()
    } else {
        format!("{} processes", run.processes)
    };
    let title = format!("Running {} ({processes})", run.title);
    let started = Instant::now();
    let mut watch = Watch::new(&title);
    let mut progress = Progress::new();
    let mut unwritten = None;
    let ended = kns_plumbing::child::run_streaming(command, STOP, |chunk| {
        if let Err(e) = log.write_all(chunk) {
            unwritten.get_or_insert(e);
        }
        for event in progress.feed(chunk) {
            watch.event(&event);
        }
        watch.counts(progress.counts());
    })
    .map_err(|e| {
        crate::host::Error::tool(
            "ginkgo",
            format!("cannot run {}: {e}", suite.ginkgo.display()),
        )
    })?;
    for event in progress.finish() {
        watch.event(&event);
    }
    let tail = std::mem::take(&mut watch.tail);
    drop(watch);
    if !ended.status.success() && progress.summary().is_none() {
        // No summary: ginkgo (or e2e.test) stopped before its suite ended; its last words say why.
        for line in &tail {
            kns_plumbing::say!("   | {line}");
        }
    }
    if let Some(e) = unwritten {
        kns_plumbing::say!("   warning: ginkgo's output is not all in the log: {e}");
    }
    let counts = progress.counts();
    let seconds = started.elapsed().as_secs_f64();
    let mark = if ended.status.success() { '✓' } else { '✗' };
    let reason = progress
        .summary()
        .and_then(|s| s.reason.as_deref())
        .map(|r| format!("; {r}"))
        .unwrap_or_default();
    kns_plumbing::say!(" {mark} {title}: {}{reason} ({seconds:.1} s)", said(counts));
    Ok(RunOutcome {
        title: run.title.clone(),
        command: argv,
        success: ended.status.success(),
        interrupted: ended.interrupted,
        exit_code: ended.status.code(),
        counts,
        summary: progress.summary().cloned(),
        failures: progress.failures().to_vec(),
        suite_failures: progress.suite_failures().to_vec(),
        junit: suite.artifacts.join(run.junit()),
        report: suite.artifacts.join(run.json_report()),
        seconds,
    })
}

/// `7 passed, 1 failed, 7062 skipped` (pending and flaked when there are some).
pub fn said(counts: Counts) -> String {
    let mut text = format!(
        "{} passed, {} failed, {} skipped",
        counts.passed, counts.failed, counts.skipped
    );
    if counts.pending > 0 {
        text.push_str(&format!(", {} pending", counts.pending));
    }
    if counts.flaked > 0 {
        text.push_str(&format!(" ({} flaked)", counts.flaked));
    }
    text
}

/// What a person sees of a run while it goes.
struct Watch {
    title: String,
    status: kns_plumbing::terminal::Status,
    shown: Counts,
    said_at: Instant,
    told_of_interrupt: bool,
    tail: std::collections::VecDeque<String>,
}

impl Watch {
    fn new(title: &str) -> Watch {
        Watch {
            title: title.to_owned(),
            status: kns_plumbing::terminal::Status::start(title),
            shown: Counts::default(),
            said_at: Instant::now(),
            told_of_interrupt: false,
            tail: std::collections::VecDeque::with_capacity(TAIL),
        }
    }

    fn event(&mut self, event: &Event) {
        if let Event::Line(line) = event {
            if self.tail.len() == TAIL {
                self.tail.pop_front();
            }
            self.tail.push_back(line.clone());
        }
        match event {
            Event::Line(line) if kns_plumbing::terminal::verbose() => {
                kns_plumbing::say!("   | ginkgo: {line}")
            }
            Event::Failed(f) | Event::SuiteNodeFailed(f) => {
                kns_plumbing::say!("   ✗ [{}] {}", f.state, f.spec)
            }
            _ => {}
        }
    }

    /// After each chunk of output: the counts, and once a signal came, what happens now.
    fn counts(&mut self, counts: Counts) {
        if !self.told_of_interrupt && kns_plumbing::signals::received() > 0 {
            self.told_of_interrupt = true;
            kns_plumbing::say!(
                "   interrupted: ginkgo stops and writes its reports (up to {} s; Ctrl-C again \
                 ends it at once)",
                STOP.grace.as_secs()
            );
        }
        if counts == self.shown {
            return;
        }
        if self.status.is_live() {
            self.shown = counts;
            self.status
                .set(&format!("{}: specs: {}", self.title, said(counts)));
        } else if self.said_at.elapsed() >= EVERY {
            self.shown = counts;
            self.said_at = Instant::now();
            kns_plumbing::say!("   specs: {}", said(counts));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::e2e::args::Selection;

    /// A stand-in ginkgo that prints a recorded run's output and exits as ginkgo did.
    fn fake_ginkgo(dir: &std::path::Path, sample: &str, code: i32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let output = dir.join("output.txt");
        std::fs::write(&output, sample).unwrap();
        let ginkgo = dir.join("ginkgo");
        std::fs::write(
            &ginkgo,
            format!(
                "#!/bin/sh\necho \"$@\" > {0}/argv\nenv > {0}/env\ncat {1}\nexit {code}\n",
                dir.display(),
                output.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&ginkgo, std::fs::Permissions::from_mode(0o755)).unwrap();
        ginkgo
    }

    fn suite(dir: &std::path::Path, ginkgo: PathBuf) -> Suite {
        Suite {
            ginkgo,
            e2e_test: dir.join("e2e.test"),
            kubectl: dir.join("kubectl"),
            kubeconfig: dir.join("kubeconfig"),
            artifacts: dir.join("artifacts"),
            schedulable_nodes: 2,
            repo_root: None,
            timeout: Duration::from_secs(3600),
            extra: vec![],
        }
    }

    #[test]
    fn a_run_is_supervised_logged_and_read() {
        let dir = tempfile::tempdir().unwrap();
        let sample = include_str!("../../kube/e2e/testdata/parallel-one-failed.txt");
        let suite = suite(dir.path(), fake_ginkgo(dir.path(), sample, 1));
        let selection = Selection::Specs {
            focus: Some("sig-network".into()),
            skip: None,
            label_filter: None,
        };
        let run = &args::runs(&selection, 2)[0];
        let log_path = dir.path().join("e2e.log");
        let mut log = File::create(&log_path).unwrap();
        let outcome = super::run(&suite, run, &mut log).unwrap();
        assert!(!outcome.success && !outcome.interrupted);
        assert_eq!(outcome.exit_code, Some(1));
        assert_eq!((outcome.counts.passed, outcome.counts.failed), (4, 1));
        assert_eq!(outcome.failures.len(), 1);
        assert_eq!(outcome.junit, dir.path().join("artifacts/junit.xml"));
        let logged = std::fs::read_to_string(&log_path).unwrap();
        assert!(
            logged.starts_with("# kubeadm-nspawn e2e, e2e: "),
            "{logged}"
        );
        assert!(logged.ends_with(sample));
        let argv = std::fs::read_to_string(dir.path().join("argv")).unwrap();
        assert!(
            argv.starts_with("--nodes=2 --focus=sig-network --skip=\\[Serial\\] "),
            "{argv}"
        );
        let env = std::fs::read_to_string(dir.path().join("env")).unwrap();
        assert!(
            env.contains("KUBE_CONTAINER_RUNTIME_NAME=containerd"),
            "{env}"
        );
        assert!(
            env.contains(&format!("PATH={}", dir.path().display())),
            "kubectl's directory first: {env}"
        );
    }

    #[test]
    fn a_suite_node_failure_is_why_a_run_without_failed_specs_failed() {
        let dir = tempfile::tempdir().unwrap();
        let sample = include_str!("../../kube/e2e/testdata/before-suite-failed.txt");
        let suite = suite(dir.path(), fake_ginkgo(dir.path(), sample, 1));
        let run = &args::runs(&Selection::Conformance { skip: None }, 1)[0];
        let mut log = File::create(dir.path().join("e2e.log")).unwrap();
        let outcome = super::run(&suite, run, &mut log).unwrap();
        assert_eq!(outcome.counts.failed, 0);
        assert_eq!(outcome.why(), "[SynchronizedBeforeSuite] [FAILED]");
        assert_eq!(
            outcome.junit,
            dir.path().join("artifacts/junit-parallel.xml")
        );
    }

    #[test]
    fn a_run_that_ends_before_its_suite_is_said_by_its_exit_status() {
        let dir = tempfile::tempdir().unwrap();
        let said = "flag provided but not defined: -no-such-flag\nUsage of e2e.test:\n";
        let suite = suite(dir.path(), fake_ginkgo(dir.path(), said, 1));
        let selection = Selection::Specs {
            focus: Some("x".into()),
            skip: None,
            label_filter: None,
        };
        let mut log = File::create(dir.path().join("e2e.log")).unwrap();
        let outcome = super::run(&suite, &args::runs(&selection, 1)[0], &mut log).unwrap();
        assert!(outcome.summary.is_none() && !outcome.success);
        assert_eq!(outcome.why(), "ginkgo exited with status 1");
    }

    #[test]
    fn counts_are_said_in_words() {
        let counts = Counts {
            passed: 7,
            failed: 1,
            skipped: 7062,
            pending: 2,
            flaked: 1,
        };
        assert_eq!(
            said(counts),
            "7 passed, 1 failed, 7062 skipped, 2 pending (1 flaked)"
        );
    }
}
