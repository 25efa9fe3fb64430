//! `e2e`'s command line: which specs, from where, into which artifacts directory; its one
//! summary line and JSON line, and its exit status (the suite's).

use std::path::PathBuf;
use std::time::Duration;

use super::{parse_duration, steps_json, Global};
use crate::actions::e2e::E2eOutcome;
use crate::actions::request::{E2eRequest, ProgramsFrom};
use crate::error::Error;
use crate::kube::e2e::args::Selection;
use crate::kube::e2e::programs::{self, MAKE_WHAT};
use crate::model::names::ClusterName;

pub const LONG_ABOUT: &str = "Run Kubernetes' end-to-end suite (e2e.test under ginkgo) against a \
    running, initialized cluster: the test step of a Kubernetes developer's loop.\n\n\
    e2e.test and ginkgo come from --e2e-bin DIR, from a source tree's _output/bin or \
    _output/local/bin/linux/amd64 (--kube-root TREE; --build makes them there first), or from beside \
    the cluster's own binaries; kubectl from beside them, else the cluster's. Before the suite runs, \
    the nodes are asked which of its images they hold (a cluster made with --no-masquerade pulls \
    nothing: load them with --images DIR). ginkgo's reports (junit.xml, ginkgo-report.json) and its \
    whole output (e2e.log) go into the artifacts directory, and when a spec fails (or with \
    --keep-logs) the cluster's logs too, as `export logs` writes them (ARTIFACTS/logs). The exit \
    status is the suite's: 0 when every spec passed.";

pub const AFTER_HELP: &str = "Examples:\n  \
    sudo kubeadm-nspawn e2e --kube-root ~/k8s --focus 'Services should serve a basic endpoint from pods'\n  \
    sudo kubeadm-nspawn e2e --kube-root ~/k8s --build --focus 'sig-network.*Conformance' --parallel 2\n  \
    sudo kubeadm-nspawn e2e --e2e-bin ~/kubernetes/test/bin --conformance --images ~/e2e-images\n  \
    sudo kubeadm-nspawn e2e --focus 'Pods should be updated' -- --dump-logs-on-failure=false";

#[derive(clap::Args, Debug, Clone)]
pub struct E2eArgs {
    #[arg(long, default_value = "default")]
    pub name: String,
    /// A Kubernetes source tree: e2e.test, ginkgo and kubectl from its _output/bin or
    /// _output/local/bin/linux/amd64.
    #[arg(long, value_name = "TREE", conflicts_with = "e2e_bin")]
    pub kube_root: Option<PathBuf>,
    /// A directory holding e2e.test and ginkgo (and kubectl; without one the cluster's is used).
    #[arg(long, value_name = "DIR")]
    pub e2e_bin: Option<PathBuf>,
    /// Build them in the tree first (--kube-root, or the tree the cluster's binaries were built
    /// in), as the user behind sudo, its output shown.
    #[arg(long, conflicts_with = "e2e_bin", long_help = build_help())]
    pub build: bool,
    /// Run the specs whose name matches this regular expression (ginkgo --focus).
    #[arg(long, value_name = "REGEX")]
    pub focus: Option<String>,
    /// Leave out the specs whose name matches this regular expression (ginkgo --skip).
    #[arg(long, value_name = "REGEX")]
    pub skip: Option<String>,
    /// Run the specs whose labels match this expression (ginkgo --label-filter), e.g.
    /// 'Feature:SidecarContainers && !Serial'.
    #[arg(long, value_name = "EXPR")]
    pub label_filter: Option<String>,
    /// The conformance suite: its [Conformance] specs that are neither [Serial] nor [Disruptive]
    /// with --parallel processes, then its [Serial] ones with one; both runs' reports are kept
    /// (junit-parallel.xml, junit-serial.xml).
    #[arg(long, conflicts_with_all = ["focus", "label_filter"])]
    pub conformance: bool,
    /// ginkgo processes running specs at once; above 1, [Serial] specs are skipped (unless
    /// chosen by --label-filter, which then says it). 1 suits this project's 2-core machines.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub parallel: u32,
    /// Where the reports, ginkgo's output and (on failure) the cluster's logs go; what an
    /// earlier run wrote there is replaced.
    #[arg(
        long,
        value_name = "DIR",
        env = "ARTIFACTS",
        default_value = "_artifacts"
    )]
    pub artifacts: PathBuf,
    /// Load every image archive in DIR (*.tar, *.tar.gz, *.tgz: docker save or OCI tarballs) into
    /// the nodes first, as `load` does.
    #[arg(long, value_name = "DIR")]
    pub images: Option<PathBuf>,
    /// Export the cluster's logs into ARTIFACTS/logs even when every spec passed.
    #[arg(long)]
    pub keep_logs: bool,
    /// How long each ginkgo run may take (ginkgo --timeout; its own default, 1h, would end a
    /// conformance run on 2 cores midway).
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_duration)]
    pub timeout: Duration,
    /// More flags for e2e.test, after `--`.
    #[arg(last = true, value_name = "E2E.TEST FLAGS")]
    pub extra: Vec<String>,
}

