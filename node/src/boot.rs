//! A node's boot: its systemd reaching `running` (or `degraded` with only expected failures).

use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::exec::Exec;

/// Units allowed to fail in a booted node without Kubernetes. Empty: the recipe boots to `running`.
pub const EXPECTED_FAILED_UNITS: &[&str] = &[];

/// One look at a node's systemd.
#[derive(Debug, Clone, PartialEq)]
pub enum BootState {
    /// Still starting (or not answering yet).
    Starting(String),
    /// `running`, or `degraded` with only expected failures: the state systemd reported.
    Booted(String),
}

/// Asks the node's systemd once. `degraded` with a failed unit that is not expected is an error
/// naming the units.
pub fn check(node: &impl Exec) -> Result<BootState> {
    let out = node.output(&["systemctl", "is-system-running"], None)?;
    let state = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    match state.as_str() {
        "running" => Ok(BootState::Booted(state)),
        "degraded" => {
            let units = unexpected_failed_units(node)?;
            if units.is_empty() {
                Ok(BootState::Booted(state))
            } else {
                Err(Error::Degraded {
                    node: node.name().to_owned(),
                    units,
                })
            }
        }
        _ => Ok(BootState::Starting(state)),
    }
}

/// The node's failed units that [`EXPECTED_FAILED_UNITS`] does not list.
pub fn unexpected_failed_units(node: &impl Exec) -> Result<Vec<String>> {
    Ok(failed_units(node)?
        .into_iter()
        .filter(|unit| !EXPECTED_FAILED_UNITS.contains(&unit.as_str()))
        .collect())
}

/// Every failed unit of the node.
pub fn failed_units(node: &impl Exec) -> Result<Vec<String>> {
    let out = node.output(
        &[
            "systemctl",
            "list-units",
            "--failed",
            "--plain",
            "--no-legend",
        ],
        None,
    )?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect())
}

/// Where a boot wait looks while it waits.
pub trait Booting {
    /// The node to ask, once it can be asked (its systemd exists); None while it cannot yet.
    type Node: Exec;
    fn node(&self) -> Option<Self::Node>;
    /// Whether the node's processes are still there (false: it exited while booting).
    fn alive(&self) -> bool;
    /// The end of the node's console log, for errors.
    fn log_tail(&self) -> String;
    fn name(&self) -> &str;
}

/// Waits until the node has booted (see [`check`]); returns the state systemd reported. Fails when
/// the node exits, boots degraded with unexpected failures, or takes longer than `timeout`.
pub fn wait(booting: &impl Booting, timeout: Duration, poll: Duration) -> Result<String> {
    let start = Instant::now();
    loop {
        if kns_plumbing::signals::interrupted() {
            return Err(Error::Interrupted {
                node: booting.name().to_owned(),
                command: "systemctl is-system-running".into(),
            });
        }
        if !booting.alive() {
            return Err(Error::ExitedWhileBooting {
                node: booting.name().to_owned(),
                log_tail: booting.log_tail(),
            });
        }
        if let Some(node) = booting.node() {
            match check(&node) {
                Ok(BootState::Booted(state)) => return Ok(state),
                Err(e @ (Error::Degraded { .. } | Error::Interrupted { .. })) => return Err(e),
                Ok(BootState::Starting(_)) | Err(_) => {}
            }
        }
        if start.elapsed() > timeout {
            return Err(Error::BootTimeout {
                node: booting.name().to_owned(),
                timeout,
                log_tail: booting.log_tail(),
            });
        }
        std::thread::sleep(poll);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::Script;
    use std::cell::Cell;

    struct Fake {
        script: fn() -> Script,
        alive_for: Cell<usize>,
    }

    impl Booting for Fake {
        type Node = Script;
        fn node(&self) -> Option<Script> {
            Some((self.script)())
        }
        fn alive(&self) -> bool {
            let left = self.alive_for.get();
            self.alive_for.set(left.saturating_sub(1));
            left > 0
        }
        fn log_tail(&self) -> String {
            "last words".into()
        }
        fn name(&self) -> &str {
            "n0"
        }
    }

    fn wait_on(script: fn() -> Script, alive_for: usize) -> Result<String> {
        let fake = Fake {
            script,
            alive_for: Cell::new(alive_for),
        };
        wait(&fake, Duration::from_millis(50), Duration::from_millis(1))
    }

    #[test]
    fn running_and_expected_degraded_are_booted() {
        let running = || Script::new("n0").answer("systemctl is-system-running", 0, "running\n");
        assert_eq!(wait_on(running, usize::MAX).unwrap(), "running");
        let degraded = || {
            Script::new("n0")
                .answer("systemctl is-system-running", 1, "degraded\n")
                .answer("systemctl list-units", 0, "")
        };
        assert_eq!(wait_on(degraded, usize::MAX).unwrap(), "degraded");
    }

    #[test]
    fn unexpected_failed_units_are_named() {
        let script = || {
            Script::new("n0")
                .answer("systemctl is-system-running", 1, "degraded\n")
                .answer(
                    "systemctl list-units",
                    0,
                    "containerd.service loaded failed failed containerd\n",
                )
        };
        let err = wait_on(script, usize::MAX).unwrap_err().to_string();
        assert!(
            err.contains("booted degraded, failed units: containerd.service"),
            "{err}"
        );
    }

    #[test]
    fn an_exit_or_a_timeout_ends_the_wait_with_the_log() {
        let starting = || Script::new("n0").answer("systemctl", 1, "starting\n");
        let err = wait_on(starting, 3).unwrap_err();
        assert!(matches!(err, Error::ExitedWhileBooting { .. }), "{err}");
        assert!(err.to_string().contains("last words"));
        let err = wait_on(starting, usize::MAX).unwrap_err();
        assert!(matches!(err, Error::BootTimeout { .. }), "{err}");
        // A node that cannot be asked yet (nsenter fails) is still starting, not failed.
        let unreachable = || Script::new("n0");
        assert!(matches!(
            wait_on(unreachable, usize::MAX),
            Err(Error::BootTimeout { .. })
        ));
    }
}
