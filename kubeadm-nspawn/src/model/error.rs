//! What can be wrong with what a user asked for, found before anything on the host is touched:
//! each module's error (a name, a range, a config file) lifted into one.

use kns_plumbing::report::Hint;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Name(#[from] super::names::Error),

    #[error(transparent)]
    Range(#[from] super::ranges::Error),

    #[error(transparent)]
    Range6(#[from] super::ranges6::Error),

    #[error(transparent)]
    Config(#[from] super::config::Error),

    /// Any other value of a flag that cannot be used, said in full.
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Range(e) => e.hint(),
            Error::Range6(e) => e.hint(),
            Error::Config(e) => e.hint(),
            _ => None,
        }
    }
}
