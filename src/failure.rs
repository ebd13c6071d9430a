//! The domain's own failure: what went wrong below the protocol, before anyone decides how to
//! answer it. The token endpoint's `OAuthError` and the login page's `AuthorizeError` both
//! convert from it; the detail is logged once, by the HTTP layer, never sent.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The store or the argon2 pool cannot serve the request now; worth a retry (docs/design.md,
    /// "Load, faults and bad input").
    Unavailable(String),
    /// A bug or an unexpected state (a corrupt stored record, a failed random generator).
    Internal(String),
}

impl Failure {
    pub fn internal(detail: impl Into<String>) -> Self {
        Failure::Internal(detail.into())
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Failure::Unavailable(detail.into())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Unavailable(detail) => write!(f, "unavailable: {detail}"),
            Failure::Internal(detail) => write!(f, "internal: {detail}"),
        }
    }
}

impl std::error::Error for Failure {}
