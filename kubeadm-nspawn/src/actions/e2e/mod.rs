//! The steps of `e2e`, the test step of a Kubernetes developer's loop: the artifacts directory
//! made ready, the suite built in its tree (`--build`), its programs found, images loaded into the
//! nodes (`--images`) and the nodes' images checked against the suite's, then each ginkgo run
//! ([`suite`]), and on failure (or with `--keep-logs`) the cluster's logs exported beside ginkgo's
//! reports.

mod artifacts;
mod images;
mod suite;

use std::path::PathBuf;

use serde::Serialize;

use super::request::{Common, E2eRequest, ProgramsFrom};
use super::{export_logs, Steps, Timings};
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::kube::e2e::args::{self, Suite};
use crate::kube::e2e::programs::{self, Place, Programs};
use crate::kube::e2e::progress::Counts;

pub use images::ImagesView;
pub use suite::{said, RunOutcome};

/// Everything the steps of `e2e` share.
pub struct E2eContext<'a> {
    pub request: &'a E2eRequest,
    pub common: &'a Common,
    /// Opened to read (no lock: the suite only uses the cluster).
    pub cluster: Cluster,
}

/// What `e2e` did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct E2eOutcome {
    pub name: String,
    pub artifacts: PathBuf,
    /// ginkgo's whole output.
    pub log: PathBuf,
    pub images: Option<ImagesView>,
    pub runs: Vec<RunOutcome>,
    /// Where the cluster's logs were exported, if they were.
    pub logs: Option<PathBuf>,
    #[serde(skip)]
    pub timings: Timings,
}

impl E2eOutcome {
    /// The counts of every run, added up.
    pub fn counts(&self) -> Counts {
        self.runs.iter().fold(Counts::default(), |all, r| Counts {
            passed: all.passed + r.counts.passed,
            failed: all.failed + r.counts.failed,
            skipped: all.skipped + r.counts.skipped,
            pending: all.pending + r.counts.pending,
            flaked: all.flaked + r.counts.flaked,
        })
    }

    /// Why the suite did not pass, as the verb's error; None when every run passed.
    pub fn failure(&self) -> Option<Error> {
        let counts = self.counts();
        if self.runs.iter().any(|r| r.interrupted) {
            return Some(Error::E2eInterrupted {
                passed: counts.passed,
                failed: counts.failed,
                artifacts: self.artifacts.clone(),
            });
        }
        if self.runs.iter().all(|r| r.success) {
            return None;
        }
        let junit: Vec<String> = self
            .runs
            .iter()
            .map(|r| r.junit.display().to_string())
            .collect();
        if counts.failed > 0 {
            return Some(Error::SpecsFailed {
                failed: counts.failed,
                ran: counts.passed + counts.failed,
                junit: junit.join(", "),
                logs: self.logs.clone(),
                log: self.log.clone(),
            });
        }
        let why = self
            .runs
            .iter()
            .filter(|r| !r.success)
            .map(RunOutcome::why)
            .collect::<Vec<_>>()
            .join("; ");
        Some(Error::SuiteFailed {
            why,
            log: self.log.clone(),
        })
    }
}

