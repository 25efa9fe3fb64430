//! The ginkgo command lines of a request: which runs (one, or conformance's parallel and serial
//! ones), each one's filters and reports, and the flags e2e.test gets — as kind's
//! `hack/ci/e2e-k8s.sh` runs the suite (`--provider=skeleton`, `--num-nodes`, `--report-dir`,
//! `--disable-log-dump`, `\[Serial\]` skipped in parallel runs, the runtime in the environment),
//! with the cluster's kubeconfig and kubectl instead of a kind cluster's.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The runtime endpoint of every node (the kubelet's).
pub const RUNTIME_ENDPOINT: &str = "unix:///run/containerd/containerd.sock";

/// `\[Conformance\]`: what conformance focuses on.
pub const CONFORMANCE: &str = r"\[Conformance\]";
const SERIAL: &str = r"\[Serial\]";
const DISRUPTIVE: &str = r"\[Disruptive\]";

/// Which specs a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// `--focus`, `--skip`, `--label-filter` as given (at least one of focus and label filter).
    Specs {
        focus: Option<String>,
        skip: Option<String>,
        label_filter: Option<String>,
    },
    /// `--conformance`, with the user's `--skip` if any.
    Conformance { skip: Option<String> },
}

/// One ginkgo run of the suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// What it is, for progress lines (`e2e`, `conformance (parallel)`).
    pub title: String,
    /// Its reports' names get `-<suffix>` (None: `junit.xml`, `ginkgo-report.json`).
    pub suffix: Option<&'static str>,
    pub focus: Option<String>,
    pub skip: Option<String>,
    pub label_filter: Option<String>,
    /// ginkgo's parallel processes.
    pub processes: u32,
}

impl Run {
    /// The junit file ginkgo writes in the output directory.
    pub fn junit(&self) -> String {
        self.named("junit", "xml")
    }

    /// ginkgo's JSON report, in the output directory.
    pub fn json_report(&self) -> String {
        self.named("ginkgo-report", "json")
    }

    fn named(&self, stem: &str, extension: &str) -> String {
        match self.suffix {
            Some(suffix) => format!("{stem}-{suffix}.{extension}"),
            None => format!("{stem}.{extension}"),
        }
    }
}

/// `a|b` of the patterns given.
fn any_of(patterns: &[Option<&str>]) -> Option<String> {
    let given: Vec<&str> = patterns.iter().flatten().copied().collect();
    (!given.is_empty()).then(|| given.join("|"))
}

/// The runs `selection` takes with `processes` parallel ginkgo processes. Parallel runs skip
/// `\[Serial\]` (unless specs are chosen by label, which then says it, as in kind's script);
/// conformance is its parallel specs with `processes`, then its serial ones with one.
pub fn runs(selection: &Selection, processes: u32) -> Vec<Run> {
    match selection {
        Selection::Specs {
            focus,
            skip,
            label_filter,
        } => {
            let serial = (processes > 1 && label_filter.is_none()).then_some(SERIAL);
            vec![Run {
                title: "e2e".into(),
                suffix: None,
                focus: focus.clone(),
                skip: any_of(&[serial, skip.as_deref()]),
                label_filter: label_filter.clone(),
                processes,
            }]
        }
        Selection::Conformance { skip } => vec![
            Run {
                title: "conformance (parallel specs)".into(),
                suffix: Some("parallel"),
                focus: Some(CONFORMANCE.into()),
                skip: any_of(&[Some(SERIAL), Some(DISRUPTIVE), skip.as_deref()]),
                label_filter: None,
                processes,
            },
            Run {
                title: "conformance (serial specs)".into(),
                suffix: Some("serial"),
                focus: Some(format!(r"{SERIAL}.*{CONFORMANCE}")),
                skip: skip.clone(),
                label_filter: None,
                processes: 1,
            },
        ],
    }
}

/// Everything a run's command line is made of besides the run itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    pub ginkgo: PathBuf,
    pub e2e_test: PathBuf,
    pub kubectl: PathBuf,
    /// The cluster's own kubeconfig (admin, the API as the host reaches it).
    pub kubeconfig: PathBuf,
    pub artifacts: PathBuf,
    /// The nodes pods are scheduled to (the workers; the control planes when there are none).
    pub schedulable_nodes: usize,
    /// The source tree the programs were built in, for the specs that read files of it.
    pub repo_root: Option<PathBuf>,
    /// ginkgo's `--timeout`, for each run.
    pub timeout: Duration,
    /// After `--`: more flags for e2e.test.
    pub extra: Vec<String>,
}

