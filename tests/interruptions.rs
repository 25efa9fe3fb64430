//! Issue #28's tier: every verb that changes a cluster interrupted (SIGINT to its process group,
//! as a Ctrl-C is, and SIGKILL) at points chosen by the step lines it prints, then run again: the
//! job gets done, or exactly one `error:` line names the fix; two verbs at once on one cluster:
//! one waits or is refused; `down` during a long `up` or `init`: the verb ends within 10 s and
//! `down` leaves nothing. Needs KUBE_BIN and KUBE_EXTRA_BIN for the Kubernetes verbs.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kns_integration_tests::cluster::{assert_ok, kubernetes_test, TestCluster};
use kns_integration_tests::kubectl::Kubectl;
use kns_integration_tests::HostSnapshot;

/// What a verb printed and how it ended, once cut short.
struct Cut {
    status: std::process::ExitStatus,
    stderr: String,
    /// From the signal to the verb's exit.
    ended_in: Duration,
}

/// How a verb is cut short once `line` appears on its stderr.
enum Cutter<'a> {
    /// SIGINT or SIGKILL to its process group (a Ctrl-C is a SIGINT to the foreground group).
    Signal(libc::c_int),
    /// Another command run then (a `down` from a second terminal), to its end.
    Run(&'a dyn Fn() -> std::process::Output),
}

/// Runs `cmd` in a process group of its own, cuts it short as `cutter` says at the first stderr
/// line containing `line`, and collects the rest. Fails the test if the line never comes.
fn cut_at(mut cmd: Command, line: &str, cutter: Cutter) -> Cut {
    cmd.stderr(Stdio::piped())
        .stdout(Stdio::null())
        .process_group(0);
    let mut child = cmd.spawn().unwrap();
    let pid = child.id() as i32;
    let mut stderr = String::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut cut_at = None;
    for l in lines.by_ref().map_while(|l| l.ok()) {
        stderr.push_str(&l);
        stderr.push('\n');
        if l.contains(line) {
            cut_at = Some(Instant::now());
            break;
        }
    }
    assert!(cut_at.is_some(), "never printed {line:?}:\n{stderr}");
    match cutter {
        // SAFETY: kill(2) of the process group of the verb this test started.
        Cutter::Signal(signal) => unsafe {
            libc::kill(-pid, signal);
        },
        Cutter::Run(run) => {
            let handle = std::thread::scope(|s| {
                let rest = s.spawn(|| {
                    let mut more = String::new();
                    for l in lines.by_ref().map_while(|l| l.ok()) {
                        more.push_str(&l);
                        more.push('\n');
                    }
                    more
                });
                let out = run();
                (out, rest.join().unwrap())
            });
            let (out, more) = handle;
            assert_ok(&out, "the command run meanwhile");
            stderr.push_str(&more);
            let status = child.wait().unwrap();
            return Cut {
                status,
                stderr,
                ended_in: cut_at.unwrap().elapsed(),
            };
        }
    }
    for l in lines.map_while(|l| l.ok()) {
        stderr.push_str(&l);
        stderr.push('\n');
    }
    let status = child.wait().unwrap();
    Cut {
        status,
        stderr,
        ended_in: cut_at.unwrap().elapsed(),
    }
}

/// Exactly one `error:` line, with `expected` in it.
fn one_error(cut: &Cut, expected: &str) {
    assert!(!cut.status.success(), "it finished anyway:\n{}", cut.stderr);
    let errors: Vec<&str> = cut
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "one error line:\n{}", cut.stderr);
    assert!(
        errors[0].contains(expected),
        "{expected:?}:\n{}",
        cut.stderr
    );
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn list(c: &TestCluster) -> String {
    text(&c.run(&["list"]))
}

/// Every Kubernetes node Ready, by name, asked of the cluster's own kubeconfig.
fn assert_all_ready(c: &TestCluster, kube_bin: &Path, nodes: usize) {
    let kubectl = Kubectl::new(kube_bin, c.cluster_dir().join("kubeconfig"));
    let all: Vec<String> = (0..nodes).map(|i| c.node(i)).collect();
    assert_eq!(kubectl.ready_nodes(), all, "Ready nodes");
}