/// The steps of `e2e`, in order.
pub fn e2e(ctx: &E2eContext) -> Result<E2eOutcome> {
    let request = ctx.request;
    let place = place(ctx);
    // Known before anything is done: where `--build` builds.
    let tree = match (request.build, place.tree()) {
        (false, _) => None,
        (true, Some(tree)) => Some(tree),
        (true, None) => {
            return Err(crate::kube::Error::NoTreeToBuild {
                cluster: ctx.cluster.name().to_string(),
                dir: ctx.cluster.require_initialized()?.binaries.dir.clone(),
            }
            .into())
        }
    };
    let mut steps = Steps::default();
    let mut out = steps.run("Preparing the artifacts directory", || {
        artifacts::prepare(&request.artifacts)
    })?;
    if let Some(tree) = &tree {
        steps.run("Building e2e.test, ginkgo and kubectl (make)", || {
            artifacts::build(tree, request.owner)
        })?;
    }
    let programs = steps.run("Finding e2e.test, ginkgo and kubectl", || {
        find_programs(ctx, &place)
    })?;
    if let Some(dir) = &request.images {
        steps.run("Loading the image archives into the nodes", || {
            images::load(ctx, dir)
        })?;
    }
    let images = steps.run("Checking the nodes for the suite's images", || {
        images::check(ctx, &programs)
    })?;
    let suite = suite_of(ctx, &programs, &place)?;
    let mut runs = vec![];
    for run in args::runs(&request.selection, request.parallel) {
        super::check_interrupted()?;
        let outcome = suite::run(&suite, &run, &mut out.log)?;
        let interrupted = outcome.interrupted;
        runs.push(outcome);
        if interrupted {
            break;
        }
    }
    let failed = runs.iter().any(|r| !r.success);
    let interrupted = runs.iter().any(|r| r.interrupted);
    let logs = if (failed || request.keep_logs) && !interrupted {
        Some(steps.run("Exporting the cluster's logs", || export(ctx, &out))?)
    } else {
        None
    };
    if let Some(owner) = request.owner {
        out.give_to(owner, logs.as_deref());
    }
    Ok(E2eOutcome {
        name: ctx.cluster.name().to_string(),
        artifacts: request.artifacts.clone(),
        log: out.log_path.clone(),
        images,
        runs,
        logs,
        timings: steps.timings,
    })
}

fn place(ctx: &E2eContext) -> Place {
    match &ctx.request.programs {
        ProgramsFrom::E2eBin(dir) => Place::Dir(dir.clone()),
        ProgramsFrom::Tree(root) => Place::Tree(root.clone()),
        ProgramsFrom::Cluster => Place::Cluster(
            ctx.cluster
                .phase()
                .binaries()
                .map(|b| b.dir.clone())
                .unwrap_or_default(),
        ),
    }
}

fn find_programs(ctx: &E2eContext, place: &Place) -> Result<Programs> {
    let binaries = &ctx.cluster.require_initialized()?.binaries;
    let found = programs::find(place, &binaries.path("kubectl"))?;
    let dir = found
        .e2e_test
        .parent()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let kubectl = if found.clusters_kubectl {
        format!("{} (the cluster's)", found.kubectl.display())
    } else {
        "beside them".to_owned()
    };
    kns_plumbing::say!("   e2e.test and ginkgo in {dir}; kubectl {kubectl}");
    if let Some(version) = crate::kube::e2e::version(&found.e2e_test) {
        if version != binaries.version {
            kns_plumbing::say!(
                "   note: e2e.test is {version}, cluster \"{}\" runs {}: specs of what changed \
                 between them may fail",
                ctx.cluster.name(),
                binaries.version
            );
        }
    }
    Ok(found)
}

fn suite_of(ctx: &E2eContext, programs: &Programs, place: &Place) -> Result<Suite> {
    let kubeconfig = ctx.cluster.paths.kubeconfig();
    if !kubeconfig.is_file() {
        return Err(Error::Request(format!(
            "cluster \"{}\" has no kubeconfig ({}): `kubeadm-nspawn init` makes it",
            ctx.cluster.name(),
            kubeconfig.display()
        )));
    }
    // Pods go to the workers; with none, to the (untainted) control planes.
    let workers = ctx.cluster.state.workers().count();
    let schedulable_nodes = if workers > 0 {
        workers
    } else {
        ctx.cluster.state.control_planes().count()
    };
    Ok(Suite {
        ginkgo: programs.ginkgo.clone(),
        e2e_test: programs.e2e_test.clone(),
        kubectl: programs.kubectl.clone(),
        kubeconfig,
        artifacts: ctx.request.artifacts.clone(),
        schedulable_nodes,
        repo_root: place.tree(),
        timeout: ctx.request.timeout,
        extra: ctx.request.extra.clone(),
    })
}

