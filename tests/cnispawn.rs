//! Privileged integration tests of cnispawn with Debian's real CNI plugins (/usr/lib/cni): real
//! network namespaces, a real bridge, host-local IPAM. Each test works under a unique `knst` prefix,
//! sweeps it on drop and checks the host for leaks.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use kns_integration_tests::{bin, privileged_test, LeakCheck, PrefixSweeper};
use serde_json::{json, Value};

/// A test network: a conflist on a bridge named after the test's prefix, with its own /24. `index`
/// tells apart the networks of one test.
struct TestNet {
    prefix: String,
    workdir: PathBuf,
    name: String,
    bridge: String,
    subnet_base: String,
    conf_dir: PathBuf,
}

impl TestNet {
    fn new(sweeper: &PrefixSweeper, cni_version: &str, index: u8) -> Self {
        let prefix = sweeper.prefix.clone();
        // A /24 chosen from the prefix inside 10.251.0.0/16, which nothing else here uses.
        let octet = u8::from_str_radix(&prefix[prefix.len() - 2..], 16)
            .unwrap()
            .wrapping_add(index);
        let net = TestNet {
            name: format!("{prefix}n{index}"),
            bridge: format!("{prefix}b{index}"),
            subnet_base: format!("10.251.{octet}"),
            conf_dir: sweeper.workdir.join(format!("net{index}.d")),
            workdir: sweeper.workdir.clone(),
            prefix,
        };
        net.write_conf(
            "10-test.conflist",
            json!({
                "cniVersion": cni_version,
                "name": net.name,
                "plugins": [
                    {
                        "type": "bridge", "bridge": net.bridge, "isGateway": true, "ipMasq": false,
                        "ipam": {"type": "host-local", "ranges": [[{"subnet": net.subnet()}]]}
                    },
                    {"type": "portmap", "capabilities": {"portMappings": true}},
                    {"type": "loopback"}
                ]
            }),
        );
        net
    }

    fn subnet(&self) -> String {
        format!("{}.0/24", self.subnet_base)
    }

    fn netns(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.prefix)
    }

    fn write_conf(&self, file: &str, conf: Value) -> PathBuf {
        std::fs::create_dir_all(&self.conf_dir).unwrap();
        let path = self.conf_dir.join(file);
        std::fs::write(&path, conf.to_string()).unwrap();
        path
    }

    fn cnispawn(&self, args: &[&str]) -> Output {
        self.cnispawn_cmd(args).output().unwrap()
    }

    fn cnispawn_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin("cnispawn"));
        cmd.args(args).stdin(Stdio::null());
        cmd
    }

    fn add(&self, netns: &str) -> Value {
        let conf_dir = self.conf_dir.to_str().unwrap();
        let out = self.cnispawn(&["add", "--netns", netns, "--cni-conf-dir", conf_dir]);
        assert_success(&out, "cnispawn add");
        first_json_line(&out)
    }

    fn del(&self, netns: &str) -> Value {
        let out = self.cnispawn(&["del", "--netns", netns]);
        assert_success(&out, "cnispawn del");
        first_json_line(&out)
    }

    /// IP addresses host-local still holds for this network.
    fn reservations(&self) -> Vec<String> {
        std::fs::read_dir(format!("/var/lib/cni/networks/{}", self.name))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|f| f.starts_with(&self.subnet_base))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Leaks other than the bridge and host-local's bookkeeping files, which outlive every
    /// attachment by the plugins' design (the sweeper removes them).
    fn attachment_leaks(&self, leak: &LeakCheck) -> Vec<String> {
        leak.leaks()
            .into_iter()
            .filter(|l| *l != format!("link {}", self.bridge))
            .filter(|l| *l != format!("ipam-network {}", self.name))
            .filter(|l| {
                !(l.contains(&format!("/var/lib/cni/networks/{}/", self.name))
                    && (l.ends_with("/lock") || l.contains("/last_reserved_ip")))
            })
            .collect()
    }
}

fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn first_json_line(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().next().expect("a JSON line on stdout");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

/// Asserts a clean failure: non-zero exit, nothing on stdout, one `error:` line on stderr that
/// contains `expected`.
fn assert_clean_failure(out: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "expected a failure, stderr: {stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(stderr.lines().count(), 1, "one line expected: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains(expected),
        "expected {expected:?} in: {stderr}"
    );
}

fn ping(from_netns: &str, to: &str) -> bool {
    Command::new("ip")
        .args([
            "netns", "exec", from_netns, "ping", "-c", "1", "-W", "2", to,
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success()
}

fn ip_of(attachment: &Value) -> String {
    let cidr = attachment["address"]
        .as_str()
        .expect("address in the JSON line");
    cidr.split('/').next().unwrap().to_owned()
}

#[test]
fn two_namespaces_on_one_bridge_ping_each_other_and_del_leaves_nothing() {
    privileged_test(
        "two_namespaces_on_one_bridge_ping_each_other_and_del_leaves_nothing",
        |sweeper| {
            for (index, version) in ["0.4.0", "1.0.0"].into_iter().enumerate() {
                // Per network: the first one's bridge is still there while the second one runs.
                let leak = LeakCheck::start();
                let net = TestNet::new(sweeper, version, index as u8);
                let (a, b) = (net.netns("a"), net.netns("b"));
                let att_a = net.add(&a);
                let att_b = net.add(&b);
                assert_eq!(att_a["cniVersion"], version);
                assert_eq!(att_a["netnsPath"], format!("/run/netns/{a}"));
                assert_eq!(att_a["network"], net.name.as_str());
                let (ip_a, ip_b) = (ip_of(&att_a), ip_of(&att_b));
                assert!(ip_a.starts_with(&net.subnet_base), "{att_a}");
                assert_ne!(ip_a, ip_b);
                assert!(ping(&a, &ip_b), "{a} cannot ping {ip_b} ({version})");
                assert!(ping(&b, &ip_a), "{b} cannot ping {ip_a} ({version})");
                assert_eq!(net.reservations().len(), 2);

                assert_eq!(
                    net.del(&a),
                    json!({"netns": a, "cniDeleted": true, "netnsRemoved": true})
                );
                assert_eq!(net.del(&b)["netnsRemoved"], true);
                // Idempotent: a second del finds nothing and succeeds.
                assert_eq!(
                    net.del(&b),
                    json!({"netns": b, "cniDeleted": false, "netnsRemoved": false})
                );
                assert!(
                    net.reservations().is_empty(),
                    "IPAM reservations left: {:?}",
                    net.reservations()
                );
                let leaks = net.attachment_leaks(&leak);
                assert!(leaks.is_empty(), "del left behind ({version}): {leaks:?}");
            }
        },
    );
}

#[test]
fn run_form_prints_the_result_then_execs_inside_the_namespace() {
    privileged_test(
        "run_form_prints_the_result_then_execs_inside_the_namespace",
        |sweeper| {
            let leak = LeakCheck::start();
            let net = TestNet::new(sweeper, "1.0.0", 0);
            let ns = net.netns("run");
            let conf_dir = net.conf_dir.to_str().unwrap();
            let out = net
                .cnispawn_cmd(&["--netns", &ns, "--cni-conf-dir", conf_dir, "--", "sh", "-c"])
                .arg("ip -o -4 addr show dev eth0; echo \"var=$KNST_PASSED\"")
                .env("KNST_PASSED", "through")
                .output()
                .unwrap();
            assert_success(&out, "cnispawn -- sh");
            let attachment = first_json_line(&out);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let rest: Vec<&str> = stdout.lines().skip(1).collect();
            assert!(
                rest[0].contains(&format!("inet {}", attachment["address"].as_str().unwrap())),
                "`ip addr` in the namespace does not show the CNI address: {stdout}"
            );
            assert_eq!(rest[1], "var=through", "environment not passed through");
            // The namespace outlives the command, for the next command or for `del`.
            assert!(PathBuf::from(format!("/run/netns/{ns}")).exists());
            net.del(&ns);
            assert!(net.attachment_leaks(&leak).is_empty());
        },
    );
}

#[test]
fn a_command_that_cannot_run_undoes_everything() {
    privileged_test("a_command_that_cannot_run_undoes_everything", |sweeper| {
        let leak = LeakCheck::start();
        let net = TestNet::new(sweeper, "1.0.0", 0);
        let ns = net.netns("x");
        let conf_dir = net.conf_dir.to_str().unwrap();
        let out = net.cnispawn(&[
            "--netns",
            &ns,
            "--cni-conf-dir",
            conf_dir,
            "--",
            "/nonexistent/cmd",
        ]);
        // The JSON line was printed before exec was tried; the error follows on stderr.
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with("error: cannot run `/nonexistent/cmd`"),
            "{stderr}"
        );
        assert!(
            net.attachment_leaks(&leak).is_empty(),
            "{:?}",
            net.attachment_leaks(&leak)
        );
        assert!(net.reservations().is_empty());
    });
}

#[test]
fn failing_plugins_give_a_clear_error_and_leave_nothing() {
    privileged_test(
        "failing_plugins_give_a_clear_error_and_leave_nothing",
        |sweeper| {
            let leak = LeakCheck::start();
            let net = TestNet::new(sweeper, "1.0.0", 0);
            let bridge =
                |ipam: Value| json!({"type": "bridge", "bridge": net.bridge, "ipam": ipam});
            let host_local = json!({"type": "host-local", "ranges": [[{"subnet": net.subnet()}]]});
            let cases = [
                (
                    "unknown-type",
                    json!([{"type": "knst-no-such-plugin"}]),
                    "CNI plugin \"knst-no-such-plugin\" not found in /usr/lib/cni:/opt/cni/bin",
                ),
                (
                    "bad-subnet",
                    json!([bridge(
                        json!({"type": "host-local", "ranges": [[{"subnet": "10.251.0.0/33"}]]})
                    )]),
                    "CNI plugin \"bridge\" ADD failed: ",
                ),
                (
                    // The bridge succeeds, then tuning fails on a sysctl that does not exist: the bridge's
                    // veth and IP must be deleted again.
                    "second-fails",
                    json!([bridge(host_local), {"type": "tuning", "sysctl": {"net.ipv4.conf.eth0.knst_bogus": "1"}}]),
                    "CNI plugin \"tuning\" ADD failed: ",
                ),
            ];
            for (case, plugins, expected) in cases {
                let conf = net.write_conf(
                    &format!("{case}.conflist"),
                    json!({"cniVersion": "1.0.0", "name": net.name, "plugins": plugins}),
                );
                let ns = net.netns(case);
                let out =
                    net.cnispawn(&["add", "--netns", &ns, "--cni-conf", conf.to_str().unwrap()]);
                assert_clean_failure(&out, expected);
                assert!(
                    !PathBuf::from(format!("/run/netns/{ns}")).exists(),
                    "{case}: netns left"
                );
                assert!(net.reservations().is_empty(), "{case}: IP left reserved");
                let leaks = net.attachment_leaks(&leak);
                assert!(leaks.is_empty(), "{case} left: {leaks:?}");
            }
        },
    );
}

#[test]
fn bad_input_fails_cleanly() {
    privileged_test("bad_input_fails_cleanly", |sweeper| {
        let leak = LeakCheck::start();
        let net = TestNet::new(sweeper, "1.0.0", 0);
        let ns = net.netns("bad");
        let malformed = net.workdir.join("malformed");
        std::fs::create_dir_all(&malformed).unwrap();
        std::fs::write(
            malformed.join("10-x.conflist"),
            "{\"cniVersion\": \"1.0.0\", ",
        )
        .unwrap();
        let empty = net.workdir.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let no_plugins_here = net.workdir.join("no-plugins");
        std::fs::create_dir_all(&no_plugins_here).unwrap();
        let conf_dir = net.conf_dir.to_str().unwrap();

        let cases: Vec<(Vec<&str>, &str)> = vec![
            (
                vec!["--cni-conf-dir", malformed.to_str().unwrap()],
                "10-x.conflist: not valid JSON",
            ),
            (
                vec!["--cni-conf-dir", empty.to_str().unwrap()],
                "no CNI network config",
            ),
            (
                vec![
                    "--cni-conf-dir",
                    conf_dir,
                    "--cni-path",
                    no_plugins_here.to_str().unwrap(),
                ],
                "CNI plugin \"bridge\" not found in",
            ),
            (
                vec!["--cni-conf", "/nonexistent/knst.conflist"],
                "read /nonexistent/knst.conflist",
            ),
            (
                vec!["--cni-conf-dir", conf_dir, "--cni-args", "novalue"],
                "invalid --cni-args",
            ),
        ];
        for (args, expected) in &cases {
            let mut all = vec!["add", "--netns", &ns];
            all.extend(args);
            assert_clean_failure(&net.cnispawn(&all), expected);
        }
        for bad_name in ["a/b", "..", "../etc", ".", ""] {
            let out = net.cnispawn(&["add", "--netns", bad_name, "--cni-conf-dir", conf_dir]);
            assert_clean_failure(&out, "invalid network namespace name");
            let out = net.cnispawn(&["del", "--netns", bad_name]);
            assert_clean_failure(&out, "invalid network namespace name");
        }
        // An existing name is refused and left alone.
        net.add(&ns);
        let out = net.cnispawn(&["add", "--netns", &ns, "--cni-conf-dir", conf_dir]);
        assert_clean_failure(&out, "already exists");
        assert!(PathBuf::from(format!("/run/netns/{ns}")).exists());
        net.del(&ns);
        assert!(
            net.attachment_leaks(&leak).is_empty(),
            "{:?}",
            net.attachment_leaks(&leak)
        );
    });
}

#[test]
fn a_single_plugin_conf_file_works_too() {
    privileged_test("a_single_plugin_conf_file_works_too", |sweeper| {
        let leak = LeakCheck::start();
        let net = TestNet::new(sweeper, "0.4.0", 0);
        let conf = net.write_conf(
            "single.conf",
            json!({
                "cniVersion": "0.4.0", "name": net.name, "type": "bridge", "bridge": net.bridge,
                "ipam": {"type": "host-local", "subnet": net.subnet()}
            }),
        );
        let ns = net.netns("one");
        let out = net.cnispawn(&["add", "--netns", &ns, "--cni-conf", conf.to_str().unwrap()]);
        assert_success(&out, "add with a .conf");
        let attachment = first_json_line(&out);
        assert_eq!(attachment["cniVersion"], "0.4.0");
        assert!(ip_of(&attachment).starts_with(&net.subnet_base));
        // del needs no config: it uses the cached one.
        net.del(&ns);
        assert!(net.reservations().is_empty());
        let leaks = net.attachment_leaks(&leak);
        assert!(leaks.is_empty(), "{leaks:?}");
    });
}

#[test]
fn without_root_it_says_run_as_root_and_creates_nothing() {
    privileged_test(
        "without_root_it_says_run_as_root_and_creates_nothing",
        |sweeper| {
            let net = TestNet::new(sweeper, "1.0.0", 0);
            let ns = net.netns("nobody");
            let cnispawn = bin("cnispawn");
            let conf_dir = net.conf_dir.to_str().unwrap();
            for sub in ["add", "del"] {
                let out = Command::new("setpriv")
                    .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                    .arg(&cnispawn)
                    .args([sub, "--netns", &ns, "--cni-conf-dir", conf_dir])
                    .stdin(Stdio::null())
                    .output()
                    .unwrap();
                assert_clean_failure(&out, "run it as root");
            }
        },
    );
}