#[test]
fn every_verb_interrupted_or_killed_then_run_again_finishes_the_job() {
    let test = "every_verb_interrupted_or_killed_then_run_again_finishes_the_job";
    kubernetes_test(test, |sweeper, kube_bin, extra_bin| {
        let c = TestCluster::new(sweeper);
        let before = HostSnapshot::take();
        // What a verb leaves must be gone once it has exited (processes it killed included).
        let leaks = |what: &str, said: &str| {
            let left = HostSnapshot::take().added_since(&before);
            assert!(
                left.is_empty(),
                "{what} left on the host: {left:?}\nit said:\n{said}"
            );
        };
        let init = |c: &TestCluster| c.init_cmd(kube_bin, extra_bin, &["--wait", "4m"]);

        // up, Ctrl-C while the nodes start: it undoes itself, one error line, nothing left.
        let t = Instant::now();
        let cut = cut_at(
            c.up_cmd(2, &[]),
            "✓ Preparing the host's network",
            Cutter::Signal(libc::SIGINT),
        );
        one_error(&cut, "interrupted");
        leaks("an interrupted up", &cut.stderr);
        println!(
            "up interrupted: ended {:.1} s after the signal",
            cut.ended_in.as_secs_f64()
        );
        // up, killed once its nodes started: what it made is for `down` only.
        let cut = cut_at(
            c.up_cmd(2, &[]),
            "✓ Starting nodes",
            Cutter::Signal(libc::SIGKILL),
        );
        assert!(!cut.status.success());
        let refused = init(&c).output().unwrap();
        assert!(!refused.status.success(), "{}", text(&refused));
        assert!(
            text(&refused).contains("did not finish") && text(&refused).contains("down --name"),
            "{}",
            text(&refused)
        );
        let down = c.run(&["down", "--name", &c.name]);
        assert_ok(&down, "down of a killed up");
        leaks("down after a killed up", &text(&down));
        assert_ok(&c.up(2, &[]), "up again");
        println!("up cases: {:.1} s", t.elapsed().as_secs_f64());

        // init, Ctrl-C while it loads the first node; `list` says where it stopped; init again.
        let t = Instant::now();
        let cut = cut_at(
            init(&c),
            "✓ Setting up the pod network",
            Cutter::Signal(libc::SIGINT),
        );
        one_error(&cut, "interrupted");
        println!(
            "init interrupted: ended {:.1} s after the signal",
            cut.ended_in.as_secs_f64()
        );
        let listed = list(&c);
        assert!(listed.contains("init stopped at"), "{listed}");
        // init killed during kubeadm init.
        let again = cut_at(
            init(&c),
            "✓ Loading binaries and images into the first node",
            Cutter::Signal(libc::SIGKILL),
        );
        assert!(
            again.stderr.contains("an earlier init of cluster"),
            "{}",
            again.stderr
        );
        let done = init(&c).output().unwrap();
        assert_ok(&done, "init after an interrupted and a killed init");
        assert!(text(&done).contains("begins again"), "{}", text(&done));
        assert_all_ready(&c, kube_bin, 2);
        println!("init cases: {:.1} s", t.elapsed().as_secs_f64());

        // stop, Ctrl-C while the nodes power off: the stop is recorded as not finished, and
        // start finishes it before it starts the nodes, Ready again.
        let t = Instant::now();
        let mut stop = c.cmd(&["stop", "--name", &c.name]);
        stop.stderr(Stdio::piped())
            .stdout(Stdio::null())
            .process_group(0);
        let child = stop.spawn().unwrap();
        // Signalled once the stop is recorded (its handlers are installed by then), while the
        // nodes power off: a guessed delay raced a stop of 0.7 s in CI.
        let state = c.cluster_dir().join("state.json");
        let recorded = Instant::now();
        while !std::fs::read_to_string(&state).is_ok_and(|s| s.contains("\"stopping\"")) {
            assert!(
                recorded.elapsed() < Duration::from_secs(30),
                "stop never recorded itself in {}",
                state.display()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        // SAFETY: kill(2) of the process group of the `stop` this test started.
        unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) };
        let out = child.wait_with_output().unwrap();
        assert!(
            !out.status.success(),
            "stop finished anyway: {}",
            text(&out)
        );
        let listed = list(&c);
        assert!(listed.contains("[stopping]"), "{listed}");
        let start = c.run(&["start", "--name", &c.name, "--wait", "4m"]);
        assert_ok(&start, "start after an interrupted stop");
        assert!(
            text(&start).contains("Finishing the stop"),
            "{}",
            text(&start)
        );
        assert_all_ready(&c, kube_bin, 2);
        // start killed once the nodes started: start again waits for every node.
        assert_ok(&c.run(&["stop", "--name", &c.name]), "stop");
        let cut = cut_at(
            c.cmd(&["start", "--name", &c.name, "--wait", "4m"]),
            "✓ Starting nodes",
            Cutter::Signal(libc::SIGKILL),
        );
        assert!(!cut.status.success());
        assert_ok(
            &c.run(&["start", "--name", &c.name, "--wait", "4m"]),
            "start after a killed start",
        );
        assert_all_ready(&c, kube_bin, 2);
        let running = text(&c.run(&["start", "--name", &c.name]));
        assert!(running.contains("every one booted and Ready"), "{running}");
        println!("stop/start cases: {:.1} s", t.elapsed().as_secs_f64());

        // Two verbs at once: a second one refuses with --no-wait, naming the holder, or waits.
        let t = Instant::now();
        let mut stop = c.cmd(&["stop", "--name", &c.name]);
        stop.stderr(Stdio::piped()).stdout(Stdio::null());
        let stopping = stop.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(400));
        let refused = c.run(&["start", "--name", &c.name, "--no-wait"]);
        assert!(!refused.status.success(), "{}", text(&refused));
        assert!(
            text(&refused).contains("is busy: stop (pid"),
            "{}",
            text(&refused)
        );
        let waited = c.run(&["start", "--name", &c.name, "--wait", "4m"]);
        assert_ok(&stopping.wait_with_output().unwrap(), "stop");
        assert_ok(&waited, "start after waiting");
        assert!(
            text(&waited).contains("waiting for stop (pid"),
            "{}",
            text(&waited)
        );
        assert_all_ready(&c, kube_bin, 2);
        println!("two at once: {:.1} s", t.elapsed().as_secs_f64());

        // update, Ctrl-C while the new scheduler comes up: the previous one is put back; update
        // again does it.
        let t = Instant::now();
        let rebuilt = sweeper.workdir.join("rebuilt");
        std::fs::create_dir_all(&rebuilt).unwrap();
        for entry in std::fs::read_dir(kube_bin).unwrap() {
            let entry = entry.unwrap();
            std::os::unix::fs::symlink(entry.path(), rebuilt.join(entry.file_name())).unwrap();
        }
        let scheduler = rebuilt.join("kube-scheduler");
        std::fs::remove_file(&scheduler).unwrap();
        std::fs::copy(kube_bin.join("kube-scheduler"), &scheduler).unwrap();
        // Bytes after an ELF's end: another fingerprint, the same program.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&scheduler)
            .unwrap();
        std::io::Write::write_all(&mut f, b"rebuilt").unwrap();
        drop(f);
        let update = || {
            c.cmd(&[
                "update",
                "--name",
                &c.name,
                "--kube-bin",
                rebuilt.to_str().unwrap(),
                "--only",
                "kube-scheduler",
            ])
        };
        let cut = cut_at(update(), "rewritten; waiting", Cutter::Signal(libc::SIGINT));
        one_error(&cut, "interrupted");
        assert!(cut.stderr.contains("put back"), "{}", cut.stderr);
        let done = update().output().unwrap();
        assert_ok(&done, "update after an interrupted one");
        assert!(text(&done).contains("kube-scheduler"), "{}", text(&done));
        assert_all_ready(&c, kube_bin, 2);
        println!("update cases: {:.1} s", t.elapsed().as_secs_f64());

        let down = c.run(&["down", "--name", &c.name]);
        assert_ok(&down, "down");
        leaks("the cluster", &text(&down));
    });
}

