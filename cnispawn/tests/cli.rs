//! The command line without privileges: help, usage errors and argument validation that must fail
//! before anything touches the host.

use std::process::{Command, Output, Stdio};

fn cnispawn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cnispawn"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn help_explains_the_forms() {
    let out = cnispawn(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "-- COMMAND",
        "cnispawn add",
        "cnispawn del",
        "--cni-conf-dir",
        "run",
        "root",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
}

#[test]
fn usage_errors_exit_non_zero() {
    // The run form needs a command; add and del need a name.
    for args in [&["--netns", "x"][..], &["add"], &["del"]] {
        let out = cnispawn(args);
        assert!(!out.status.success(), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn an_invalid_name_is_refused_before_anything_else() {
    let out = cnispawn(&["add", "--netns", "../x"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: invalid network namespace name \"../x\""),
        "{stderr}"
    );
}
