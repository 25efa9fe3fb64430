//! Work on every node at once: one thread a node, every node's outcome collected. A node whose
//! thread panicked failed with that panic as its error; it never counts as a success.

/// Runs `work` on every item at once and waits for all of them; the results in item order, or the
/// first failure (in item order) once every item has finished.
pub fn each<T: Sync, R: Send, E: Send + From<Panicked>>(
    items: &[T],
    name: impl Fn(&T) -> &str,
    work: impl Fn(&T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    let work = &work;
    let outcomes: Vec<Result<R, E>> = std::thread::scope(|scope| {
        let threads: Vec<_> = items
            .iter()
            .map(|item| scope.spawn(move || work(item)))
            .collect();
        threads
            .into_iter()
            .zip(items)
            .map(|(thread, item)| {
                thread.join().unwrap_or_else(|panic| {
                    Err(E::from(Panicked {
                        what: format!("{}: the work on it", name(item)),
                        message: panic_message(&*panic),
                    }))
                })
            })
            .collect()
    });
    outcomes.into_iter().collect()
}

/// A thread that panicked: what it was doing, and the panic's message. Callers' error types take
/// it with `From`, so a panic is a failure of that one item, never a success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} panicked: {message}")]
pub struct Panicked {
    pub what: String,
    pub message: String,
}

impl Panicked {
    /// The panic of a joined thread that did `what`.
    pub fn of(what: impl Into<String>, panic: &(dyn std::any::Any + Send)) -> Panicked {
        Panicked {
            what: what.into(),
            message: panic_message(panic),
        }
    }
}

/// The text of a panic payload (a `&str` or a `String`, as `panic!` makes them).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    enum Error {
        Internal(String),
        Panicked(Panicked),
    }

    impl From<Panicked> for Error {
        fn from(p: Panicked) -> Self {
            Error::Panicked(p)
        }
    }

    impl std::fmt::Display for Error {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Error::Internal(m) => write!(f, "internal error: {m}"),
                Error::Panicked(p) => write!(f, "{p}"),
            }
        }
    }

    #[test]
    fn results_come_in_item_order() {
        let out = each::<_, _, Error>(&["a", "b", "c"], |s| s, |s| Ok(s.to_uppercase())).unwrap();
        assert_eq!(out, ["A", "B", "C"]);
    }

    #[test]
    fn a_panic_is_that_items_error_and_the_others_still_finish() {
        let done = std::sync::atomic::AtomicUsize::new(0);
        let err = each::<_, (), Error>(
            &["n0", "n1", "n2"],
            |s| s,
            |s| {
                if *s == "n1" {
                    panic!("boom");
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            },
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("n1: the work on it panicked: boom"), "{err}");
        assert_eq!(done.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn a_panic_is_said_plainly() {
        use crate::plain::{assert_plain, NoHint};
        let text: Box<dyn std::any::Any + Send> = Box::new("index out of bounds");
        let number: Box<dyn std::any::Any + Send> = Box::new(42);
        assert_plain(vec![
            (
                NoHint(Panicked::of("dev-n1: the work on it", &*text)),
                "dev-n1: the work on it panicked: index out of bounds",
            ),
            (
                NoHint(Panicked::of("dev-n1: the work on it", &*number)),
                "dev-n1: the work on it panicked: (no message)",
            ),
        ]);
    }

    #[test]
    fn the_first_failure_in_order_is_reported() {
        let err = each::<_, (), Error>(
            &[1, 2, 3],
            |_| "x",
            |i| {
                if *i >= 2 {
                    Err(Error::Internal(format!("failed {i}")))
                } else {
                    Ok(())
                }
            },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "internal error: failed 2");
    }
}
