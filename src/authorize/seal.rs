//! The login form's copy of a pushed authorization request (RFC 9126 §4). Its `request_uri`
//! was spent when the page was shown, and the user may take minutes to sign in, so the form
//! carries the pushed parameters themselves, sealed: an HMAC under a key derived from the
//! signing keys (any replica opens what another sealed) over the parameters, a deadline and
//! the browser's CSRF token (a sealed form works only in the browser it was shown to). Seals
//! are made only of pushed requests, so a client that requires them gets a code from the form
//! only through one (README, "Pushed authorization requests").

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::hmac;

use crate::clock::UnixTime;
use crate::keys::KeySet;
use crate::params::{MAX_VALUE_LEN, Params};

/// The hidden field that carries the seal.
pub const FIELD: &str = "pushed_request";

/// Seconds a login form shown for a pushed request may be sent, from when the request_uri
/// was taken; a wrong password shows the form again with the same deadline.
pub const FORM_LIFETIME: u64 = 600;

/// The longest parameters, form-encoded, a seal carries within one form field of at most
/// `MAX_VALUE_LEN`: base64 of the deadline (at most 20 digits), a newline and the parameters,
/// then a dot and the 43 characters of the tag. About 6 KiB.
pub const MAX_PARAMS: usize = (MAX_VALUE_LEN - 1 - 43) / 4 * 3 - 21;

/// Seals `params` for the browser whose CSRF token is `csrf`, until `until`:
/// `base64url(until "\n" form-encoded params) "." base64url(HMAC-SHA256)`.
pub fn seal(keys: &KeySet, params: &[(&str, String)], csrf: &str, until: UnixTime) -> String {
    let payload = format!("{until}\n{}", encoded(params));
    let tag = hmac::sign(
        keys.signer().form_seal(),
        &message(csrf, payload.as_bytes()),
    );
    format!("{}.{}", B64.encode(&payload), B64.encode(tag.as_ref()))
}

/// Whether a seal of `params` fits in one form field (at most [`MAX_PARAMS`]).
pub fn fits<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> bool {
    encoded(params).len() <= MAX_PARAMS
}

fn encoded<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

/// The parameters `sealed` carries and its deadline, if one of `keys` sealed it for `csrf`
/// and `now` is before the deadline.
pub fn open(keys: &KeySet, sealed: &str, csrf: &str, now: UnixTime) -> Option<(Params, UnixTime)> {
    let (payload, tag) = sealed.split_once('.')?;
    let payload = B64.decode(payload).ok()?;
    let tag = B64.decode(tag).ok()?;
    let message = message(csrf, &payload);
    // Every published key: a form shown before a signing-key switch still opens after it.
    keys.all()
        .iter()
        .find(|key| hmac::verify(key.form_seal(), &message, &tag).is_ok())?;
    let (until, params) = std::str::from_utf8(&payload).ok()?.split_once('\n')?;
    let until: UnixTime = until.parse().ok()?;
    if now >= until {
        return None;
    }
    Some((Params::from_form(params.as_bytes()).ok()?, until))
}

/// What the HMAC covers: the CSRF token (43 base64url characters, never a newline), then the
/// payload.
fn message(csrf: &str, payload: &[u8]) -> Vec<u8> {
    [csrf.as_bytes(), b"\n", payload].concat()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn keys(dir: &str) -> KeySet {
        signed_by(dir, None)
    }

    fn signed_by(dir: &str, signer: Option<&str>) -> KeySet {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        KeySet::load(&dir, signer).unwrap()
    }

    fn params() -> Vec<(&'static str, String)> {
        vec![
            ("client_id", "app".to_owned()),
            ("redirect_uri", "https://app.example/cb?a=1&b=2".to_owned()),
            ("state", "x y+z\n".to_owned()),
        ]
    }

    const CSRF: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    #[test]
    fn a_seal_opens_to_its_parameters_and_deadline_before_the_deadline() {
        let keys = keys("tests/fixtures/keys");
        let sealed = seal(&keys, &params(), CSRF, 1_000);
        let (opened, until) = open(&keys, &sealed, CSRF, 999).unwrap();
        assert_eq!(until, 1_000);
        for (name, value) in params() {
            assert_eq!(opened.get(name), Some(value.as_str()), "{name}");
        }
        assert!(open(&keys, &sealed, CSRF, 1_000).is_none(), "expired");
    }

    #[test]
    fn the_longest_parameters_seal_into_one_form_field() {
        let keys = keys("tests/fixtures/keys");
        let longest = [("state", "s".repeat(MAX_PARAMS - "state=".len()))];
        let sealed = seal(&keys, &longest, CSRF, UnixTime::MAX);
        assert!(sealed.len() <= MAX_VALUE_LEN, "{}", sealed.len());
        let form = format!("{FIELD}={sealed}");
        let form = Params::from_form(form.as_bytes()).unwrap();
        let (opened, _) = open(&keys, form.get(FIELD).unwrap(), CSRF, 0).unwrap();
        assert_eq!(opened.get("state"), Some(longest[0].1.as_str()));
    }

    #[test]
    fn a_seal_opens_only_for_the_csrf_token_it_was_made_for() {
        let keys = keys("tests/fixtures/keys");
        let sealed = seal(&keys, &params(), CSRF, 1_000);
        let other = CSRF.replace('a', "b");
        assert!(open(&keys, &sealed, &other, 0).is_none());
    }

    #[test]
    fn a_changed_parameter_or_deadline_breaks_the_seal() {
        let keys = keys("tests/fixtures/keys");
        let sealed = seal(&keys, &params(), CSRF, 1_000);
        let (payload, tag) = sealed.split_once('.').unwrap();
        let text = String::from_utf8(B64.decode(payload).unwrap()).unwrap();
        for forged in [
            text.replace("client_id=app", "client_id=other"),
            text.replace("1000\n", "9000\n"),
            format!("{text}&scope=admin"),
        ] {
            let forged = format!("{}.{tag}", B64.encode(forged));
            assert!(open(&keys, &forged, CSRF, 0).is_none(), "{forged}");
        }
        assert!(open(&keys, "", CSRF, 0).is_none());
        assert!(open(&keys, "not.base64!", CSRF, 0).is_none());
    }

    #[test]
    fn a_seal_opens_with_any_published_key_and_not_with_others() {
        let before = signed_by("tests/fixtures/keys-two", Some("2025-01-01-es256"));
        let sealed = seal(&before, &params(), CSRF, 1_000);
        let after = keys("tests/fixtures/keys-two");
        assert!(
            open(&after, &sealed, CSRF, 0).is_some(),
            "after a signer switch"
        );
        assert!(open(&keys("tests/fixtures/keys-eddsa"), &sealed, CSRF, 0).is_none());
    }
}
