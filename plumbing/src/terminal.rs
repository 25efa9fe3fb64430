//! What a person at a terminal sees of a long step: one live status line (a spinner, the step's
//! title, the seconds so far) that every other line printed meanwhile goes above, and that becomes
//! the step's `✓ title (N s)` line when it ends. Not on a terminal (a log, CI), or with `-v` (the
//! tools' own lines interleave), there is no live line: one line per step, when it ends.
//!
//! Everything kubeadm-nspawn prints while a step runs goes through [`println`] (or [`say!`]),
//! and the tools' stderr it passes on too, so the live line is never written over.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// `-v`: the tools' own stderr is shown as it comes (each line prefixed with its source), and steps
/// get a start line instead of a live line.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// The live line being drawn, if any.
static STATUS: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn current() -> Option<ProgressBar> {
    STATUS.lock().ok().and_then(|s| s.clone())
}

/// Prints `line` to stderr, above the live line when one is drawn.
pub fn println(line: &str) {
    match current() {
        Some(bar) => bar.println(line),
        None => eprintln!("{line}"),
    }
}

/// `eprintln!` that keeps the live line intact.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => { $crate::terminal::println(&format!($($arg)*)) };
}

/// Runs `f` with the live line hidden, for output that draws its own lines (the download bars).
pub fn suspend<R>(f: impl FnOnce() -> R) -> R {
    let taken = STATUS.lock().ok().and_then(|mut s| s.take());
    match taken {
        Some(bar) => {
            let out = bar.suspend(f);
            if let Ok(mut s) = STATUS.lock() {
                *s = Some(bar);
            }
            out
        }
        None => f(),
    }
}

/// Whether steps get a live line: stderr is a terminal and `-v` is off.
pub fn live() -> bool {
    std::io::stderr().is_terminal() && !verbose()
}

/// The live line of one step, from [`Status::start`] until dropped (which clears it).
pub struct Status {
    bar: Option<ProgressBar>,
}

impl Status {
    /// Draws `title` with a spinner and its elapsed seconds when [`live`]; with `-v`, prints a
    /// start line instead (the tools' lines that follow belong to it); otherwise nothing.
    pub fn start(title: &str) -> Status {
        if !live() {
            if verbose() {
                eprintln!(" • {title} ...");
            }
            return Status { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(" {spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_message(title.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut s) = STATUS.lock() {
            *s = Some(bar.clone());
        }
        Status { bar: Some(bar) }
    }
}

impl Status {
    /// Replaces the live line's text (its spinner and elapsed time stay); nothing without one.
    pub fn set(&self, title: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(title.to_string());
        }
    }

    /// Whether this status is a live line being drawn.
    pub fn is_live(&self) -> bool {
        self.bar.is_some()
    }
}

impl Drop for Status {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            if let Ok(mut s) = STATUS.lock() {
                *s = None;
            }
            bar.finish_and_clear();
        }
    }
}