fn build_help() -> String {
    format!(
        "Build them in the tree first: `make WHAT=\"{MAKE_WHAT}\"` in --kube-root TREE (or in the \
         tree the cluster's binaries were built in), run as the user behind sudo, its output shown."
    )
}

impl E2eArgs {
    /// The request, every value checked: nothing runs on bad input.
    pub fn request(&self) -> crate::Result<E2eRequest> {
        let name = ClusterName::new(&self.name)?;
        if self.parallel == 0 {
            return Err(bad(
                "--parallel 0: give how many ginkgo processes, 1 or more",
            ));
        }
        if self.timeout.is_zero() {
            return Err(bad("--timeout 0: give how long a run may take, like 2h"));
        }
        let programs = match (&self.kube_root, &self.e2e_bin) {
            (Some(root), _) if !programs::is_tree(root) => {
                return Err(crate::kube::Error::NotAnE2eTree(root.clone()).into())
            }
            (Some(root), _) => ProgramsFrom::Tree(absolute(root)?),
            (None, Some(dir)) if !dir.is_dir() => {
                return Err(bad(format!("--e2e-bin {}: not a directory", dir.display())))
            }
            (None, Some(dir)) => ProgramsFrom::E2eBin(absolute(dir)?),
            (None, None) => ProgramsFrom::Cluster,
        };
        if let Some(dir) = self.images.as_ref().filter(|d| !d.is_dir()) {
            return Err(bad(format!("--images {}: not a directory", dir.display())));
        }
        if self.artifacts.exists() && !self.artifacts.is_dir() {
            return Err(bad(format!(
                "--artifacts {}: not a directory",
                self.artifacts.display()
            )));
        }
        Ok(E2eRequest {
            name,
            programs,
            build: self.build,
            selection: self.selection()?,
            parallel: self.parallel,
            artifacts: absolute(&self.artifacts)?,
            images: self.images.as_ref().map(|d| absolute(d)).transpose()?,
            keep_logs: self.keep_logs,
            timeout: self.timeout,
            extra: self.extra.clone(),
            owner: crate::kube::kubeconfig::default_target().owner,
        })
    }

    fn selection(&self) -> crate::Result<Selection> {
        let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        let skip = given(&self.skip);
        if self.conformance {
            return Ok(Selection::Conformance { skip });
        }
        let (focus, label_filter) = (given(&self.focus), given(&self.label_filter));
        if focus.is_none() && label_filter.is_none() {
            return Err(bad(
                "say which specs to run: --focus REGEX, --label-filter EXPR or --conformance \
                 (`--focus .` is the whole suite: hours, and many of its specs need a cloud)",
            ));
        }
        Ok(Selection::Specs {
            focus,
            skip,
            label_filter,
        })
    }

    pub fn run(&self, global: &Global) -> crate::Result<i32> {
        let request = self.request()?;
        let started = std::time::Instant::now();
        let outcome = crate::verbs::e2e::run(&global.common(), &request)?;
        let seconds = started.elapsed().as_secs_f64();
        eprintln!("{}", summary(&outcome, seconds));
        let mut json = steps_json(&request.name, seconds, &outcome.timings);
        if let (Some(object), Ok(serde_json::Value::Object(fields))) =
            (json.as_object_mut(), serde_json::to_value(&outcome))
        {
            object.extend(fields);
        }
        println!("{json}");
        match outcome.failure() {
            Some(failure) => Err(failure),
            None => Ok(0),
        }
    }
}

fn bad(message: impl Into<String>) -> Error {
    Error::Request(message.into())
}

fn absolute(path: &std::path::Path) -> crate::Result<PathBuf> {
    std::path::absolute(path).map_err(|e| crate::host::error::Io::new("resolve", path, e).into())
}

/// The one line at the end: every run's counts, how long, where the artifacts are.
pub fn summary(outcome: &E2eOutcome, seconds: f64) -> String {
    let runs = match outcome.runs.len() {
        1 => String::new(),
        n => format!(" ({n} runs)"),
    };
    let logs = outcome
        .logs
        .as_ref()
        .map(|l| format!(", the cluster's logs in {}", l.display()))
        .unwrap_or_default();
    format!(
        "e2e of cluster \"{}\": {}{runs} in {}; artifacts in {}{logs}",
        outcome.name,
        crate::actions::e2e::said(outcome.counts()),
        took(seconds),
        outcome.artifacts.display()
    )
}

