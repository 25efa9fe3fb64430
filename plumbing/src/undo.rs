//! A failure whose undo failed too. A tool that undoes what a failed step began says both, the
//! failure first (it is why the undo ran, and its hint is the one that helps).

/// Both failures; a tool's error enum carries it as its `Cleanup` variant.
#[derive(Debug, thiserror::Error)]
#[error("{failure}; cleaning up after it also failed: {cleanup}")]
pub struct Cleanup<E> {
    pub failure: Box<E>,
    pub cleanup: Box<E>,
}

/// How a failure takes the outcome of the undo it caused: itself when the undo worked, both
/// when it did not.
pub trait WithCleanup: Sized {
    fn with_cleanup(self, cleanup: Result<(), Self>) -> Self;
}

impl<E: From<Cleanup<E>>> WithCleanup for E {
    fn with_cleanup(self, cleanup: Result<(), E>) -> E {
        match cleanup {
            Ok(()) => self,
            Err(cleanup) => E::from(Cleanup {
                failure: Box::new(self),
                cleanup: Box::new(cleanup),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Failure {
        #[error("{0}")]
        Step(&'static str),
        #[error(transparent)]
        Cleanup(#[from] Cleanup<Failure>),
    }

    #[test]
    fn a_failed_undo_is_said_after_the_failure_and_a_good_one_not_at_all() {
        let alone = Failure::Step("mount failed").with_cleanup(Ok(()));
        assert_eq!(alone.to_string(), "mount failed");
        let both = Failure::Step("mount failed").with_cleanup(Err(Failure::Step("umount failed")));
        assert_eq!(
            both.to_string(),
            "mount failed; cleaning up after it also failed: umount failed"
        );
    }
}
