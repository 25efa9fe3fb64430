//! Termination signals during `up`: recorded, so `up` stops at the next step boundary and removes
//! everything it created instead of dying with nodes, mounts and namespaces left behind. Nodes run in
//! their own session, so a Ctrl-C reaches only `up` itself.

use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

use crate::error::{Error, Result};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn record(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

pub fn install() -> Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(record),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe { sigaction(signal, &action) }.map_err(|e| {
            Error::io(
                "install a handler for",
                signal.as_str(),
                std::io::Error::from_raw_os_error(e as i32),
            )
        })?;
    }
    Ok(())
}

/// Fails with [`Error::Interrupted`] once a signal has arrived.
pub fn check() -> Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}