/// `42 s`, `5 min 12 s`, `1 h 40 min`.
fn took(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<E2eArgs, clap::Error> {
        let mut argv = vec!["kubeadm-nspawn", "e2e"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv)?.command {
            Command::E2e(args) => Ok(args),
            other => panic!("{other:?}"),
        }
    }

    fn request(args: &[&str]) -> crate::Result<E2eRequest> {
        parse(args).unwrap().request()
    }

    fn tree() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("test/e2e")).unwrap();
        root
    }

    #[test]
    fn a_focused_run_of_a_tree() {
        let root = tree();
        let tree = root.path().to_str().unwrap();
        let r = request(&[
            "--kube-root",
            tree,
            "--build",
            "--focus",
            "sig-network",
            "--artifacts",
            "/tmp/a",
            "--",
            "--dump-logs-on-failure=false",
        ])
        .unwrap();
        assert_eq!(r.programs, ProgramsFrom::Tree(root.path().into()));
        assert!(r.build);
        assert_eq!(
            r.selection,
            Selection::Specs {
                focus: Some("sig-network".into()),
                skip: None,
                label_filter: None
            }
        );
        assert_eq!((r.parallel, r.timeout), (1, Duration::from_secs(86400)));
        assert_eq!(r.artifacts, PathBuf::from("/tmp/a"));
        assert_eq!(r.extra, ["--dump-logs-on-failure=false"]);
        assert_eq!(r.name.as_str(), "default");
    }

    #[test]
    fn conformance_takes_a_skip_but_no_focus() {
        let r = request(&["--conformance", "--skip", "NodeConformance"]).unwrap();
        assert_eq!(
            r.selection,
            Selection::Conformance {
                skip: Some("NodeConformance".into())
            }
        );
        assert_eq!(r.programs, ProgramsFrom::Cluster);
        let err = parse(&["--conformance", "--focus", "x"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    /// Each bad input is one `error:` line, before anything runs.
    fn refused(args: &[&str]) -> String {
        let message = request(args).unwrap_err().to_string();
        assert_eq!(message.lines().count(), 1, "{message}");
        message
    }

    #[test]
    fn bad_input_is_refused_in_one_line_before_anything_runs() {
        assert_eq!(
            refused(&["--focus", "x", "--parallel", "0"]),
            "--parallel 0: give how many ginkgo processes, 1 or more"
        );
        let not_a_tree = tempfile::tempdir().unwrap();
        let dir = not_a_tree.path().display().to_string();
        assert_eq!(
            refused(&["--focus", "x", "--kube-root", &dir]),
            format!("--kube-root {dir}: not a Kubernetes source tree (no test/e2e)")
        );
        assert_eq!(
            refused(&["--focus", "x", "--e2e-bin", "/no/such/dir"]),
            "--e2e-bin /no/such/dir: not a directory"
        );
        assert_eq!(
            refused(&["--focus", "x", "--images", "/no/such/dir"]),
            "--images /no/such/dir: not a directory"
        );
        assert_eq!(
            refused(&["--focus", "x", "--timeout", "0"]),
            "--timeout 0: give how long a run may take, like 2h"
        );
        assert!(refused(&[]).starts_with("say which specs to run: --focus REGEX"));
        assert!(refused(&["--focus", ""]).starts_with("say which specs to run"));
        assert!(refused(&["--focus", "x", "--name", "Bad_Name"]).contains("Bad_Name"));
    }

    #[test]
    fn a_tree_and_a_directory_of_programs_are_refused_together() {
        for args in [
            &["--focus", "x", "--kube-root", "/k", "--e2e-bin", "/b"][..],
            &["--focus", "x", "--build", "--e2e-bin", "/b"][..],
        ] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
            let rendered = err.to_string();
            assert_eq!(
                rendered.lines().filter(|l| l.starts_with("error:")).count(),
                1,
                "{rendered}"
            );
        }
        let err = parse(&["--focus", "x", "--parallel", "two"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
    }

    #[test]
    fn the_summary_is_one_line_with_the_counts_and_the_artifacts() {
        let outcome = E2eOutcome {
            name: "dev".into(),
            artifacts: "/home/dev/k/_artifacts".into(),
            log: "/home/dev/k/_artifacts/e2e.log".into(),
            images: None,
            runs: vec![],
            logs: Some("/home/dev/k/_artifacts/logs".into()),
            timings: vec![],
        };
        assert_eq!(
            summary(&outcome, 312.2),
            "e2e of cluster \"dev\": 0 passed, 0 failed, 0 skipped (0 runs) in 5 min 12 s; \
             artifacts in /home/dev/k/_artifacts, the cluster's logs in /home/dev/k/_artifacts/logs"
        );
    }

    #[test]
    fn durations_are_said_for_people() {
        assert_eq!(took(42.4), "42 s");
        assert_eq!(took(312.0), "5 min 12 s");
        assert_eq!(took(6000.0), "1 h 40 min");
    }
}
