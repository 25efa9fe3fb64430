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
    {
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
        let leaks = leak.leaks();
        for expected in [
            format!("netns {ns}"),
            format!("link {link}"),
            format!("mount {}", mnt.display()),
            format!("ip4 filter :{chain} -"),
            format!("ip4 filter -A FORWARD -j {chain}"),
        ] {
            assert!(
                leaks.contains(&expected),
                "{expected:?} not seen in {leaks:?}"
            );
        }
    }
    leak.assert_clean("the sweeper");
}
