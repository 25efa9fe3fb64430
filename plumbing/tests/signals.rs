//! The recorded signals, in a process of their own: a recorded signal stays recorded, and would
//! stop every wait of the library's other tests.

use kns_plumbing::signals::{install, interrupted};
use nix::sys::signal::Signal;

#[test]
fn a_recorded_signal_is_seen_and_does_not_kill() {
    install().unwrap();
    assert!(!interrupted());
    nix::sys::signal::raise(Signal::SIGHUP).unwrap();
    assert!(interrupted());
}