#[test]
fn down_ends_a_long_up_or_init_within_ten_seconds_and_leaves_nothing() {
    let test = "down_ends_a_long_up_or_init_within_ten_seconds_and_leaves_nothing";
    kubernetes_test(test, |sweeper, kube_bin, extra_bin| {
        let c = TestCluster::new(sweeper);
        let before = HostSnapshot::take();
        let down = || c.run(&["down", "--name", &c.name]);

        // The verb ended within 10 s of `down`, failing, and `down` left nothing.
        let ended_by_down = |verb: &str, cut: Cut| {
            assert!(
                !cut.status.success(),
                "{verb} finished anyway:\n{}",
                cut.stderr
            );
            assert!(
                cut.ended_in < Duration::from_secs(10),
                "{verb} ended in {:?}",
                cut.ended_in
            );
            println!(
                "down during {verb}: {verb} ended in {:.1} s",
                cut.ended_in.as_secs_f64()
            );
            let left = HostSnapshot::take().added_since(&before);
            assert!(left.is_empty(), "down during {verb} left {left:?}");
        };

        let cut = cut_at(
            c.up_cmd(2, &[]),
            "✓ Preparing node root filesystems",
            Cutter::Run(&down),
        );
        ended_by_down("up", cut);

        assert_ok(&c.up(2, &[]), "up");
        let init = c.init_cmd(kube_bin, extra_bin, &[]);
        let cut = cut_at(init, "✓ Setting up the pod network", Cutter::Run(&down));
        ended_by_down("init", cut);
    });
}