/// The cluster's logs, as `export logs` writes them, into ARTIFACTS/logs.
fn export(ctx: &E2eContext, out: &artifacts::Artifacts) -> Result<PathBuf> {
    let to = export_logs::Destination {
        dir: out.logs_dir(),
        archive: false,
        owner: None,
    };
    let exported = export_logs::export(
        ctx.cluster.name(),
        &ctx.cluster.paths,
        Some(&ctx.cluster),
        &to,
    )?;
    for m in &exported.missing {
        kns_plumbing::say!("   not collected: {m}");
    }
    Ok(exported.dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::e2e::progress::Failure;

    fn run(suffix: &str, passed: usize, failed: usize, code: i32) -> RunOutcome {
        RunOutcome {
            title: format!("conformance ({suffix} specs)"),
            command: vec![],
            success: code == 0,
            interrupted: false,
            exit_code: Some(code),
            counts: Counts {
                passed,
                failed,
                skipped: 7000,
                ..Counts::default()
            },
            summary: None,
            failures: vec![],
            suite_failures: vec![],
            junit: format!("/a/junit-{suffix}.xml").into(),
            report: format!("/a/ginkgo-report-{suffix}.json").into(),
            seconds: 1.0,
        }
    }

    fn outcome(runs: Vec<RunOutcome>, logs: Option<&str>) -> E2eOutcome {
        E2eOutcome {
            name: "dev".into(),
            artifacts: "/a".into(),
            log: "/a/e2e.log".into(),
            images: None,
            runs,
            logs: logs.map(PathBuf::from),
            timings: vec![],
        }
    }

    #[test]
    fn a_run_that_failed_fails_the_verb_naming_its_count_and_reports() {
        use kns_plumbing::report::Hint;
        let passed = outcome(
            vec![run("parallel", 300, 0, 0), run("serial", 40, 0, 0)],
            None,
        );
        assert!(passed.failure().is_none());
        assert_eq!(passed.counts().passed, 340);
        let failed = outcome(
            vec![run("parallel", 299, 1, 1), run("serial", 39, 1, 1)],
            Some("/a/logs"),
        );
        let error = failed.failure().unwrap();
        assert_eq!(
            error.to_string(),
            "2 of 340 e2e specs failed (junit: /a/junit-parallel.xml, /a/junit-serial.xml; the \
             cluster's logs: /a/logs)"
        );
        assert_eq!(
            error.hint().unwrap(),
            "each failure is in /a/e2e.log; run one again with --focus and its name"
        );
        // Either run failing fails the whole.
        let one = outcome(
            vec![run("parallel", 300, 0, 0), run("serial", 39, 1, 1)],
            None,
        );
        assert!(one.failure().unwrap().to_string().starts_with("1 of 340"));
    }

    #[test]
    fn a_suite_that_failed_without_a_failed_spec_says_why() {
        let mut before_suite = run("parallel", 0, 0, 1);
        before_suite.suite_failures = vec![Failure {
            state: "FAILED".into(),
            spec: "[SynchronizedBeforeSuite]".into(),
        }];
        let error = outcome(vec![before_suite], None).failure().unwrap();
        assert_eq!(
            error.to_string(),
            "the e2e suite failed with no failed spec: [SynchronizedBeforeSuite] [FAILED] \
             (ginkgo's output: /a/e2e.log)"
        );
        let mut interrupted = run("parallel", 3, 0, 1);
        interrupted.interrupted = true;
        let error = outcome(vec![interrupted], None).failure().unwrap();
        assert!(error.is_interrupted());
        assert_eq!(
            error.to_string(),
            "e2e interrupted by a signal after 3 passed and 0 failed specs (ginkgo's reports are \
             in /a)"
        );
    }
}
