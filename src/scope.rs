//! Scopes (RFC 6749 §3.3): a set of scope tokens, space-separated on the wire.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

/// The scope that makes a request an OpenID Connect one.
pub const OPENID: &str = "openid";
/// The OpenID Connect scopes this service knows (OpenID Connect Core §5.4, plus `openid`).
pub const OIDC_SCOPES: [&str; 3] = [OPENID, "profile", "email"];

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

    /// The space-separated string, as `Display` writes it, in one allocation of its length
    /// (the `scope` claim and response of every token).
    pub fn joined(&self) -> String {
        let len = self.0.iter().map(|t| t.len() + 1).sum::<usize>();
        let mut joined = String::with_capacity(len.saturating_sub(1));
        for token in &self.0 {
            if !joined.is_empty() {
                joined.push(' ');
            }
            joined.push_str(token);
        }
        joined
    }

    pub fn is_subset(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    /// Whether this is an OpenID Connect request (OpenID Connect Core §3.1.2.1).
    pub fn has_openid(&self) -> bool {
        self.contains(OPENID)
    }

    /// [`Scope::narrow`] for a grant on behalf of a user: the OpenID Connect scopes
    /// ([`OIDC_SCOPES`]) may be asked for by any client, on top of its own (README, "OpenID
    /// Connect"), and are never part of the default, so a request without them is answered as
    /// before.
    pub fn narrow_for_user(allowed: &Scope, requested: Option<&str>) -> Option<Scope> {
        let requested = match requested.map(Scope::parse) {
            None => return Some(allowed.clone()),
            Some(None) => return None,
            Some(Some(requested)) if requested.is_empty() => return Some(allowed.clone()),
            Some(Some(requested)) => requested,
        };
        let known = |t: &String| allowed.contains(t) || OIDC_SCOPES.contains(&t.as_str());
        requested.0.iter().all(known).then_some(requested)
    }

    /// What of this granted scope a client allowed `client_scopes` may still be given: its
    /// own scopes, plus the OpenID Connect ones on behalf of a user (`for_user`). A refresh
    /// never yields a scope removed from the client's config since the grant (RFC 6749 §6:
    /// never beyond what was granted; the config decides what is granted at all).
    pub fn allowed_now(&self, client_scopes: &Scope, for_user: bool) -> Scope {
        let allowed = |t: &&String| {
            client_scopes.contains(t) || (for_user && OIDC_SCOPES.contains(&t.as_str()))
        };
        Scope(self.0.iter().filter(allowed).cloned().collect())
    }

    /// The scope to grant: `requested` if it is within `allowed`, all of `allowed` when
    /// nothing (or an empty string) was requested (RFC 6749 §3.3), `None` if it asks for more.
    /// Borrowed from `allowed` when that is what is granted.
    pub fn narrow<'a>(allowed: &'a Scope, requested: Option<&str>) -> Option<Cow<'a, Scope>> {
        let Some(requested) = requested else {
            return Some(Cow::Borrowed(allowed));
        };
        // What a client asks for most: every scope it is allowed, known without a set.
        if allowed.is_named_exactly_by(requested) {
            return Some(Cow::Borrowed(allowed));
        }
        match Scope::parse(requested) {
            None => None,
            Some(requested) if requested.is_empty() => Some(Cow::Borrowed(allowed)),
            Some(requested) => requested
                .is_subset(allowed)
                .then_some(Cow::Owned(requested)),
        }
    }

    /// Whether the space-delimited `requested` parses to exactly this scope: each of its
    /// tokens is a scope token of this scope, and each of this scope's tokens is among them.
    fn is_named_exactly_by(&self, requested: &str) -> bool {
        let mut tokens = requested.split(' ').filter(|t| !t.is_empty());
        !self.is_empty()
            && tokens.all(|t| is_scope_token(t) && self.contains(t))
            && self
                .0
                .iter()
                .all(|mine| requested.split(' ').any(|t| t == mine))
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

/// Stored and sent as the space-separated string; a stored string that is not a valid scope
/// is an error, never an empty scope.
impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Scope::parse(&text).ok_or_else(|| serde::de::Error::custom("not a valid scope"))
    }
}

