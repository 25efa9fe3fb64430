//! The root check each tool makes before it touches anything, so an unprivileged run fails with one
//! clear line instead of an EPERM from deep inside a mount, a namespace or a node.

/// Whether the effective user is root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