fn flag(name: &str, value: impl std::fmt::Display) -> String {
    format!("--{name}={value}")
}

fn path_flag(name: &str, path: &Path) -> String {
    flag(name, path.display())
}

/// `ginkgo [ginkgo's flags] E2E_TEST -- [e2e.test's flags]`, the program first.
pub fn command_line(suite: &Suite, run: &Run) -> Vec<String> {
    let mut argv = vec![
        suite.ginkgo.display().to_string(),
        flag("nodes", run.processes),
    ];
    for (name, value) in [
        ("focus", &run.focus),
        ("skip", &run.skip),
        ("label-filter", &run.label_filter),
    ] {
        if let Some(value) = value {
            argv.push(flag(name, value));
        }
    }
    argv.extend([
        // Go's duration syntax.
        flag("timeout", format!("{}s", suite.timeout.as_secs())),
        "--no-color".into(),
        path_flag("output-dir", &suite.artifacts),
        flag("json-report", run.json_report()),
        flag("junit-report", run.junit()),
        suite.e2e_test.display().to_string(),
        "--".into(),
        path_flag("kubeconfig", &suite.kubeconfig),
        flag("provider", "skeleton"),
        flag("num-nodes", suite.schedulable_nodes),
        path_flag("report-dir", &suite.artifacts),
        path_flag("kubectl-path", &suite.kubectl),
        flag("container-runtime-endpoint", RUNTIME_ENDPOINT),
        // The skeleton provider has no way to gather the nodes' logs: `export logs` does.
        flag("disable-log-dump", true),
    ]);
    if let Some(suffix) = run.suffix {
        // e2e.test's own files in the report directory, apart per run.
        argv.push(flag("report-prefix", suffix));
    }
    if let Some(root) = &suite.repo_root {
        argv.push(path_flag("repo-root", root));
    }
    argv.extend(suite.extra.iter().cloned());
    argv
}

/// The environment of every run, as kind's script sets it: no provider setup, the runtime the
/// RuntimeClass specs look for, and the cluster's kubeconfig for anything that reads
/// `$KUBECONFIG`.
pub fn environment(suite: &Suite) -> Vec<(&'static str, String)> {
    vec![
        ("KUBECONFIG", suite.kubeconfig.display().to_string()),
        ("KUBERNETES_CONFORMANCE_TEST", "y".into()),
        ("KUBE_CONTAINER_RUNTIME", "remote".into()),
        ("KUBE_CONTAINER_RUNTIME_ENDPOINT", RUNTIME_ENDPOINT.into()),
        ("KUBE_CONTAINER_RUNTIME_NAME", "containerd".into()),
    ]
}

