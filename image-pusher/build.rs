//! Builds the project's pause binary (pause/pause.c) as a static executable with the system C
//! compiler; the image-pusher binary embeds it (`image-pusher pause`). C rather than Rust because
//! a static, libc-only executable of a few lines is what a pod sandbox needs, and stable Rust
//! cannot link one binary of a workspace statically without changing how every crate is built.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let source = "pause/pause.c";
    println!("cargo::rerun-if-changed={source}");
    println!("cargo::rerun-if-env-changed=CC");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("pause");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-static", "-Os", "-s", "-Wall", "-Werror", "-o"])
        .arg(&out)
        .arg(source)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => {
            panic!("{cc} {source} failed ({s}): install gcc and libc6-dev (scripts/setup-host)")
        }
        Err(e) => panic!("cannot run {cc}: {e}: install gcc and libc6-dev (scripts/setup-host)"),
    }
}
