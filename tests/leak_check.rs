//! The leak checker and the sweeper check themselves: a checker that never reports anything would
//! make every other privileged test meaningless.

use kns_integration_tests::{
    require_root, run_ok, serial, unique_prefix, LeakCheck, PrefixSweeper,
};

#[test]
fn leak_check_sees_what_a_test_creates_and_the_sweeper_removes_it() {
    if !require_root("leak_check_sees_what_a_test_creates_and_the_sweeper_removes_it") {
        return;
    }
    let _serial = serial();
    let leak = LeakCheck::start();
    let prefix = unique_prefix();
    let mut hidden = {
        let sweeper = PrefixSweeper::new(&prefix);
        let ns = format!("{prefix}-ns");
        let link = format!("{prefix}d");
        let chain = format!("{prefix}-CHAIN");
        let mnt = sweeper.workdir.join("mnt");
        std::fs::create_dir_all(&mnt).unwrap();
        run_ok("ip", &["netns", "add", &ns]);
        run_ok("ip", &["link", "add", &link, "type", "bridge"]);
        run_ok("iptables", &["-t", "filter", "-N", &chain]);
        run_ok("iptables", &["-t", "filter", "-A", "FORWARD", "-j", &chain]);
        run_ok("mount", &["-t", "tmpfs", "tmpfs", mnt.to_str().unwrap()]);
        // A process in a node cgroup whose command line carries no prefix, like a node's systemd
        // that outlived its nspawn.
        let placement = kubeadm_nspawn::host::cgroup::detect()
            .create(&format!("{prefix}-n0"), &Default::default())
            .unwrap();
        let procs = placement.join[0].display().to_string();
        let cgroup = placement.join[0].parent().unwrap().display().to_string();
        let hidden = std::process::Command::new("sh")
            .arg("-c")
            .arg("echo $$ > \"$0\" && exec sleep 600")
            .arg(&procs)
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        while std::fs::read_to_string(&procs)
            .unwrap_or_default()
            .trim()
            .is_empty()
        {
            assert!(
                start.elapsed().as_secs() < 5,
                "the process did not join {cgroup}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let leaks = leak.leaks();
        for expected in [
            format!("netns {ns}"),
            format!("link {link}"),
            format!("mount {}", mnt.display()),
            format!("ip4 filter :{chain} -"),
            format!("ip4 filter -A FORWARD -j {chain}"),
            format!("cgroup {cgroup}"),
        ] {
            assert!(
                leaks.contains(&expected),
                "{expected:?} not seen in {leaks:?}"
            );
        }
        hidden
    };
    // The sweeper (dropped at the end of the block above) killed it, and reaped it too.
    let pid = hidden.id();
    let gone = !std::path::Path::new(&format!("/proc/{pid}")).exists();
    assert!(gone, "the hidden process {pid} survived the sweeper");
    let _ = hidden.wait();
    leak.assert_clean("the sweeper");
}