/// `argv` as a shell would read it back (single quotes where needed), to show and to copy.
pub fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_=/.,:@+%".contains(c));
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite() -> Suite {
        Suite {
            ginkgo: "/k/_output/bin/ginkgo".into(),
            e2e_test: "/k/_output/bin/e2e.test".into(),
            kubectl: "/k/_output/bin/kubectl".into(),
            kubeconfig: "/var/lib/kubeadm-nspawn/clusters/dev/kubeconfig".into(),
            artifacts: "/home/dev/k/_artifacts".into(),
            schedulable_nodes: 2,
            repo_root: Some("/k".into()),
            timeout: Duration::from_secs(24 * 3600),
            extra: vec![],
        }
    }

    fn focus(focus: &str) -> Selection {
        Selection::Specs {
            focus: Some(focus.into()),
            skip: None,
            label_filter: None,
        }
    }

    #[test]
    fn one_focused_spec_makes_this_command_line() {
        let runs = runs(&focus(r"should serve a basic endpoint from pods"), 1);
        assert_eq!(runs.len(), 1);
        let argv = command_line(&suite(), &runs[0]);
        assert_eq!(
            argv,
            [
                "/k/_output/bin/ginkgo",
                "--nodes=1",
                "--focus=should serve a basic endpoint from pods",
                "--timeout=86400s",
                "--no-color",
                "--output-dir=/home/dev/k/_artifacts",
                "--json-report=ginkgo-report.json",
                "--junit-report=junit.xml",
                "/k/_output/bin/e2e.test",
                "--",
                "--kubeconfig=/var/lib/kubeadm-nspawn/clusters/dev/kubeconfig",
                "--provider=skeleton",
                "--num-nodes=2",
                "--report-dir=/home/dev/k/_artifacts",
                "--kubectl-path=/k/_output/bin/kubectl",
                "--container-runtime-endpoint=unix:///run/containerd/containerd.sock",
                "--disable-log-dump=true",
                "--repo-root=/k",
            ]
        );
    }

    #[test]
    fn parallel_runs_skip_serial_specs_unless_chosen_by_label() {
        let with_skip = Selection::Specs {
            focus: Some("sig-network".into()),
            skip: Some("IPv6".into()),
            label_filter: None,
        };
        let run = &runs(&with_skip, 2)[0];
        assert_eq!(run.skip.as_deref(), Some(r"\[Serial\]|IPv6"));
        assert_eq!(run.processes, 2);
        assert_eq!(runs(&with_skip, 1)[0].skip.as_deref(), Some("IPv6"));
        let by_label = Selection::Specs {
            focus: None,
            skip: None,
            label_filter: Some("Feature:SidecarContainers && !Serial".into()),
        };
        let run = &runs(&by_label, 2)[0];
        assert_eq!(run.skip, None);
        let argv = command_line(&suite(), run);
        assert!(argv.contains(&"--label-filter=Feature:SidecarContainers && !Serial".into()));
        assert!(!argv.iter().any(|a| a.starts_with("--focus")));
    }

    #[test]
    fn conformance_is_a_parallel_run_then_a_serial_one_with_reports_apart() {
        let runs = runs(
            &Selection::Conformance {
                skip: Some("NodeConformance".into()),
            },
            2,
        );
        assert_eq!(runs.len(), 2);
        let (parallel, serial) = (&runs[0], &runs[1]);
        assert_eq!(parallel.focus.as_deref(), Some(r"\[Conformance\]"));
        assert_eq!(
            parallel.skip.as_deref(),
            Some(r"\[Serial\]|\[Disruptive\]|NodeConformance")
        );
        assert_eq!(parallel.processes, 2);
        assert_eq!(
            serial.focus.as_deref(),
            Some(r"\[Serial\].*\[Conformance\]")
        );
        assert_eq!(serial.skip.as_deref(), Some("NodeConformance"));
        assert_eq!(serial.processes, 1);
        assert_eq!(
            (parallel.junit(), serial.junit()),
            ("junit-parallel.xml".into(), "junit-serial.xml".into())
        );
        let argv = command_line(&suite(), serial);
        for expected in [
            "--json-report=ginkgo-report-serial.json",
            "--junit-report=junit-serial.xml",
            "--report-prefix=serial",
            "--nodes=1",
        ] {
            assert!(argv.contains(&expected.to_string()), "{expected}: {argv:?}");
        }
    }

    #[test]
    fn extra_flags_go_to_e2e_test_last() {
        let mut suite = suite();
        suite.extra = vec!["--dump-logs-on-failure=false".into()];
        suite.repo_root = None;
        let argv = command_line(&suite, &runs(&focus("x"), 1)[0]);
        assert_eq!(argv.last().unwrap(), "--dump-logs-on-failure=false");
        let dashes = argv.iter().position(|a| a == "--").unwrap();
        assert_eq!(argv[dashes - 1], "/k/_output/bin/e2e.test");
        assert!(!argv.iter().any(|a| a.starts_with("--repo-root")));
    }

    #[test]
    fn command_lines_are_shown_as_a_shell_reads_them() {
        let argv: Vec<String> = ["ginkgo", r"--focus=\[Conformance\]", "--skip=a b", "it's"]
            .map(String::from)
            .into();
        assert_eq!(
            shell_words(&argv),
            r"ginkgo '--focus=\[Conformance\]' '--skip=a b' 'it'\''s'"
        );
    }

    #[test]
    fn the_environment_names_the_runtime_and_the_kubeconfig() {
        let env = environment(&suite());
        assert!(env.contains(&("KUBERNETES_CONFORMANCE_TEST", "y".into())));
        assert!(env.contains(&(
            "KUBECONFIG",
            "/var/lib/kubeadm-nspawn/clusters/dev/kubeconfig".into()
        )));
    }
}
