//! OpenID Connect's standard claims (OpenID Connect Core §5.1, §5.4): which of a user's
//! configured `claims` each scope releases, in ID tokens and at `/userinfo`. Pure functions.

use serde_json::{Map, Value};

use crate::records::User;
use crate::scope::Scope;

/// The claims the `profile` scope releases (OpenID Connect Core §5.4).
pub const PROFILE_CLAIMS: [&str; 14] = [
    "name",
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
];

/// The claims the `email` scope releases (OpenID Connect Core §5.4).
pub const EMAIL_CLAIMS: [&str; 2] = ["email", "email_verified"];

/// The claims an ID token may carry beside the scope's, for the discovery document.
pub const ID_TOKEN_CLAIMS: [&str; 9] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "sid",
];

/// The standard claims `scope` releases about `user`, from their configured `claims`;
/// `preferred_username` defaults to the username. Claims the user has none of are left out
/// (OpenID Connect Core §5.3.2), and no other configured claim is released here.
pub fn claims_for(user: &User, scope: &Scope) -> Map<String, Value> {
    let mut out = Map::new();
    let mut release = |names: &[&str]| {
        for name in names {
            if let Some(value) = user.claims.get(*name) {
                out.insert((*name).to_owned(), value.clone());
            }
        }
    };
    if scope.contains("email") {
        release(&EMAIL_CLAIMS);
    }
    if scope.contains("profile") {
        release(&PROFILE_CLAIMS);
        out.entry("preferred_username")
            .or_insert_with(|| Value::String(user.username.clone()));
    }
    out
}

/// Every claim name the service may release, for `claims_supported` in discovery.
pub fn claims_supported() -> Vec<&'static str> {
    ID_TOKEN_CLAIMS
        .iter()
        .chain(&PROFILE_CLAIMS)
        .chain(&EMAIL_CLAIMS)
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::claims_for;
    use crate::records::User;
    use crate::scope::Scope;

    fn jsmith() -> User {
        let claims = json!({
            "name": "John Smith",
            "given_name": "John",
            "email": "jsmith@example.com",
            "email_verified": true,
            "roles": ["admin"],
        });
        User {
            username: "jsmith".into(),
            password_hash: String::new(),
            subject: "3f0c".into(),
            claims: claims.as_object().cloned().unwrap_or_default(),
        }
    }

    fn scope(s: &str) -> Scope {
        Scope::parse(s).unwrap_or_default()
    }

    #[test]
    fn openid_alone_releases_no_claims() {
        assert!(claims_for(&jsmith(), &scope("openid read")).is_empty());
    }

    #[test]
    fn profile_releases_profile_claims_and_the_username_as_preferred_username() {
        let claims = claims_for(&jsmith(), &scope("openid profile"));
        assert_eq!(
            serde_json::Value::Object(claims),
            json!({"name": "John Smith", "given_name": "John", "preferred_username": "jsmith"})
        );
    }

    #[test]
    fn a_configured_preferred_username_wins_over_the_username() {
        let mut user = jsmith();
        user.claims
            .insert("preferred_username".into(), json!("johnny"));
        let claims = claims_for(&user, &scope("profile"));
        assert_eq!(claims["preferred_username"], "johnny");
    }

    #[test]
    fn email_releases_email_and_email_verified_only() {
        let claims = claims_for(&jsmith(), &scope("openid email"));
        assert_eq!(
            serde_json::Value::Object(claims),
            json!({"email": "jsmith@example.com", "email_verified": true})
        );
    }

    #[test]
    fn claims_outside_the_standard_sets_are_never_released() {
        let claims = claims_for(&jsmith(), &scope("openid profile email"));
        assert!(!claims.contains_key("roles"));
    }
}
