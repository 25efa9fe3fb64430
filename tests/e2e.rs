//! `kubeadm-nspawn e2e` (#30) with the real suite: Kubernetes v1.28.7's e2e.test and ginkgo run
//! against a real cluster: focused specs (no image pulled), their reports
//! kept (the images they need beyond the nodes' own, agnhost and the suite's pause, are made here and
//! loaded with `--images`); bad requests refused in one line before anything runs. Needs KUBE_BIN, KUBE_EXTRA_BIN and
//! KUBE_E2E_BIN (e2e.test, ginkgo, agnhost; `../shared/kubernetes/unpack` sets all three).

use std::path::PathBuf;

use kns_integration_tests::cluster::{assert_ok, kube_dirs, warm_base, TestCluster};
use kns_integration_tests::workload::build_image;
use kns_integration_tests::{bin, privileged_test, run_ok, HostSnapshot};

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn one_error(out: &std::process::Output, expected: &str) {
    assert!(!out.status.success(), "{}", text(out));
    let said = text(out);
    let errors: Vec<&str> = said.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{said}");
    assert!(errors[0].contains(expected), "{expected:?}: {said}");
}

/// Specs of the conformance suite that need no image beyond pause and agnhost.
const FOCUS: &str = "should provide secure master service|\
    should validate PreferredVersion for each APIGroup|Pods should get a host IP";

#[test]
fn the_e2e_verb_runs_focused_specs_of_the_real_suite_and_keeps_its_reports() {
    let test = "the_e2e_verb_runs_focused_specs_of_the_real_suite_and_keeps_its_reports";
    privileged_test(test, |sweeper| {
        let Some((kube_bin, extra_bin)) = kube_dirs(test) else {
            return;
        };
        let Some(e2e_bin) = std::env::var_os("KUBE_E2E_BIN")
            .map(PathBuf::from)
            .filter(|d| d.join("e2e.test").exists())
        else {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "{test}: CI=true but KUBE_E2E_BIN is not set to a directory with e2e.test"
            );
            kns_integration_tests::skipped(&format!("{test}: set KUBE_E2E_BIN"));
            return;
        };
        warm_base();
        let c = TestCluster::new(sweeper);
        let artifacts = sweeper.workdir.join("artifacts");
        let e2e_bin_arg = e2e_bin.to_str().unwrap().to_owned();
        let e2e = |more: &[&str]| {
            let mut args = vec!["e2e", "--name", &c.name, "--e2e-bin", &e2e_bin_arg];
            args.extend(more);
            c.run(&args)
        };
        one_error(&e2e(&["--focus", FOCUS]), "no cluster");

        let before = HostSnapshot::take();
        assert_ok(&c.up(3, &[]), "up --nodes 3");
        assert_ok(
            &c.init_cmd(&kube_bin, &extra_bin, &["--wait", "4m"])
                .output()
                .unwrap(),
            "init",
        );
        // Refused before anything runs.
        one_error(&e2e(&[]), "--focus");
        assert!(!e2e(&["--focus", FOCUS, "--parallel", "0"]).status.success());
        assert!(!artifacts.exists());

        // agnhost, as the suite names it, made from its binary: nothing is pulled.
        let images = sweeper.workdir.join("images");
        std::fs::create_dir_all(&images).unwrap();
        build_image(
            "registry.k8s.io/e2e-test-images/agnhost:2.45",
            &[&format!("{}:/agnhost", e2e_bin.join("agnhost").display())],
            &["--entrypoint", "/agnhost"],
            &images.join("agnhost.tar"),
        );
        // The suite's pause (the nodes' own is kubeadm-nspawn.local/pause).
        run_ok(
            bin("image-pusher"),
            &[
                "pause",
                "--image",
                "registry.k8s.io/pause:3.9",
                "-o",
                images.join("pause.tar").to_str().unwrap(),
            ],
        );
        let started = std::time::Instant::now();
        let run = e2e(&[
            "--focus",
            FOCUS,
            "--images",
            images.to_str().unwrap(),
            "--artifacts",
            artifacts.to_str().unwrap(),
        ]);
        let said = text(&run);
        println!(
            "e2e of 3 specs: {:.1} s\n{said}",
            started.elapsed().as_secs_f64()
        );
        assert!(run.status.success(), "{said}");
        let junit = std::fs::read_to_string(artifacts.join("junit.xml")).unwrap();
        let passed = junit.matches("<testcase").count()
            - junit.matches("<skipped").count()
            - junit.matches("<failure").count();
        assert!(passed >= 3, "3 specs passed: {junit:.2000}");
        assert!(!junit.contains("<failure"), "{junit:.4000}");
        for file in ["ginkgo-report.json", "e2e.log"] {
            assert!(artifacts.join(file).exists(), "{file} kept");
        }
        assert!(said.contains("3 passed"), "the summary counts them: {said}");
        assert!(
            said.contains("warning: the nodes hold") && said.contains("missing: registry.k8s.io/"),
            "the suite's images the nodes lack are named before the run: {said}"
        );

        // A spec that fails (its kubectl is one that always fails): the suite's status, its
        // failure in the summary and the junit, and the cluster's logs kept beside them.
        let failing = sweeper.workdir.join("failing");
        let run = e2e(&[
            "--focus",
            "Kubectl api-versions should check if v1 is in available api versions",
            "--artifacts",
            failing.to_str().unwrap(),
            "--",
            "--kubectl-path=/bin/false",
        ]);
        let said = text(&run);
        println!("a failing spec:\n{said}");
        one_error(&run, "e2e specs failed");
        assert!(said.contains("1 failed"), "{said}");
        let junit = std::fs::read_to_string(failing.join("junit.xml")).unwrap();
        assert!(junit.contains("<failure"), "{junit:.4000}");
        let logs = failing.join("logs");
        assert!(
            std::fs::read_dir(&logs).is_ok_and(|mut d| d.next().is_some()),
            "the cluster's logs in {}",
            logs.display()
        );

        assert_ok(&c.run(&["down", "--name", &c.name]), "down");
        let left = HostSnapshot::take().added_since(&before);
        assert!(left.is_empty(), "left on the host: {left:?}");
    });
}