#[cfg(test)]
mod tests {
    use super::Scope;

    #[test]
    fn joined_is_what_display_writes() {
        for text in ["", "read", "write read openid", "a b c d"] {
            let scope = Scope::parse(text).unwrap();
            assert_eq!(scope.joined(), scope.to_string());
        }
    }

    #[test]
    fn a_user_grant_may_add_the_openid_connect_scopes_but_never_gets_them_by_default() {
        let allowed = scope("read write");
        assert_eq!(
            Scope::narrow_for_user(&allowed, None),
            Some(allowed.clone())
        );
        assert_eq!(
            Scope::narrow_for_user(&allowed, Some("openid profile email read")),
            Some(scope("email openid profile read"))
        );
        assert_eq!(Scope::narrow_for_user(&allowed, Some("openid admin")), None);
        assert_eq!(narrow(&allowed, Some("openid")), None);
    }

    fn scope(s: &str) -> Scope {
        Scope::parse(s).unwrap()
    }

    fn narrow(allowed: &Scope, requested: Option<&str>) -> Option<Scope> {
        Scope::narrow(allowed, requested).map(std::borrow::Cow::into_owned)
    }

    #[test]
    fn asking_for_exactly_what_is_allowed_in_any_order_grants_it() {
        let allowed = scope("read write");
        for requested in ["read write", "write read", " write  read read "] {
            assert_eq!(narrow(&allowed, Some(requested)), Some(allowed.clone()));
        }
        assert_eq!(narrow(&allowed, Some("read write admin")), None);
        assert_eq!(narrow(&allowed, Some("read")), Some(scope("read")));
    }

    #[test]
    fn a_granted_scope_keeps_only_what_the_client_is_allowed_now() {
        let granted = scope("openid profile read write");
        assert_eq!(
            granted.allowed_now(&scope("read"), true),
            scope("openid profile read")
        );
        assert_eq!(granted.allowed_now(&scope("read"), false), scope("read"));
        assert!(granted.allowed_now(&scope("admin"), false).is_empty());
    }

    #[test]
    fn nothing_requested_grants_everything_allowed() {
        let allowed = scope("read write");
        assert_eq!(narrow(&allowed, None), Some(allowed.clone()));
        assert_eq!(narrow(&allowed, Some("")), Some(allowed.clone()));
        assert_eq!(narrow(&allowed, Some("  ")), Some(allowed));
    }

    #[test]
    fn a_subset_is_granted_as_asked() {
        assert_eq!(
            narrow(&scope("read write"), Some("write")),
            Some(scope("write"))
        );
    }

    #[test]
    fn asking_beyond_what_is_allowed_is_refused() {
        assert_eq!(narrow(&scope("read"), Some("read write")), None);
    }

    #[test]
    fn a_token_with_a_forbidden_character_is_refused() {
        assert_eq!(Scope::parse("read \"write\""), None);
        assert_eq!(Scope::parse("a\\b"), None);
        assert_eq!(narrow(&scope("read"), Some("ré")), None);
    }

    #[test]
    fn the_wire_form_is_sorted_and_single_spaced() {
        assert_eq!(scope("write  read read").to_string(), "read write");
    }

    #[test]
    fn a_stored_scope_round_trips_and_a_corrupt_one_is_an_error() {
        let json = serde_json::to_string(&scope("write read")).unwrap();
        assert_eq!(json, "\"read write\"");
        assert_eq!(
            serde_json::from_str::<Scope>(&json).unwrap(),
            scope("read write")
        );
        assert!(serde_json::from_str::<Scope>("\"a\\\"b\"").is_err());
        assert!(serde_json::from_str::<Scope>("42").is_err());
    }
}
