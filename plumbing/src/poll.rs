//! Waiting for something that takes a while: one loop for every wait of the tools, so each is
//! bounded, stops at once when the tool is asked to stop (a recorded signal, see [`signals`]),
//! can give up at once when what it waits on is gone, and when it times out says what it was still
//! waiting for and the last error it saw (a broken kubeconfig shows as that, not as "not Ready").

use std::time::{Duration, Instant};

use crate::signals;

/// One look at what is waited for.
pub enum Check<T, E> {
    /// It happened.
    Done(T),
    /// Not yet: what is still waited for (`c-n1 not Ready`), for the timeout's message.
    Waiting(String),
    /// The look itself failed (a command in a node, a request): tried again until the time is up,
    /// and kept for the timeout's message.
    Failed(E),
    /// It can never happen now (its node is gone): stop waiting.
    Abort(E),
}

/// How a wait ended without its thing.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped<E> {
    TimedOut {
        after: Duration,
        /// The last [`Check::Waiting`]'s description.
        waiting: Option<String>,
        /// The last [`Check::Failed`]'s error, if it came after the last `Waiting`.
        last_error: Option<E>,
    },
    Aborted(E),
    /// A termination signal was recorded.
    Interrupted,
}

/// Looks every `every` until `check` says done, `timeout` has passed, or a termination signal
/// was recorded. Returns what it found and how long it took.
pub fn until<T, E>(
    timeout: Duration,
    every: Duration,
    check: impl FnMut() -> Check<T, E>,
) -> Result<(T, Duration), Stopped<E>> {
    poll(timeout, every, true, check)
}

/// [`until`] that a recorded signal does not end: for the waits that undoing needs (processes
/// killed and gone before their cgroups can go), which a Ctrl-C asked for. Still bounded.
pub fn until_even_if_interrupted<T, E>(
    timeout: Duration,
    every: Duration,
    check: impl FnMut() -> Check<T, E>,
) -> Result<(T, Duration), Stopped<E>> {
    poll(timeout, every, false, check)
}

fn poll<T, E>(
    timeout: Duration,
    every: Duration,
    stop_on_signal: bool,
    mut check: impl FnMut() -> Check<T, E>,
) -> Result<(T, Duration), Stopped<E>> {
    let start = Instant::now();
    let mut waiting = None;
    // Set by every look that does not end the wait.
    let mut last_error: Option<E>;
    loop {
        if stop_on_signal && signals::interrupted() {
            return Err(Stopped::Interrupted);
        }
        match check() {
            Check::Done(found) => return Ok((found, start.elapsed())),
            Check::Waiting(what) => {
                waiting = Some(what);
                last_error = None;
            }
            Check::Failed(e) => last_error = Some(e),
            Check::Abort(e) => return Err(Stopped::Aborted(e)),
        }
        if start.elapsed() >= timeout {
            return Err(Stopped::TimedOut {
                after: timeout,
                waiting,
                last_error,
            });
        }
        std::thread::sleep(every.min(timeout.saturating_sub(start.elapsed())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_ends_done_timed_out_with_its_last_error_or_aborted() {
        let mut n = 0;
        let (found, _) = until::<_, String>(Duration::from_secs(5), Duration::ZERO, || {
            n += 1;
            if n < 3 {
                Check::Waiting(format!("{n}"))
            } else {
                Check::Done(n)
            }
        })
        .unwrap();
        assert_eq!(found, 3);
        let mut n = 0;
        let stopped = until::<(), _>(Duration::from_millis(30), Duration::from_millis(5), || {
            n += 1;
            if n == 1 {
                Check::Waiting("c-n1 not Ready".into())
            } else {
                Check::Failed("kubectl: no such file".to_string())
            }
        })
        .unwrap_err();
        assert_eq!(
            stopped,
            Stopped::TimedOut {
                after: Duration::from_millis(30),
                waiting: Some("c-n1 not Ready".into()),
                last_error: Some("kubectl: no such file".into()),
            }
        );
        let gone = until::<(), _>(Duration::from_secs(5), Duration::ZERO, || {
            Check::Abort("node gone")
        });
        assert_eq!(gone.unwrap_err(), Stopped::Aborted("node gone"));
    }
}
