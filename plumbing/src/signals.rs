//! Termination signals (SIGINT, SIGTERM, SIGHUP) recorded instead of acted on: a tool finishes the
//! step it is in, then undoes what it created and exits, rather than dying with namespaces, mounts or
//! half a tree left behind. The handler only stores to an atomic.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static RECEIVED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn record(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    RECEIVED.fetch_add(1, Ordering::SeqCst);
}

/// The signals that mean "stop": a Ctrl-C, a `kill`, a closed terminal.
pub const RECORDED: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// Installs the recording handler for [`RECORDED`]. The error names the signal whose handler could
/// not be installed. The handler only stores to atomics.
pub fn install() -> Result<(), (Signal, nix::Error)> {
    let action = SigAction::new(
        SigHandler::Handler(record),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in RECORDED {
        // SAFETY: the handler only stores to atomics, which is async-signal-safe.
        unsafe { sigaction(signal, &action) }.map_err(|e| (signal, e))?;
    }
    Ok(())
}

/// Whether one of [`RECORDED`] has arrived since [`install`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// How many of [`RECORDED`] have arrived since [`install`]: a second Ctrl-C can mean "now".
pub fn received() -> usize {
    RECEIVED.load(Ordering::SeqCst)
}
