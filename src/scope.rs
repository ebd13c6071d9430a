//! Scopes (RFC 6749 §3.3): a set of scope tokens, space-separated on the wire.

use std::collections::BTreeSet;
use std::fmt;

/// A set of scope tokens. Ordered, so the `scope` claim and response are deterministic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope(BTreeSet<String>);

impl Scope {
    /// Parses a space-delimited scope string; `None` if a token holds a character RFC 6749
    /// §3.3 forbids (`scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`).
    pub fn parse(s: &str) -> Option<Self> {
        let mut set = BTreeSet::new();
        for token in s.split(' ').filter(|t| !t.is_empty()) {
            if !is_scope_token(token) {
                return None;
            }
            set.insert(token.to_owned());
        }
        Some(Scope(set))
    }

    pub fn from_tokens<I: IntoIterator<Item = String>>(tokens: I) -> Self {
        Scope(tokens.into_iter().collect())
    }

    pub fn is_subset(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scope to grant: `requested` if it is within `allowed`, all of `allowed` when
    /// nothing (or an empty string) was requested (RFC 6749 §3.3), `None` if it asks for more.
    pub fn narrow(allowed: &Scope, requested: Option<&str>) -> Option<Scope> {
        match requested.map(Scope::parse) {
            None => Some(allowed.clone()),
            Some(None) => None,
            Some(Some(requested)) if requested.is_empty() => Some(allowed.clone()),
            Some(Some(requested)) => requested.is_subset(allowed).then_some(requested),
        }
    }
}

pub fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for token in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
            first = false;
        }
        Ok(())
    }
}
